"""Two pipeline runs on one store: the lock serialises them and nothing is corrupted."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from regionflow.flows.cli import main
from regionflow.storage.manifest import read_manifest
from regionflow.storage.records import read_records
from regionflow.storage.samples import read_array
from regionflow.storage.store import Store
from tests.flows.conftest import TINY
from tests.storage.test_locks import hold_in_subprocess

pytestmark = pytest.mark.slow
STAGES = ("ingest", "skeletonize", "train", "extract")


def states(stdout: str) -> list[str]:
    found = []
    summary = stdout.split("pipeline finished", 1)[1].splitlines()
    for stage in STAGES:
        line = next(line for line in summary if line.strip().startswith(stage + " "))
        found.append(line.split()[1])
    return found


def test_two_runs_at_once_are_serialised(tmp_path):
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY))
    store = tmp_path / "store"
    runs = []
    for n in range(2):
        env = {**os.environ, "PREFECT_HOME": str(tmp_path / f"prefect-{n}")}
        cmd = [
            sys.executable,
            "-m",
            "regionflow.flows.cli",
            "run",
            "--store",
            str(store),
            "--config",
            str(config),
            "--wait-for-lock",
            "600",
        ]
        runs.append(
            subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
            )
        )
    outputs = [p.communicate(timeout=900)[0] for p in runs]
    assert [p.returncode for p in runs] == [0, 0], "\n".join(o[-2000:] for o in outputs)
    seen = sorted(states(o) for o in outputs)
    assert seen == [["Cached"] * 4, ["Completed"] * 4], (
        seen
    )  # the second waited, then found it all done

    s = Store(store)
    manifest = read_manifest(s)
    keys = ("id", "split", "status", "input_sha256", "height", "width", "n_regions")
    ingest_rows = {
        sid: tuple(r["row"][k] for k in keys) for sid, r in read_records(s, "ingest").items()
    }
    assert {r["id"]: tuple(r[k] for k in keys) for r in manifest} == ingest_rows
    annotated = [r["id"] for r in manifest if r["split"] != "test"]
    assert set(read_records(s, "skeleton")) == set(annotated)
    for sid in annotated:
        skeleton = read_array(s, sid, "skeleton")
        assert skeleton.dtype == np.uint8 and skeleton.shape == read_array(s, sid, "labels").shape
    assert not list(store.rglob("*.tmp")) and not (store / "locks" / "pipeline.lock").exists()


def test_a_run_on_a_busy_store_exits_with_a_clear_message(prefect_harness, tmp_path, capfd):
    holder = hold_in_subprocess(tmp_path / "store", 60)
    try:
        assert (
            main(["run", "--store", str(tmp_path / "store"), "--set", "ingest.synthetic_train=1"])
            == 3
        )
    finally:
        holder.kill()
        holder.wait()
    err = capfd.readouterr().err
    assert "is in use by another run" in err and f"pid {holder.pid}" in err

"""SIGKILL the pipeline while skeletonize is midway; the re-run finishes exactly the rest."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from regionflow.storage.manifest import read_manifest
from regionflow.storage.records import read_records
from regionflow.storage.samples import read_array
from regionflow.storage.store import Store

pytestmark = pytest.mark.slow

# Heavy enough per sample (4096 rounds on 384×512) that skeletonize lasts seconds on 2 cores.
CONFIG = {
    "ingest": {
        "synthetic_train": 20,
        "synthetic_val": 4,
        "synthetic_test": 0,
        "synthetic_height": 384,
        "synthetic_width": 512,
    },
    "skeleton": {"rounds": 4096},
    "train": {
        "loss": "l1",
        "steps": 2,
        "batch_size": 1,
        "crop": 64,
        "num_workers": 0,
        "amp": False,
    },
    "extract": {"short_side": None},
}
N_ANNOTATED = 24


def start_pipeline(store: Path, tmp_path: Path) -> subprocess.Popen:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG))
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PYTHONUNBUFFERED": "1"}
    log = open(tmp_path / "pipeline.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "regionflow.flows.cli",
            "run",
            "--store",
            str(store),
            "--config",
            str(config),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
    )


def kill_when_skeletonize_is_midway(proc: subprocess.Popen, records: Path, tmp_path: Path) -> int:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        done = len(list(records.glob("*.json"))) if records.exists() else 0
        if done >= 2:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            return done
        if proc.poll() is not None:
            pytest.fail(
                "pipeline ended before it could be killed:\n"
                + (tmp_path / "pipeline.log").read_text()[-3000:]
            )
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail("skeletonize never started:\n" + (tmp_path / "pipeline.log").read_text()[-3000:])


def skeletonize(store: Path):
    from regionflow.flows.stages import ingest_flow, skeletonize_flow

    ingest = ingest_flow(str(store), CONFIG["ingest"])
    return ingest, skeletonize_flow(str(store), ingest["fingerprint"], CONFIG["skeleton"])


def test_sigkill_mid_skeletonize_then_resume(prefect_harness, tmp_path):
    killed = tmp_path / "killed"
    proc = start_pipeline(killed, tmp_path)
    try:
        kill_when_skeletonize_is_midway(proc, killed / "records" / "skeleton", tmp_path)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    survivors = set(read_records(Store(killed), "skeleton"))
    assert 2 <= len(survivors) < N_ANNOTATED, "the kill must land while skeletonize is midway"

    ingest, resumed = skeletonize(killed)
    assert ingest["state"] == "Cached"  # ingest had finished before the kill
    assert resumed["state"] == "Completed"
    assert (
        set(resumed["computed_ids"]) == {r["id"] for r in read_manifest(Store(killed))} - survivors
    )
    assert resumed["reused"] == len(survivors)

    clean = tmp_path / "clean"
    skeletonize(clean)
    for row in read_manifest(Store(clean)):
        np.testing.assert_array_equal(
            read_array(Store(killed), row["id"], "skeleton"),
            read_array(Store(clean), row["id"], "skeleton"),
            err_msg=row["id"],
        )

"""Crash matrix: SIGKILL each stage at several points, re-run, and compare with an uninterrupted run.

ingest (from a zip archive), skeletonize, train (checkpoint every step) and extract (five export
formats) each run in a fresh process that is killed after a delay drawn from a seeded generator
over the stage's measured duration. The re-run must finish, produce what an uninterrupted run
produces, and recompute none of the units that were complete (their records) — for training:
resume from the last checkpoint, every checkpoint on disk must load.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from regionflow.regions.synthetic.cartoons import synthetic_sample
from regionflow.storage.checkpoints import CheckpointStore
from regionflow.storage.manifest import read_manifest
from regionflow.storage.records import read_records
from regionflow.storage.samples import read_array
from regionflow.storage.store import Store
from tests.reliability.crash_driver import run_stage

pytestmark = pytest.mark.slow
REPEATS = 3
RECORD_STAGE = {"ingest": "ingest", "skeletonize": "skeleton"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """An archive source and stores prepared up to each stage, plus uninterrupted references."""
    root = tmp_path_factory.mktemp("crash")
    archive = root / "DanbooRegion2020.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for split, n in (("train", 16), ("val", 4)):
            for i in range(n):
                image, region = synthetic_sample(
                    1000 + i + (100 if split == "val" else 0), height=192, width=256
                )
                zf.writestr(
                    f"DanbooRegion2020/{split}/{i}.image.png",
                    cv2.imencode(".png", image)[1].tobytes(),
                )
                zf.writestr(
                    f"DanbooRegion2020/{split}/{i}.region.png",
                    cv2.imencode(".png", region)[1].tobytes(),
                )
    bases, references, durations = {}, {}, {}
    previous = root / "empty"
    previous.mkdir()
    for stage in ("ingest", "skeletonize", "train", "extract"):
        base = root / f"before-{stage}"
        shutil.copytree(previous if stage != "extract" else root / "before-train", base)
        bases[stage] = base
        reference = root / f"after-{stage}"
        shutil.copytree(base, reference)
        start = time.perf_counter()
        references[stage] = (reference, run_stage(stage, str(reference), str(archive)))
        durations[stage] = time.perf_counter() - start
        previous = reference
    return {
        "archive": archive,
        "bases": bases,
        "references": references,
        "durations": durations,
        "root": root,
    }


def kill_after(stage: str, store: Path, source: Path, delay: float) -> bool:
    """Run the stage in a subprocess and SIGKILL it `delay` s after it starts; True if it was
    killed before finishing."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.crash_driver", stage, str(store), str(source)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        env=env,
    )
    assert proc.stdout.readline().strip() == "START"
    time.sleep(delay)
    finished = proc.poll() is not None
    if not finished:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    return not finished


def complete_units(stage: str, store: Path) -> set[str]:
    if stage == "train":
        return {p.name for p in store.rglob("step-*.pt")}
    if stage == "extract":
        return {
            sid
            for d in (store / "records").glob("extract-*")
            for sid in (p.stem for p in d.glob("*.json"))
        }
    return set(read_records(Store(store), RECORD_STAGE[stage]))


def assert_same_outputs(stage: str, store: Path, reference: Path) -> None:
    s, r = Store(store), Store(reference)
    if stage in ("ingest", "skeletonize"):

        def key(row):
            return (row["id"], row["status"], row["input_sha256"], row["height"], row["n_regions"])

        assert sorted(map(key, read_manifest(s))) == sorted(map(key, read_manifest(r)))
        names = ("image", "labels") if stage == "ingest" else ("skeleton",)
        for row in read_manifest(r):
            if row["status"] == "ok":
                for name in names:
                    np.testing.assert_array_equal(
                        read_array(s, row["id"], name), read_array(r, row["id"], name)
                    )
    elif stage == "train":
        ours = CheckpointStore(next(store.rglob("checkpoints"))).latest()
        theirs = CheckpointStore(next(reference.rglob("checkpoints"))).latest()
        assert ours["step"] == theirs["step"]
        for name, tensor in theirs["model"].items():
            assert torch.equal(ours["model"][name], tensor), name
    else:
        export = next((reference / "exports").iterdir()).name
        for sample in (reference / "exports" / export).iterdir():
            mine = store / "exports" / export / sample.name
            for name in ("labels.png", "flat.png", "skeleton.png"):
                np.testing.assert_array_equal(
                    cv2.imread(str(mine / name), cv2.IMREAD_UNCHANGED),
                    cv2.imread(str(sample / name), cv2.IMREAD_UNCHANGED),
                )
            assert pq.read_table(io.BytesIO((mine / "regions.parquet").read_bytes())).equals(
                pq.read_table(io.BytesIO((sample / "regions.parquet").read_bytes()))
            )
            assert (mine / "coco.json").read_bytes() == (sample / "coco.json").read_bytes()
            assert (mine / "regions.danbooregion.svg").read_bytes() == (
                sample / "regions.danbooregion.svg"
            ).read_bytes()


@pytest.mark.parametrize("stage", ["ingest", "skeletonize", "train", "extract"])
def test_kill_anywhere_then_rerun(world, stage, tmp_path):
    rng = np.random.default_rng(["ingest", "skeletonize", "train", "extract"].index(stage))
    duration = world["durations"][stage]
    reference, _ = world["references"][stage]
    mid_kills = 0
    for repeat in range(REPEATS):
        store = tmp_path / f"run-{repeat}"
        shutil.copytree(world["bases"][stage], store)
        delay = duration * rng.uniform(0.1, 0.9)
        for _ in range(4):  # a kill that came too late (the stage had finished) is retried sooner
            if kill_after(stage, store, world["archive"], delay):
                mid_kills += 1
                break
            shutil.rmtree(store)
            shutil.copytree(world["bases"][stage], store)
            delay /= 2
        survivors = complete_units(stage, store)
        if stage == "train":
            checkpoints = CheckpointStore(next(store.rglob("checkpoints"), store / "none"))
            for step in checkpoints.steps():
                checkpoints.load(step)  # every checkpoint under its final name loads
        result = run_stage(stage, str(store), str(world["archive"]))
        if stage == "ingest":
            assert result["ingested"] == 20 - len(survivors)
        elif stage == "skeletonize":
            assert (
                set(result["computed_ids"])
                == set(read_records(Store(store), "skeleton")) - survivors
            )
        elif stage == "extract":
            assert result["computed"] == result["images"] - len(survivors)
        assert_same_outputs(stage, store, reference)
    assert mid_kills >= REPEATS - 1, f"only {mid_kills} kills landed mid-stage"

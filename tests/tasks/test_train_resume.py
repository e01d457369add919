"""A run is named by what determines its weights: raising `train.steps` (or changing how often
it logs, previews or checkpoints) continues the same run from its last checkpoint."""

from __future__ import annotations

import io
import logging

import numpy as np
import pyarrow.parquet as pq
import pytest

from regionflow.models.config import TrainConfig
from regionflow.models.train import RESUMABLE_CHANGES, run_identity
from regionflow.storage.manifest import manifest_row, write_manifest
from regionflow.storage.records import write_record
from regionflow.storage.samples import write_array
from regionflow.storage.store import Store
from regionflow.tasks.skeletonize import STAGE as SKELETON_STAGE
from regionflow.tasks.train import train_model

# Start from Glorot weights, not the shipped model, where the config offers the choice.
GLOROT_START = {"init": "none"} if "init" in TrainConfig.model_fields else {}


@pytest.fixture
def training_store(tmp_path):
    store = Store(tmp_path / "store")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(2):
        sid = f"train-{i}"
        write_array(store, sid, "image", rng.integers(0, 256, (96, 96, 3), dtype=np.uint8))
        write_array(store, sid, "skeleton", rng.integers(0, 256, (96, 96), dtype=np.uint8))
        write_record(store, SKELETON_STAGE, sid, {"input": str(i), "config": "c"})
        rows.append(
            manifest_row(id=sid, split="train", region_source="x", input_sha256=str(i), status="ok")
        )
    write_manifest(store, rows)
    return store


def tiny(**changes) -> dict:
    """A few 64² CPU steps from a Glorot start (no shipped weights needed)."""
    config = {
        "loss": "l1",
        "steps": 4,
        "batch_size": 1,
        "crop": 64,
        "checkpoint_every": 2,
        "preview_every": 0,
        "val_every": 0,
        "num_workers": 0,
        "device": "cpu",
        "amp": False,
    }
    return TrainConfig(**config | GLOROT_START | changes).to_dict()


def test_raising_steps_resumes_the_same_run(training_store, caplog):
    first = train_model.fn(training_store.url, tiny(steps=4), upstream="data")
    assert first["steps"] == 4
    run_dir = training_store.local_path("runs", first["run"])
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [
        "step-00000002.pt",
        "step-00000004.pt",
    ]

    with caplog.at_level(logging.INFO, logger="regionflow.models.train"):
        more = train_model.fn(
            training_store.url, tiny(steps=6, log_every=3, preview_every=3), upstream="data"
        )
    assert more["run"] == first["run"]  # same run folder
    assert more["steps"] == 6
    assert "resumed from step 4" in caplog.text
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [
        "step-00000002.pt",
        "step-00000004.pt",
        "step-00000006.pt",
    ]
    steps = [m["step"] for m in _metrics(training_store, first["run"])]
    assert steps == [1, 2, 3, 4, 5, 6]  # steps 1–4 kept, 5–6 added once: no restart from 0
    assert sorted(p.name for p in (run_dir / "previews").iterdir()) == ["step-00000006.png"]
    assert training_store.read_json("runs", first["run"], "config.json")["train"]["steps"] == 6


def _metrics(store: Store, run_id: str) -> list[dict]:
    table = pq.read_table(io.BytesIO(store.read_bytes("runs", run_id, "metrics.parquet")))
    return table.to_pylist()


def test_what_determines_the_weights_names_the_run():
    base = TrainConfig(steps=10)
    for field, value in {
        "steps": 20,
        "checkpoint_every": 7,
        "preview_every": 3,
        "log_every": 5,
        "keep_last": 9,
        "val_every": 0,
        "num_workers": 0,
        "device": "cpu",
        "compile": True,
    }.items():
        assert field in RESUMABLE_CHANGES
        assert run_identity(base.replace(**{field: value})) == run_identity(base), field
    for field, value in ({"lr": 2e-5, "seed": 1, "crop": 256, "loss": "l1"} | GLOROT_START).items():
        assert run_identity(base.replace(**{field: value})) != run_identity(base), field

"""What the UI is told about a stage and a training run (outside a Prefect run: logs only)."""

from __future__ import annotations

import logging

import numpy as np

from regionflow.tasks.artifacts import TrainingTelemetry, log_interval, stage_counts


def test_a_cached_stage_counts_everything_as_cached():
    first = {"state": "Completed", "samples": 30, "computed": 30, "reused": 0}
    assert stage_counts("skeletonize", first) | {"duration_s": None} == {
        "stage": "skeletonize",
        "state": "Completed",
        "unit": "samples",
        "done": 30,
        "cached": 0,
        "quarantined": 0,
        "duration_s": None,
    }
    again = stage_counts("skeletonize", {**first, "state": "Cached"})  # the first run's result
    assert (again["state"], again["done"], again["cached"]) == ("Cached", 0, 30)


def test_stage_counts_per_stage():
    ingest = {"state": "Completed", "samples": 8, "processed": 3, "unchanged": 5, "quarantined": 1}
    assert [stage_counts("ingest", ingest)[k] for k in ("done", "cached", "quarantined")] == [
        3,
        5,
        1,
    ]
    train = {"state": "Completed", "steps": 100, "trained": 40}
    assert [stage_counts("train", train)[k] for k in ("done", "cached", "unit")] == [
        40,
        60,
        "steps",
    ]
    extract = {"state": "Completed", "images": 5, "computed": 2, "reused": 3}
    assert [stage_counts("extract", extract)[k] for k in ("done", "cached")] == [2, 3]


def test_loss_lines_every_log_interval_at_most_500_per_run():
    assert log_interval(100, 10) == 10
    assert log_interval(4, 10) == 10
    assert log_interval(50_000, 10) == 100
    assert 50_000 / log_interval(50_000, 10) <= 500


def test_telemetry_logs_losses_every_interval_and_at_the_last_step(caplog):
    log = logging.getLogger("regionflow.test-telemetry")
    telemetry = TrainingTelemetry(
        "unet-x",
        steps=25,
        log_every=10,
        start_step=0,
        history=[],
        location="/s/runs/unet-x",
        log=log,
    )
    with caplog.at_level(logging.INFO, logger=log.name):
        for step in range(1, 26):
            preview = np.zeros((8, 24, 3), np.uint8) if step % 10 == 0 else None
            telemetry(step, {"loss_g": 1.0 / step, "l1": 0.5, "images_per_s": 2.0}, preview)
        telemetry.finish(25)
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split(":")[0] for line in lines] == [
        "train step 10/25",
        "train step 20/25",
        "train step 25/25",
    ]
    assert "loss_g=0.1 l1=0.5 (2.0 images/s)" in lines[0]
    assert telemetry.preview is not None and len(telemetry.rows) == 25

"""Reports as Prefect artifacts: pictures embedded as small data URIs, paths as text."""

from __future__ import annotations

import base64
import re
import uuid

import cv2
import numpy as np
import pytest

from regionflow.storage.reports import (
    IMAGE_BUDGET,
    data_uri,
    pipeline_summary_markdown,
    training_markdown,
    write_ingest_report,
    write_report,
)
from regionflow.storage.store import Store

DATA_URI = re.compile(r"!\[[^\]]*\]\((data:image/(png|jpeg);base64,[A-Za-z0-9+/=]+)\)")


def decode(uri: str) -> np.ndarray:
    payload = base64.b64decode(uri.split(",", 1)[1])
    image = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def test_a_large_noisy_picture_is_shrunk_to_a_jpeg_within_budget():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (1500, 4000, 3), dtype=np.uint8)
    before = image.copy()
    uri = data_uri(image)
    assert uri.startswith("data:image/jpeg;base64,")
    assert len(base64.b64decode(uri.split(",", 1)[1])) <= IMAGE_BUDGET
    assert max(decode(uri).shape[:2]) <= 1280
    np.testing.assert_array_equal(image, before)  # input not modified


def test_a_flat_picture_stays_png_at_its_size():
    image = np.zeros((64, 96, 3), np.uint8)
    image[:, 48:] = (0, 128, 255)
    ok, png = cv2.imencode(".png", image)
    uri = data_uri(png.tobytes())
    assert uri.startswith("data:image/png;base64,")
    np.testing.assert_array_equal(decode(uri), image)


def test_data_uri_rejects_what_is_not_a_picture():
    with pytest.raises(ValueError, match="image"):
        data_uri(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="max_side"):
        data_uri(np.zeros((4, 4), np.uint8), max_side=1)


def test_report_artifact_embeds_every_picture_and_states_the_path():
    store = Store(f"memory://reports-{uuid.uuid4().hex}")
    report = write_report(
        store,
        "r1",
        [{"image": "a", "metric": "extracted", "n_regions": 3}],
        {"boundary_px_F": 0.5},
        image_ids=["a"],
        writer=None,
        title="Regions of test",
        worst=[{"image": "a", "precision": 0.25, "n_regions": 3}],
        threshold_curve={60: 0.4, 140: 0.6},
        size_histograms={"pred": [1, 3, 2]},
    )
    # On disk the pictures sit beside report.md and are linked by name.
    assert "](f_vs_threshold.png)" in report["markdown"]
    assert store.exists("reports", "r1", "f_vs_threshold.png")
    artifact = report["artifact"]
    assert len(DATA_URI.findall(artifact)) == 2
    assert not re.search(r"\]\((?!data:)", artifact), "every picture is embedded"
    assert f"`{report['report']}`" in artifact
    assert "boundary F (pixel tolerance)" in artifact
    assert "| a | 0.2500 | 3 |" in artifact  # the worst images, as derived by the caller
    assert store.exists("reports", "r1", "metrics.parquet")
    assert len(artifact) < 1_000_000


def test_ingest_artifact_embeds_the_quality_plot():
    store = Store(f"memory://reports-{uuid.uuid4().hex}")
    rows = [
        {
            "id": f"s{i}",
            "status": "ok",
            "small_region_area": 0.1 * i,
            "regions_per_megapixel": 10.0 + i,
            "largest_region_share": 0.2,
            "unfinished": 0.0,
        }
        for i in range(4)
    ]
    summary = {"samples": 4, "ingested": 4, "unchanged": 0, "retired": 0, "quarantined": 0}
    report = write_ingest_report(store, rows, summary)
    assert "](quality.png)" in report["markdown"]
    assert len(DATA_URI.findall(report["artifact"])) == 1
    assert "](quality.png)" not in report["artifact"]


def test_training_markdown_has_metrics_loss_curve_and_preview():
    rows = [
        {"step": s, "loss_g": 1.0 / s, "l1": 0.5 / s, "lr": 1e-4, "images_per_s": 3.0}
        for s in range(1, 41)
    ]
    preview = np.full((32, 96, 3), 200, np.uint8)
    markdown = training_markdown(
        "unet-abc", rows, step=40, steps=100, preview=preview, location="/s/runs/unet-abc"
    )
    assert "Step 40 of 100." in markdown
    table = [line for line in markdown.splitlines() if re.match(r"\| \d+ \|", line)]
    assert 2 <= len(table) <= 12 and table[-1].startswith("| 40 |")
    assert len(DATA_URI.findall(markdown)) == 2  # loss curve, preview
    assert "`/s/runs/unet-abc`" in markdown


def test_pipeline_summary_has_every_stage_and_the_pixel_tolerance_score():
    stages = [
        {"stage": "ingest", "state": "Cached", "unit": "samples", "done": 0, "cached": 7,
         "quarantined": 1, "duration_s": 0.4},
        {"stage": "train", "state": "Completed", "unit": "steps", "done": 4, "cached": 0,
         "quarantined": 0, "duration_s": 125.0},
    ]  # fmt: skip
    markdown = pipeline_summary_markdown(
        "Pipeline on s",
        stages,
        comparison={"model": {"boundary_px_F": 0.61, "AP": 0.5}, "slic": {"boundary_px_F": 0.2}},
        scored_on="val split of synthetic",
        tolerance_px=2.0,
        reports={"extract": "/s/reports/x/report.md"},
    )
    assert "| ingest | Cached | 0 samples | 7 samples | 1 | 0.4 s |" in markdown
    assert "| train | Completed | 4 steps | 0 steps | 0 | 2 min 5 s |" in markdown
    assert "boundary_px_F" in markdown and "0.6100" in markdown
    assert "boundary F at 2 px" in markdown
    assert "`/s/reports/x/report.md`" in markdown

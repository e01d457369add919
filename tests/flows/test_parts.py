"""The parts flow: COCO in → store, cached stages, resumed training, COCO results out, CLI."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from regionflow.regions.parts.parts_synth import synthetic_parts
from regionflow.storage.parts import read_dataset_manifest, write_coco_source
from regionflow.storage.store import Store

TINY_PARTS = {
    "ingest": {"n_train": 3, "n_val": 2, "size": 64},
    "train": {
        "image_size": 64,
        "width": 8,
        "fpn_channels": 16,
        "steps": 2,
        "batch_size": 1,
        "checkpoint_every": 1,
        "threads": 1,
    },
    "evaluate": {"score_threshold": 0.0},
}


def _coco_with_faults(folder):
    """A small COCO export with one good image and one of each fault the ingest must catch."""
    document, images = synthetic_parts(style="A", n_train=6, n_val=0, size=64, seed=3)
    write_coco_source(folder, document, images)
    annotations = document["annotations"]
    first = {
        image_id: next(a for a in annotations if a["image_id"] == image_id)
        for image_id in range(2, 7)
    }
    first[2]["category_id"] = 99  # unknown category
    first[3]["segmentation"] = [[1, 1, 200, 1, 200, 40]]  # polygon leaves the image
    first[4]["bbox"] = [60, 60, 30, 30]  # box out of bounds
    first[5]["segmentation"] = [[1, 1, 5, 1]]  # two points
    (folder / "images" / document["images"][5]["file_name"]).unlink()  # image 6 missing
    path = folder / "annotations.json"
    path.write_text(json.dumps(document))
    return path


def test_ingest_quarantines_bad_coco_with_reasons(tmp_path):
    from prefect.logging import disable_run_logger

    from regionflow.tasks.parts import PartsIngestConfig, config_dict, ingest_parts

    source = _coco_with_faults(tmp_path / "export")
    store = Store(tmp_path / "store")
    with disable_run_logger():
        result = ingest_parts.fn(store.url, config_dict(PartsIngestConfig(source=str(source))), "x")
    assert (result["ingested"], result["quarantined"]) == (1, 5)
    reasons = {row["id"]: row["reason"] for row in read_dataset_manifest(store, "annotations")}
    assert "unknown category id 99" in reasons[2]
    assert "leaves the 64x64 image" in reasons[3]
    assert "outside the 64x64 image" in reasons[4]
    assert "at least 3 points" in reasons[5]
    assert "missing" in reasons[6]
    assert reasons[1] == ""
    coco = COCO(str(store.local_path("parts", "annotations", "instances.json")))
    assert coco.getImgIds() == [1] and coco.getAnnIds()


@pytest.mark.slow
def test_parts_flow_caches_resumes_and_round_trips_coco(tmp_path, prefect_harness):
    from regionflow.flows.parts import parts, parts_predict

    store = str(tmp_path / "store")
    first = parts(store, TINY_PARTS)
    assert first["ingest"]["ingested"] == 5 and first["train"]["steps"] == 2
    report = first["evaluate"]
    assert {"raw_segm_AP", "raw_bbox_AP", "snapped_segm_AP"} <= set(report)
    rows = Store(store).read_json("reports", report["evaluation"], "summary.json")
    assert rows["images"] == 2

    again = parts(store, TINY_PARTS)
    assert [again[k]["state"] for k in ("ingest", "train", "evaluate")] == ["Cached"] * 3

    longer = {**TINY_PARTS, "train": {**TINY_PARTS["train"], "steps": 3}}
    resumed = parts(store, longer)
    assert resumed["ingest"]["state"] == "Cached"
    assert resumed["train"]["run"] == first["train"]["run"] and resumed["train"]["steps"] == 3

    image = cv2.imread(str(next((tmp_path / "store").rglob("parts/synthetic-a/images/*.png"))))
    cv2.imwrite(str(tmp_path / "page.png"), image)
    out = parts_predict(
        store,
        [str(tmp_path / "page.png")],
        resumed["train"]["checkpoint"],
        {"score_threshold": 0.0},
    )
    folder = Store(store).local_path("exports", out["export"], "page")
    results = json.loads((folder / "results.json").read_text())
    assert (folder / "overlay.png").is_file() and (folder / "hair.png").is_file()
    assert cv2.imread(str(folder / "hair.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    gt = COCO()
    gt.dataset = {
        "images": [{"id": 1, "width": 64, "height": 64}],
        "annotations": [],
        "categories": [{"id": i} for i in range(1, 9)],
    }
    gt.createIndex()
    if results:
        assert len(gt.loadRes(results).getAnnIds()) == len(results)
    again = parts_predict(
        store,
        [str(tmp_path / "page.png")],
        resumed["train"]["checkpoint"],
        {"score_threshold": 0.0},
    )
    assert again["state"] == "Cached" or again["reused"] == 1


def test_cli_has_the_parts_steps():
    from regionflow.flows.cli import build_parser

    parser = build_parser()
    for argv in (
        ["parts", "ingest", "synthetic", "--style", "B"],
        ["parts", "train", "--dataset", "synthetic-a", "--steps", "5", "--set", "lr=0.001"],
        ["parts", "evaluate", "--checkpoint", "c.pt", "--dataset", "synthetic-a"],
        ["parts", "predict", "x.png", "--checkpoint", "c.pt"],
    ):
        args = parser.parse_args(argv)
        assert args.command == "parts" and args.parts_command == argv[1]
        assert args.handler.__name__ == f"cmd_parts_{argv[1]}"
    assert parser.parse_args(
        ["parts", "train", "--dataset", "d", "--set", "lr=0.001"]
    ).overrides == ["lr=0.001"]

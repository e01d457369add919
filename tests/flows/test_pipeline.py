"""The pipeline end to end: outputs, stage caching, partial recompute after a config change."""

import copy

import numpy as np
import pytest

from regionflow.storage.manifest import read_manifest
from regionflow.storage.records import read_records
from regionflow.storage.samples import read_array
from regionflow.storage.store import Store
from tests.flows.conftest import TINY

pytestmark = pytest.mark.slow
STAGES = ("ingest", "skeletonize", "train", "extract")


def run(store, config):
    from regionflow.flows.pipeline import pipeline

    return pipeline(str(store), config)


@pytest.fixture(scope="module")
def first_run(prefect_harness, tmp_path_factory):
    store = tmp_path_factory.mktemp("pipeline") / "store"
    return store, run(store, TINY)


def test_first_run_writes_every_stage(first_run):
    store_path, result = first_run
    store = Store(store_path)
    assert [result[s]["state"] for s in STAGES] == ["Completed"] * 4
    manifest = read_manifest(store)
    assert {r["split"] for r in manifest} == {"train", "val", "test"}
    assert all(r["status"] == "ok" for r in manifest)
    for row in manifest:
        image = read_array(store, row["id"], "image")
        assert image.shape == (96, 128, 3) and image.dtype == np.uint8
    annotated = [r["id"] for r in manifest if r["split"] != "test"]
    assert set(read_records(store, "skeleton")) == set(annotated)
    assert read_array(store, annotated[0], "skeleton").dtype == np.uint8
    assert result["train"]["steps"] == TINY["train"]["steps"]
    extract = result["extract"]
    assert extract["images"] == 2
    assert set(extract["scores"]) >= {"AP", "OIS", "ODS"}
    assert all(0.0 <= extract["scores"][k] <= 1.0 for k in ("AP", "OIS", "ODS"))
    assert set(extract["compared"]) == {"ground_truth", "slic"}
    assert extract["compared"]["ground_truth"]["boundary_F"] > 0.5  # the round trip is near-perfect
    text = open(extract["report"]).read()
    assert "DanbooRegion AP" in text and "preview.png" in text and "Side by side" in text
    assert "f_vs_threshold.png" in text and "region_sizes.png" in text
    assert 0.0 <= extract["scores"]["sweep_ODS_F"] <= 1.0


def test_second_run_is_all_cached(first_run):
    store_path, _ = first_run
    again = run(store_path, TINY)
    assert [again[s]["state"] for s in STAGES] == ["Cached"] * 4


def test_changing_one_stage_recomputes_it_and_the_ones_after(first_run):
    store_path, _ = first_run
    config = copy.deepcopy(TINY)
    config["skeleton"]["rounds"] = 32
    changed = run(store_path, config)
    assert [changed[s]["state"] for s in STAGES] == [
        "Cached",
        "Completed",
        "Completed",
        "Completed",
    ]
    assert changed["skeletonize"]["computed"] == changed["skeletonize"]["samples"] == 6

    config["extract"]["decoder"] = "simple"  # the default is full
    only_extract = run(store_path, config)
    assert [only_extract[s]["state"] for s in STAGES] == ["Cached", "Cached", "Cached", "Completed"]


def test_batch_export_beside_the_dataset(first_run, tmp_path):
    """A batch export into the training store adds its images and retires nothing."""
    import cv2

    from regionflow.flows.export import region_export
    from regionflow.regions.synthetic.cartoons import synthetic_sample

    store_path, result = first_run
    pages = tmp_path / "pages"
    pages.mkdir()
    for n in (1, 2):
        cv2.imwrite(str(pages / f"page{n}.jpg"), synthetic_sample(100 + n, height=80, width=112)[0])
    (pages / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    before = {r["id"] for r in read_manifest(Store(store_path))}

    formats = ["labels", "flat", "regions", "coco", "svg"]
    out = region_export(
        [str(pages)],
        result["train"]["checkpoint"],
        str(store_path),
        {"decoder": "simple", "short_side": None, "exports": formats},
    )
    assert out["images"] == 2
    manifest = {r["id"]: r for r in read_manifest(Store(store_path))}
    assert before <= set(manifest), "the dataset's samples must survive an export"
    assert manifest["images-broken"]["status"] == "quarantined"
    export = store_path / "exports" / out["exports"].rsplit("/", 1)[-1] / "images-page1"
    labels = cv2.imread(str(export / "labels.png"), cv2.IMREAD_UNCHANGED)
    assert labels.dtype == np.uint16 and labels.shape == (80, 112) and labels.min() >= 1
    assert {p.name for p in export.iterdir()} >= {
        "skeleton.png",
        "flat.png",
        "regions.parquet",
        "coco.json",
        "regions.danbooregion.svg",
    }

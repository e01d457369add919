"""Incremental refresh: add 2, modify 1, delete 1 → exactly those 4 are touched downstream."""

import cv2
import pytest

from regionflow.regions.synthetic.cartoons import synthetic_sample
from regionflow.storage.manifest import read_manifest
from regionflow.storage.records import read_records
from regionflow.storage.samples import has_array
from regionflow.storage.store import Store

pytestmark = pytest.mark.slow
CONFIG = {"skeleton": {"rounds": 32}}


def write_sample(folder, split, n, seed):
    image, region = synthetic_sample(seed, height=64, width=80)
    (folder / split).mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / split / f"{n}.image.png"), image)
    cv2.imwrite(str(folder / split / f"{n}.region.png"), region)


def refresh(store, source):
    from regionflow.flows.pipeline import dataset_refresh

    return dataset_refresh(str(store), {**CONFIG, "ingest": {"source": str(source)}})


def test_add_two_modify_one_delete_one(prefect_harness, tmp_path):
    source, store = tmp_path / "DanbooRegion2020", tmp_path / "store"
    for n in range(4):
        write_sample(source, "train", n, seed=n)
    write_sample(source, "val", 0, seed=10)
    first = refresh(store, source)
    assert first["ingest"]["ingested"] == 5 and first["skeletonize"]["computed"] == 5

    unchanged = refresh(store, source)
    assert (
        unchanged["ingest"]["state"] == "Cached" and unchanged["skeletonize"]["state"] == "Cached"
    )

    write_sample(source, "train", 4, seed=20)  # added
    write_sample(source, "val", 1, seed=21)  # added
    write_sample(source, "train", 1, seed=22)  # modified
    (source / "train" / "2.image.png").unlink()  # deleted
    (source / "train" / "2.region.png").unlink()

    second = refresh(store, source)
    ingest, skeleton = second["ingest"], second["skeletonize"]
    assert (ingest["ingested"], ingest["retired"], ingest["unchanged"]) == (3, 1, 3)
    assert sorted(ingest["changed_ids"]) == ["train-1", "train-2", "train-4", "val-1"]
    assert sorted(skeleton["computed_ids"]) == ["train-1", "train-4", "val-1"]
    assert skeleton["reused"] == 3

    s = Store(store)
    assert "train-2" not in {r["id"] for r in read_manifest(s)}
    assert "train-2" not in read_records(s, "skeleton") and "train-2" not in read_records(
        s, "ingest"
    )
    assert not has_array(s, "train-2", "image") and not has_array(s, "train-2", "skeleton")

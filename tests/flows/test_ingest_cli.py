"""`regionflow ingest` on a folder with bad files: each quarantined with its reason, the rest ingested."""

import cv2
import numpy as np
import pytest

from regionflow.flows.cli import main
from regionflow.regions.synthetic.cartoons import synthetic_sample
from regionflow.storage.manifest import read_manifest
from regionflow.storage.store import Store

pytestmark = pytest.mark.slow


def png(array):
    return cv2.imencode(".png", array)[1].tobytes()


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "DanbooRegion2020" / "train"
    root.mkdir(parents=True)
    image, region = synthetic_sample(3, height=64, width=80)

    def put(n, image_bytes, region_bytes):
        (root / f"{n}.image.png").write_bytes(image_bytes)
        (root / f"{n}.region.png").write_bytes(region_bytes)

    put(0, png(image), png(region))  # good
    put(1, cv2.imencode(".jpg", image)[1].tobytes(), png(region))  # JPEG in .png: ok, flagged
    put(
        2, png(image), png(np.pad(region, ((0, 0), (0, 1), (0, 0)), mode="edge"))
    )  # 1 px wider: aligned
    put(3, png(image)[:200], png(region))  # truncated
    put(4, b"", png(region))  # 0 bytes
    put(5, b"hello, not an image\n", png(region))  # text
    put(6, png(image), png(np.pad(region, ((0, 5), (0, 0), (0, 0)), mode="edge")))  # 5 px off
    put(7, png(image), png(np.full_like(region, 200)))  # one colour
    (root / "0.image.jpg").write_bytes(
        cv2.imencode(".jpg", image)[1].tobytes()
    )  # a second file for id 0
    return tmp_path / "DanbooRegion2020"


def test_bad_files_are_quarantined_with_reasons(prefect_harness, dataset, tmp_path, capfd):
    store = tmp_path / "store"
    assert main(["ingest", str(dataset), "--store", str(store)]) == 0
    out = capfd.readouterr().out
    assert "9 samples — 3 ingested, 0 unchanged, 0 retired, 6 quarantined" in out
    rows = {r["id"]: r for r in read_manifest(Store(store))}
    assert {sid for sid, r in rows.items() if r["status"] == "ok"} == {
        "train-0",
        "train-1",
        "train-2",
    }
    assert "extension_mismatch" in rows["train-1"]["flags"]
    assert "size_mismatch_aligned" in rows["train-2"]["flags"]
    reasons = {sid: r["reason"].lower() for sid, r in rows.items() if r["status"] == "quarantined"}
    assert "truncated" in reasons["train-3"]
    assert "empty" in reasons["train-4"] or "0 bytes" in reasons["train-4"]
    assert "not an image" in reasons["train-5"]
    assert "differ" in reasons["train-6"]
    assert "single colour" in reasons["train-7"]
    duplicates = [sid for sid in reasons if sid.startswith("train-0~")]
    assert len(duplicates) == 1 and "duplicate sample id" in reasons[duplicates[0]]
    assert "6 quarantined" in out and "quarantined train-3" in out
    assert (store / "reports" / "ingest" / "report.md").exists()


def test_strict_exits_non_zero(prefect_harness, dataset, tmp_path, capfd):
    assert main(["ingest", str(dataset), "--store", str(tmp_path / "s"), "--strict"]) == 1
    err = capfd.readouterr().err
    assert "6 samples quarantined" in err, err[-3000:]

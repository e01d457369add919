"""storage.exports: the names of exports and of their files, on any store."""

import io
import json
import uuid

import numpy as np
import pyarrow.parquet as pq
import pytest

from regionflow.storage.exports import EXPORT_FILES, ExportWriter, export_name
from regionflow.storage.store import Store


def test_export_name_says_split_predictor_and_fingerprint():
    assert export_name("val", "ground_truth", "0123456789abcdef") == "val-ground-truth-0123456789ab"


def test_documents_land_in_their_files():
    store = Store(f"memory://exports-{uuid.uuid4().hex}")
    writer = ExportWriter(store, "e1")
    labels = np.array([[1, 2], [2, 70000]], np.int64)
    documents = {
        "labels": labels,
        "flat": np.zeros((2, 2, 3), np.uint8),
        "regions": {"id": np.array([1, 2]), "area": np.array([1, 3])},
        "coco": {"images": []},
        "svg": "<svg/>",
    }
    names = writer.write_documents("s", documents)
    assert names == ["labels.tiff", *EXPORT_FILES.values()]  # above 65,535 regions: TIFF
    assert json.loads(store.read_bytes("exports", "e1", "s", "coco.json")) == {"images": []}
    assert store.read_bytes("exports", "e1", "s", "regions.danbooregion.svg") == b"<svg/>"
    table = pq.read_table(io.BytesIO(store.read_bytes("exports", "e1", "s", "regions.parquet")))
    assert table.column("area").to_pylist() == [1, 3]
    skeleton = np.arange(6, dtype=np.uint8).reshape(2, 3)
    writer.write_skeleton("s", skeleton)
    np.testing.assert_array_equal(writer.read_skeleton("s"), skeleton)
    with pytest.raises(ValueError, match="documents"):
        writer.write_documents("s", {"png": labels})


def test_rows_of_different_families_keep_every_column():
    from regionflow.storage.exports import table_bytes

    rows = [{"image": "a", "n_regions": 3}, {"image": "a", "scale": 512, "tp": 4}]
    table = pq.read_table(io.BytesIO(table_bytes(rows)))
    assert table.column_names == ["image", "n_regions", "scale", "tp"]
    assert table.to_pylist()[1] == {"image": "a", "n_regions": None, "scale": 512, "tp": 4}

"""Per-image exports users can open: `<store>/exports/<export>/<sample>/...`.

labels.png (16-bit; labels.tiff 32-bit above 65,535 regions), flat.png, skeleton.png,
regions.parquet, coco.json, regions.danbooregion.svg. Every file is written atomically; the sample's
completion record (written after them) says the set is whole.
"""

from __future__ import annotations

import io
import json
from typing import Any

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from regionflow.storage.store import Store

EXPORTS = "exports"
SKELETON_FILE = "skeleton.png"
# The file of each export format but labels (16-bit PNG or 32-bit TIFF: `label_image_bytes`).
EXPORT_FILES = {
    "flat": "flat.png",
    "regions": "regions.parquet",
    "coco": "coco.json",
    "svg": "regions.danbooregion.svg",
}


def export_name(split: str, predictor: str, config_fingerprint: str) -> str:
    """The folder of one extraction under exports/ (and reports/): split, predictor, and the
    start of the fingerprint of everything that made it, e.g. `val-ground-truth-3f2a...`."""
    return f"{split}-{predictor.replace('_', '-')}-{config_fingerprint[:12]}"


def encode_png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"image: cannot encode {image.dtype} {image.shape} as PNG")
    return data.tobytes()


def decode_image(data: bytes, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None:
        raise ValueError("data: not a decodable image")
    return image


def label_image_bytes(labels: np.ndarray) -> tuple[str, bytes]:
    """(file name, bytes) of a label map: 16-bit PNG when it fits, else 32-bit TIFF."""
    if labels.max(initial=0) <= np.iinfo(np.uint16).max:
        return "labels.png", encode_png(labels.astype(np.uint16))
    ok, data = cv2.imencode(".tiff", labels.astype(np.int32))
    if not ok:
        raise ValueError("labels: cannot encode as TIFF")
    return "labels.tiff", data.tobytes()


def table_bytes(rows: list[dict[str, Any]] | dict[str, Any]) -> bytes:
    """Parquet bytes of a list of rows or a dict of columns. Rows may differ in their keys (long
    format: each family has its own): the columns are every key seen, null where a row has none."""
    if isinstance(rows, list):
        keys = list(dict.fromkeys(key for row in rows for key in row))
        rows = {key: [row.get(key) for row in rows] for key in keys}
    table = pa.table(rows)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def read_table(store: Store, *parts: str) -> list[dict[str, Any]]:
    return pq.read_table(io.BytesIO(store.read_bytes(*parts))).to_pylist()


class ExportWriter:
    """Writes one export's files under `exports/<export_id>/<sample_id>/`."""

    def __init__(self, store: Store, export_id: str):
        self.store = store
        self.export_id = export_id

    def url(self, *parts: str) -> str:
        return self.store.url_of(EXPORTS, self.export_id, *parts)

    def write(self, sample_id: str, name: str, data: bytes) -> str:
        self.store.write_bytes(data, EXPORTS, self.export_id, sample_id, name)
        return name

    def write_image(self, sample_id: str, name: str, image: np.ndarray) -> str:
        return self.write(sample_id, name, encode_png(image))

    def write_labels(self, sample_id: str, labels: np.ndarray) -> str:
        name, data = label_image_bytes(labels)
        return self.write(sample_id, name, data)

    def write_json(self, sample_id: str, name: str, obj: Any) -> str:
        return self.write(sample_id, name, json.dumps(obj).encode())

    def write_table(self, sample_id: str, name: str, rows) -> str:
        return self.write(sample_id, name, table_bytes(rows))

    def read_image(
        self, sample_id: str, name: str, flags: int = cv2.IMREAD_UNCHANGED
    ) -> np.ndarray:
        return decode_image(self.store.read_bytes(EXPORTS, self.export_id, sample_id, name), flags)

    def write_skeleton(self, sample_id: str, skeleton: np.ndarray) -> str:
        return self.write_image(sample_id, SKELETON_FILE, skeleton)

    def read_skeleton(self, sample_id: str) -> np.ndarray:
        """(H, W) uint8, as written."""
        return self.read_image(sample_id, SKELETON_FILE, cv2.IMREAD_GRAYSCALE)

    def write_documents(self, sample_id: str, documents: dict[str, Any]) -> list[str]:
        """Each export format's object (`regions.danbooregion.extraction.export_documents`) to its file:
        labels → label image, flat → PNG, regions → Parquet, coco → JSON, svg → text."""
        writers = {
            "labels": lambda labels: self.write_labels(sample_id, labels),
            "flat": lambda image: self.write_image(sample_id, EXPORT_FILES["flat"], image),
            "regions": lambda rows: self.write_table(sample_id, EXPORT_FILES["regions"], rows),
            "coco": lambda doc: self.write_json(sample_id, EXPORT_FILES["coco"], doc),
            "svg": lambda text: self.write(sample_id, EXPORT_FILES["svg"], text.encode()),
        }
        unknown = sorted(set(documents) - set(writers))
        if unknown:
            raise ValueError(f"documents: no file for the formats {unknown}")
        return [writers[name](document) for name, document in documents.items()]

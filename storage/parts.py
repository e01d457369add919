"""Character-part datasets, reports and exports in the store.

<store>/parts/<dataset>/images/<image id>.png   the validated images, re-encoded PNG
<store>/parts/<dataset>/instances.json          COCO: ok images only (each with "split"),
                                                categories 1..K = the class list, RLE masks
<store>/parts/<dataset>/manifest.parquet        every image: id, file_name, split, status
                                                (ok | quarantined), reason, n_instances, sha256
<store>/reports/<evaluation>/                   metrics.parquet (one row per IoU type × class),
                                                results.json (COCO results), summary.json,
                                                report.md
<store>/exports/<export>/<image>/               results.json, <class>.png labels, overlay.png

A COCO source on disk (what annotation tools export) is read by `read_coco_source`: the JSON
plus image files resolved relative to an images folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from regionflow.storage.atomic import atomic_write_bytes
from regionflow.storage.exports import decode_image, encode_png, read_table, table_bytes
from regionflow.storage.fingerprints import sha256_bytes
from regionflow.storage.store import Store

PARTS = "parts"
REPORTS = "reports"
EXPORTS = "exports"


def dataset_parts(name: str, *rest: str) -> tuple[str, ...]:
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"dataset: not a plain name: {name!r}")
    return (PARTS, name, *rest)


def read_coco_source(
    annotations: str | os.PathLike[str], images: str | os.PathLike[str] | None = None
) -> tuple[dict[str, Any], dict[int, bytes | None]]:
    """A COCO JSON file and its images (bytes by image id; None for a missing file).

    `file_name` is resolved under `images` (default: see below) and may hold subfolders.
    """
    path = Path(annotations)
    if not path.is_file():
        raise FileNotFoundError(f"annotations: {path} does not exist")
    try:
        document = json.loads(path.read_text())
    except ValueError as error:
        raise ValueError(f"annotations: {path} is not JSON: {error}") from None
    # Without `images`: beside the JSON, or in images/ beside it or beside its folder (CVAT's
    # export is annotations/instances_default.json + images/).
    folders = (
        [Path(images)]
        if images is not None
        else [path.parent, path.parent / "images", path.parent.parent / "images"]
    )
    found: dict[int, bytes | None] = {}
    for entry in document.get("images", []) if isinstance(document, dict) else []:
        if not isinstance(entry, dict) or "id" not in entry:
            continue
        files = [folder / str(entry.get("file_name", "")) for folder in folders]
        file = next((f for f in files if f.is_file()), None)
        found[int(entry["id"])] = file.read_bytes() if file is not None else None
    return document, found


def image_shape(data: bytes | None) -> tuple[int, int] | None:
    """(H, W) of encoded image bytes, None when missing or undecodable."""
    if data is None:
        return None
    try:
        return decode_image(data, cv2.IMREAD_COLOR).shape[:2]
    except ValueError:
        return None


def write_coco_source(
    folder: str | os.PathLike[str], document: dict, images: dict[str, np.ndarray]
) -> Path:
    """Write a COCO dataset as an annotation tool would: `annotations.json` + `images/<file>`."""
    folder = Path(folder)
    for file_name, image in images.items():
        atomic_write_bytes(folder / "images" / file_name, encode_png(image))
    return atomic_write_bytes(folder / "annotations.json", json.dumps(document).encode())


def write_dataset(
    store: Store,
    name: str,
    document: dict[str, Any],
    images: dict[int, bytes],
    manifest: list[dict[str, Any]],
) -> dict[str, Any]:
    """Images first, then the COCO document and the manifest (written last: the dataset is
    complete once it exists). Returns {"images": n ok, "quarantined": n, "sha256": of the doc}."""
    for image_id, data in images.items():
        image = decode_image(data, cv2.IMREAD_COLOR)
        store.write_bytes(encode_png(image), *dataset_parts(name, "images", f"{image_id}.png"))
    body = json.dumps(document, sort_keys=True).encode()
    store.write_bytes(body, *dataset_parts(name, "instances.json"))
    store.write_bytes(table_bytes(manifest), *dataset_parts(name, "manifest.parquet"))
    return {
        "images": sum(row["status"] == "ok" for row in manifest),
        "quarantined": sum(row["status"] != "ok" for row in manifest),
        "sha256": sha256_bytes(body),
    }


def read_dataset(store: Store, name: str) -> dict[str, Any]:
    """The dataset's COCO document (ok images only)."""
    if not store.exists(*dataset_parts(name, "manifest.parquet")):
        raise FileNotFoundError(f"parts dataset {name!r} not in {store.url} (run `parts ingest`)")
    return store.read_json(*dataset_parts(name, "instances.json"))


def read_dataset_manifest(store: Store, name: str) -> list[dict[str, Any]]:
    return read_table(store, *dataset_parts(name, "manifest.parquet"))


def read_dataset_image(store: Store, name: str, image_id: int) -> np.ndarray:
    return decode_image(
        store.read_bytes(*dataset_parts(name, "images", f"{image_id}.png")), cv2.IMREAD_COLOR
    )


def write_evaluation(
    store: Store,
    evaluation: str,
    rows: list[dict[str, Any]],
    results: list[dict[str, Any]],
    summary: dict[str, Any],
    report: str,
) -> str:
    """metrics.parquet, results.json, summary.json, then report.md; returns the report's URL."""
    parts = (REPORTS, evaluation)
    store.write_bytes(table_bytes(rows), *parts, "metrics.parquet")
    store.write_json(results, *parts, "results.json")
    store.write_json(summary, *parts, "summary.json")
    store.write_bytes(report.encode(), *parts, "report.md")
    return store.url_of(*parts, "report.md")


def read_evaluation(store: Store, evaluation: str) -> list[dict[str, Any]]:
    return read_table(store, REPORTS, evaluation, "metrics.parquet")


def write_prediction(
    store: Store,
    export: str,
    image_name: str,
    results: list[dict[str, Any]],
    class_labels: dict[str, np.ndarray],
    overlay: np.ndarray,
) -> str:
    """One image's export: a label PNG per class (uint16, 0 = none, k = k-th instance of that
    class), overlay.png, then results.json (COCO results; written last = the image is done)."""
    parts = (EXPORTS, export, image_name)
    for class_name, labels in class_labels.items():
        store.write_bytes(encode_png(labels.astype(np.uint16)), *parts, f"{class_name}.png")
    store.write_bytes(encode_png(overlay), *parts, "overlay.png")
    store.write_json(results, *parts, "results.json")
    return store.url_of(*parts)


def prediction_done(store: Store, export: str, image_name: str) -> bool:
    return store.exists(EXPORTS, export, image_name, "results.json")


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def expand_image_paths(inputs: list[str]) -> list[str]:
    """Image files from files, folders (their images, sorted) and globs; missing → error."""
    import glob

    found: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found += sorted(str(p) for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            found.append(str(path))
        else:
            matches = sorted(glob.glob(item))
            if not matches:
                raise FileNotFoundError(f"inputs: {item} matches no file")
            found += [m for m in matches if Path(m).is_file()]
    return found


def dataset_fingerprint(store: Store, name: str) -> str:
    """sha256 of the dataset's instances.json: what `write_dataset` returned when it wrote it."""
    read_dataset(store, name)  # a clear error when the dataset is missing
    return sha256_bytes(store.read_bytes(*dataset_parts(name, "instances.json")))


def coco_source_fingerprint(
    annotations: str | os.PathLike[str], images: str | os.PathLike[str] | None = None
) -> str:
    """Content hash of the COCO file plus (name, size, mtime) of every file under the images
    folder: a re-exported dataset or a replaced image re-ingests."""
    path = Path(annotations)
    if not path.is_file():
        raise FileNotFoundError(f"annotations: {path} does not exist")
    folders = [Path(images)] if images is not None else [path.parent, path.parent.parent / "images"]
    listing = sorted(
        f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
        for folder in folders
        if folder.is_dir()
        for p in folder.rglob("*")
        if p.is_file() and p != path
    )
    return sha256_bytes(path.read_bytes() + "\n".join(listing).encode())

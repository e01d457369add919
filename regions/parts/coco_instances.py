"""COCO instance annotations in and out: validation, masks, results, the parts document.

What CVAT, Label Studio and labelme exports produce is a COCO document: `images` (id,
file_name, width, height), `categories` (id, name) and `annotations` (id, image_id, category_id,
bbox [x, y, w, h], segmentation as polygons [[x0, y0, x1, y1, ...], ...] or RLE {size, counts},
iscrowd). `validate_image` checks one image's annotations against the image actually read and
the configured class list, and returns the instances in one normal form (compressed RLE, class
index into the class list) or the reason to quarantine the image. Pure: no files, no torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

__all__ = [
    "Instance",
    "category_classes",
    "check_document",
    "class_key",
    "decode_mask",
    "encode_mask",
    "instances_document",
    "results_for_image",
    "validate_image",
]

# Annotation tools round vertices to pixel edges (x = width) and sometimes beyond by a hair.
BOUNDS_TOLERANCE = 1.0


@dataclass(frozen=True)
class Instance:
    """One validated instance: class index into the class list, compressed RLE, area, box."""

    class_index: int
    rle: dict[str, Any]  # {"size": [H, W], "counts": str}
    area: int
    bbox: tuple[float, float, float, float]  # x, y, w, h of the mask
    iscrowd: int = 0


def class_key(name: str) -> str:
    """How class names are compared: case-, space-, underscore-insensitive ("T_shirt" = "t-shirt")."""
    return "-".join(str(name).strip().lower().replace("_", " ").replace("-", " ").split())


def check_document(document: Any) -> None:
    """Raise ValueError unless `document` has COCO's three lists (images, annotations,
    categories) with an id on every entry."""
    if not isinstance(document, Mapping):
        raise ValueError(f"document: expected a COCO JSON object, got {type(document).__name__}")
    for key in ("images", "annotations", "categories"):
        if not isinstance(document.get(key), list):
            raise ValueError(f"document: missing list {key!r}")
        for entry in document[key]:
            if not isinstance(entry, Mapping) or "id" not in entry:
                raise ValueError(f"document: an entry of {key!r} has no id: {entry!r:.80}")


def category_classes(
    categories: Sequence[Mapping[str, Any]], classes: Sequence[str]
) -> dict[int, int | None]:
    """category id → class index (by name, see `class_key`), or None for a category that is
    not one of `classes` (its annotations are left out, not an error)."""
    index = {class_key(name): i for i, name in enumerate(classes)}
    if len(index) != len(classes):
        raise ValueError(f"classes: names must be distinct, got {list(classes)}")
    return {int(c["id"]): index.get(class_key(c.get("name", ""))) for c in categories}


def encode_mask(mask: np.ndarray) -> dict[str, Any]:
    """(H, W) bool → compressed COCO RLE with `counts` as str (JSON-ready)."""
    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def decode_mask(segmentation: Any, height: int, width: int) -> np.ndarray:
    """COCO segmentation (polygons, uncompressed or compressed RLE) → (H, W) bool."""
    if isinstance(segmentation, list):
        rles = coco_mask.frPyObjects([list(map(float, p)) for p in segmentation], height, width)
        rle = coco_mask.merge(rles)
    elif isinstance(segmentation, Mapping):
        counts = segmentation["counts"]
        if isinstance(counts, list):
            rle = coco_mask.frPyObjects(dict(segmentation), height, width)
        else:
            rle = {
                "size": list(segmentation["size"]),
                "counts": counts.encode("ascii") if isinstance(counts, str) else counts,
            }
    else:
        raise ValueError(
            f"segmentation: expected polygons or RLE, got {type(segmentation).__name__}"
        )
    return coco_mask.decode(rle).astype(bool)


def _finite(values: Sequence[Any]) -> bool:
    try:
        return all(math.isfinite(float(v)) for v in values)
    except (TypeError, ValueError):
        return False


def _problem(annotation: Mapping[str, Any], height: int, width: int) -> str | None:
    """Why this annotation is unusable, or None. Category checks are the caller's."""
    bbox = annotation.get("bbox")
    if bbox is not None:
        if not isinstance(bbox, list | tuple) or len(bbox) != 4 or not _finite(bbox):
            return f"bbox is not 4 finite numbers: {bbox!r:.60}"
        x, y, w, h = map(float, bbox)
        if w <= 0 or h <= 0:
            return f"bbox has no area: {bbox}"
        tol = BOUNDS_TOLERANCE
        if x < -tol or y < -tol or x + w > width + tol or y + h > height + tol:
            return f"bbox {bbox} lies outside the {width}x{height} image"
    segmentation = annotation.get("segmentation")
    if segmentation is None or segmentation == []:
        return "no segmentation"
    if isinstance(segmentation, list):
        for polygon in segmentation:
            if not isinstance(polygon, list) or len(polygon) < 6 or len(polygon) % 2:
                return "polygon needs an even number of coordinates, at least 3 points"
            if not _finite(polygon):
                return "polygon has non-finite coordinates"
            xs, ys = np.asarray(polygon[0::2], float), np.asarray(polygon[1::2], float)
            tol = BOUNDS_TOLERANCE
            if (
                xs.min() < -tol
                or ys.min() < -tol
                or xs.max() > width + tol
                or ys.max() > height + tol
            ):
                return f"polygon leaves the {width}x{height} image"
            # Shoelace: a polygon of zero area (all points on a line) draws nothing.
            if abs(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1))) < 1e-9:
                return "polygon has zero area"
    elif isinstance(segmentation, Mapping):
        size = segmentation.get("size")
        if not isinstance(size, list | tuple) or [int(s) for s in size] != [height, width]:
            return f"RLE size {size} differs from the image's {[height, width]}"
        if "counts" not in segmentation:
            return "RLE has no counts"
    else:
        return f"segmentation is neither polygons nor RLE: {type(segmentation).__name__}"
    return None


def validate_image(
    image: Mapping[str, Any],
    annotations: Sequence[Mapping[str, Any]],
    *,
    shape: tuple[int, int] | None,
    category_to_class: Mapping[int, int | None],
) -> tuple[list[Instance], str | None]:
    """Check one image's annotations; return (instances, None) or ([], reason to quarantine).

    Parameters
    ----------
    image : the COCO image entry (its width/height, when given, must match `shape`)
    annotations : the COCO annotations whose image_id is this image's id
    shape : (H, W) of the decoded image file, or None when it is missing or undecodable
    category_to_class : from `category_classes`; ids absent from it are unknown categories

    An image is quarantined when its file is missing, its size disagrees with the document, or
    any of its annotations is bad (unknown category, bad polygon or RLE, box out of bounds,
    empty mask): training on half an image's labels teaches the model that the rest is
    background. Annotations of known categories outside the class list are left out.
    """
    if shape is None:
        return [], f"image file {image.get('file_name')!r} is missing or not an image"
    height, width = int(shape[0]), int(shape[1])
    declared = (image.get("height"), image.get("width"))
    if None not in declared and (int(declared[0]), int(declared[1])) != (height, width):
        return [], f"document says {declared[1]}x{declared[0]}, the file is {width}x{height}"
    instances = []
    for annotation in annotations:
        name = f"annotation {annotation.get('id')}"
        category = annotation.get("category_id")
        try:
            category = int(category)
        except (TypeError, ValueError):
            return [], f"{name}: category_id {category!r} is not an integer"
        if category not in category_to_class:
            return [], f"{name}: unknown category id {category}"
        problem = _problem(annotation, height, width)
        if problem:
            return [], f"{name}: {problem}"
        class_index = category_to_class[category]
        if class_index is None:
            continue
        try:
            mask = decode_mask(annotation["segmentation"], height, width)
        except Exception as error:  # pycocotools raises bare Exceptions on bad counts
            return [], f"{name}: segmentation does not decode: {error}"
        area = int(mask.sum())
        if area == 0:
            return [], f"{name}: mask is empty"
        ys, xs = np.nonzero(mask)
        box = (
            float(xs.min()),
            float(ys.min()),
            float(xs.max() - xs.min() + 1),
            float(ys.max() - ys.min() + 1),
        )
        instances.append(
            Instance(
                class_index, encode_mask(mask), area, box, int(bool(annotation.get("iscrowd", 0)))
            )
        )
    return instances, None


def instances_document(
    images: Sequence[Mapping[str, Any]],
    instances: Sequence[Sequence[Instance]],
    classes: Sequence[str],
) -> dict[str, Any]:
    """A COCO document: `images` (entries as given: id, file_name, width, height, ...), one
    annotation per instance (ids from 1, category_id = class index + 1), categories 1..K."""
    if len(images) != len(instances):
        raise ValueError(f"instances: {len(instances)} lists for {len(images)} images")
    annotations = []
    for image, found in zip(images, instances, strict=True):
        for instance in found:
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": int(image["id"]),
                    "category_id": instance.class_index + 1,
                    "segmentation": dict(instance.rle),
                    "area": int(instance.area),
                    "bbox": [float(v) for v in instance.bbox],
                    "iscrowd": int(instance.iscrowd),
                }
            )
    return {
        "info": {"description": "regionflow character parts"},
        "images": [dict(image) for image in images],
        "annotations": annotations,
        "categories": [
            {"id": i + 1, "name": name, "supercategory": "part"} for i, name in enumerate(classes)
        ],
    }


def results_for_image(
    image_id: int,
    masks: np.ndarray,
    class_indices: np.ndarray,
    scores: np.ndarray,
) -> list[dict[str, Any]]:
    """COCO results (what `COCO.loadRes` reads) for one image's predictions.

    masks (N, H, W) bool, class_indices (N,) int into the class list, scores (N,) float.
    Boxes are the masks' extents (an empty mask gets a zero box)."""
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 3:
        raise ValueError(f"masks: expected (N, H, W), got {masks.shape}")
    if not len(masks) == len(class_indices) == len(scores):
        raise ValueError("masks, class_indices, scores: lengths differ")
    results = []
    for mask, class_index, score in zip(masks, class_indices, scores, strict=True):
        ys, xs = np.nonzero(mask)
        if xs.size:
            box = [
                float(xs.min()),
                float(ys.min()),
                float(xs.max() - xs.min() + 1),
                float(ys.max() - ys.min() + 1),
            ]
        else:
            box = [0.0, 0.0, 0.0, 0.0]
        results.append(
            {
                "image_id": int(image_id),
                "category_id": int(class_index) + 1,
                "segmentation": encode_mask(mask),
                "bbox": box,
                "score": float(score),
            }
        )
    return results

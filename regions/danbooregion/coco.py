"""Label map → COCO instance annotations (compressed RLE), and the COCO document around them.

Why not ``pycocotools.mask.encode``: it takes one full-image mask per region, so a map with N
regions costs N full-image passes (5,000 regions on a 1024×1820 image is ~9·10⁹ byte
operations, tens of seconds, and chunks of masks cost memory). COCO's RLE is just the run
lengths of the mask in column-major order, starting with a run of zeros. So we run-length
encode the whole label map once in column-major order, group the runs by label, and every
region's counts follow from its runs' starts and lengths. pycocotools then only compresses the
counts to its string form (``frPyObjects`` on uncompressed RLE); area and bbox come from the
runs as well. The result is byte-identical to ``mask.encode`` on the region's mask (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

from regionflow.regions.danbooregion.region_table import _check_labels

__all__ = ["coco_annotations", "coco_document"]

DEFAULT_CATEGORIES = ({"id": 1, "name": "region"},)


def _region_runs(
    labels: np.ndarray,
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray, np.ndarray]:
    """(ids, counts, areas, boxes): the positive labels present (ascending, (N,)); for each its
    COCO RLE counts (uint32, column-major); its pixel count (N,); its [x, y, w, h] box (N, 4)."""
    height, width = labels.shape
    total = height * width
    flat = labels.ravel(order="F")
    starts = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], starts))
    ends = np.concatenate((starts[1:], [total]))
    values = flat[starts]
    keep = values != 0
    starts, ends, values = starts[keep], ends[keep], values[keep]
    if values.size == 0:
        return np.zeros(0, np.int64), [], np.zeros(0, np.int64), np.zeros((0, 4), np.int64)
    # Stable: within a label the runs stay in column-major order.
    order = np.argsort(values, kind="stable")
    starts, ends, values = starts[order], ends[order], values[order]
    first = np.concatenate(([True], values[1:] != values[:-1]))
    previous_end = np.concatenate(([0], ends[:-1]))
    previous_end[first] = 0
    # Alternating zeros-run, ones-run per region run. Runs are maximal over the whole map, so
    # two runs of one label never abut: every gap after the first is > 0.
    pairs = np.stack((starts - previous_end, ends - starts), axis=1).ravel().astype(np.uint32)
    group_starts = np.flatnonzero(first)
    group_ends = np.concatenate((group_starts[1:], [values.size]))
    trailing = total - ends[group_ends - 1]
    counts = []
    for g0, g1, tail in zip(group_starts, group_ends, trailing, strict=True):
        run = pairs[2 * g0 : 2 * g1]
        counts.append(np.append(run, np.uint32(tail)) if tail > 0 else run)
    # Area and box from the runs too. (pycocotools' mask.area fails for more than 255 masks
    # under NumPy 2: a stray np.array((n,), dtype=np.uint8) in _mask.pyx.) A run that wraps
    # from one column into the next covers every row in between.
    areas = np.add.reduceat(ends - starts, group_starts)
    first_column, last_column = starts // height, (ends - 1) // height
    wraps = first_column != last_column
    top = np.where(wraps, 0, starts % height)
    bottom = np.where(wraps, height - 1, (ends - 1) % height)
    x = first_column[group_starts]
    y = np.minimum.reduceat(top, group_starts)
    w = last_column[group_ends - 1] - x + 1
    h = np.maximum.reduceat(bottom, group_starts) - y + 1
    boxes = np.stack((x, y, w, h), axis=1)
    return values[group_starts].astype(np.int64), counts, areas, boxes


def coco_annotations(
    labels: np.ndarray,
    *,
    image_id: int,
    category_id: int = 1,
    start_id: int = 1,
) -> list[dict[str, Any]]:
    """One COCO instance annotation per region of a label map.

    Parameters
    ----------
    labels : (H, W) integer array, 0 = unlabelled (no annotation), > 0 = region.
    image_id : the ``id`` of the COCO image the annotations belong to.
    category_id : the category every region gets.
    start_id : the first annotation ``id``; regions are numbered on in ascending label order.
        Annotation ids must be unique across a whole COCO document, so give each image a
        `start_id` past the previous image's last id.

    Returns
    -------
    list of dicts, ascending by label, JSON-serialisable::

        {"id", "image_id", "category_id",
         "segmentation": {"size": [H, W], "counts": str},   # compressed RLE
         "area": int, "bbox": [x, y, w, h] (ints), "iscrowd": 0,
         "region_id": int}                                  # the label value

    ``pycocotools.mask.decode(segmentation)`` (counts as bytes or str) gives back the region's
    (H, W) mask exactly. ``region_id`` links an annotation to `region_table`'s ``id`` column.
    """
    labels = _check_labels(labels)
    for name, value in (
        ("image_id", image_id),
        ("category_id", category_id),
        ("start_id", start_id),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"{name}: expected an int, got {value!r}")
    height, width = labels.shape
    ids, counts, areas, boxes = _region_runs(labels)
    if ids.size == 0:
        return []
    rles = coco_mask.frPyObjects(
        [{"size": [height, width], "counts": c} for c in counts], height, width
    )
    return [
        {
            "id": int(start_id) + k,
            "image_id": int(image_id),
            "category_id": int(category_id),
            "segmentation": {"size": [height, width], "counts": rle["counts"].decode("ascii")},
            "area": int(area),
            "bbox": [int(v) for v in box],
            "iscrowd": 0,
            "region_id": int(label),
        }
        for k, (label, rle, area, box) in enumerate(zip(ids, rles, areas, boxes, strict=True))
    ]


def coco_document(
    images: Sequence[dict[str, Any]],
    annotations: Sequence[dict[str, Any]],
    *,
    categories: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A COCO instances document (``json.dumps``-ready; ``pycocotools.coco.COCO`` loads it).

    Parameters
    ----------
    images : dicts with at least ``id``, ``file_name``, ``height``, ``width``; ids unique.
    annotations : e.g. `coco_annotations` of each image, concatenated; ids unique, each
        ``image_id`` one of `images` and each ``category_id`` one of `categories`.
    categories : dicts with ``id`` and ``name``; default ``[{"id": 1, "name": "region"}]``.

    Returns
    -------
    ``{"info", "images", "annotations", "categories"}``, holding shallow copies of the dicts
    passed in (the inputs are not modified).

    Raises
    ------
    ValueError : naming `images`, `annotations` or `categories` when a key is missing, an id is
        repeated, or a reference points nowhere.
    """
    categories = DEFAULT_CATEGORIES if categories is None else categories
    image_list = [dict(image) for image in images]
    annotation_list = [dict(annotation) for annotation in annotations]
    category_list = [dict(category) for category in categories]
    for name, items, keys in (
        ("images", image_list, ("id", "file_name", "height", "width")),
        ("annotations", annotation_list, ("id", "image_id", "category_id", "segmentation")),
        ("categories", category_list, ("id", "name")),
    ):
        for i, item in enumerate(items):
            missing = [key for key in keys if key not in item]
            if missing:
                raise ValueError(f"{name}: item {i} lacks {', '.join(missing)}")
        item_ids = [item["id"] for item in items]
        if len(set(item_ids)) != len(item_ids):
            raise ValueError(f"{name}: ids are not unique")
    image_sizes = {image["id"]: (image["height"], image["width"]) for image in image_list}
    category_ids = {category["id"] for category in category_list}
    for annotation in annotation_list:
        size = image_sizes.get(annotation["image_id"])
        if size is None:
            raise ValueError(
                f"annotations: id {annotation['id']} refers to unknown image_id "
                f"{annotation['image_id']}"
            )
        if annotation["category_id"] not in category_ids:
            raise ValueError(
                f"annotations: id {annotation['id']} refers to unknown category_id "
                f"{annotation['category_id']}"
            )
        segmentation = annotation["segmentation"]
        if isinstance(segmentation, dict) and tuple(segmentation.get("size", ())) != size:
            raise ValueError(
                f"annotations: id {annotation['id']} has RLE size {segmentation.get('size')}, "
                f"image {annotation['image_id']} is {list(size)}"
            )
    return {
        "info": {"description": "regionflow regions"},
        "images": image_list,
        "annotations": annotation_list,
        "categories": category_list,
    }

"""One image → regions, by predictor name → the export formats of those regions.

A skeleton map (the model's prediction or the ground-truth target) goes through a decoder; the
classical baselines (felzenszwalb, slic, watershed) go straight from the image. Exports are
returned as objects (arrays, columns, documents, text); storage names and encodes the files.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from regionflow.regions.danbooregion.baselines import (
    felzenszwalb_regions,
    slic_regions,
    watershed_regions,
)
from regionflow.regions.danbooregion.coco import coco_annotations, coco_document
from regionflow.regions.danbooregion.decode import (
    DECODERS,
    decode_colour,
    decode_full,
    decode_simple,
    flat_colour,
)
from regionflow.regions.danbooregion.region_table import region_table
from regionflow.regions.danbooregion.svg import svg_document

__all__ = ["BASELINES", "EXPORT_FORMATS", "export_documents", "predicted_regions"]

BASELINES = {
    "felzenszwalb": felzenszwalb_regions,
    "slic": slic_regions,
    "watershed": watershed_regions,
}
EXPORT_FORMATS = ("labels", "flat", "regions", "coco", "svg")


def predicted_regions(
    image: np.ndarray,
    skeleton: np.ndarray | None,
    *,
    predictor: str,
    decoder: str = "full",
    threshold: int | None = None,
) -> np.ndarray:
    """The regions of one image.

    Parameters
    ----------
    image : (H, W, 3) uint8 BGR.
    skeleton : (H, W) uint8 skeleton map; unused (may be None) for a baseline predictor.
    predictor : a baseline's name (`BASELINES`), or any other name for "decode `skeleton`".
    decoder : "simple" (`decode_simple`), "full" (`decode_full`) or "colour" (`decode_colour`);
        the last two also use the image.
    threshold : the decoder's marker threshold; None: the decoder's default.

    Returns
    -------
    (H, W) integer labels, consecutive from 1.
    """
    if predictor in BASELINES:
        return BASELINES[predictor](image)
    if skeleton is None:
        raise ValueError(f"skeleton: predictor {predictor!r} decodes a skeleton map, got None")
    if decoder not in DECODERS:
        raise ValueError(f"decoder: expected one of {DECODERS}, got {decoder!r}")
    options = {} if threshold is None else {"threshold": threshold}
    if decoder == "simple":
        return decode_simple(skeleton, **options)
    if decoder == "colour":
        return decode_colour(skeleton, image, **options)
    return decode_full(skeleton, image, **options)


def export_documents(
    image: np.ndarray, labels: np.ndarray, formats: Iterable[str], *, file_name: str
) -> dict[str, Any]:
    """Each asked-for export format of one image's regions, as an object:

    labels → the (H, W) labels; flat → (H, W, 3) uint8 picture, each region its median colour;
    regions → per-region columns (`region_table`); coco → a COCO instances document naming the
    image `file_name`; svg → an SVG drawing (str).

    Parameters
    ----------
    image : (H, W, 3) uint8 BGR.
    labels : (H, W) integer labels of `image`.
    formats : names from `EXPORT_FORMATS`.
    """
    formats = list(formats)
    unknown = sorted(set(formats) - set(EXPORT_FORMATS))
    if unknown:
        raise ValueError(f"formats: unknown {unknown}, expected some of {EXPORT_FORMATS}")
    documents: dict[str, Any] = {}
    if "labels" in formats:
        documents["labels"] = labels
    if "flat" in formats:
        documents["flat"] = flat_colour(image, labels)
    if "regions" in formats:
        documents["regions"] = region_table(labels, image)
    if "coco" in formats:
        h, w = labels.shape
        images = [{"id": 1, "file_name": file_name, "height": h, "width": w}]
        documents["coco"] = coco_document(images, coco_annotations(labels, image_id=1))
    if "svg" in formats:
        documents["svg"] = svg_document(labels, image)
    return documents

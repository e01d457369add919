"""A region map against its image: size agreement, alignment, a usable annotation.

Ingest decodes both files at the storage edge (`storage.validation.decode_pair`); whether the
decoded map can annotate the decoded image is a question about arrays, answered here. A map
that cannot raises `AnnotationError` with the reason that goes into the manifest's quarantine
column.
"""

from __future__ import annotations

import numpy as np


class AnnotationError(ValueError):
    """A region map that cannot annotate its image; `reason` is human-readable."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def check_max_size_mismatch(max_size_mismatch: int) -> None:
    """`ValueError` naming the argument unless it is an integer >= 0."""
    if not isinstance(max_size_mismatch, int | np.integer) or max_size_mismatch < 0:
        raise ValueError(f"max_size_mismatch: expected an integer >= 0, got {max_size_mismatch!r}")


def fit_region_map(
    region_map: np.ndarray, shape: tuple[int, int], *, max_size_mismatch: int = 2
) -> tuple[np.ndarray, list[str]]:
    """The region map made to annotate an image of `shape`, and the flags that says so.

    Parameters
    ----------
    region_map : (H, W, 3) uint8 array, BGR as decoded. Not modified.
    shape : (height, width) of the image
    max_size_mismatch : int
        Largest difference in width or height, in pixels, that is repaired: the region map is
        anchored at the top-left corner, cropped at the right/bottom where it is larger and
        extended by repeating its last column/row where it is smaller (repeating adds no new
        colour, so no new region). DanbooRegion has 1-px differences (1820 vs 1821 wide).

    Returns
    -------
    region_map : (height, width, 3) uint8, the input itself when its size already agrees
    flags : ["size_mismatch_aligned"] when the map was cropped/extended, else []

    Raises
    ------
    AnnotationError: sizes differ by more than `max_size_mismatch`, or the region map has a
        single colour (a valid file, but an annotation with nothing to learn).
    """
    check_max_size_mismatch(max_size_mismatch)
    (ih, iw), (rh, rw) = tuple(shape), region_map.shape[:2]
    flags = []
    if max(abs(ih - rh), abs(iw - rw)) > max_size_mismatch:
        raise AnnotationError(
            f"image {iw}×{ih} vs region map {rw}×{rh} differ by more than {max_size_mismatch} px"
        )
    if (ih, iw) != (rh, rw):
        region_map = align_region_map(region_map, (ih, iw))
        flags.append("size_mismatch_aligned")
    if (region_map == region_map[:1, :1]).all():
        raise AnnotationError("region map has a single colour")
    return region_map, flags


def align_region_map(region_map: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Crop or extend a region map to `shape`, anchored at the top-left corner.

    Parameters
    ----------
    region_map : (H, W) or (H, W, C) array
    shape : (height, width) wanted

    Returns
    -------
    A new array of `shape` (+ channels): rows/columns beyond `shape` cropped, missing ones
    filled by repeating the last row/column. The input is not modified.
    """
    height, width = shape
    if height <= 0 or width <= 0:
        raise ValueError(f"shape: expected positive (height, width), got {shape!r}")
    region_map = np.asarray(region_map)
    if region_map.ndim not in (2, 3) or 0 in region_map.shape[:2]:
        raise ValueError(
            f"region_map: expected a non-empty (H, W[, C]) array, got {region_map.shape}"
        )
    out = region_map[:height, :width]
    pad_rows, pad_cols = height - out.shape[0], width - out.shape[1]
    if pad_rows or pad_cols:
        pad = [(0, pad_rows), (0, pad_cols)] + [(0, 0)] * (out.ndim - 2)
        out = np.pad(out, pad, mode="edge")
    return np.ascontiguousarray(out) if out is not region_map else out.copy()

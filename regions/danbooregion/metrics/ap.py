"""DanbooRegion AP / OIS / ODS: the authors' boundary precision at several scales, no
tolerance, no recall (`danbooregion_counts`, `danbooregion_scores`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from numba import njit

from regionflow.regions.danbooregion.metrics._common import _as_rows, _keys, _ratio

#: Short-side sizes the DanbooRegion metric is evaluated at; AP uses 512.
DANBOOREGION_SCALES: tuple[int, ...] = tuple(range(256, 961, 64))
_AP_SCALE = 512


def _nearest_index(source: int, target: int) -> np.ndarray:
    """Source index of each target index under cv2.resize(..., INTER_NEAREST)."""
    # OpenCV: scale = 1 / (target / source) in double, index = floor(i * scale), clamped.
    scale = 1.0 / (target / source)
    return np.minimum(np.floor(np.arange(target) * scale).astype(np.int64), source - 1)


def _short_side_size(shape: tuple[int, int], scale: int) -> tuple[int, int]:
    height, width = shape
    short, long = min(height, width), max(height, width)
    long_size = int(scale / short * long)
    return (scale, long_size) if height <= width else (long_size, scale)


def danbooregion_edges(region_map: np.ndarray) -> np.ndarray:
    """Edge map of a region map as the DanbooRegion metric defines it.

    A pixel is an edge where its colour differs from the pixel to its left or above: the sum
    over channels of squared 2-tap differences is > 0, with OpenCV ``filter2D``'s anchoring of
    the kernel ``[-1, 1]`` (``d[x] = m[x] − m[x−1]``) and reflect-101 at the first row/column
    (row 0 compares with row 1). This is the convention that reproduces the published numbers.

    Parameters
    ----------
    region_map : (H, W, 3|4) uint8 colour map, or (H, W) integer label map

    Returns
    -------
    (H, W) bool
    """
    return _key_edges(_keys(region_map, "region_map"))


def _key_edges(key: np.ndarray) -> np.ndarray:
    edges = np.zeros(key.shape, dtype=bool)
    if key.shape[1] > 1:
        horizontal = key[:, 1:] != key[:, :-1]
        edges[:, 1:] |= horizontal
        edges[:, 0] |= horizontal[:, 0]
    if key.shape[0] > 1:
        vertical = key[1:, :] != key[:-1, :]
        edges[1:, :] |= vertical
        edges[0, :] |= vertical[0, :]
    return edges


def danbooregion_counts(
    gt_map: np.ndarray,
    est_map: np.ndarray,
    *,
    scales: Sequence[int] = DANBOOREGION_SCALES,
) -> list[dict[str, int]]:
    """Raw counts of the DanbooRegion metric for one image, one row per scale.

    At each scale s both maps are resized nearest-neighbour (as cv2.INTER_NEAREST) so that the
    short side is s and the long side ``int(s / short * long)``, computed from the ground
    truth's shape and used for both maps (the same as the original whenever the original
    runs; it fails when the two resized maps differ by a pixel). Edges: `danbooregion_edges`.

    Parameters
    ----------
    gt_map, est_map : (H, W, 3|4) uint8 colour maps or (H, W) integer label maps; sizes may
        differ (the estimation is often at 2× the ground truth). A label map counts like a
        colour map with one colour per label, which is not always the same as the original
        colour map: downsampling can drop a thin region between two regions of one colour.
    scales : short-side sizes.

    Returns
    -------
    list of {"scale", "tp" (|GT ∧ EST| edges), "n_est" (|EST|), "n_gt" (|GT|)}
    """
    scales = [int(s) for s in scales]
    if not scales or min(scales) < 1:
        raise ValueError(f"scales: expected positive sizes, got {scales}")
    gt_shape = np.shape(gt_map)[:2]
    sizes = [_short_side_size(gt_shape, scale) for scale in scales]
    samples = sum(height * width for height, width in sizes)
    gt = _region_keys(gt_map, "gt_map", samples=samples)
    est = _region_keys(est_map, "est_map", samples=samples)
    rows = []
    for scale, size in zip(scales, sizes, strict=True):
        if min(size) < 1:
            raise ValueError(f"scales: {scale} makes an empty map from shape {gt.shape[:2]}")
        tp, n_est, n_gt = _scale_counts(
            gt,
            _nearest_index(gt.shape[0], size[0]),
            _nearest_index(gt.shape[1], size[1]),
            _row_buffer(gt, size[1]),
            est,
            _nearest_index(est.shape[0], size[0]),
            _nearest_index(est.shape[1], size[1]),
            _row_buffer(est, size[1]),
        )
        rows.append({"scale": scale, "tp": int(tp), "n_est": int(n_est), "n_gt": int(n_gt)})
    return rows


def _region_keys(region_map: np.ndarray, name: str, *, samples: int) -> np.ndarray:
    """(H, W, C) integers whose C-tuples are equal exactly where the map's pixels are equal.

    "Worth it" below means the scales sample at least twice as many pixels as the map has.
    Label maps become (H, W, 1) views, or uint16 copies when their labels fit and it is worth
    it. Colour maps are packed into one int32 per pixel when it is worth it (the ground truth,
    usually) and otherwise stay (H, W, 3) bytes packed per sample: estimations are often stored
    at 2×, and packing all of their pixels would cost more than it saves.
    """
    region_map = np.asarray(region_map)
    if region_map.ndim == 2 and np.issubdtype(region_map.dtype, np.integer):
        keys = region_map[..., None]
        if region_map.size and region_map.dtype.itemsize > 2 and 2 * region_map.size <= samples:
            lowest, highest = int(region_map.min()), int(region_map.max())
            if 0 <= lowest and highest <= np.iinfo(np.uint16).max:
                # The scales read every row many times over: half the bytes, half the traffic.
                keys = region_map.astype(np.uint16)[..., None]
    elif region_map.ndim == 3 and region_map.shape[2] in (1, 3, 4) and region_map.dtype == np.uint8:
        keys = region_map[..., :3]  # alpha is no colour
    else:
        raise ValueError(
            f"{name}: expected (H, W) integer labels or (H, W, 3|4) uint8 colours, "
            f"got {region_map.shape} {region_map.dtype}"
        )
    if region_map.shape[0] == 0 or region_map.shape[1] == 0:
        raise ValueError(f"{name}: empty map")
    if keys.dtype == np.uint8 and (
        keys.shape[2] != 3 or 2 * keys.shape[0] * keys.shape[1] <= samples
    ):
        keys = _packed_colours(keys)[..., None]
    return keys


def _row_buffer(keys: np.ndarray, width: int) -> np.ndarray:
    """Two rows of sampled keys (current, above): the label dtype, or int32 for colours."""
    return np.empty((2, width), dtype=keys.dtype if keys.shape[2] == 1 else np.int32)


@njit(cache=True, nogil=True)
def _packed_colours(colours: np.ndarray) -> np.ndarray:
    height, width, channels = colours.shape
    keys = np.empty((height, width), dtype=np.int32)
    for y in range(height):
        for x in range(width):
            key = np.int32(0)
            for c in range(channels):
                key = (key << 8) | np.int32(colours[y, x, c])
            keys[y, x] = key
    return keys


@njit(cache=True, nogil=True)
def _scale_counts(
    gt: np.ndarray,
    gt_rows: np.ndarray,
    gt_cols: np.ndarray,
    gt_buffer: np.ndarray,
    est: np.ndarray,
    est_rows: np.ndarray,
    est_cols: np.ndarray,
    est_buffer: np.ndarray,
) -> tuple[int, int, int]:
    """(tp, n_est, n_gt) of the edge maps of both key maps resampled at the given indices.

    Reads only the sampled pixels and makes no resized copy. An edge pixel differs from its
    left sample (at j = 0, reflect-101: the next one) or the sample above (at i = 0, below).
    """
    height, width = gt_rows.size, gt_cols.size
    first = min(1, width - 1)
    tp = 0
    n_est = 0
    n_gt = 0
    _sample_row(gt, gt_rows[min(1, height - 1)], gt_cols, gt_buffer[1])
    _sample_row(est, est_rows[min(1, height - 1)], est_cols, est_buffer[1])
    for i in range(height):
        gt_row, gt_above = gt_buffer[i % 2], gt_buffer[1 - i % 2]
        est_row, est_above = est_buffer[i % 2], est_buffer[1 - i % 2]
        _sample_row(gt, gt_rows[i], gt_cols, gt_row)
        _sample_row(est, est_rows[i], est_cols, est_row)
        g = gt_row[0] != gt_row[first] or gt_row[0] != gt_above[0]
        e = est_row[0] != est_row[first] or est_row[0] != est_above[0]
        n_gt += g
        n_est += e
        tp += g and e
        # Branch-free from here on, so the loop vectorises.
        for j in range(1, width):
            g = (gt_row[j] != gt_row[j - 1]) | (gt_row[j] != gt_above[j])
            e = (est_row[j] != est_row[j - 1]) | (est_row[j] != est_above[j])
            n_gt += g
            n_est += e
            tp += g & e
    return tp, n_est, n_gt


@njit(cache=True, nogil=True, inline="always")
def _sample_row(keys: np.ndarray, row: int, cols: np.ndarray, out: np.ndarray) -> None:
    """Keys of the pixels (row, cols[j]): (H, W, 1) keys as they are, (H, W, 3) colours packed."""
    if keys.shape[2] == 1:
        for j in range(cols.size):
            out[j] = keys[row, cols[j], 0]
    else:
        for j in range(cols.size):
            col = cols[j]
            out[j] = (
                (np.int32(keys[row, col, 0]) << 16)
                | (np.int32(keys[row, col, 1]) << 8)
                | np.int32(keys[row, col, 2])
            )


def danbooregion_scores(rows: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """AP / OIS / ODS from per-image, per-scale counts.

    precision(image, s) = tp / n_est (1 when n_est = 0).
    AP = mean over images of precision(512); OIS = mean over images of the max over scales;
    ODS = max over scales of the mean over images. Means are per image, not pooled counts,
    as in the original. AP is NaN when 512 is not among the scales.

    Parameters
    ----------
    rows : mappings (or a DataFrame) with "image", "scale", "tp", "n_est"; every image must
        have the same scales.
    """
    rows = _as_rows(rows)
    images = sorted({row["image"] for row in rows}, key=str)
    scales = sorted({int(row["scale"]) for row in rows})
    precision = np.full((len(images), len(scales)), np.nan)
    image_index = {image: i for i, image in enumerate(images)}
    scale_index = {scale: j for j, scale in enumerate(scales)}
    for row in rows:
        precision[image_index[row["image"]], scale_index[int(row["scale"])]] = _ratio(
            row["tp"], row["n_est"]
        )
    if np.isnan(precision).any():
        raise ValueError("rows: every image needs a row for every scale")
    scores = {
        "OIS": float(precision.max(axis=1).mean()),
        "ODS": float(precision.mean(axis=0).max()),
    }
    scores["AP"] = (
        float(precision[:, scale_index[_AP_SCALE]].mean())
        if _AP_SCALE in scale_index
        else float("nan")
    )
    return {"AP": scores["AP"], "OIS": scores["OIS"], "ODS": scores["ODS"]}

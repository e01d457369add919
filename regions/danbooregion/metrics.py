"""Region-extraction metrics. Store counts, derive scores.

Per-image functions return raw counts (plain ints/floats); `image_metrics` and its siblings
tag them as long-format metric rows (one per image, family and scale/threshold/bin: a Parquet
row each, see "Metric rows" below); reductions turn a list of such rows into scores, with the
reduction written out.

Three families:

* **DanbooRegion AP / OIS / ODS** — the authors' boundary precision at several scales, no
  tolerance, no recall (`danbooregion_counts`, `danbooregion_scores`).
* **Boundary precision / recall / F** with a distance tolerance and one-to-one matching, as in
  BSDS (`boundary_counts`, `boundary_scores`).
* **Region metrics** from the contingency table: segmentation covering, variation of
  information (in bits), region-count ratio (`region_counts`).

Empty-set convention, used everywhere: a precision with nothing predicted is 1 (no false
positive was made), a recall with nothing to find is 1, and F is 0 when precision + recall is 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from numba import njit

from regionflow.regions.danbooregion.labels import colour_key, region_labels

__all__ = [
    "DANBOOREGION_SCALES",
    "boundary_counts",
    "boundary_map",
    "boundary_scores",
    "danbooregion_counts",
    "danbooregion_edges",
    "danbooregion_scores",
    "extracted_row",
    "extraction_rows",
    "image_metrics",
    "metric_rows",
    "precision_by_scale",
    "region_counts",
    "region_size_histogram",
    "report_figures",
    "size_histograms",
    "size_rows",
    "summarize",
    "threshold_curve",
    "threshold_sweep",
    "worst_images",
]

#: Short-side sizes the DanbooRegion metric is evaluated at; AP uses 512.
DANBOOREGION_SCALES: tuple[int, ...] = tuple(range(256, 961, 64))
_AP_SCALE = 512
# Contingency tables up to this many cells are counted densely (bincount), larger ones sparsely.
_DENSE_TABLE_LIMIT = 1 << 25


def _ratio(numerator: float, denominator: float) -> float:
    return 1.0 if denominator == 0 else float(numerator) / float(denominator)


def _f_score(precision: float, recall: float) -> float:
    total = precision + recall
    return 0.0 if total == 0 else 2.0 * precision * recall / total


def _as_rows(rows: Iterable[Mapping[str, Any]] | Any) -> list[Mapping[str, Any]]:
    if hasattr(rows, "to_dict"):  # a pandas DataFrame read back from Parquet
        rows = rows.to_dict("records")
    rows = list(rows)
    if not rows:
        raise ValueError("rows: no rows to summarise")
    return rows


def _keys(region_map: np.ndarray, name: str) -> np.ndarray:
    region_map = np.asarray(region_map)
    try:
        key = colour_key(region_map)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    if key.size == 0:
        raise ValueError(f"{name}: empty map")
    return key


# --------------------------------------------------------------------------------------------
# DanbooRegion AP / OIS / ODS


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


# --------------------------------------------------------------------------------------------
# Boundary precision / recall with tolerance


def boundary_map(labels: np.ndarray) -> np.ndarray:
    """Thin boundaries of a label map: pixels whose label differs from the right or lower one.

    The image frame is not a boundary (it is no annotation).

    Parameters
    ----------
    labels : (H, W) integer labels, or (H, W, 3|4) uint8 colour region map

    Returns
    -------
    (H, W) bool
    """
    return _key_boundary(_keys(labels, "labels"))


def _key_boundary(key: np.ndarray) -> np.ndarray:
    boundary = np.zeros(key.shape, dtype=bool)
    boundary[:, :-1] |= key[:, :-1] != key[:, 1:]
    boundary[:-1, :] |= key[:-1, :] != key[1:, :]
    return boundary


def _disc_offsets(radius: float) -> np.ndarray:
    reach = int(np.floor(radius))
    dy, dx = np.mgrid[-reach : reach + 1, -reach : reach + 1]
    inside = dy * dy + dx * dx <= radius * radius
    offsets = np.stack([dy[inside], dx[inside]], axis=1)
    # Nearest first: the matching's size does not depend on it, but its greedy start then pairs
    # each pixel with its closest free partner, which leaves little to augment.
    order = np.argsort((offsets**2).sum(axis=1), kind="stable")
    return offsets[order].astype(np.int64)


def _candidate_pairs(
    source: np.ndarray, target: np.ndarray, offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """CSR adjacency (indptr, indices) from each source pixel to the target pixels in reach.

    ``source``, ``target``: (H, W) bool masks; targets are numbered in raster order. Neighbours
    are listed in the order of ``offsets`` (nearest first).
    """
    reach = int(np.abs(offsets).max()) if offsets.size else 0
    index = np.full((target.shape[0] + 2 * reach, target.shape[1] + 2 * reach), -1, np.int32)
    index[reach : reach + target.shape[0], reach : reach + target.shape[1]][target] = np.arange(
        int(target.sum()), dtype=np.int32
    )
    source_y, source_x = np.nonzero(source)
    centres = (source_y + reach) * index.shape[1] + (source_x + reach)
    steps = offsets[:, 0] * index.shape[1] + offsets[:, 1]
    return _gather_pairs(centres.astype(np.int64), steps.astype(np.int64), index.ravel())


@njit(cache=True, nogil=True)
def _gather_pairs(
    centres: np.ndarray, steps: np.ndarray, index: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    indptr = np.zeros(centres.size + 1, dtype=np.int64)
    for i in range(centres.size):
        n = 0
        for step in steps:
            if index[centres[i] + step] >= 0:
                n += 1
        indptr[i + 1] = indptr[i] + n
    indices = np.empty(indptr[-1], dtype=np.int32)
    for i in range(centres.size):
        at = indptr[i]
        for step in steps:
            target = index[centres[i] + step]
            if target >= 0:
                indices[at] = target
                at += 1
    return indptr, indices


@njit(cache=True, nogil=True)
def _maximum_matching(indptr: np.ndarray, indices: np.ndarray, n_right: int) -> int:
    """Size of a maximum matching of a bipartite graph given as CSR adjacency left → right.

    A greedy start (each left vertex takes its first free neighbour; candidates are listed
    nearest first), then from each free left vertex a breadth-first search for a shortest
    augmenting path. A search that fails has grown a Hungarian tree: no later augmentation can
    pass through it, so its vertices are removed for good. Without that, searches from the
    vertices that can never match re-explored large saturated areas: Hopcroft–Karp and scipy's
    ``maximum_bipartite_matching`` took seconds to minutes on a 1024×1430 map (≈5 M pairs).
    """
    n_left = indptr.size - 1
    match_left = np.full(n_left, -1, dtype=np.int64)
    match_right = np.full(n_right, -1, dtype=np.int64)
    for u in range(n_left):
        for k in range(indptr[u], indptr[u + 1]):
            v = indices[k]
            if match_right[v] < 0:
                match_left[u] = v
                match_right[v] = u
                break
    removed_left = np.zeros(n_left, dtype=np.bool_)
    removed_right = np.zeros(n_right, dtype=np.bool_)
    seen_left = np.zeros(n_left, dtype=np.int64)
    seen_right = np.zeros(n_right, dtype=np.int64)
    via = np.empty(n_right, dtype=np.int64)
    queue = np.empty(n_left, dtype=np.int64)
    reached = np.empty(n_right, dtype=np.int64)
    stamp = 0
    for root in range(n_left):
        if match_left[root] >= 0:
            continue
        stamp += 1
        seen_left[root] = stamp
        queue[0] = root
        tail = 1
        n_reached = 0
        head = 0
        free = -1
        while head < tail and free < 0:
            x = queue[head]
            head += 1
            for k in range(indptr[x], indptr[x + 1]):
                v = indices[k]
                if removed_right[v] or seen_right[v] == stamp:
                    continue
                seen_right[v] = stamp
                via[v] = x
                reached[n_reached] = v
                n_reached += 1
                w = match_right[v]
                if w < 0:
                    free = v
                    break
                if not removed_left[w] and seen_left[w] != stamp:
                    seen_left[w] = stamp
                    queue[tail] = w
                    tail += 1
        if free >= 0:
            v = free
            while True:
                x = via[v]
                previous = match_left[x]
                match_left[x] = v
                match_right[v] = x
                if x == root:
                    break
                v = previous
        else:
            for i in range(tail):
                removed_left[queue[i]] = True
            for i in range(n_reached):
                removed_right[reached[i]] = True
    size = 0
    for u in range(n_left):
        if match_left[u] >= 0:
            size += 1
    return size


def boundary_counts(
    gt_labels: np.ndarray,
    pred_labels: np.ndarray,
    *,
    tolerance: float = 0.0075,
    tolerance_px: float | None = None,
) -> dict[str, int]:
    """Boundary matches with a distance tolerance (BSDS-style), as raw counts.

    Boundary pixels (`boundary_map`) of prediction and ground truth are matched one-to-one: a
    maximum bipartite matching over the pairs at Euclidean distance ≤ the tolerance. A matched
    pixel counts for precision (prediction side) and recall (GT side). BSDS solves an
    approximate min-cost assignment that charges heavily for unmatched pixels, i.e. it also
    aims at the most matches; ours is exact, so it can match slightly more.

    Parameters
    ----------
    gt_labels, pred_labels : (H, W) integer labels or (H, W, 3|4) uint8 colour maps, same H, W
    tolerance : float
        Distance tolerance as a fraction of the image diagonal (BSDS: 0.0075).
    tolerance_px : float, optional
        Distance tolerance in pixels; overrides ``tolerance``.

    Returns
    -------
    {"matched_pred", "n_pred", "matched_gt", "n_gt"}
    """
    gt_boundary = _key_boundary(_keys(gt_labels, "gt_labels"))
    pred_boundary = _key_boundary(_keys(pred_labels, "pred_labels"))
    if gt_boundary.shape != pred_boundary.shape:
        raise ValueError(
            f"pred_labels: shape {pred_boundary.shape[:2]} differs from gt_labels {gt_boundary.shape[:2]}"
        )
    if tolerance_px is None:
        if tolerance < 0:
            raise ValueError(f"tolerance: expected >= 0, got {tolerance}")
        radius = tolerance * float(np.hypot(*gt_boundary.shape))
    else:
        if tolerance_px < 0:
            raise ValueError(f"tolerance_px: expected >= 0, got {tolerance_px}")
        radius = float(tolerance_px)
    n_pred = int(pred_boundary.sum())
    n_gt = int(gt_boundary.sum())
    matched = 0
    if n_pred and n_gt:
        # Searching from the GT side is faster: after the greedy start, free predicted pixels
        # (the targets of the searches) are far more common than free GT pixels.
        indptr, indices = _candidate_pairs(gt_boundary, pred_boundary, _disc_offsets(radius))
        matched = _maximum_matching(indptr, indices, n_pred)
    return {"matched_pred": matched, "n_pred": n_pred, "matched_gt": matched, "n_gt": n_gt}


def _boundary_prf(
    matched_pred: float, n_pred: float, matched_gt: float, n_gt: float
) -> tuple[float, float, float]:
    precision = _ratio(matched_pred, n_pred)
    recall = _ratio(matched_gt, n_gt)
    return precision, recall, _f_score(precision, recall)


def boundary_scores(rows: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Boundary ODS / OIS over a sweep of decoder thresholds, from raw counts (BSDS reduction).

    ODS: for each threshold, pool the counts over all images, take F; report the best threshold.
    OIS: for each image, pick the threshold with its best F; pool those images' counts; take F.

    Parameters
    ----------
    rows : mappings (or a DataFrame) with "image", "threshold", "matched_pred", "n_pred",
        "matched_gt", "n_gt".

    Returns
    -------
    {"ODS_F", "ODS_precision", "ODS_recall", "ODS_threshold", "OIS_F", "OIS_precision",
    "OIS_recall"}
    """
    rows = _as_rows(rows)
    fields = ("matched_pred", "n_pred", "matched_gt", "n_gt")
    pooled: dict[Any, np.ndarray] = {}
    best: dict[Any, tuple[float, np.ndarray]] = {}
    for row in rows:
        counts = np.array([row[field] for field in fields], dtype=np.float64)
        threshold = row["threshold"]
        pooled[threshold] = pooled.get(threshold, 0) + counts
        f = _boundary_prf(*counts)[2]
        if row["image"] not in best or f > best[row["image"]][0]:
            best[row["image"]] = (f, counts)
    ods_threshold, ods_counts = max(pooled.items(), key=lambda item: _boundary_prf(*item[1])[2])
    ods = _boundary_prf(*ods_counts)
    ois = _boundary_prf(*sum(counts for _, counts in best.values()))
    return {
        "ODS_F": ods[2],
        "ODS_precision": ods[0],
        "ODS_recall": ods[1],
        "ODS_threshold": ods_threshold,
        "OIS_F": ois[2],
        "OIS_precision": ois[0],
        "OIS_recall": ois[1],
    }


# --------------------------------------------------------------------------------------------
# Region metrics


def _region_index(labels: np.ndarray, name: str) -> tuple[np.ndarray, int]:
    """Regions numbered 0..n-1: a label map as given, a colour map split into components."""
    labels = np.asarray(labels)
    if labels.ndim == 3:
        try:
            labels = region_labels(labels)
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
    elif labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{name}: expected (H, W) integer labels, got {labels.shape} {labels.dtype}"
        )
    if labels.size == 0:
        raise ValueError(f"{name}: empty map")
    flat = labels.ravel()
    low, high = int(flat.min()), int(flat.max())
    if low >= 0 and high < 4 * flat.size:
        present = np.bincount(flat) > 0
        lookup = np.cumsum(present) - 1
        return lookup[flat], int(present.sum())
    values, index = np.unique(flat, return_inverse=True)
    return index.ravel().astype(np.int64), values.size


def region_counts(gt_labels: np.ndarray, pred_labels: np.ndarray) -> dict[str, float]:
    """Region-overlap statistics of one image, from the contingency table of the two labelings.

    The table (intersection areas of every GT region with every predicted region) is built in
    one pass; what is stored is what the reductions need:

    * ``covering_sum`` = Σ over GT regions R of |R| · max over predicted R' of IoU(R, R'):
      segmentation covering of the GT by the prediction is ``covering_sum / n_pixels``;
      ``pred_covering_sum`` is the same with the roles swapped.
    * ``h_gt_given_pred``, ``h_pred_given_gt``: conditional entropies in **bits**; variation
      of information VI = their sum (0 = identical partitions, up to log2(n_pixels)).
    * ``n_gt_regions``, ``n_pred_regions``, ``n_pixels``.

    Parameters
    ----------
    gt_labels, pred_labels : (H, W) integer label maps (used as given: one label = one
        region) or (H, W, 3|4) uint8 colour maps (split into 4-connected components).
    """
    gt, n_gt = _region_index(gt_labels, "gt_labels")
    pred, n_pred = _region_index(pred_labels, "pred_labels")
    if np.shape(gt_labels)[:2] != np.shape(pred_labels)[:2]:
        raise ValueError(
            f"pred_labels: shape {np.shape(pred_labels)[:2]} differs from gt_labels {np.shape(gt_labels)[:2]}"
        )
    code = gt * n_pred + pred
    if n_gt * n_pred <= _DENSE_TABLE_LIMIT:
        table = np.bincount(code, minlength=n_gt * n_pred)
        cells = np.flatnonzero(table)
        areas = table[cells]
    else:
        cells, areas = np.unique(code, return_counts=True)
    cell_gt, cell_pred = cells // n_pred, cells % n_pred
    gt_sizes = np.bincount(gt, minlength=n_gt)
    pred_sizes = np.bincount(pred, minlength=n_pred)
    areas = areas.astype(np.float64)
    iou = areas / (gt_sizes[cell_gt] + pred_sizes[cell_pred] - areas)
    best_for_gt = np.zeros(n_gt)
    np.maximum.at(best_for_gt, cell_gt, iou)
    best_for_pred = np.zeros(n_pred)
    np.maximum.at(best_for_pred, cell_pred, iou)
    n_pixels = gt.size
    joint = areas / n_pixels
    return {
        "n_pixels": int(n_pixels),
        "n_gt_regions": int(n_gt),
        "n_pred_regions": int(n_pred),
        "covering_sum": float((gt_sizes * best_for_gt).sum()),
        "pred_covering_sum": float((pred_sizes * best_for_pred).sum()),
        "h_gt_given_pred": float(max(0.0, -(joint * np.log2(areas / pred_sizes[cell_pred])).sum())),
        "h_pred_given_gt": float(max(0.0, -(joint * np.log2(areas / gt_sizes[cell_gt])).sum())),
    }


# --------------------------------------------------------------------------------------------
# Metric rows (long format) and their reductions
#
# One row per image, metric family and value of the family's dimension (a DanbooRegion scale, a
# decoder threshold, a size bin), holding that family's raw counts:
#
#   {"image", "metric": "extracted", "n_regions"}                          every image
#   {"image", "metric": "regions", **region_counts}                        with ground truth
#   {"image", "metric": "boundary", **boundary_counts}                     (0.0075 × diagonal)
#   {"image", "metric": "boundary_px", "tolerance_px", **boundary_counts}  (pixel tolerance)
#   {"image", "metric": "danbooregion", "scale", "tp", "n_est", "n_gt"}
#   {"image", "metric": "sweep", "threshold", **boundary_counts}           decoder threshold sweep
#   {"image", "metric": "sizes", "labels" (pred | gt), "log2_area", "regions"}
#
# Every score is derived from them by a reduction below; nothing is read back out of a name.


def metric_rows(image: str, metric: str, counts: Iterable[Mapping[str, Any]]) -> list[dict]:
    """`counts` tagged with their image and family: long-format metric rows."""
    return [{"image": image, "metric": metric, **c} for c in counts]


def extracted_row(labels: np.ndarray, *, image: str) -> dict[str, Any]:
    """The "extracted" row of an image's predicted (H, W) labels (consecutive from 1)."""
    return {"image": image, "metric": "extracted", "n_regions": int(np.max(labels, initial=0))}


def image_metrics(
    gt_labels: np.ndarray,
    pred_labels: np.ndarray,
    *,
    image: str,
    scales: Sequence[int] = DANBOOREGION_SCALES,
    tolerance: float = 0.0075,
    tolerance_px: float | None = None,
    pixel_tolerance: float | None = 2.0,
) -> list[dict[str, Any]]:
    """Every metric's raw counts for one image, as long-format rows (families "regions",
    "boundary", "boundary_px", "danbooregion"). Reduce rows of many images with `summarize`.

    The "boundary_px" row (a fixed pixel tolerance, `pixel_tolerance`) is left out when it is
    None: the BSDS fraction of the diagonal is ≈13 px on a 1.4 Mpx illustration, too lenient to
    tell models apart, so reports lead with the pixel tolerance.

    Parameters
    ----------
    gt_labels, pred_labels : (H, W) integer labels or (H, W, 3|4) uint8 colour maps; same H, W
        (align them first: DanbooRegion images and region maps can differ by a pixel).
    image : the image's name in the rows.
    scales, tolerance, tolerance_px : see `danbooregion_counts` and `boundary_counts`; empty
        `scales` leaves the DanbooRegion rows out (for callers that count them on other maps).
    """
    rows = metric_rows(image, "regions", [region_counts(gt_labels, pred_labels)])
    boundary = boundary_counts(
        gt_labels, pred_labels, tolerance=tolerance, tolerance_px=tolerance_px
    )
    rows += metric_rows(image, "boundary", [boundary])
    if pixel_tolerance is not None:
        strict = boundary_counts(gt_labels, pred_labels, tolerance_px=pixel_tolerance)
        rows += metric_rows(
            image, "boundary_px", [{"tolerance_px": float(pixel_tolerance), **strict}]
        )
    if scales:
        counts = danbooregion_counts(gt_labels, pred_labels, scales=scales)
        rows += metric_rows(image, "danbooregion", counts)
    return rows


def threshold_sweep(
    gt_labels: np.ndarray,
    regions_at: Callable[[int], np.ndarray],
    thresholds: Iterable[int],
    *,
    image: str,
) -> list[dict[str, Any]]:
    """ "sweep" rows: boundary counts (0.0075 × diagonal) of the regions decoded at each
    threshold, ``regions_at(threshold)`` → (H, W) labels; the raw material of boundary ODS/OIS."""
    return [
        {
            "image": image,
            "metric": "sweep",
            "threshold": int(t),
            **boundary_counts(gt_labels, regions_at(int(t))),
        }
        for t in thresholds
    ]


def size_rows(labels: np.ndarray, *, image: str, which: str, bins: int = 24) -> list[dict]:
    """ "sizes" rows of (H, W) labels (`region_size_histogram`), `which` = "pred" or "gt"; empty
    bins are left out."""
    if which not in ("pred", "gt"):
        raise ValueError(f"which: expected 'pred' or 'gt', got {which!r}")
    histogram = region_size_histogram(labels, bins=bins)
    return [
        {"image": image, "metric": "sizes", "labels": which, "log2_area": k, "regions": int(n)}
        for k, n in enumerate(histogram)
        if n
    ]


def extraction_rows(
    pred_labels: np.ndarray,
    gt_labels: np.ndarray | None,
    *,
    image: str,
    regions_at: Callable[[int], np.ndarray] | None = None,
    thresholds: Iterable[int] = (),
    pixel_tolerance: float | None = 2.0,
) -> list[dict[str, Any]]:
    """Every metric row of one extracted image: "extracted" and the predicted "sizes"; with
    ground truth also `image_metrics`, the ground truth's "sizes" and, given `regions_at` (the
    image decoded at a threshold), the `threshold_sweep` over `thresholds`.

    Parameters
    ----------
    pred_labels, gt_labels : (H, W) integer labels (ground truth None: none known).
    """
    rows = [extracted_row(pred_labels, image=image)]
    rows += size_rows(pred_labels, image=image, which="pred")
    if gt_labels is None:
        return rows
    rows += image_metrics(gt_labels, pred_labels, image=image, pixel_tolerance=pixel_tolerance)
    rows += size_rows(gt_labels, image=image, which="gt")
    if regions_at is not None:
        rows += threshold_sweep(gt_labels, regions_at, thresholds, image=image)
    return rows


def _family(rows: list[Mapping[str, Any]], metric: str) -> list[Mapping[str, Any]]:
    return [row for row in rows if row["metric"] == metric]


def _pooled(rows: list[Mapping[str, Any]], fields: Sequence[str]) -> list[float]:
    return [float(sum(row[field] for row in rows)) for field in fields]


_BOUNDARY_FIELDS = ("matched_pred", "n_pred", "matched_gt", "n_gt")


def summarize(rows: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Scores of a set of images from their metric rows; {} when no image has ground truth
    (no "regions" rows).

    Reductions: DanbooRegion AP/OIS/ODS as in `danbooregion_scores` (per-image means);
    boundary precision/recall/F from counts pooled over images (BSDS, one threshold), at the
    diagonal and at the pixel tolerance; covering = Σ covering_sum / Σ n_pixels (pooled over
    pixels, BSDS); VI (bits) and the region-count ratio n_pred_regions / n_gt_regions are means
    over images; the decoder-threshold sweep as in `boundary_scores`, prefixed ``sweep_``.

    Parameters
    ----------
    rows : metric rows (see above), or a DataFrame of them, e.g. metrics.parquet.

    Returns
    -------
    {"n_images", "AP", "OIS", "ODS", "boundary_precision", "boundary_recall", "boundary_F",
    "covering", "pred_covering", "VI", "region_count_ratio"}, plus "boundary_px_precision",
    "boundary_px_recall", "boundary_px_F" and "boundary_px_tolerance" when every image has
    pixel-tolerance counts, plus `boundary_scores`' keys as "sweep_*" when there is a sweep.
    """
    rows = _as_rows(rows)
    regions = _family(rows, "regions")
    if not regions:
        return {}
    n_pixels, covering, pred_covering = _pooled(
        regions, ("n_pixels", "covering_sum", "pred_covering_sum")
    )
    precision, recall, f = _boundary_prf(*_pooled(_family(rows, "boundary"), _BOUNDARY_FIELDS))
    danbooregion_rows = _family(rows, "danbooregion")
    danbooregion = (
        danbooregion_scores(danbooregion_rows)
        if danbooregion_rows
        else {"AP": float("nan"), "OIS": float("nan"), "ODS": float("nan")}
    )
    strict: dict[str, float] = {}
    pixel_rows = _family(rows, "boundary_px")
    if {row["image"] for row in pixel_rows} == {row["image"] for row in regions}:
        p, r, f_px = _boundary_prf(*_pooled(pixel_rows, _BOUNDARY_FIELDS))
        strict = {
            "boundary_px_precision": p,
            "boundary_px_recall": r,
            "boundary_px_F": f_px,
            "boundary_px_tolerance": float(pixel_rows[0]["tolerance_px"]),
        }
    sweep_rows = _family(rows, "sweep")
    sweep = {f"sweep_{k}": v for k, v in boundary_scores(sweep_rows).items()} if sweep_rows else {}
    return {
        "n_images": len(regions),
        **danbooregion,
        **strict,
        "boundary_precision": precision,
        "boundary_recall": recall,
        "boundary_F": f,
        "covering": covering / n_pixels,
        "pred_covering": pred_covering / n_pixels,
        "VI": float(np.mean([row["h_gt_given_pred"] + row["h_pred_given_gt"] for row in regions])),
        "region_count_ratio": float(
            np.mean([row["n_pred_regions"] / row["n_gt_regions"] for row in regions])
        ),
        **sweep,
    }


def threshold_curve(rows: Iterable[Mapping[str, Any]]) -> dict[int, float]:
    """Boundary F pooled over images at each decoder threshold of the "sweep" rows."""
    sweep = _family(list(rows), "sweep")
    return {
        t: _boundary_prf(*_pooled([r for r in sweep if r["threshold"] == t], _BOUNDARY_FIELDS))[2]
        for t in sorted({int(row["threshold"]) for row in sweep})
    }


def precision_by_scale(rows: Iterable[Mapping[str, Any]]) -> dict[int, float]:
    """Mean over images of the DanbooRegion precision tp / n_est (1 when n_est = 0), per scale."""
    per_scale: dict[int, list[float]] = {}
    for row in _family(list(rows), "danbooregion"):
        per_scale.setdefault(int(row["scale"]), []).append(_ratio(row["tp"], row["n_est"]))
    return {scale: float(np.mean(values)) for scale, values in sorted(per_scale.items())}


def worst_images(
    rows: Iterable[Mapping[str, Any]], *, scale: int = _AP_SCALE, n: int = 5
) -> list[dict[str, Any]]:
    """The `n` images with the lowest DanbooRegion precision at `scale`:
    [{"image", "precision", "n_regions"}], worst first (ties in image order)."""
    rows = list(rows)
    n_regions = {row["image"]: row["n_regions"] for row in _family(rows, "extracted")}
    precision = [
        (_ratio(row["tp"], row["n_est"]), row["image"])
        for row in _family(rows, "danbooregion")
        if int(row["scale"]) == scale
    ]
    return [
        {"image": image, "precision": p, "n_regions": n_regions.get(image)}
        for p, image in sorted(precision, key=lambda item: item[0])[:n]
    ]


def report_figures(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """What a report shows beside the scores, from the metric rows: the worst images, mean
    precision per scale, F per decoder threshold, region-size histograms (each empty when
    the rows have none of it)."""
    rows = list(rows)
    return {
        "worst": worst_images(rows),
        "scale_curve": precision_by_scale(rows),
        "threshold_curve": threshold_curve(rows),
        "size_histograms": size_histograms(rows),
    }


def size_histograms(rows: Iterable[Mapping[str, Any]], *, bins: int = 24) -> dict[str, list[int]]:
    """Region-size histograms summed over images from the "sizes" rows: {"pred": [...], "gt":
    [...]} (each present kind), `bins` counts per kind."""
    out: dict[str, list[int]] = {}
    for row in _family(list(rows), "sizes"):
        counts = out.setdefault(row["labels"], [0] * bins)
        counts[min(int(row["log2_area"]), bins - 1)] += int(row["regions"])
    return {which: out[which] for which in ("pred", "gt") if which in out}


def region_size_histogram(labels: np.ndarray, *, bins: int = 24) -> np.ndarray:
    """How many regions have an area in [2^k, 2^(k+1)) pixels, k = 0..bins−1 (the last bin is open).

    Parameters
    ----------
    labels : (H, W) integer labels; 0 counts as a region like any other value.

    Returns
    -------
    (bins,) int64 counts.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels: expected (H, W) integer labels, got {labels.shape} {labels.dtype}"
        )
    if bins < 1:
        raise ValueError(f"bins: must be >= 1, got {bins}")
    _, areas = np.unique(labels, return_counts=True)
    k = np.minimum(np.floor(np.log2(areas)).astype(np.int64), bins - 1)
    return np.bincount(k, minlength=bins).astype(np.int64)

"""Boundary precision / recall / F with a distance tolerance and one-to-one matching, as in
BSDS (`boundary_counts`, `boundary_scores`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numba import njit

from regionflow.regions.danbooregion.metrics._common import _as_rows, _f_score, _keys, _ratio


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

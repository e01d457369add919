"""Region metrics from the contingency table of two label maps: segmentation covering,
variation of information (in bits), region-count ratio (`region_counts`)."""

from __future__ import annotations

import numpy as np

from regionflow.regions.danbooregion.labels import region_labels

# Contingency tables up to this many cells are counted densely (bincount), larger ones sparsely.
_DENSE_TABLE_LIMIT = 1 << 25


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

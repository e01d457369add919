"""Panel detection scores: one-to-one matching at IoU ≥ 0.5, F1, reading-order accuracy.

Following "store counts, derive scores", :func:`panel_counts` returns raw counts for one image
and :func:`panel_scores` reduces any number of them (micro average: sums first, ratios last).

Matching
    Predicted and ground-truth boxes are paired one to one, maximising first the number of pairs
    with IoU ≥ ``iou_threshold`` and then their total IoU (Hungarian assignment).
Reading-order accuracy
    Over every pair of matched ground-truth panels ``(a, b)`` with ``a`` before ``b`` in the
    ground truth, the fraction whose predictions are in the same relative order — the concordant
    fraction of Kendall's tau, ``(1 + tau) / 2`` on the matched panels. Pages with fewer than two
    matches add no pairs; with no pairs at all the score is NaN. Unmatched panels do not count
    here (F1 already charges them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


def _boxes(boxes, name: str) -> np.ndarray:
    rows = (
        [b.box if hasattr(b, "box") else b for b in boxes]
        if not isinstance(boxes, np.ndarray)
        else boxes
    )
    arr = np.asarray(rows, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 4))
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name}: expected (N, 4) boxes (x, y, w, h), got shape {arr.shape}")
    if not np.isfinite(arr).all() or (arr[:, 2:] <= 0).any():
        raise ValueError(f"{name}: boxes need finite coordinates and positive width and height")
    return arr


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of ``(x, y, w, h)`` boxes.

    Parameters
    ----------
    a : (N, 4), b : (M, 4) numbers

    Returns
    -------
    (N, M) float64 in [0, 1].
    """
    a, b = _boxes(a, "a"), _boxes(b, "b")
    ax0, ay0, ax1, ay1 = a[:, 0], a[:, 1], a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx0, by0, bx1, by1 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax1[:, None], bx1[None]) - np.maximum(ax0[:, None], bx0[None]), 0, None)
    ih = np.clip(np.minimum(ay1[:, None], by1[None]) - np.maximum(ay0[:, None], by0[None]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return inter / union


def match_boxes(
    predicted, ground_truth, *, iou_threshold: float = 0.5
) -> list[tuple[int, int, float]]:
    """One-to-one matches ``(predicted index, ground-truth index, IoU)`` with IoU ≥ threshold.

    Maximises the number of matches, then their total IoU. Sorted by ground-truth index.
    """
    if not 0 < iou_threshold <= 1:
        raise ValueError(f"iou_threshold: expected a value in (0, 1], got {iou_threshold!r}")
    p, g = _boxes(predicted, "predicted"), _boxes(ground_truth, "ground_truth")
    if len(p) == 0 or len(g) == 0:
        return []
    iou = box_iou(p, g)
    valid = iou >= iou_threshold
    # A weight above any total IoU makes the count of matches dominate.
    weight = np.where(valid, len(p) + len(g) + iou, 0.0)
    rows, cols = linear_sum_assignment(weight, maximize=True)
    pairs = [
        (int(r), int(c), float(iou[r, c])) for r, c in zip(rows, cols, strict=True) if valid[r, c]
    ]
    return sorted(pairs, key=lambda t: t[1])


@dataclass(frozen=True)
class PanelCounts:
    """Raw counts for one image (sum them over a data set, then call :func:`panel_scores`)."""

    tp: int
    fp: int
    fn: int
    order_pairs: int
    order_concordant: int
    iou_sum: float

    def __add__(self, other: PanelCounts) -> PanelCounts:
        return PanelCounts(
            self.tp + other.tp,
            self.fp + other.fp,
            self.fn + other.fn,
            self.order_pairs + other.order_pairs,
            self.order_concordant + other.order_concordant,
            self.iou_sum + other.iou_sum,
        )


def panel_counts(predicted, ground_truth, *, iou_threshold: float = 0.5) -> PanelCounts:
    """Counts for one image.

    Parameters
    ----------
    predicted : (N, 4) ``(x, y, w, h)`` boxes, or objects with a ``.box``, in predicted order
    ground_truth : (M, 4) boxes in reading order
    iou_threshold : float in (0, 1]

    Returns
    -------
    PanelCounts: true positives, false positives, false negatives, ordered pairs of matched
    ground-truth panels and how many of them the prediction keeps in order, and the matched IoU sum.
    """
    p, g = _boxes(predicted, "predicted"), _boxes(ground_truth, "ground_truth")
    pairs = match_boxes(p, g, iou_threshold=iou_threshold)
    pred_rank = np.array([pi for pi, _, _ in pairs])  # in ground-truth order
    n = len(pred_rank)
    later = pred_rank[None, :] > pred_rank[:, None]
    concordant = int(np.triu(later, k=1).sum())
    return PanelCounts(
        tp=n,
        fp=len(p) - n,
        fn=len(g) - n,
        order_pairs=n * (n - 1) // 2,
        order_concordant=concordant,
        iou_sum=float(sum(t[2] for t in pairs)),
    )


def panel_scores(counts: PanelCounts | Iterable[PanelCounts]) -> dict[str, float]:
    """Micro-averaged scores from counts.

    Returns
    -------
    dict with ``precision``, ``recall``, ``f1`` (1.0 when there is nothing to find and nothing
    found), ``reading_order`` (NaN without any ordered pair), ``mean_iou`` of the matches (NaN
    without matches) and the summed ``tp``, ``fp``, ``fn``.
    """
    if isinstance(counts, PanelCounts):
        total = counts
    else:
        total = PanelCounts(0, 0, 0, 0, 0, 0.0)
        for c in counts:
            if not isinstance(c, PanelCounts):
                raise ValueError(f"counts: expected PanelCounts, got {type(c).__name__}")
            total = total + c
    tp, fp, fn = total.tp, total.fp, total.fn
    precision = tp / (tp + fp) if tp + fp else (1.0 if fn == 0 else 0.0)
    recall = tp / (tp + fn) if tp + fn else (1.0 if fp == 0 else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "reading_order": total.order_concordant / total.order_pairs
        if total.order_pairs
        else float("nan"),
        "mean_iou": total.iou_sum / tp if tp else float("nan"),
        "tp": float(tp),
        "fp": float(fp),
        "fn": float(fn),
    }


def evaluate_panels(
    predictions: Sequence, ground_truths: Sequence, *, iou_threshold: float = 0.5
) -> dict[str, float]:
    """Scores over a data set: ``panel_scores`` of the per-image ``panel_counts``."""
    if len(predictions) != len(ground_truths):
        raise ValueError(
            f"predictions: {len(predictions)} images, ground_truths: {len(ground_truths)}"
        )
    return panel_scores(
        panel_counts(p, g, iou_threshold=iou_threshold)
        for p, g in zip(predictions, ground_truths, strict=True)
    )

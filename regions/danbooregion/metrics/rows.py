"""Metric rows (long format) and their reductions: per-image rows of raw counts, and the
scores, curves and figures derived from them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from regionflow.regions.danbooregion.metrics._common import _as_rows, _ratio
from regionflow.regions.danbooregion.metrics.ap import (
    _AP_SCALE,
    DANBOOREGION_SCALES,
    danbooregion_counts,
    danbooregion_scores,
)
from regionflow.regions.danbooregion.metrics.boundary import (
    _boundary_prf,
    boundary_counts,
    boundary_scores,
)
from regionflow.regions.danbooregion.metrics.contingency import region_counts

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

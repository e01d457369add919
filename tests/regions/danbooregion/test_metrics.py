"""Metrics: the published DanbooRegion numbers, boundary matching, region overlaps, reductions."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from regionflow.regions.danbooregion.labels import region_labels
from regionflow.regions.danbooregion.metrics import (
    DANBOOREGION_SCALES,
    boundary_counts,
    boundary_map,
    boundary_scores,
    contingency,
    danbooregion_counts,
    danbooregion_edges,
    danbooregion_scores,
    extracted_row,
    extraction_rows,
    image_metrics,
    precision_by_scale,
    region_counts,
    report_figures,
    size_rows,
    summarize,
    threshold_curve,
    worst_images,
)
from tests.conftest import read_fixture


@pytest.fixture(scope="module")
def metric_samples() -> list[tuple[np.ndarray, np.ndarray]]:
    return [
        (
            read_fixture(f"metric_samples/{i}.ground_truth.png"),
            read_fixture(f"metric_samples/{i}.estimation.png"),
        )
        for i in (1, 2, 3)
    ]


# ---------------------------------------------------------------- DanbooRegion AP / OIS / ODS


def test_danbooregion_reproduces_published_numbers(metric_samples):
    rows = []
    for image, (gt, est) in enumerate(metric_samples):
        rows += [{"image": image, **row} for row in danbooregion_counts(gt, est)]
    scores = danbooregion_scores(rows)
    assert round(scores["AP"], 5) == 0.68733
    assert round(scores["OIS"], 5) == 0.78368
    assert round(scores["ODS"], 5) == 0.78368


def _reference_edges(region_map: np.ndarray) -> np.ndarray:
    """REFERENCE §1.6 literally: squared filter2D 2-tap differences summed over channels."""
    colours = region_map.astype(np.float32)
    kernel = np.array([[-1.0, 1.0]], np.float32)
    dx = cv2.filter2D(colours, -1, kernel)
    dy = cv2.filter2D(colours, -1, kernel.T)
    return (dx**2 + dy**2).reshape(*region_map.shape[:2], -1).sum(axis=-1) > 0


def _reference_counts(gt: np.ndarray, est: np.ndarray, scale: int) -> tuple[int, int]:
    height, width = gt.shape[:2]
    if height <= width:
        size = (int(scale / height * width), scale)
    else:
        size = (scale, int(scale / width * height))
    gt_edges = _reference_edges(cv2.resize(gt, size, interpolation=cv2.INTER_NEAREST))
    est_edges = _reference_edges(cv2.resize(est, size, interpolation=cv2.INTER_NEAREST))
    return int((gt_edges & est_edges).sum()), int(est_edges.sum())


@pytest.mark.parametrize("shape", [(37, 53), (61, 29), (40, 40)])
@pytest.mark.parametrize("gt_factor, est_factor", [(1, 2), (3, 1), (1, 1)])
def test_danbooregion_counts_match_the_opencv_formulation(shape, gt_factor, est_factor):
    # The factors exercise both ways a colour map is read: packed once per pixel (a map no
    # larger than half the samples) and packed per sample (a map larger than that).
    rng = np.random.default_rng(sum(shape))
    palette = rng.integers(0, 256, (6, 3), dtype=np.uint8)
    gt = palette[rng.integers(0, 6, (shape[0] // 4 + 1, shape[1] // 4 + 1))]
    gt = cv2.resize(
        gt, (shape[1] * gt_factor, shape[0] * gt_factor), interpolation=cv2.INTER_NEAREST
    )
    est = palette[rng.integers(0, 6, (shape[0] * est_factor, shape[1] * est_factor))]
    scales = (16, 23, 31, 64)
    for row in danbooregion_counts(gt, est, scales=scales):
        assert (row["tp"], row["n_est"]) == _reference_counts(gt, est, row["scale"])


def test_danbooregion_edges_follow_filter2d_anchoring():
    region_map = np.array([[1, 1, 2], [1, 2, 2], [3, 3, 3]])
    colours = np.repeat(region_map[..., None] * 40, 3, axis=2).astype(np.uint8)
    expected = _reference_edges(colours)
    assert np.array_equal(danbooregion_edges(colours), expected)
    assert np.array_equal(danbooregion_edges(region_map), expected)
    # d[x] = m[x] - m[x-1] marks the pixel right of / below a change; at x = 0 (y = 0)
    # reflect-101 compares with x = 1 (y = 1).
    assert expected.astype(int).tolist() == [[0, 1, 1], [1, 1, 0], [1, 1, 1]]


def test_danbooregion_label_maps_count_like_uniquely_coloured_maps(metric_samples):
    # A label map is a colour map with one colour per label. (Not the same as the original
    # colour map: downsampling can drop a thin region between two same-coloured ones.)
    gt, est = metric_samples[0]
    labels = region_labels(gt)
    rng = np.random.default_rng(5)
    palette = rng.permutation(256**3)[: labels.max() + 1]
    palette = np.stack([palette >> 16, (palette >> 8) & 255, palette & 255], -1).astype(np.uint8)
    scales = (256, 512)
    assert danbooregion_counts(labels, est, scales=scales) == danbooregion_counts(
        palette[labels], est, scales=scales
    )


def test_danbooregion_without_estimated_edges_has_precision_one():
    gt = np.array([[1, 2], [3, 4]] * 8).repeat(8, axis=1)
    est = np.zeros_like(gt)
    rows = [{"image": "a", **row} for row in danbooregion_counts(gt, est, scales=(8, 512))]
    assert all(row["n_est"] == 0 and row["n_gt"] > 0 for row in rows)
    assert danbooregion_scores(rows) == {"AP": 1.0, "OIS": 1.0, "ODS": 1.0}
    # Without the 512 scale there is no AP.
    assert math.isnan(danbooregion_scores([r for r in rows if r["scale"] == 8])["AP"])


def test_danbooregion_scores_reduction():
    rows = [
        {"image": "a", "scale": 256, "tp": 9, "n_est": 10},
        {"image": "a", "scale": 512, "tp": 5, "n_est": 10},
        {"image": "b", "scale": 256, "tp": 1, "n_est": 10},
        {"image": "b", "scale": 512, "tp": 7, "n_est": 10},
    ]
    scores = danbooregion_scores(rows)
    assert scores["AP"] == pytest.approx((0.5 + 0.7) / 2)
    assert scores["OIS"] == pytest.approx((0.9 + 0.7) / 2)
    assert scores["ODS"] == pytest.approx(max((0.9 + 0.1) / 2, (0.5 + 0.7) / 2))
    with pytest.raises(ValueError, match="rows"):
        danbooregion_scores(rows[:3])


def test_danbooregion_default_scales():
    assert DANBOOREGION_SCALES == (256, 320, 384, 448, 512, 576, 640, 704, 768, 832, 896, 960)


def test_danbooregion_rejects_bad_maps():
    with pytest.raises(ValueError, match="est_map"):
        danbooregion_counts(np.zeros((4, 4), int), np.zeros((4, 4), float))
    with pytest.raises(ValueError, match="scales"):
        danbooregion_counts(np.zeros((4, 4), int), np.zeros((4, 4), int), scales=(0,))


# ---------------------------------------------------------------- boundary P/R with tolerance


def _kuhn_matching(gt: np.ndarray, pred: np.ndarray, radius: float) -> int:
    """Maximum matching by plain augmenting paths, pixel pairs within `radius` (oracle)."""
    gt_points = list(zip(*np.nonzero(gt), strict=True))
    pred_points = list(zip(*np.nonzero(pred), strict=True))
    neighbours = [
        [j for j, (y, x) in enumerate(gt_points) if (y - py) ** 2 + (x - px) ** 2 <= radius**2]
        for py, px in pred_points
    ]
    owner = [-1] * len(gt_points)

    def augment(i: int, seen: set[int]) -> bool:
        for j in neighbours[i]:
            if j not in seen:
                seen.add(j)
                if owner[j] < 0 or augment(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    return sum(augment(i, set()) for i in range(len(pred_points)))


@pytest.mark.parametrize("seed", range(12))
def test_boundary_matching_is_maximum(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(6, 14, 2))
    gt = cv2.resize(
        rng.integers(0, 4, (shape[0] // 2, shape[1] // 2)).astype(np.uint8),
        shape[::-1],
        interpolation=cv2.INTER_NEAREST,
    ).astype(np.int32)
    pred = rng.integers(0, 3, shape).astype(np.int32)
    radius = float(rng.uniform(0, 3))
    counts = boundary_counts(gt, pred, tolerance_px=radius)
    expected = _kuhn_matching(boundary_map(gt), boundary_map(pred), radius)
    assert counts["matched_pred"] == counts["matched_gt"] == expected
    assert counts["n_gt"] == boundary_map(gt).sum()
    assert counts["n_pred"] == boundary_map(pred).sum()


def test_boundary_tolerance_absorbs_a_one_pixel_shift():
    gt = np.zeros((20, 30), int)
    gt[:, 15:] = 1
    pred = np.zeros((20, 30), int)
    pred[:, 16:] = 1
    assert boundary_counts(gt, pred, tolerance_px=0)["matched_pred"] == 0
    counts = boundary_counts(gt, pred, tolerance_px=1)
    assert counts == {"matched_pred": 20, "n_pred": 20, "matched_gt": 20, "n_gt": 20}
    # Default: 0.0075 of the diagonal (0.27 px here) is less than the shift.
    assert boundary_counts(gt, pred)["matched_pred"] == 0


def test_boundary_map_is_thin_and_frameless():
    labels = np.array([[1, 1, 2], [1, 1, 2], [3, 3, 3]])
    assert boundary_map(labels).astype(int).tolist() == [[0, 1, 0], [1, 1, 1], [0, 0, 0]]
    assert not boundary_map(np.ones((5, 5), int)).any()


def test_boundary_matching_is_symmetric_on_real_maps(metric_samples):
    gt, est = metric_samples[0]
    est = cv2.resize(est, gt.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    forward = boundary_counts(gt, est)
    backward = boundary_counts(est, gt)
    assert forward["matched_pred"] == backward["matched_gt"]
    assert forward["n_pred"] == backward["n_gt"]
    assert 0.8 < forward["matched_pred"] / forward["n_pred"] <= 1


def test_boundary_counts_reject_bad_arguments():
    with pytest.raises(ValueError, match="pred_labels"):
        boundary_counts(np.zeros((4, 4), int), np.zeros((4, 5), int))
    with pytest.raises(ValueError, match="tolerance_px"):
        boundary_counts(np.zeros((4, 4), int), np.zeros((4, 4), int), tolerance_px=-1)


def test_boundary_scores_pool_counts():
    rows = [
        {
            "image": "a",
            "threshold": 100,
            "matched_pred": 8,
            "n_pred": 10,
            "matched_gt": 8,
            "n_gt": 10,
        },
        {
            "image": "a",
            "threshold": 135,
            "matched_pred": 5,
            "n_pred": 5,
            "matched_gt": 5,
            "n_gt": 10,
        },
        {
            "image": "b",
            "threshold": 100,
            "matched_pred": 0,
            "n_pred": 10,
            "matched_gt": 0,
            "n_gt": 10,
        },
        {
            "image": "b",
            "threshold": 135,
            "matched_pred": 9,
            "n_pred": 10,
            "matched_gt": 9,
            "n_gt": 10,
        },
    ]
    scores = boundary_scores(rows)
    # threshold 135 pooled: P = 14/15, R = 14/20; threshold 100: P = R = 0.4.
    p, r = 14 / 15, 14 / 20
    assert scores["ODS_threshold"] == 135
    assert scores["ODS_F"] == pytest.approx(2 * p * r / (p + r))
    # per image best: a at 100 (F 0.8 > 0.667), b at 135 (F 0.9): pooled 17/20, 17/20.
    assert scores["OIS_F"] == pytest.approx(0.85)
    assert all(0 <= value <= 1 for key, value in scores.items() if key != "ODS_threshold")


def test_boundary_scores_empty_sets_are_perfect():
    row = {"image": "a", "threshold": 1, "matched_pred": 0, "n_pred": 0, "matched_gt": 0, "n_gt": 0}
    assert boundary_scores([row])["ODS_F"] == 1.0


# ---------------------------------------------------------------- region metrics


def test_region_counts_identical_partitions():
    labels = np.array([[1, 1, 2], [3, 3, 2]])
    counts = region_counts(labels, labels * 10)
    assert counts["covering_sum"] == counts["n_pixels"] == 6
    assert counts["h_gt_given_pred"] == counts["h_pred_given_gt"] == 0
    assert counts["n_gt_regions"] == counts["n_pred_regions"] == 3


def test_region_counts_by_hand():
    gt = np.array([[1, 1, 1, 1]])
    pred = np.array([[1, 1, 2, 2]])
    counts = region_counts(gt, pred)
    # GT region (4 px) best IoU with a half: 2/4. Each half is covered by GT with IoU 2/4.
    assert counts["covering_sum"] == pytest.approx(4 * 0.5)
    assert counts["pred_covering_sum"] == pytest.approx(2 * 0.5 + 2 * 0.5)
    # Splitting one region in two halves: H(pred | gt) = 1 bit, H(gt | pred) = 0.
    assert counts["h_pred_given_gt"] == pytest.approx(1.0)
    assert counts["h_gt_given_pred"] == pytest.approx(0.0)


def test_region_counts_colour_maps_are_split_into_components():
    colours = np.zeros((3, 3, 3), np.uint8)
    colours[1, :] = 255  # a white band splits the black into two regions
    counts = region_counts(colours, np.ones((3, 3), int))
    assert counts["n_gt_regions"] == 3


def _reference_region_counts(gt: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Straight from the definitions, region by region (oracle)."""
    n = gt.size
    covering = pred_covering = h_gt_given_pred = h_pred_given_gt = 0.0
    for g in np.unique(gt):
        in_g = gt == g
        covering += in_g.sum() * max(
            (in_g & (pred == p)).sum() / (in_g | (pred == p)).sum() for p in np.unique(pred)
        )
    for p in np.unique(pred):
        in_p = pred == p
        pred_covering += in_p.sum() * max(
            (in_p & (gt == g)).sum() / (in_p | (gt == g)).sum() for g in np.unique(gt)
        )
        for g in np.unique(gt[in_p]):
            both = (in_p & (gt == g)).sum()
            h_gt_given_pred -= both / n * math.log2(both / in_p.sum())
            h_pred_given_gt -= both / n * math.log2(both / (gt == g).sum())
    return {
        "n_pixels": n,
        "n_gt_regions": len(np.unique(gt)),
        "n_pred_regions": len(np.unique(pred)),
        "covering_sum": covering,
        "pred_covering_sum": pred_covering,
        "h_gt_given_pred": h_gt_given_pred,
        "h_pred_given_gt": h_pred_given_gt,
    }


@pytest.mark.parametrize("dense_limit", [1 << 25, 0])  # 0 forces the sparse table
@pytest.mark.parametrize("n_labels", [4, 30])
def test_region_counts_match_the_definitions(n_labels, dense_limit, monkeypatch):
    monkeypatch.setattr(contingency, "_DENSE_TABLE_LIMIT", dense_limit)
    rng = np.random.default_rng(n_labels)
    gt = rng.integers(0, n_labels, (12, 15))
    pred = rng.integers(0, 5, (12, 15)) * 1_000_003  # sparse label values
    assert region_counts(gt, pred) == pytest.approx(_reference_region_counts(gt, pred))


def test_region_counts_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="pred_labels"):
        region_counts(np.zeros((3, 3), int), np.zeros((3, 4), int))
    with pytest.raises(ValueError, match="gt_labels"):
        region_counts(np.zeros((3, 3)), np.zeros((3, 3), int))


# ---------------------------------------------------------------- per-image rows, summary


def test_image_metrics_and_summary_on_a_perfect_prediction():
    rng = np.random.default_rng(4)
    gt = cv2.resize(
        rng.integers(0, 5, (8, 10)).astype(np.uint8), (60, 48), interpolation=cv2.INTER_NEAREST
    )
    before = gt.copy()
    rows = image_metrics(gt, gt.astype(np.int32) + 7, image="a", scales=(24, 512))
    assert np.array_equal(gt, before)
    assert [r["metric"] for r in rows] == [
        "regions",
        "boundary",
        "boundary_px",
        "danbooregion",
        "danbooregion",
    ]
    for row in rows:
        assert row["image"] == "a"
        assert all(
            isinstance(v, int | float) for k, v in row.items() if k not in ("image", "metric")
        )
    scale_24 = next(r for r in rows if r.get("scale") == 24)
    assert scale_24["tp"] == scale_24["n_est"] > 0
    again = image_metrics(gt, gt.astype(np.int32) + 7, image="b", scales=(24, 512))
    summary = summarize(rows + again)
    assert summary["n_images"] == 2
    for key in ("AP", "OIS", "ODS", "boundary_precision", "boundary_recall", "boundary_F"):
        assert summary[key] == 1.0, key
    assert summary["boundary_px_F"] == 1.0 and summary["boundary_px_tolerance"] == 2.0
    assert summary["covering"] == summary["pred_covering"] == 1.0
    assert summary["VI"] == 0.0
    assert summary["region_count_ratio"] == 1.0


def test_summary_reductions():
    gt = np.zeros((20, 20), int)
    gt[:, 10:] = 1
    over = np.arange(400).reshape(20, 20) // 100  # 4 horizontal bands: over-segmented
    perfect, split = image_metrics(gt, gt, image="a"), image_metrics(gt, over, image="b")
    summary = summarize(perfect + split)
    regions = [r for r in perfect + split if r["metric"] == "regions"]
    assert summary["region_count_ratio"] == pytest.approx((1 + 4 / 2) / 2)
    assert summary["VI"] == pytest.approx(
        (regions[1]["h_gt_given_pred"] + regions[1]["h_pred_given_gt"]) / 2
    )
    assert summary["covering"] == pytest.approx(
        (regions[0]["covering_sum"] + regions[1]["covering_sum"]) / 800
    )
    for key in ("AP", "OIS", "ODS", "boundary_precision", "boundary_recall", "boundary_F"):
        assert 0 <= summary[key] <= 1
    with pytest.raises(ValueError, match="rows"):
        summarize([])


def test_summary_without_ground_truth_is_empty():
    labels = np.arange(16).reshape(4, 4) // 8 + 1
    rows = extraction_rows(labels, None, image="a")
    assert {r["metric"] for r in rows} == {"extracted", "sizes"}
    assert summarize(rows) == {}
    assert report_figures(rows)["size_histograms"]["pred"][3] == 2  # two regions of 8 px


def test_summary_reads_its_rows_back_from_parquet(tmp_path):
    import pandas as pd

    gt = np.zeros((20, 20), int)
    gt[:, 10:] = 1
    rows = extraction_rows(gt, gt, image="a", regions_at=lambda t: gt, thresholds=(50, 90))
    path = tmp_path / "metrics.parquet"
    pd.DataFrame(rows).to_parquet(path)
    assert summarize(pd.read_parquet(path)) == pytest.approx(summarize(rows), nan_ok=True)


def test_threshold_sweep_reduces_to_ods_ois_and_a_curve():
    gt = np.zeros((20, 20), int)
    gt[:, 10:] = 1
    over = np.arange(400).reshape(20, 20) // 100
    decoded = {50: over, 90: gt}
    rows = []
    for image in ("a", "b"):
        rows += extraction_rows(
            gt, gt, image=image, regions_at=decoded.__getitem__, thresholds=(50, 90)
        )
    sweep = [r for r in rows if r["metric"] == "sweep"]
    assert [(r["image"], r["threshold"]) for r in sweep] == [
        ("a", 50), ("a", 90), ("b", 50), ("b", 90),
    ]  # fmt: skip
    summary = summarize(rows)
    assert summary["sweep_ODS_threshold"] == 90 and summary["sweep_ODS_F"] == 1.0
    assert summary["sweep_OIS_F"] == 1.0
    curve = threshold_curve(rows)
    assert list(curve) == [50, 90] and curve[50] < curve[90] == 1.0


def test_worst_images_and_precision_by_scale():
    gt = np.zeros((16, 16), int)
    gt[:, 8:] = 1
    noisy = gt.copy()
    noisy[4:6, 2:4] = 2  # a spurious region: lower precision
    rows = []
    for image, pred in (("good", gt), ("bad", noisy)):
        rows += [extracted_row(pred + 1, image=image)]
        rows += image_metrics(gt, pred, image=image, scales=(16, 512))
    worst = worst_images(rows, n=1)
    assert worst == [
        {"image": "bad", "precision": pytest.approx(worst[0]["precision"]), "n_regions": 3}
    ]
    assert worst[0]["precision"] < 1.0
    curve = precision_by_scale(rows)
    assert list(curve) == [16, 512] and all(0 < v < 1 for v in curve.values())


def test_size_rows_name_their_labels():
    with pytest.raises(ValueError, match="which"):
        size_rows(np.ones((2, 2), int), image="a", which="predicted")


def test_danbooregion_ignores_alpha(metric_samples):
    gt, est = metric_samples[1]
    alpha = np.random.default_rng(6).integers(0, 256, gt.shape[:2], dtype=np.uint8)
    gt_rgba = np.dstack([gt, alpha])
    assert danbooregion_counts(gt_rgba, est, scales=(300,)) == danbooregion_counts(
        gt, est, scales=(300,)
    )


def test_region_size_histogram_counts_areas_in_power_of_two_bins():
    from regionflow.regions.danbooregion.metrics import region_size_histogram

    labels = np.array([[1, 1, 2], [1, 3, 3]])  # areas 3, 1, 2
    before = labels.copy()
    assert region_size_histogram(labels, bins=4).tolist() == [1, 2, 0, 0]
    assert region_size_histogram(np.zeros((64, 64), np.int32), bins=4).tolist() == [
        0,
        0,
        0,
        1,
    ]  # open last bin
    np.testing.assert_array_equal(labels, before)
    with pytest.raises(ValueError, match="labels"):
        region_size_histogram(np.zeros((2, 2), np.float32))

import math

import numpy as np
import pytest

from regionflow.regions.comics.cuts import Cut
from regionflow.regions.comics.panel_eval import (
    PanelCounts,
    box_iou,
    evaluate_panels,
    match_boxes,
    panel_counts,
    panel_scores,
)
from regionflow.regions.comics.panels import Panel


def test_box_iou_by_hand():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[5, 0, 10, 10], [0, 0, 10, 10], [20, 20, 5, 5], [0, 0, 5, 5]])
    np.testing.assert_allclose(box_iou(a, b), [[50 / 150, 1.0, 0.0, 0.25]])


def test_matching_is_one_to_one():
    gt = [(0, 0, 10, 10)]
    pred = [(0, 0, 10, 10), (1, 0, 10, 10)]  # both overlap the one panel
    c = panel_counts(pred, gt)
    assert (c.tp, c.fp, c.fn) == (1, 1, 0)
    assert match_boxes(pred, gt) == [(0, 0, 1.0)]


def test_matching_maximises_the_number_of_matches():
    # Greedy by IoU would give p0 to g0 (0.67) and leave p1 and g1 unmatched; the one-to-one
    # optimum pairs p0-g1 and p1-g0 (0.54 each).
    g = [(0, 0, 10, 10), (5, 0, 10, 10)]
    p = [(2, 0, 10, 10), (-3, 0, 10, 10)]
    iou = box_iou(p, g)
    assert iou[0, 0] > iou[0, 1] >= 0.5 and iou[0, 0] > iou[1, 0] >= 0.5 and iou[1, 1] < 0.5
    pairs = match_boxes(p, g)
    assert {(a, b) for a, b, _ in pairs} == {(1, 0), (0, 1)}


def test_threshold_is_inclusive_and_checked():
    gt = [(0, 0, 10, 10)]
    half = [(0, 0, 10, 5)]  # IoU exactly 0.5
    assert panel_counts(half, gt).tp == 1
    assert panel_counts(half, gt, iou_threshold=0.51).tp == 0
    with pytest.raises(ValueError, match="iou_threshold"):
        match_boxes(half, gt, iou_threshold=0)


def test_reading_order_is_the_concordant_pair_fraction():
    gt = [(0, 0, 10, 10), (20, 0, 10, 10), (40, 0, 10, 10)]
    assert panel_counts(gt, gt).order_concordant == 3
    swapped = [gt[2], gt[0], gt[1]]  # predicted ranks of g0, g1, g2: 1, 2, 0
    c = panel_counts(swapped, gt)
    assert (c.order_pairs, c.order_concordant) == (3, 1)
    assert panel_scores(c)["reading_order"] == pytest.approx(1 / 3)
    reversed_ = panel_counts(gt[::-1], gt)
    assert panel_scores(reversed_)["reading_order"] == 0.0
    # Unmatched predictions do not disturb the order of the matched ones.
    noisy = [(100, 100, 5, 5), gt[0], (200, 0, 5, 5), gt[1], gt[2]]
    assert panel_scores(panel_counts(noisy, gt))["reading_order"] == 1.0


def test_scores_are_micro_averaged_from_counts():
    a = PanelCounts(tp=3, fp=1, fn=0, order_pairs=3, order_concordant=3, iou_sum=2.7)
    b = PanelCounts(tp=1, fp=0, fn=3, order_pairs=0, order_concordant=0, iou_sum=0.6)
    s = panel_scores([a, b])
    assert s["precision"] == pytest.approx(4 / 5)
    assert s["recall"] == pytest.approx(4 / 7)
    assert s["f1"] == pytest.approx(2 * (4 / 5) * (4 / 7) / (4 / 5 + 4 / 7))
    assert s["reading_order"] == 1.0 and s["mean_iou"] == pytest.approx(3.3 / 4)
    assert (s["tp"], s["fp"], s["fn"]) == (4, 1, 3)


def test_empty_cases():
    nothing = panel_scores(panel_counts([], []))
    assert (
        nothing["f1"] == 1.0
        and math.isnan(nothing["reading_order"])
        and math.isnan(nothing["mean_iou"])
    )
    missed = panel_scores(panel_counts([], [(0, 0, 5, 5)]))
    assert (missed["precision"], missed["recall"], missed["f1"]) == (0.0, 0.0, 0.0)
    spurious = panel_scores(panel_counts([(0, 0, 5, 5)], []))
    assert spurious["f1"] == 0.0


def test_accepts_panels_cuts_and_arrays_without_modifying_them():
    gt = np.array([[0, 0, 10, 10], [0, 20, 10, 10]])
    before = gt.copy()
    pred = [Panel(0, 0, 10, 10), Cut(0, 20, 10, 10)]
    assert evaluate_panels([pred], [gt])["f1"] == 1.0
    np.testing.assert_array_equal(gt, before)


@pytest.mark.parametrize(
    "pred, match",
    [
        ([(0, 0, 10)], "predicted"),
        ([(0, 0, -1, 5)], "predicted"),
        ([(0, 0, np.nan, 5)], "predicted"),
    ],
)
def test_bad_boxes_name_the_argument(pred, match):
    with pytest.raises(ValueError, match=match):
        panel_counts(pred, [(0, 0, 1, 1)])


def test_evaluate_checks_lengths_and_counts_types():
    with pytest.raises(ValueError, match="predictions"):
        evaluate_panels([[]], [])
    with pytest.raises(ValueError, match="counts"):
        panel_scores([object()])

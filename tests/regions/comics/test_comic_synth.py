import numpy as np
import pytest

from regionflow.regions.comics.comic_synth import (
    GUTTER_KINDS,
    synth_manga_page,
    synth_page,
    synth_strip,
)
from regionflow.regions.comics.panel_eval import box_iou


def _inside(boxes, shape):
    h, w = shape[:2]
    x, y, bw, bh = boxes.T
    return bool(((x >= 0) & (y >= 0) & (bw > 0) & (bh > 0) & (x + bw <= w) & (y + bh <= h)).all())


@pytest.mark.parametrize("make", [synth_strip, synth_page])
def test_deterministic_by_seed(make):
    a, b, c = make(5), make(5), make(6)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.panels, b.panels)
    assert a.jpeg_quality == b.jpeg_quality and a.gutter == b.gutter
    assert not np.array_equal(a.panels, c.panels) or not np.array_equal(a.image, c.image)


def test_strip_ground_truth_is_in_reading_order_and_disjoint():
    for seed in range(10):
        s = synth_strip(seed)
        assert s.image.dtype == np.uint8 and s.image.shape[1] == 600 and s.image.shape[2] == 3
        assert _inside(s.panels, s.image.shape) and _inside(s.bubbles, s.image.shape)
        assert len(s.panels) == len(s.panel_kinds) >= 3
        tops, bottoms = s.panels[:, 1], s.panels[:, 1] + s.panels[:, 3]
        assert (tops[1:] >= bottoms[:-1]).all()  # top to bottom, no overlap


def test_page_ground_truth_in_reading_order():
    for seed in range(6):
        for direction in ("ltr", "rtl"):
            p = synth_page(seed, direction=direction)
            assert p.direction == direction and _inside(p.panels, p.image.shape)
            iou = box_iou(p.panels, p.panels)
            np.testing.assert_array_equal(iou > 0, np.eye(len(p.panels), dtype=bool))
            # Reading order: a panel never starts below the bottom of a later one's row band,
            # and within a band the leading edges advance in the reading direction.
            first = p.panels[0]
            lead = first[0] if direction == "ltr" else -(first[0] + first[2])
            others = p.panels[1:]
            same_band = others[:, 1] < first[1] + first[3] // 2
            other_lead = others[:, 0] if direction == "ltr" else -(others[:, 0] + others[:, 2])
            assert (other_lead[same_band] >= lead).all()


def test_options_are_honoured():
    for kind in GUTTER_KINDS:
        assert synth_strip(1, gutter=kind).gutter == kind
    plain = synth_strip(2, jpeg_probability=0.0, bubbles=False)
    assert plain.jpeg_quality is None and len(plain.bubbles) == 0
    assert synth_page(2, jpeg_probability=1.0, jpeg_quality=(70, 70)).jpeg_quality == 70
    white = synth_strip(3, gutter="white", jpeg_probability=0.0)
    assert (white.image[0] == 255).all() or white.panels[0, 1] == 0
    kinds = {k for seed in range(8) for k in synth_strip(seed, jpeg_probability=0).bubble_kinds}
    assert kinds == {"inside", "edge", "floating"}
    kinds = {k for seed in range(8) for k in synth_page(seed, jpeg_probability=0).bubble_kinds}
    assert kinds == {"inside", "bridge"}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"gutter": "pink"}, "gutter"),
        ({"width": 50}, "width"),
        ({"jpeg_probability": 2.0}, "jpeg_probability"),
        ({"jpeg_quality": (90, 80)}, "jpeg_quality"),
    ],
)
def test_bad_options_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        synth_strip(0, **kwargs)
    with pytest.raises(ValueError, match=match):
        synth_page(0, **kwargs)


def _guillotine(boxes) -> bool:
    """Whether straight gutters spanning each block split the boxes down to single panels."""
    if len(boxes) <= 1:
        return True
    for axis in (0, 1):
        lo, hi = boxes[:, axis], boxes[:, axis] + boxes[:, axis + 2]
        for c in np.unique(hi):
            first, second = hi <= c, lo >= c
            if first.any() and second.any() and (first | second).all():
                return _guillotine(boxes[first]) and _guillotine(boxes[second])
    return False


def test_staggered_pages_have_a_block_no_straight_gutter_crosses():
    for seed in range(6):
        page = synth_manga_page(seed, "staggered", direction="rtl" if seed % 2 else "ltr")
        again = synth_manga_page(seed, "staggered", direction="rtl" if seed % 2 else "ltr")
        np.testing.assert_array_equal(page.image, again.image)
        assert _inside(page.panels, page.image.shape) and len(page.panels) >= 5
        assert not _guillotine(page.panels)
    # The grid category is cut by straight gutters all the way down.
    assert _guillotine(synth_manga_page(0, "grid").panels)


def test_overlap_pages_draw_a_panel_across_a_row_gutter():
    for seed in range(4):
        page = synth_manga_page(seed, "overlap")
        again = synth_manga_page(seed, "overlap")
        np.testing.assert_array_equal(page.image, again.image)
        assert _inside(page.panels, page.image.shape)
        over = [b for b, k in zip(page.panels, page.panel_kinds, strict=True) if k == "overlap"]
        assert over
        for box in over:
            # Over two other panels: its box overlaps at least two of theirs.
            others = [b for b in page.panels if not np.array_equal(b, box)]
            assert (box_iou([box], others) > 0).sum() >= 2

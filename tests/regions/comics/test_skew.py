"""Tilted (scanned) pages: the gutter mask, the skew estimate, panels found through the tilt."""

import cv2
import numpy as np
import pytest

from regionflow.regions.comics.comic_synth import synth_manga_page
from regionflow.regions.comics.panel_eval import evaluate_panels
from regionflow.regions.comics.panels import detect_panels, gutter_mask
from regionflow.regions.comics.scanned import scanned_page
from regionflow.regions.comics.skew import page_skew, points_back, rotate_square, skew_back


def _tilted(image, degrees):
    """``image`` rotated ``degrees`` counter-clockwise about its centre, corners white."""
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(255, 255, 255))


@pytest.fixture(scope="module")
def grid_page():
    return synth_manga_page(3, "grid", jpeg_probability=0)


def test_gutter_mask_does_not_leak_into_panels_on_a_tilted_page(grid_page):
    # Anti-aliased frame lines a degree off the axis ramp slowly along themselves; a floating
    # flood used to climb that ramp into the panels (gutter share 0.20 → 0.75 at 1°).
    square = gutter_mask(grid_page.image).mean()
    for degrees in (0.3, 1.0, -1.5):
        tilted = gutter_mask(_tilted(grid_page.image, degrees)).mean()
        assert tilted == pytest.approx(square, abs=0.03), degrees


@pytest.mark.parametrize("degrees", [0.6, 1.0, -1.2, 2.5])
def test_page_skew_measures_the_tilt(grid_page, degrees):
    gutter = gutter_mask(_tilted(grid_page.image, degrees))
    assert page_skew(gutter) == pytest.approx(degrees, abs=0.15)


def test_page_skew_of_a_square_page_and_of_pages_without_gutters(grid_page):
    assert abs(page_skew(gutter_mask(grid_page.image))) <= 0.1
    assert page_skew(np.zeros((200, 100), bool)) == 0.0  # no gutter to measure
    assert page_skew(np.ones((200, 100), bool)) == 0.0  # all gutter: nothing to measure
    stripes = np.zeros((1, 100), bool)
    stripes[0, ::3] = True
    assert page_skew(stripes) == page_skew(stripes.T) == 0.0  # one row or column
    assert page_skew(gutter_mask(_tilted(grid_page.image, 1.0)), max_degrees=0) == 0.0
    with pytest.raises(ValueError, match="gutter: expected an"):
        page_skew(np.zeros((4, 4, 3), bool))
    with pytest.raises(ValueError, match="max_degrees"):
        page_skew(np.zeros((4, 4), bool), max_degrees=float("nan"))


def test_rotate_square_and_back_is_the_identity_on_points():
    page = np.zeros((300, 200, 3), np.uint8)
    square, to_square = rotate_square(page, 2.0)
    assert square.shape[0] >= 300 and square.shape[1] >= 200  # the whole page is kept
    points = np.array([(10.0, 20.0), (150.0, 250.0)])
    on_square = points @ to_square[:, :2].T + to_square[:, 2]
    assert points_back(on_square, to_square, (300, 200)) == ((10, 20), (150, 250))
    box, corners = skew_back((5, 5, 50, 80), to_square, (300, 200))
    assert len(corners) == 4
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    assert box == (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


@pytest.mark.parametrize("degrees", [0.85, -1.5, 3.0])
def test_rotate_square_inside_keeps_only_pixels_of_the_page(degrees):
    h, w = 852, 600
    square, to_square = rotate_square(np.zeros((h, w, 3), np.uint8), degrees, inside=True)
    sh, sw = square.shape[:2]
    margin = max(h, w) * np.sin(np.radians(abs(degrees))) / 2
    assert h - 2 * (margin + 2) <= sh < h and w - 2 * (margin + 2) <= sw < w
    back = cv2.invertAffineTransform(to_square)
    corners = np.array([(0, 0), (sw - 1, 0), (0, sh - 1), (sw - 1, sh - 1)], float)
    xy = corners @ back[:, :2].T + back[:, 2]
    assert (xy >= 0).all() and (xy[:, 0] <= w - 1).all() and (xy[:, 1] <= h - 1).all()


def test_a_tilted_scan_of_a_page_bleeding_off_its_edge():
    # The scan's wedge of background along the tilted page edge, kept on the squared page,
    # joined the bleeding panels' interiors to the gutter network: one box for the page.
    comic = synth_manga_page(2, "staggered", direction="ltr")
    scan = scanned_page(comic, 2, border=0)  # tilted 0.85°, the left panels bleed off the page
    found = detect_panels(scan.image, direction=scan.direction)
    assert evaluate_panels([[p.box for p in found]], [scan.panels])["f1"] == 1.0


@pytest.mark.parametrize("degrees", [1.2, -1.5])
def test_detect_panels_through_a_tilt(grid_page, degrees):
    page = _tilted(grid_page.image, degrees)
    h, w = page.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    truth, truth_corners = [], []
    for x, y, bw, bh in grid_page.panels:
        corners = np.array([[x, y], [x + bw, y], [x + bw, y + bh], [x, y + bh]], float)
        p = corners @ m[:, :2].T + m[:, 2]
        truth.append((*p.min(0), *(p.max(0) - p.min(0))))
        truth_corners.append(p)
    found = detect_panels(page, direction=grid_page.direction)
    scores = evaluate_panels([[p.box for p in found]], [truth], iou_threshold=0.8)
    assert scores["f1"] == 1.0
    # Each panel carries its tilted rectangle: corners within a few pixels of the true ones,
    # in reading order like the ground truth.
    for panel, corners in zip(found, truth_corners, strict=True):
        assert panel.polygon is not None and len(panel.polygon) == 4
        assert np.abs(np.array(panel.polygon) - corners).max() <= 6


def test_scanned_page_is_deterministic_and_moves_its_boxes():
    comic = synth_manga_page(7, "grid", jpeg_probability=0)
    a, b = scanned_page(comic, 11), scanned_page(comic, 11)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.panels, b.panels)
    assert a.image.shape == comic.image.shape and a.image.dtype == np.uint8
    assert not np.array_equal(a.image, scanned_page(comic, 12).image)
    flat = scanned_page(comic, 11, max_tilt=0, border=0)
    np.testing.assert_array_equal(flat.panels, comic.panels)  # no tilt, no border: boxes stay
    framed = scanned_page(comic, 11, max_tilt=0, border=1)
    grown = np.array(framed.image.shape[:2]) - comic.image.shape[:2]
    assert (grown > 0).any() and (framed.panels[:, 2:] == comic.panels[:, 2:]).all()
    assert not np.array_equal(a.panels, comic.panels)  # a tilt moves them
    with pytest.raises(ValueError, match="max_tilt"):
        scanned_page(comic, 1, max_tilt=-1)
    with pytest.raises(ValueError, match="border"):
        scanned_page(comic, 1, border=1.5)


@pytest.mark.parametrize("size", [3, 5, 20, 63])
def test_small_or_noisy_pages_never_fail(size):
    # A tilt read off a handful of pixels is noise; squaring a 5-px page left 1 px and the
    # detector refused its own crop ("page: too small (1, 1, 3)").
    rng = np.random.default_rng(size)
    for page in (
        rng.integers(0, 256, (size, size + 2, 3), dtype=np.uint8),
        np.pad(
            np.full((size, size, 3), 230, np.uint8), ((1, 1), (1, 1), (0, 0)), constant_values=40
        ),
    ):
        assert isinstance(detect_panels(page), list)

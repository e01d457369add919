"""Scanner borders around a scanned page: found, cropped, and no border where there is none."""

import cv2
import numpy as np
import pytest

from regionflow.regions.comics.comic_synth import PAGE_CATEGORIES, synth_manga_page
from regionflow.regions.comics.page_edges import scan_border
from regionflow.regions.comics.panel_eval import evaluate_panels
from regionflow.regions.comics.panels import detect_panels
from regionflow.regions.comics.scanned import scanned_page


def _framed(image, widths, grey=50):
    top, bottom, left, right = widths
    return np.pad(image, ((top, bottom), (left, right), (0, 0)), constant_values=grey)


@pytest.fixture(scope="module")
def scan():
    return scanned_page(synth_manga_page(0, "grid"), 0, border=0)


def test_no_border_on_pages_without_one():
    for i, category in enumerate(PAGE_CATEGORIES):
        comic = synth_manga_page(i, category)
        for page in (comic.image, scanned_page(comic, i, border=0).image):
            assert scan_border(page) == (0, 0, 0, 0), category


@pytest.mark.parametrize("widths", [(18, 18, 18, 18), (0, 0, 12, 0), (20, 0, 0, 9)])
def test_a_border_is_found_where_it_is(scan, widths):
    found = scan_border(_framed(scan.image, widths))
    for got, want in zip(found, widths, strict=True):
        # The paper starts at the border's end, or a few lines in where its edge is shaded or
        # tilted (this scan's binding shadow is on the left).
        assert want <= got <= want + 10 if want else got == 0


def test_panels_inside_a_border_all_round(scan):
    widths = (18, 18, 18, 18)
    page = _framed(scan.image, widths)
    truth = scan.panels + np.array([18, 18, 0, 0])
    found = detect_panels(page, direction=scan.direction)
    assert evaluate_panels([[p.box for p in found]], [truth])["f1"] == 1.0
    # Without the crop the flood floods the border alone and the page is one box.
    plain = detect_panels(page, direction=scan.direction, scan_borders=False)
    assert evaluate_panels([[p.box for p in plain]], [truth])["f1"] < 0.8


def test_scan_border_checks_its_input():
    with pytest.raises(ValueError, match="page"):
        scan_border(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="tolerance"):
        scan_border(np.zeros((10, 10, 3), np.uint8), tolerance=0)


def test_the_crop_starts_where_the_paper_has_settled():
    # The scan is blurred after the border is added: the line between border and paper is a
    # uniform, lighter blend. Cropped there, a wall of sharp steps ran along the whole page
    # edge, no seed of the gutter flood was left and the page came out as one box.
    comic = synth_manga_page(3, "grid", jpeg_probability=0)
    scan = scanned_page(comic, 5, border=1)
    found = detect_panels(scan.image, direction=scan.direction)
    assert evaluate_panels([[p.box for p in found]], [scan.panels], iou_threshold=0.9)["f1"] == 1.0


def test_the_gutter_flood_seeds_inside_a_walled_page_edge(scan):
    import cv2

    from regionflow.regions.comics.panels import gutter_mask

    # Cropped one line into a blurred border: a blend line, then a sharp step to the paper,
    # all along the edge.
    blurred = cv2.GaussianBlur(_framed(scan.image, (20, 20, 20, 20)), (0, 0), 0.7)
    page = blurred[19:-19, 19:-19]
    assert gutter_mask(page).mean() == pytest.approx(gutter_mask(scan.image).mean(), abs=0.02)


@pytest.mark.parametrize("scale, direction", [(1, "ltr"), (2, "rtl")])
def test_a_border_on_one_side_of_a_bleeding_page_is_cropped(scale, direction):
    # A dark border down the left edge only, the other three sides panels bleeding off the
    # page: no paper follows the band, so scan_border keeps it (it could be a black margin),
    # the flood starts on it as the edge's commonest colour and reaches nothing else. The band
    # flooded alone is the border: cropped, the panels are found (1 of 11 without the crop).
    # Enlarged 2× (searched at 1000 px), the band's blurred edge holds a tenth of the flood.
    comic = synth_manga_page(2, "bleed", direction=direction)
    scan = scanned_page(comic, 2)
    image = cv2.resize(scan.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    truth = [[v * scale for v in box] for box in scan.panels]
    assert scan_border(image) == (0, 0, 0, 0)
    found = detect_panels(image, direction=scan.direction)
    assert evaluate_panels([[p.box for p in found]], [truth])["f1"] == 1.0
    plain = detect_panels(image, direction=scan.direction, scan_borders=False)
    assert evaluate_panels([[p.box for p in plain]], [truth])["f1"] < 0.5


def test_a_black_page_in_a_grey_border():
    # Scanner backgrounds are darker than paper, except round a black page: a grey border
    # (45) before a black margin is cropped too (the page was one box: the flood took the
    # grey band for the gutter).
    comic = synth_manga_page(9, "dark", direction="rtl")
    scan = scanned_page(comic, 9)
    top, bottom, left, right = scan_border(scan.image)
    assert top and bottom and right and not left
    found = detect_panels(scan.image, direction=scan.direction)
    assert evaluate_panels([[p.box for p in found]], [scan.panels])["f1"] == 1.0


def test_a_white_margin_before_a_thick_black_frame_is_no_border():
    page = np.full((400, 300, 3), 255, np.uint8)
    page[18:382, 18:282] = 0  # a frame 8 px thick, then a grey panel
    page[26:374, 26:274] = 120
    assert scan_border(page) == (0, 0, 0, 0)

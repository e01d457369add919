import numpy as np
import pytest

from regionflow.regions.danbooregion.labels import region_labels
from regionflow.regions.danbooregion.quality import (
    annotation_quality,
    region_boundary,
    unexplained_edges,
)
from regionflow.regions.synthetic.cartoons import synthetic_scene
from tests.conftest import read_fixture


def _merge_into_quadrants(labels):
    """An 'unfinished' annotation: every region merged with the others of its image quadrant."""
    h, w = labels.shape
    flat = labels.ravel().astype(np.int64)
    area = np.bincount(flat)
    ys, xs = np.mgrid[0:h, 0:w]
    cy = np.bincount(flat, ys.ravel()) / np.maximum(area, 1)
    cx = np.bincount(flat, xs.ravel()) / np.maximum(area, 1)
    quadrant = (cy > h / 2) * 2 + (cx > w / 2)
    return quadrant[labels].astype(np.int32)


@pytest.fixture(scope="module")
def scenes():
    return [synthetic_scene(seed) for seed in range(6)]


def test_finished_annotation_scores_low_and_merged_ones_clearly_higher(scenes):
    for scene in scenes:
        finished = annotation_quality(scene.image, scene.labels)["unfinished"]
        largest = np.argmax(np.bincount(scene.labels.ravel()))
        one_big = np.where(scene.labels == largest, 1, 2).astype(np.uint8)
        quadrants = _merge_into_quadrants(scene.labels)
        assert finished < 0.05
        for merged in (one_big, quadrants):
            assert annotation_quality(scene.image, merged)["unfinished"] > finished + 0.25


def test_values_on_a_hand_made_map():
    labels = np.zeros((40, 50), np.int64)
    labels[:, 25:] = 7  # two halves ...
    labels[0:2, 0:5] = 3  # ... a 10 px crumb ...
    labels[10, 10] = -4  # ... and a 1 px dot: any integer values are regions
    image = np.zeros((40, 50, 3), np.uint8)
    q = annotation_quality(image, labels)
    assert set(q) == {
        "small_region_area",
        "regions_per_megapixel",
        "largest_region_share",
        "unfinished",
    }
    assert q["small_region_area"] == pytest.approx(11 / 2000)
    assert q["regions_per_megapixel"] == pytest.approx(4 / 2000 * 1e6)
    assert q["largest_region_share"] == pytest.approx(1000 / 2000)
    assert q["unfinished"] == 0.0  # a black image has no edges
    assert all(isinstance(v, float) for v in q.values())


def test_edges_are_explained_within_tolerance_only():
    image = np.full((64, 64, 3), 200, np.uint8)
    image[:, 32:] = 40  # a strong vertical edge at x = 32
    labels = np.ones((64, 64), np.int32)
    labels[:, 38:] = 2  # annotated boundary 6 px to the right of the edge
    edges, unexplained = unexplained_edges(image, labels, tolerance=3.0)
    assert edges.any() and np.array_equal(unexplained, edges)
    edges, unexplained = unexplained_edges(image, labels, tolerance=8.0)
    assert edges.any() and not unexplained.any()
    assert annotation_quality(image, labels, tolerance=8.0)["unfinished"] == 0.0
    assert annotation_quality(image, labels, tolerance=3.0)["unfinished"] == 1.0
    # One region, no boundary at all: every edge is unexplained.
    assert annotation_quality(image, np.zeros((64, 64), np.uint16))["unfinished"] == 1.0


def test_ranges_on_synthetic_and_real_samples(scenes):
    samples = [(s.image, s.labels) for s in scenes]
    image = read_fixture("illustration/X.image.png")
    labels = region_labels(read_fixture("illustration/X.region.png"))
    h, w = min(image.shape[0], labels.shape[0]), min(image.shape[1], labels.shape[1])
    samples.append((image[:h, :w], labels[:h, :w]))
    for image, labels in samples:
        q = annotation_quality(image, labels)
        assert 0.0 <= q["small_region_area"] <= 1.0
        assert 0.0 < q["largest_region_share"] <= 1.0
        assert 0.0 <= q["unfinished"] <= 1.0
        assert q["regions_per_megapixel"] == pytest.approx(
            len(np.unique(labels)) / labels.size * 1e6
        )
    real = annotation_quality(image[:h, :w], labels[:h, :w])
    assert real["regions_per_megapixel"] == pytest.approx(641 / (h * w) * 1e6)
    # A painted (not flat) picture has texture edges, but a finished map still explains most.
    assert real["unfinished"] < 0.15
    merged = _merge_into_quadrants(labels[:h, :w])
    assert annotation_quality(image[:h, :w], merged)["unfinished"] > real["unfinished"] + 0.25


def test_region_boundary_marks_both_sides():
    labels = np.array([[1, 1, 2], [1, 1, 2], [3, 3, 3]])
    expected = np.array([[0, 1, 1], [1, 1, 1], [1, 1, 1]], bool)
    np.testing.assert_array_equal(region_boundary(labels), expected)


def test_inputs_not_modified(scenes):
    image, labels = scenes[0].image.copy(), scenes[0].labels.copy()
    annotation_quality(image, labels)
    unexplained_edges(image, labels)
    np.testing.assert_array_equal(image, scenes[0].image)
    np.testing.assert_array_equal(labels, scenes[0].labels)


@pytest.mark.parametrize(
    ("image", "labels", "name"),
    [
        (np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.int32), "image"),
        (np.zeros((8, 8, 3), np.float32), np.zeros((8, 8), np.int32), "image"),
        (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.float32), "labels"),
        (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9), np.int32), "labels"),
        (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 1), np.int32), "labels"),
    ],
)
def test_bad_inputs_name_the_argument(image, labels, name):
    with pytest.raises(ValueError, match=name):
        annotation_quality(image, labels)


def test_bad_options_name_the_argument():
    image, labels = np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.int32)
    with pytest.raises(ValueError, match="tolerance"):
        annotation_quality(image, labels, tolerance=0)
    with pytest.raises(ValueError, match="low_threshold"):
        unexplained_edges(image, labels, low_threshold=200, high_threshold=100)

"""Decoders: the seed's simple-decoder fixture, the full decoder's steps, flat colours."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from regionflow.regions.danbooregion.decode import (
    absorb_boundaries,
    decode_colour,
    decode_full,
    decode_simple,
    flat_colour,
)
from regionflow.regions.danbooregion.labels import region_labels
from tests.conftest import read_fixture


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """True when the label maps differ only by a renaming of labels (a bijection)."""
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]).T, axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def _assert_consecutive(labels: np.ndarray) -> None:
    assert labels.dtype == np.int32
    assert labels.min() == 1
    assert np.array_equal(np.unique(labels), np.arange(1, labels.max() + 1))


@pytest.fixture(scope="module")
def skeleton_test() -> np.ndarray:
    return read_fixture("decode_samples/skeleton_test.png", cv2.IMREAD_UNCHANGED)


def test_simple_decoder_reproduces_seed_regions(skeleton_test):
    expected = region_labels(read_fixture("decode_samples/regions.png", cv2.IMREAD_UNCHANGED))
    labels = decode_simple(skeleton_test)
    _assert_consecutive(labels)
    assert labels.max() == expected.max() == 18
    assert _same_partition(labels, expected)


def test_simple_decoder_accepts_grey_and_multichannel_alike(skeleton_test):
    grey = read_fixture("decode_samples/skeleton_test.png", cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(decode_simple(grey), decode_simple(skeleton_test))


def test_simple_decoder_does_not_modify_input(skeleton_test):
    before = skeleton_test.copy()
    decode_simple(skeleton_test)
    assert np.array_equal(skeleton_test, before)


def test_absorption_reads_labels_from_the_start_of_each_pass():
    # A 3-px band of 0 between regions 1 (left) and 2 (right): with the pass reading the
    # snapshot, the band's middle column is reached in pass 2 from both sides and takes the
    # left neighbour (first in scan order); an in-place pass would sweep label 1 rightwards.
    labels = np.array([[1, 0, 0, 0, 2]] * 3)
    out = absorb_boundaries(labels)
    assert np.array_equal(out, np.array([[1, 1, 1, 2, 2]] * 3, dtype=np.int32))


def test_absorption_neighbour_order_decides_ties():
    # The 0 pixel touches 1 (up) and 2 (left): left comes first in the scan order.
    labels = np.array([[3, 1, 3], [2, 0, 3], [3, 3, 3]])
    out = absorb_boundaries(labels)
    assert out[1, 1] == out[1, 0]


def test_absorption_renumbers_consecutively_and_keeps_input():
    labels = np.array([[0, 7, 7], [0, 0, 9], [4, 0, 9]])
    before = labels.copy()
    out = absorb_boundaries(labels)
    assert np.array_equal(labels, before)
    _assert_consecutive(out)
    assert out.max() == 3


def test_absorption_without_any_label_gives_one_region():
    assert np.array_equal(absorb_boundaries(np.zeros((4, 5), int)), np.ones((4, 5), np.int32))


def test_absorption_rejects_negative_labels():
    with pytest.raises(ValueError, match="labels"):
        absorb_boundaries(np.array([[-1, 1]]))


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (2, 2), (5, 1)])
def test_degenerate_sizes_give_valid_labels(shape):
    height = np.full(shape, 255, np.uint8)
    for labels in (decode_simple(height), decode_full(height, np.zeros((*shape, 3), np.uint8))):
        assert labels.shape == shape
        _assert_consecutive(labels)


def test_no_marker_gives_one_region():
    height = np.zeros((20, 30), np.uint8)
    assert np.array_equal(decode_simple(height), np.ones((20, 30), np.int32))
    image = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    assert np.array_equal(decode_full(height, image), np.ones((20, 30), np.int32))


def test_simple_decoder_rejects_bad_arguments():
    with pytest.raises(ValueError, match="height"):
        decode_simple(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="height"):
        decode_simple(np.zeros((2, 4, 4, 1), np.uint8))
    with pytest.raises(ValueError, match="threshold"):
        decode_simple(np.zeros((4, 4), np.uint8), threshold=300)


def _two_blobs(shape=(120, 160)) -> tuple[np.ndarray, np.ndarray]:
    """A height map with two round peaks, and an image split where the peaks meet."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    peak_a = 255 - 3 * np.hypot(yy - 60, xx - 40)
    peak_b = 255 - 3 * np.hypot(yy - 60, xx - 120)
    height = np.maximum(peak_a, peak_b).clip(0, 255).astype(np.uint8)
    image = np.zeros((*shape, 3), np.uint8)
    image[:, :80] = (200, 40, 40)
    image[:, 80:] = (40, 200, 40)
    return height, image


def test_full_decoder_splits_along_the_colour_edge():
    height, image = _two_blobs()
    labels = decode_full(height, image)
    _assert_consecutive(labels)
    assert labels.max() == 2
    # The watershed line sits on either side of the colour edge (columns 79/80) and is then
    # absorbed, so only those two columns may go either way.
    assert len(np.unique(labels[:, :79])) == 1 and len(np.unique(labels[:, 81:])) == 1
    assert labels[0, 0] != labels[0, -1]


def test_full_decoder_resizes_height_to_the_image():
    height, image = _two_blobs()
    small = cv2.resize(height, (80, 60), interpolation=cv2.INTER_AREA)
    labels = decode_full(small, image)
    assert labels.shape == image.shape[:2]
    assert labels.max() == 2


def test_full_decoder_merges_small_cut_off_pieces_into_their_marker():
    # One big marker (square) with a thin 1-px-wide spur: the opening cuts the spur off; it is
    # small and touches only the square, so it merges: one marker, one region.
    height = np.zeros((80, 80), np.uint8)
    height[20:60, 20:60] = 255
    height[38, 60:75] = 255  # spur, 15 px
    height[5:12, 5:12] = 255  # separate 49-px blob: dropped (< min_marker)
    image = np.full((80, 80, 3), 128, np.uint8)
    labels = decode_full(height, image, sharpen=0.0)
    assert labels.max() == 1
    # With merging off, every cut-off piece is a marker of its own: the spur and the square's
    # four corners (the opening with a cross rounds them off into a diamond-cornered shape).
    labels = decode_full(height, image, sharpen=0.0, merge_below=0)
    assert labels.max() == 6


def test_full_decoder_keeps_pieces_touching_two_markers_apart():
    # Two squares joined by a thin bridge: the opening separates them and cuts the bridge off.
    # The bridge is small but touches both squares, so it becomes a marker of its own (the
    # squares' cut-off corners touch one square each and merge back).
    height = np.zeros((80, 160), np.uint8)
    height[20:60, 10:70] = 255
    height[20:60, 90:150] = 255
    height[40:42, 70:90] = 255  # bridge, 40 px, touches both squares
    image = np.zeros((80, 160, 3), np.uint8)
    image[:, :80] = 250  # a colour edge in the middle of the bridge
    labels = decode_full(height, image, sharpen=0.0)
    _assert_consecutive(labels)
    # squares + the bridge (touches two kept markers, so it stays a marker of its own)
    assert labels.max() == 3


def test_full_decoder_does_not_modify_inputs():
    height, image = _two_blobs()
    before = (height.copy(), image.copy())
    decode_full(height, image)
    assert np.array_equal(height, before[0]) and np.array_equal(image, before[1])


def test_full_decoder_ignores_alpha_and_accepts_grey():
    height, image = _two_blobs()
    bgra = np.dstack([image, np.full(image.shape[:2], 7, np.uint8)])
    assert np.array_equal(decode_full(height, bgra), decode_full(height, image))
    assert decode_full(height, image[..., 1]).max() == 2


def test_full_decoder_rejects_bad_arguments():
    height, image = _two_blobs()
    with pytest.raises(ValueError, match="image"):
        decode_full(height, image.astype(np.float32))
    with pytest.raises(ValueError, match="sigma"):
        decode_full(height, image, sigma=0)
    with pytest.raises(ValueError, match="min_marker"):
        decode_full(height, image, min_marker=-1)


def test_full_decoder_on_the_seed_height_gives_a_partition():
    height = read_fixture("skeleton_figures/height.jpg", cv2.IMREAD_GRAYSCALE)
    image = read_fixture("skeleton_figures/input.jpg")
    labels = decode_full(height, image)
    _assert_consecutive(labels)
    assert labels.shape == image.shape[:2]
    assert 10 < labels.max() < 1000


def test_flat_colour_fills_regions_with_their_median():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    labels = rng.integers(0, 6, (30, 40)) * 5 - 7  # gaps and negatives are fine
    flat = flat_colour(image, labels)
    assert flat.dtype == np.uint8 and flat.shape == image.shape
    for label in np.unique(labels):
        inside = labels == label
        expected = np.median(image[inside], axis=0).astype(np.uint8)
        assert (flat[inside] == expected).all()


def test_flat_colour_grey_and_input_untouched():
    image = np.array([[10, 20, 30], [40, 50, 60]], np.uint8)
    labels = np.array([[1, 1, 2], [1, 2, 2]])
    before = image.copy()
    assert np.array_equal(flat_colour(image, labels), [[20, 20, 50], [20, 50, 50]])
    assert np.array_equal(image, before)
    with pytest.raises(ValueError, match="labels"):
        flat_colour(image, labels[:1])


def test_full_decoder_keeps_large_cut_off_pieces_as_regions():
    # A 4-px-wide arm of 160 px does not survive the opening; it touches only the square but
    # is not small (>= merge_below), so it stays a region of its own.
    height = np.zeros((80, 100), np.uint8)
    height[20:60, 20:60] = 255
    height[36:40, 60:110] = 255
    image = np.full((80, 100, 3), 128, np.uint8)
    assert decode_full(height, image, sharpen=0.0).max() == 2
    assert decode_full(height, image, sharpen=0.0, merge_below=1000).max() == 1


def test_absorption_handles_huge_label_values():
    labels = np.array([[0, 10**12, 10**12], [5, 0, 10**12]])
    out = absorb_boundaries(labels)
    _assert_consecutive(out)
    # (0, 0) takes its right neighbour (right comes before down), (1, 1) its left one.
    assert out.tolist() == [[2, 2, 2], [1, 1, 2]]


def _valley_beside_the_edge(shape=(60, 160)) -> tuple[np.ndarray, np.ndarray]:
    """A height map whose valley runs down column 64, and a picture whose colour changes at
    column 80: a prediction that puts the boundary 16 px off the painted edge."""
    xx = np.broadcast_to(np.arange(shape[1]), shape)
    height = (np.abs(xx - 64) * 6).clip(0, 255).astype(np.uint8)
    image = np.zeros((*shape, 3), np.uint8)
    image[:, :80] = (60, 60, 200)
    image[:, 80:] = (230, 230, 230)
    return height, image


def test_colour_decoder_puts_the_boundary_on_the_colour_edge():
    height, image = _valley_beside_the_edge()
    colour = decode_colour(height, image, threshold=120)
    _assert_consecutive(colour)
    assert colour.max() == 2
    # simple: on the valley; colour: on the picture's edge (the watershed line, absorbed, may
    # go to either side of columns 79/80)
    simple = decode_simple(height, threshold=120)
    assert (simple[:, :63] == simple[0, 0]).all() and (simple[:, 66:] != simple[0, 0]).all()
    assert (colour[:, :79] == colour[0, 0]).all() and (colour[:, 81:] != colour[0, 0]).all()


def test_colour_decoder_uses_the_simple_decoders_markers():
    height, image = _two_blobs()
    for threshold in (60, 120, 200):
        assert (
            decode_colour(height, image, threshold=threshold).max()
            == decode_simple(height, threshold=threshold).max()
        )


def test_colour_decoder_resizes_height_and_keeps_inputs():
    height, image = _valley_beside_the_edge()
    small = cv2.resize(height, (80, 30), interpolation=cv2.INTER_AREA)
    before = small.copy(), image.copy()
    labels = decode_colour(small, image)
    assert labels.shape == image.shape[:2] and labels.max() == 2
    np.testing.assert_array_equal(small, before[0])
    np.testing.assert_array_equal(image, before[1])
    grey = decode_colour(height, cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    assert grey.max() == 2


def test_colour_decoder_rejects_bad_arguments():
    height, image = _valley_beside_the_edge()
    with pytest.raises(ValueError, match="image"):
        decode_colour(height, image.astype(np.float32))
    with pytest.raises(ValueError, match="threshold"):
        decode_colour(height, image, threshold=-1)
    assert (decode_colour(np.zeros_like(height), image) == 1).all()  # no marker: one region

import math

import numpy as np
import pytest

from regionflow.models.augment import (
    PLAIN_SHORT_SIDE,
    ROTATED_SHORT_SIDE,
    augment_pair,
    largest_inner_rectangle,
    random_geometry,
    random_photometric,
    rotate_and_cut,
    scaled_range,
    squeeze_contrast,
)


def _page(h=90, w=120, seed=0):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    skeleton = rng.integers(0, 256, (h, w), dtype=np.uint8)
    return image, skeleton


def test_shapes_dtypes_and_reproducibility():
    image, skeleton = _page()
    for seed in range(8):
        a = augment_pair(image, skeleton, crop=64, rng=np.random.default_rng(seed))
        b = augment_pair(image, skeleton, crop=64, rng=np.random.default_rng(seed))
        assert a[0].shape == (64, 64, 3) and a[1].shape == (64, 64)
        assert a[0].dtype == a[1].dtype == np.uint8
        assert a[0].flags.c_contiguous and a[1].flags.c_contiguous
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    c = augment_pair(image, skeleton, crop=64, rng=np.random.default_rng(99))
    assert not np.array_equal(a[1], c[1])


def test_inputs_not_modified():
    image, skeleton = _page()
    before = image.copy(), skeleton.copy()
    for seed in range(6):
        augment_pair(image, skeleton, crop=64, rng=np.random.default_rng(seed))
    np.testing.assert_array_equal(image, before[0])
    np.testing.assert_array_equal(skeleton, before[1])


def test_geometry_is_joint():
    _, skeleton = _page(seed=1)
    image = np.repeat(skeleton[..., None], 3, axis=2)  # the skeleton in every channel
    for seed in range(12):
        out_image, out_skeleton = random_geometry(
            image, skeleton, crop=64, rng=np.random.default_rng(seed)
        )
        for c in range(3):
            np.testing.assert_array_equal(out_image[..., c], out_skeleton)


def test_image_is_resized_to_the_skeleton_first():
    image, skeleton = _page(91, 121)
    out = augment_pair(image, skeleton[:90, :120], crop=64, rng=np.random.default_rng(0))
    assert out[0].shape == (64, 64, 3)


def test_without_augmentation_the_crop_is_a_window_of_the_page():
    image, skeleton = _page()
    out_image, out_skeleton = augment_pair(
        image, skeleton, crop=64, rng=np.random.default_rng(5), augment=False
    )
    hits = [
        (y, x)
        for y in range(90 - 64 + 1)
        for x in range(120 - 64 + 1)
        if np.array_equal(skeleton[y : y + 64, x : x + 64], out_skeleton)
    ]
    assert len(hits) == 1
    y, x = hits[0]
    np.testing.assert_array_equal(image[y : y + 64, x : x + 64], out_image)


def test_small_page_is_enlarged_to_the_crop():
    image, skeleton = _page(40, 50)
    out = augment_pair(image, skeleton, crop=64, rng=np.random.default_rng(0), augment=False)
    assert out[1].shape == (64, 64)


def test_resize_ranges_scale_with_the_crop():
    assert scaled_range(PLAIN_SHORT_SIDE, 512) == (520, 1024)
    assert scaled_range(ROTATED_SHORT_SIDE, 512) == (520, 650)
    assert scaled_range(PLAIN_SHORT_SIDE, 256) == (260, 512)
    low, high = scaled_range(ROTATED_SHORT_SIDE, 64)
    assert 64 <= low <= high


@pytest.mark.parametrize(
    ("w", "h", "degrees", "expected"),
    [(200, 100, 0, (200, 100)), (200, 100, 90, (100, 200)), (100, 100, 45, (70.71, 70.71))],
)
def test_largest_inner_rectangle_known_cases(w, h, degrees, expected):
    got = largest_inner_rectangle(w, h, math.radians(degrees))
    assert got == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize("degrees", [7.0, 33.0, 60.0, 100.0, 170.0, 250.0])
def test_inner_rectangle_lies_inside_the_rotated_page(degrees):
    w, h = 300.0, 120.0
    rw, rh = largest_inner_rectangle(w, h, math.radians(degrees))
    a = math.radians(degrees)
    for sx, sy in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
        # rotate the rectangle's corner back into the page's frame
        x, y = sx * rw / 2, sy * rh / 2
        u = x * math.cos(a) + y * math.sin(a)
        v = -x * math.sin(a) + y * math.cos(a)
        assert abs(u) <= w / 2 + 1e-6 and abs(v) <= h / 2 + 1e-6
    assert rw * rh > 0.1 * w * h


@pytest.mark.parametrize("degrees", [13.0, 45.0, 128.0, 301.0])
def test_rotate_and_cut_keeps_only_page_pixels(degrees):
    white = np.full((100, 160), 255, np.uint8)
    cut = rotate_and_cut(white, degrees)
    assert cut.min() == 255  # no canvas border (0) blended in
    assert cut.size > 0.2 * white.size


def test_photometric_changes_only_the_image_and_is_seeded():
    image, _ = _page()
    before = image.copy()
    outs = [random_photometric(image, np.random.default_rng(s)) for s in range(6)]
    np.testing.assert_array_equal(image, before)
    assert any(not np.array_equal(o, image) for o in outs)
    np.testing.assert_array_equal(outs[0], random_photometric(image, np.random.default_rng(0)))


def test_low_contrast_off_keeps_the_original_recipe_and_on_squeezes():
    image, skeleton = _page()
    for seed in range(4):
        plain = augment_pair(image, skeleton, crop=64, rng=np.random.default_rng(seed))
        off = augment_pair(
            image, skeleton, crop=64, rng=np.random.default_rng(seed), low_contrast=0.0
        )
        np.testing.assert_array_equal(plain[0], off[0])
    on = [random_photometric(image, np.random.default_rng(s), low_contrast=1.0) for s in range(6)]
    assert all(o.std() < image.std() * 0.65 for o in on)  # every one squeezed, ≤ 0.6 contrast


def test_squeeze_contrast_keeps_edges_as_small_steps():
    image = np.zeros((4, 8, 3), np.uint8)
    image[:, 4:] = 200
    out = squeeze_contrast(image, np.random.default_rng(3))
    step = int(out[0, 4, 0]) - int(out[0, 3, 0])
    assert 0.2 * 200 - 1 <= step <= 0.6 * 200 + 1  # the edge survives, a few times fainter
    assert len(np.unique(out)) == 2


@pytest.mark.parametrize(
    ("image", "skeleton", "name"),
    [
        (np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8), "image"),
        (np.zeros((8, 8, 3), np.float32), np.zeros((8, 8), np.uint8), "image"),
        (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8), "skeleton"),
    ],
)
def test_bad_inputs_are_named(image, skeleton, name):
    with pytest.raises(ValueError, match=name):
        augment_pair(image, skeleton, crop=4, rng=np.random.default_rng(0))


def test_zoom_keeps_the_page_scale_within_the_range():
    """With zoom, the short side is drawn relative to the page's own, not from absolute ranges."""
    image, skeleton = _page(300, 400)
    seen = set()
    for seed in range(40):
        rng = np.random.default_rng(seed)
        out_image, out_skeleton = augment_pair(image, skeleton, crop=64, rng=rng, zoom=(1.0, 1.0))
        assert out_image.shape == (64, 64, 3) and out_skeleton.shape == (64, 64)
        seen.add(out_skeleton.tobytes())
    assert len(seen) > 1


def test_zoom_one_is_a_plain_window_of_an_unrotated_page():
    image, skeleton = _page(120, 160)
    found = 0
    for seed in range(30):
        rng = np.random.default_rng(seed)
        _, out = augment_pair(image, skeleton, crop=64, rng=rng, zoom=(1.0, 1.0))
        # Unrotated, unscaled: the crop (up to flips) is a window of the page.
        for candidate in (out, out[:, ::-1], out[::-1], out[::-1, ::-1]):
            windows = np.lib.stride_tricks.sliding_window_view(skeleton, (64, 64))
            if (windows == candidate).all(axis=(2, 3)).any():
                found += 1
                break
    assert found >= 5  # about half the draws skip the rotation

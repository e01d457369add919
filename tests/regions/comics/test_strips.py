import cv2
import numpy as np
import pytest

from regionflow.regions.comics.strips import (
    StripIndex,
    iter_strip_windows,
    link_slices,
    natural_order,
)


def _slice(h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_natural_order_numbers_compare_as_numbers():
    names = ["10.jpg", "2.jpg", "1.jpg", "ep2_10.png", "ep2_9.png", "ep10_1.png", "B.png", "a.png"]
    assert natural_order(names) == [
        "1.jpg",
        "2.jpg",
        "10.jpg",
        "a.png",
        "B.png",
        "ep2_9.png",
        "ep2_10.png",
        "ep10_1.png",
    ]


def test_natural_order_is_total_and_leaves_input_alone():
    names = ["1.png", "01.png", "001.png"]
    before = list(names)
    out = natural_order(names)
    assert out == natural_order(reversed(names))  # ties broken by the plain string
    assert sorted(out) == sorted(names)
    assert names == before


def test_natural_order_rejects_non_strings():
    with pytest.raises(ValueError, match="names"):
        natural_order(["1.png", 2])


def test_link_same_width_stacks_in_order():
    a, b = _slice(5, 8, 0), _slice(7, 8, 1)
    strip = link_slices([a, b])
    assert strip.shape == (12, 8, 3)
    np.testing.assert_array_equal(strip[:5], a)
    np.testing.assert_array_equal(strip[5:], b)


def test_scale_policy_uses_most_common_width_and_keeps_aspect():
    a, b, c = _slice(10, 60, 0), _slice(20, 30, 1), _slice(12, 60, 2)
    before = [s.copy() for s in (a, b, c)]
    strip = link_slices([a, b, c], width_policy="scale")
    assert strip.shape == (10 + 40 + 12, 60, 3)  # 20x30 → 40x60, not squashed to 20x60
    np.testing.assert_array_equal(strip[:10], a)
    np.testing.assert_array_equal(
        strip[10:50], cv2.resize(b, (60, 40), interpolation=cv2.INTER_LINEAR)
    )
    np.testing.assert_array_equal(strip[50:], c)
    for s, orig in zip((a, b, c), before, strict=True):
        np.testing.assert_array_equal(s, orig)
    assert not np.shares_memory(strip, a)


def test_scale_policy_tie_picks_the_widest():
    index = StripIndex([(4, 10), (4, 20)], width_policy="scale")
    assert index.width == 20
    assert [p.height for p in index.placements] == [8, 4]


def test_pad_policy_centres_on_background_untouched():
    a, b = _slice(6, 10, 0), _slice(4, 6, 1)
    strip = link_slices([a, b], width_policy="pad", background=(1, 2, 3))
    assert strip.shape == (10, 10, 3)
    np.testing.assert_array_equal(strip[:6], a)
    np.testing.assert_array_equal(strip[6:, 2:8], b)
    assert (strip[6:, :2] == (1, 2, 3)).all() and (strip[6:, 8:] == (1, 2, 3)).all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"width_policy": "squash"}, "width_policy"),
        ({"background": (0, 0)}, "background"),
        ({"background": (0, 0, 300)}, "background"),
    ],
)
def test_link_bad_options_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        link_slices([_slice(2, 4, 0), _slice(2, 3, 1)], **kwargs)


@pytest.mark.parametrize(
    "bad", [[], [np.zeros((4, 4), np.uint8)], [np.zeros((4, 4, 3), np.float32)]]
)
def test_link_bad_slices_name_the_argument(bad):
    with pytest.raises(ValueError, match="slices"):
        link_slices(bad)


def test_index_locates_rows_and_segments():
    index = StripIndex([(5, 8), (3, 8), (4, 8)])
    assert index.height == 12 and index.width == 8
    np.testing.assert_array_equal(index.offsets, [0, 5, 8, 12])
    s, r = index.locate(np.array([0, 4, 5, 7, 8, 11]))
    np.testing.assert_array_equal(s, [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(r, [0, 4, 0, 2, 0, 3])
    assert tuple(int(v) for v in index.locate(6)) == (1, 1)
    assert index.segments(3, 7) == [(0, 3, 5, 3), (1, 0, 3, 5), (2, 0, 2, 8)]
    with pytest.raises(ValueError, match="rows"):
        index.locate(12)
    with pytest.raises(ValueError, match="y, h"):
        index.segments(10, 5)


def test_index_maps_scaled_rows_back_to_source_rows():
    index = StripIndex([(10, 20), (10, 10), (10, 20)], width_policy="scale")
    assert [p.height for p in index.placements] == [10, 20, 10]
    s, r = index.to_source(np.arange(10, 30))
    assert (s == 1).all()
    np.testing.assert_array_equal(r, np.repeat(np.arange(10), 2))


def test_windows_equal_the_linked_strip_and_read_lazily():
    slices = [_slice(7, 12, 0), _slice(5, 6, 1), _slice(9, 12, 2), _slice(3, 12, 3)]
    index = StripIndex([s.shape for s in slices], width_policy="pad")
    strip = link_slices(slices, width_policy="pad")
    consumed = []

    def lazily():
        for i, s in enumerate(slices):
            consumed.append(i)
            yield s

    windows = iter_strip_windows(lazily(), index, window=6, overlap=2, background=(255, 255, 255))
    y, rows = next(windows)
    assert y == 0 and consumed == [0]  # the first window needs only the first slice
    seen = [(y, rows)] + list(windows)
    assert [y for y, _ in seen] == [0, 4, 8, 12, 16, 20]
    for y, rows in seen:
        np.testing.assert_array_equal(rows, strip[y : y + 6])
    assert seen[-1][0] + len(seen[-1][1]) == index.height


@pytest.mark.parametrize(
    "kwargs, match", [({"window": 0}, "window"), ({"window": 4, "overlap": 4}, "overlap")]
)
def test_windows_bad_options(kwargs, match):
    index = StripIndex([(4, 4)])
    with pytest.raises(ValueError, match=match):
        list(iter_strip_windows([_slice(4, 4, 0)], index, **kwargs))


def test_windows_check_the_slice_count():
    index = StripIndex([(4, 4), (4, 4)])
    with pytest.raises(ValueError, match="slices"):
        list(iter_strip_windows([_slice(4, 4, 0)], index, window=3))
    with pytest.raises(ValueError, match="slices"):
        list(iter_strip_windows([_slice(4, 4, 0)] * 3, index, window=3))
    with pytest.raises(ValueError, match="image"):
        list(iter_strip_windows([_slice(4, 5, 0)] * 2, index, window=3))

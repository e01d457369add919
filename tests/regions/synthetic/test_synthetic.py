import cv2
import numpy as np
import pytest
from scipy import ndimage as ndi

from regionflow.regions.danbooregion.labels import region_labels
from regionflow.regions.synthetic.cartoons import (
    sample_seed,
    synthetic_dataset,
    synthetic_sample,
    synthetic_scene,
)

SEEDS = range(8)


@pytest.fixture(scope="module")
def scenes():
    return [synthetic_scene(seed) for seed in SEEDS]


def _boundary(labels):
    """Pixels with a 4-neighbour in another region (both sides of each boundary)."""
    b = np.zeros(labels.shape, bool)
    r = labels[:, :-1] != labels[:, 1:]
    d = labels[:-1] != labels[1:]
    b[:, :-1] |= r
    b[:, 1:] |= r
    b[:-1] |= d
    b[1:] |= d
    return b


def _touching_pairs(labels, line):
    """Per touching region pair: (a, b, fully separated by line art?)."""
    a = np.concatenate([labels[:, :-1].ravel(), labels[:-1].ravel()]).astype(np.int64)
    b = np.concatenate([labels[:, 1:].ravel(), labels[1:].ravel()]).astype(np.int64)
    la = np.concatenate([line[:, :-1].ravel(), line[:-1].ravel()])
    lb = np.concatenate([line[:, 1:].ravel(), line[1:].ravel()])
    keep = a != b
    a, b, lined = a[keep], b[keep], (la | lb)[keep]
    key = np.minimum(a, b) * (int(labels.max()) + 1) + np.maximum(a, b)
    pairs, inverse = np.unique(key, return_inverse=True)
    fully = np.bincount(inverse, weights=lined) >= np.bincount(inverse)
    n1 = int(labels.max()) + 1
    return pairs // n1, pairs % n1, fully


def test_same_seed_same_bytes_and_independent_of_thread_count():
    image, region_map = synthetic_sample(123)
    threads = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        image1, region_map1 = synthetic_sample(123)
    finally:
        cv2.setNumThreads(threads)
    assert image.tobytes() == image1.tobytes()
    assert region_map.tobytes() == region_map1.tobytes()
    other, other_map = synthetic_sample(124)
    assert not np.array_equal(image, other)
    assert not np.array_equal(region_map, other_map)


@pytest.mark.parametrize("size", [(256, 256), (384, 512), (300, 120), (16, 16), (17, 61)])
def test_shapes_and_dtypes(size):
    image, region_map = synthetic_sample(3, height=size[0], width=size[1])
    assert image.shape == (*size, 3) and image.dtype == np.uint8
    assert region_map.shape == (*size, 3) and region_map.dtype == np.uint8
    assert image.flags.c_contiguous and region_map.flags.c_contiguous


def test_region_map_gives_exactly_the_drawn_regions(scenes):
    for scene in scenes:
        np.testing.assert_array_equal(region_labels(scene.region_map), scene.labels)
        assert scene.labels.dtype == np.uint32


def test_region_count_is_plausible(scenes):
    counts = [int(s.labels.max()) for s in scenes]
    assert all(15 <= c <= 200 for c in counts), counts
    assert len(set(counts)) > 1  # varied scenes


def test_regions_come_in_all_sizes_down_to_slivers(scenes):
    for scene in scenes:
        labels = scene.labels.astype(np.int64)
        n = int(labels.max())
        area = np.bincount(labels.ravel(), minlength=n + 1)[1:]
        assert area.max() > 0.1 * labels.size  # a large background-like region
        assert area.min() >= 4  # crumbs were merged away
        # Half-width: the largest distance of a region pixel from the region's own rim.
        depth = ndi.distance_transform_edt(~_boundary(labels))
        half_width = ndi.maximum(depth, labels, np.arange(1, n + 1))
        assert (half_width <= 1).sum() >= 3, "expected slivers/strokes at most 3 px wide"
        assert ((half_width >= 3) & (half_width < 12)).any()  # medium shapes


def test_colours_repeat_across_separate_regions(scenes):
    for scene in scenes:
        colours = np.unique(scene.region_map.reshape(-1, 3), axis=0)
        assert 2 <= len(colours) < int(scene.labels.max())


def test_each_region_has_one_fill_and_touching_fills_differ_unless_lined(scenes):
    for scene in scenes:
        labels = scene.labels.astype(np.int64)
        index = np.arange(1, int(labels.max()) + 1)
        for c in range(3):
            channel = scene.fill[..., c]
            np.testing.assert_array_equal(
                ndi.minimum(channel, labels, index), ndi.maximum(channel, labels, index)
            )
        first = np.zeros((int(labels.max()) + 1, 3))
        first[labels.ravel()] = scene.fill.reshape(-1, 3)
        a, b, lined = _touching_pairs(labels, scene.line)
        distance = np.sqrt(((first[a] - first[b]) ** 2).sum(axis=1))
        assert (distance[~lined] >= 60).all()


def test_line_art_is_dark_and_lies_on_boundaries(scenes):
    with_lines = [s for s in scenes if s.line.sum() > 100]
    assert len(with_lines) >= len(scenes) // 2
    for scene in with_lines:
        grey = cv2.cvtColor(scene.image, cv2.COLOR_BGR2GRAY).astype(float)
        fill = cv2.cvtColor(scene.fill, cv2.COLOR_BGR2GRAY).astype(float)
        # Darker than the fill it covers (fills are at least mid-dark, lines are near black).
        assert grey[scene.line].mean() < fill[scene.line].mean() - 30
        depth = ndi.distance_transform_edt(~_boundary(scene.labels))
        assert depth[scene.line].max() <= 2.5  # widest lines (4 px) straddle a boundary
        # Line art has no region of its own: it never covers most of a region.
        labels = scene.labels.astype(np.int64)
        area = np.bincount(labels.ravel())
        covered = np.bincount(labels[scene.line], minlength=area.size)
        assert (2 * covered <= area).all()


def test_image_is_shaded_noisy_and_compressed_but_close_to_the_fill(scenes):
    for scene in scenes:
        away = ~scene.line & ~ndi.binary_dilation(scene.line, iterations=2)
        diff = np.abs(scene.image.astype(int) - scene.fill.astype(int))[away]
        assert (diff > 0).mean() > 0.5  # noise, JPEG, shading everywhere
        assert 0.5 < diff.mean() < 25
    # Smooth shading inside some regions: brightness varies well beyond the noise.
    spreads = []
    for scene in scenes:
        labels = scene.labels.astype(np.int64)
        grey = cv2.GaussianBlur(cv2.cvtColor(scene.image, cv2.COLOR_BGR2GRAY), (9, 9), 3)
        inner = ndi.distance_transform_edt(~_boundary(labels) & ~scene.line) > 6
        index = np.unique(labels[inner])
        lo = ndi.minimum(grey, np.where(inner, labels, 0), index)
        hi = ndi.maximum(grey, np.where(inner, labels, 0), index)
        spreads.append(np.max(hi.astype(int) - lo.astype(int)))
    assert max(spreads) > 20


def test_jpeg_blocks_are_present(scenes):
    # JPEG quantises 8×8 blocks: inside flat areas, steps across block edges exceed steps
    # within blocks (noise alone would make them equal).
    for scene in scenes:
        flat = ndi.distance_transform_edt(~_boundary(scene.labels) & ~scene.line) > 3
        grey = scene.image.astype(float).mean(axis=2)
        across = within = 0.0
        for g, f in ((grey, flat), (grey.T, flat.T)):
            step = np.abs(np.diff(g, axis=1))
            ok = f[:, :-1] & f[:, 1:]
            edge = np.arange(step.shape[1]) % 8 == 7
            across += step[:, edge][ok[:, edge]].mean()
            within += step[:, ~edge][ok[:, ~edge]].mean()
        assert across > 1.15 * within


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"seed": 1, "height": 15}, "height"),
        ({"seed": 1, "width": 8}, "width"),
        ({"seed": 1, "height": 64.0}, "height"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": True}, "seed"),
    ],
)
def test_bad_options_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        synthetic_sample(**kwargs)


def test_dataset_layout_order_ids_and_missing_test_maps():
    items = list(synthetic_dataset(7, n_train=3, n_val=2, n_test=2, height=32, width=48))
    assert [(split, sid) for split, sid, _, _ in items] == [
        ("train", "0"),
        ("train", "1"),
        ("train", "2"),
        ("val", "0"),
        ("val", "1"),
        ("test", "0"),
        ("test", "1"),
    ]
    for split, _, image, region_map in items:
        assert image.shape == (32, 48, 3)
        assert (region_map is None) == (split == "test")
    assert not np.array_equal(items[0][2], items[3][2])  # train/0 and val/0 differ


def test_dataset_samples_do_not_depend_on_split_sizes():
    small = list(synthetic_dataset(7, n_train=1, n_val=1, n_test=0, height=32, width=32))
    large = list(synthetic_dataset(7, n_train=3, n_val=2, n_test=1, height=32, width=32))
    assert np.array_equal(small[0][2], large[0][2])  # train/0
    assert np.array_equal(small[1][2], large[3][2])  # val/0
    image, region_map = synthetic_sample(sample_seed(7, "val", 1), height=32, width=32)
    assert np.array_equal(large[4][2], image) and np.array_equal(large[4][3], region_map)


@pytest.mark.parametrize("name", ["n_train", "n_val", "n_test", "height", "seed"])
def test_dataset_validates_eagerly(name):
    kwargs = {"seed": 0, "n_train": 1, "n_val": 1, "n_test": 1, "height": 32, "width": 32}
    kwargs[name] = -1
    with pytest.raises(ValueError, match=name):
        synthetic_dataset(**kwargs)  # no iteration needed


def test_sample_seed_validates_split():
    with pytest.raises(ValueError, match="split"):
        sample_seed(0, "holdout", 0)
    assert sample_seed(0, "train", 0) != sample_seed(0, "train", 1) != sample_seed(1, "train", 1)


def test_region_colouring_never_repeats_a_colour_on_touching_regions():
    from regionflow.regions.synthetic.cartoons import _region_colours

    # 30 mutually touching regions need 30 colours: more than the 8–24 colour palette.
    n = 30
    neighbours = [set()] + [set(range(1, n + 1)) - {r} for r in range(1, n + 1)]
    colours = _region_colours(np.random.default_rng(0), neighbours)[1:]
    assert len({tuple(c) for c in colours.tolist()}) == n

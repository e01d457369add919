import numpy as np
import pytest

from regionflow.regions.danbooregion.labels import region_labels
from regionflow.regions.synthetic.cartoons import synthetic_scene
from regionflow.regions.synthetic.illustration import illustration_sample, illustration_scene

SEEDS = range(4)


@pytest.fixture(scope="module")
def scenes():
    return [illustration_scene(seed, height=320, width=256) for seed in SEEDS]


def test_same_seed_same_bytes():
    a = illustration_sample(7, height=200, width=160)
    b = illustration_sample(7, height=200, width=160)
    assert all(x.tobytes() == y.tobytes() for x, y in zip(a, b, strict=True))
    c = illustration_sample(8, height=200, width=160)
    assert not np.array_equal(a[1], c[1])


@pytest.mark.parametrize("size", [(320, 256), (96, 400), (32, 32)])
def test_shapes_dtypes_and_regions_are_the_region_map_components(size):
    scene = illustration_scene(3, height=size[0], width=size[1])
    assert scene.image.shape == (*size, 3) and scene.image.dtype == np.uint8
    assert scene.region_map.shape == (*size, 3) and scene.region_map.dtype == np.uint8
    found = region_labels(scene.region_map)
    assert found.max() == scene.labels.max()
    # same partition: each true region is exactly one found region and vice versa
    pairs = np.unique(found.astype(np.int64) * (int(scene.labels.max()) + 1) + scene.labels)
    assert pairs.size == int(scene.labels.max())


def test_line_art_has_no_region_of_its_own(scenes):
    for scene in scenes:
        if not scene.line.any():
            continue
        lined = np.unique(scene.labels[scene.line])
        unlined = np.unique(scene.labels[~scene.line])
        assert set(lined.tolist()) <= set(unlined.tolist())


def test_cel_shading_splits_shapes_by_colour_only(scenes):
    # Some touching regions share no line between them (shadow tones, colour-only splits).
    found = 0
    for scene in scenes:
        labels, line = scene.labels.astype(np.int64), scene.line
        right = (labels[:, :-1] != labels[:, 1:]) & ~line[:, :-1] & ~line[:, 1:]
        found += int(right.sum())
    assert found > 0


def test_looks_more_like_an_illustration_than_the_shape_generator():
    """Real DanbooRegion maps have many small regions around few big ones (median area ≈250–320
    px at ≈1.4 Mpx); pictures are mostly light. Check the direction, not exact numbers."""
    ill = [illustration_scene(s, height=512, width=384) for s in range(3)]
    shapes = [synthetic_scene(s, height=512, width=384) for s in range(3)]
    light = np.mean([(s.image.mean(axis=2) > 170).mean() for s in ill])
    light_shapes = np.mean([(s.image.mean(axis=2) > 170).mean() for s in shapes])
    assert light > light_shapes


def test_invalid_arguments():
    with pytest.raises(ValueError, match="seed"):
        illustration_scene(-1)
    with pytest.raises(ValueError, match="height"):
        illustration_scene(0, height=8)

"""Classical baselines: label contract, sensible output on a flat cartoon, argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from regionflow.regions.danbooregion.baselines import (
    felzenszwalb_regions,
    slic_regions,
    watershed_regions,
)
from regionflow.regions.danbooregion.metrics import region_counts

BASELINES = {
    "felzenszwalb": (felzenszwalb_regions, {"scale": 200.0, "min_size": 20}),
    "slic": (slic_regions, {"n_segments": 4, "compactness": 5.0}),
    "watershed": (watershed_regions, {"markers": 12, "compactness": 0.0}),
}


def _cartoon() -> tuple[np.ndarray, np.ndarray]:
    """Four flat-colour quadrants with mild noise, and their labels."""
    labels = np.ones((64, 80), np.int32)
    labels[:, 40:] += 1
    labels[32:, :] += 2
    palette = np.array([[0, 0, 0], [30, 60, 220], [40, 200, 40], [220, 50, 40], [240, 240, 240]])
    rng = np.random.default_rng(0)
    image = palette[labels] + rng.integers(-3, 4, (*labels.shape, 3))
    return image.clip(0, 255).astype(np.uint8), labels


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baseline_label_contract_and_input_untouched(name):
    function, options = BASELINES[name]
    image, _ = _cartoon()
    before = image.copy()
    labels = function(image, **options)
    assert np.array_equal(image, before)
    assert labels.shape == image.shape[:2] and labels.dtype == np.int32
    assert np.array_equal(np.unique(labels), np.arange(1, labels.max() + 1))


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baseline_finds_flat_colour_regions(name):
    function, options = BASELINES[name]
    image, truth = _cartoon()
    counts = region_counts(truth, function(image, **options))
    # Segmentation covering of the four quadrants by the baseline's regions.
    assert counts["covering_sum"] / counts["n_pixels"] > 0.6


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baseline_accepts_grey_and_rejects_floats(name):
    function, options = BASELINES[name]
    image, _ = _cartoon()
    grey = image.mean(axis=2).astype(np.uint8)
    assert function(grey, **options).shape == grey.shape
    with pytest.raises(ValueError, match="image"):
        function(image.astype(np.float32), **options)


def test_defaults_give_hundreds_of_regions_on_a_busy_image():
    rng = np.random.default_rng(1)
    blocks = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    image = np.kron(blocks, np.ones((16, 16, 1), np.uint8))  # 384×512, 768 flat blocks
    for function in (felzenszwalb_regions, slic_regions, watershed_regions):
        assert 100 < function(image).max() < 5000, function.__name__


def test_bad_options_name_the_argument():
    image, _ = _cartoon()
    with pytest.raises(ValueError, match="scale"):
        felzenszwalb_regions(image, scale=0)
    with pytest.raises(ValueError, match="n_segments"):
        slic_regions(image, n_segments=0)
    with pytest.raises(ValueError, match="markers"):
        watershed_regions(image, markers=0)

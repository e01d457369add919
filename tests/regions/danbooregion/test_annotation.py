"""A decoded region map against its image: fit_region_map and align_region_map (arrays only)."""

from __future__ import annotations

import numpy as np
import pytest

from regionflow.regions.danbooregion.annotation import (
    AnnotationError,
    align_region_map,
    fit_region_map,
)


def region_map(h: int, w: int) -> np.ndarray:
    """Two colours: left half, right half."""
    out = np.zeros((h, w, 3), np.uint8)
    out[:, w // 2 :] = (10, 200, 30)
    return out


def test_fit_keeps_an_agreeing_map_and_aligns_a_close_one():
    region = region_map(40, 60)
    before = region.copy()
    same, flags = fit_region_map(region, (40, 60))
    assert flags == [] and np.array_equal(same, region)
    wider, flags = fit_region_map(region_map(40, 61), (40, 60))
    assert flags == ["size_mismatch_aligned"] and wider.shape == (40, 60, 3)
    np.testing.assert_array_equal(region, before)


def test_fit_refuses_far_sizes_and_one_colour_with_reasons():
    with pytest.raises(AnnotationError) as info:
        fit_region_map(region_map(40, 65), (40, 60), max_size_mismatch=2)
    assert info.value.reason == "image 60×40 vs region map 65×40 differ by more than 2 px"
    with pytest.raises(AnnotationError, match="^region map has a single colour$"):
        fit_region_map(np.full((40, 60, 3), 77, np.uint8), (40, 60))
    with pytest.raises(ValueError, match="max_size_mismatch"):
        fit_region_map(region_map(40, 60), (40, 60), max_size_mismatch=-1)


def test_align_region_map_checks_and_does_not_modify():
    region = region_map(5, 6)
    before = region.copy()
    out = align_region_map(region, (5, 6))
    assert out is not region and np.array_equal(out, region)
    assert align_region_map(region[..., 0], (7, 4)).shape == (7, 4)
    np.testing.assert_array_equal(region, before)
    with pytest.raises(ValueError, match="shape"):
        align_region_map(region, (0, 3))

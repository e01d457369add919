import numpy as np
import pytest

from regionflow.regions.danbooregion.labels import region_labels
from tests.conftest import read_fixture


def test_repeated_colours_make_separate_regions():
    m = np.zeros((3, 5, 3), np.uint8)
    m[:, 2] = 255  # a white bar splits the black map into two black regions
    labels = region_labels(m)
    assert labels.dtype == np.uint32
    assert sorted(np.unique(labels)) == [1, 2, 3]
    assert labels[0, 0] != labels[0, 4]


def test_diagonal_touch_is_not_connected():
    m = np.array([[1, 0], [0, 1]], np.int32)
    assert len(np.unique(region_labels(m))) == 4


def test_alpha_is_ignored_and_input_not_modified():
    m = np.zeros((4, 4, 4), np.uint8)
    m[..., 3] = np.arange(16, dtype=np.uint8).reshape(4, 4)
    before = m.copy()
    assert region_labels(m).max() == 1
    np.testing.assert_array_equal(m, before)


def test_danbooregion_sample_counts():
    region = read_fixture("illustration/X.region.png", -1)
    assert region.shape[:2] == (1024, 1821)
    assert region_labels(region).max() == 641


@pytest.mark.parametrize("bad", [np.zeros((2, 2, 2), np.uint8), np.zeros((2, 2), np.float32)])
def test_bad_input_names_the_argument(bad):
    with pytest.raises(ValueError, match="region_map"):
        region_labels(bad)

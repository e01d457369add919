"""Ingest's validate_pair: both files decoded at the storage edge, the map fitted to the image
(size agreement, alignment, a usable annotation), quarantine reasons as ValidationError."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from regionflow.storage.validation import ValidationError
from regionflow.tasks.ingest import validate_pair
from tests.conftest import DANBOOREGION, read_fixture
from tests.storage.test_validation import IMAGE, bomb_png, encode, region_map


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if anything reaches OpenCV's decoder."""

    def forbidden(*args, **kwargs):
        raise AssertionError("cv2.imdecode called")

    monkeypatch.setattr(cv2, "imdecode", forbidden)


# --- pairs -----------------------------------------------------------------------------------


def test_danbooregion_pair_jpeg_named_png_and_one_pixel_wider_map():
    image_bytes = (DANBOOREGION / "illustration/X.image.png").read_bytes()
    region_bytes = (DANBOOREGION / "illustration/X.region.png").read_bytes()
    sample = validate_pair(
        image_bytes, region_bytes, image_name="X.image.png", region_name="X.region.png"
    )
    assert sample.flags == ["extension_mismatch", "size_mismatch_aligned"]
    assert sample.image_info.format == "jpeg" and sample.region_info.format == "png"
    np.testing.assert_array_equal(sample.image, read_fixture("illustration/X.image.png"))
    full = read_fixture("illustration/X.region.png")
    assert full.shape == (1024, 1821, 3) and sample.region_map.shape == (1024, 1820, 3)
    np.testing.assert_array_equal(sample.region_map, full[:, :1820])  # cropped at the right


def test_one_pixel_smaller_map_is_extended_by_its_edge():
    region = region_map(39, 59)
    sample = validate_pair(encode(".png", IMAGE), encode(".png", region))
    assert sample.region_map.shape == (40, 60, 3) and "size_mismatch_aligned" in sample.flags
    np.testing.assert_array_equal(sample.region_map[:39, :59], region)
    np.testing.assert_array_equal(sample.region_map[39, :59], region[38])
    np.testing.assert_array_equal(sample.region_map[:, 59], sample.region_map[:, 58])


def test_five_pixel_mismatch_refused():
    with pytest.raises(ValidationError) as info:
        validate_pair(
            encode(".png", IMAGE), encode(".png", region_map(40, 65)), max_size_mismatch=2
        )
    assert info.value.reason == "image 60×40 vs region map 65×40 differ by more than 2 px"
    sample = validate_pair(
        encode(".png", IMAGE), encode(".png", region_map(40, 65)), max_size_mismatch=5
    )
    assert sample.region_map.shape == (40, 60, 3)


def test_one_colour_region_map_quarantined():
    flat = np.full((40, 60, 3), 77, np.uint8)
    with pytest.raises(ValidationError, match="^region map has a single colour$"):
        validate_pair(encode(".png", IMAGE), encode(".png", flat))


def test_region_map_errors_name_the_file_and_flags_are_prefixed():
    with pytest.raises(ValidationError, match="^region map: empty file"):
        validate_pair(encode(".png", IMAGE), b"")
    with pytest.raises(ValidationError, match="^image: not an image"):
        validate_pair(b"plain text, no pixels", encode(".png", region_map(40, 60)))
    rgba_map = np.dstack([region_map(40, 60), np.full((40, 60), 255, np.uint8)])
    sample = validate_pair(
        encode(".jpg", IMAGE),
        encode(".png", rgba_map),
        image_name="a.jpg",
        region_name="a.region.jpg",
    )
    assert sample.flags == ["region_alpha_dropped", "region_extension_mismatch"]
    np.testing.assert_array_equal(sample.region_map, region_map(40, 60))


def test_bomb_region_map_refused(no_decoding):
    with pytest.raises(ValidationError, match="^image: PNG header says 100000×100000"):
        validate_pair(bomb_png(100_000, 100_000), None)


def test_image_without_annotation():
    sample = validate_pair(encode(".jpg", IMAGE), None, image_name="5.image.jpg")
    assert sample.region_map is None and sample.region_info is None and sample.flags == []


def test_bad_max_size_mismatch_named_before_decoding():
    with pytest.raises(ValueError, match="max_size_mismatch"):
        validate_pair(encode(".png", IMAGE), None, max_size_mismatch=-1)

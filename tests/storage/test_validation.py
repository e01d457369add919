"""decode_image / validate_pair on a bad-file corpus generated here, and on the DanbooRegion pair."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from regionflow.storage.image_headers import sniff_format
from regionflow.storage.validation import (
    ValidationError,
    align_region_map,
    decode_image,
    validate_pair,
)
from tests.conftest import DANBOOREGION, read_fixture

RNG = np.random.default_rng(7)
IMAGE = RNG.integers(0, 256, (40, 60, 3), dtype=np.uint8)


def encode(ext: str, array: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(ext, array)
    assert ok
    return buf.tobytes()


def png_chunk(ctype: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + ctype
        + payload
        + struct.pack(">I", zlib.crc32(ctype + payload))
    )


def bomb_png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def region_map(h: int, w: int) -> np.ndarray:
    """Two colours: left half, right half."""
    out = np.zeros((h, w, 3), np.uint8)
    out[:, w // 2 :] = (10, 200, 30)
    return out


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if anything reaches OpenCV's decoder."""

    def forbidden(*args, **kwargs):
        raise AssertionError("cv2.imdecode called")

    monkeypatch.setattr(cv2, "imdecode", forbidden)


# --- decoding: the result is OpenCV's IMREAD_COLOR, the info comes from the header ------------


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".bmp", ".tiff", ".gif", ".ppm"])
def test_decode_matches_opencv_for_each_format(ext):
    data = encode(ext, IMAGE)
    image, info = decode_image(data)
    expected = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(image, expected)
    assert image.dtype == np.uint8 and image.shape == (40, 60, 3)
    assert (info.width, info.height) == (60, 40)
    assert info.format == sniff_format(data) and info.flags == ()


@pytest.mark.parametrize("ext", [".png", ".jpg", ".tiff", ".pgm"])
def test_greyscale_becomes_bgr(ext):
    grey = IMAGE[..., 1].copy()
    image, info = decode_image(encode(ext, grey))
    assert image.shape == (40, 60, 3)
    assert np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(
        image[..., 1], image[..., 2]
    )
    assert info.channels == 1 and "grey_expanded" in info.flags


@pytest.mark.parametrize("ext", [".png", ".tiff"])
def test_16_bit_reduced_to_8_bit_as_opencv_does(ext):
    deep = IMAGE.astype(np.uint16) * 257 + 100
    data = encode(ext, deep)
    image, info = decode_image(data)
    np.testing.assert_array_equal(
        image, cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    )
    high = (deep >> 8).astype(np.int16)
    if ext == ".png":  # libpng keeps the high byte; OpenCV's TIFF path rounds instead
        np.testing.assert_array_equal(image, high)
    assert np.abs(image.astype(np.int16) - high).max() <= 1
    assert info.bit_depth == 16 and "depth_reduced" in info.flags


@pytest.mark.parametrize("ext", [".png", ".webp", ".tiff"])
def test_alpha_dropped_and_noted(ext):
    rgba = np.dstack([IMAGE, RNG.integers(0, 256, (40, 60), dtype=np.uint8)])
    image, info = decode_image(encode(ext, rgba))
    assert image.shape == (40, 60, 3)
    if ext != ".webp":  # lossless WebP may premultiply; PNG and TIFF keep colours as stored
        np.testing.assert_array_equal(image, IMAGE)
    assert info.has_alpha and "alpha_dropped" in info.flags


def test_exif_orientation_applied_like_opencv():
    jpeg = encode(".jpg", IMAGE)
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<HHHIHHI", 1, 0x0112, 3, 1, 6, 0, 0)
    app1 = b"Exif\x00\x00" + tiff
    rotated = jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]
    image, info = decode_image(rotated)
    expected = cv2.imdecode(np.frombuffer(rotated, np.uint8), cv2.IMREAD_COLOR)
    assert expected.shape == (60, 40, 3)  # OpenCV rotates by the EXIF tag
    np.testing.assert_array_equal(image, expected)
    assert (info.width, info.height) == (60, 40)


def test_input_not_modified():
    data = bytearray(encode(".png", IMAGE))
    before = bytes(data)
    decode_image(data)
    validate_pair(data, bytearray(encode(".png", region_map(40, 60))))
    assert bytes(data) == before


# --- refused files ---------------------------------------------------------------------------


def test_empty_file():
    with pytest.raises(ValidationError, match=r"empty file \(0 bytes\)"):
        decode_image(b"")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"id,split\n1,train\n", "not an image: looks like text ('id,split 1,train')"),
        (b"<!DOCTYPE html><title>404 Not Found</title>", "not an image: looks like text"),
        (
            "領域の注釈ファイル\n".encode() * 60,
            "not an image: looks like text ('領域の注釈ファイル",
        ),
        (bytes(range(7, 200)), "not an image: unrecognised content (starts with 07 08 09"),
        (bytes(range(128, 256)) * 3, "not an image: unrecognised content (starts with 80 81"),
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n" + bytes(20), "unsupported image format (JPEG 2000)"),
    ],
)
def test_not_an_image(data, reason):
    with pytest.raises(ValidationError) as info:
        decode_image(data)
    assert info.value.reason.startswith(reason)


def test_truncated_png_refused_before_decoding(no_decoding):
    # Found by the chunk walk, not left to the decoder (some OpenCV builds return a partial
    # image for a cut file).
    data = encode(".png", IMAGE)
    with pytest.raises(ValidationError, match="truncated PNG: .*no IEND"):
        decode_image(data[:-12])  # everything but the IEND chunk
    with pytest.raises(
        ValidationError, match="truncated PNG: data ends at byte .* inside chunk IDAT"
    ):
        decode_image(data[: len(data) // 2])
    with pytest.raises(ValidationError, match="truncated PNG"):
        decode_image(data[:20])


def test_truncated_jpeg_refused_before_decoding(no_decoding):
    data = encode(".jpg", IMAGE)
    with pytest.raises(ValidationError, match=r"truncated JPEG: no end-of-image marker \(EOI\)"):
        decode_image(data[: len(data) * 3 // 4])
    with pytest.raises(ValidationError, match="truncated JPEG"):
        decode_image(data[:60])


@pytest.mark.parametrize("ext", [".webp", ".bmp", ".tiff", ".gif", ".ppm"])
def test_truncated_other_formats(ext, no_decoding):
    data = encode(ext, IMAGE)
    with pytest.raises(ValidationError, match="truncated"):
        decode_image(data[: len(data) // 2])


def test_corrupt_png_data():
    data = bytearray(encode(".png", IMAGE))
    idat = data.find(b"IDAT")
    data[idat + 10 : idat + 40] = bytes(30)  # structure intact, compressed stream (and CRC) broken
    with pytest.raises(ValidationError, match="corrupt PNG data: OpenCV could not decode it"):
        decode_image(bytes(data))


def test_trailing_data_is_flagged_not_refused():
    image, info = decode_image(encode(".png", IMAGE) + b"appended junk")
    np.testing.assert_array_equal(image, IMAGE)
    assert "trailing_data" in info.flags
    assert "trailing_data" not in decode_image(encode(".jpg", IMAGE))[1].flags


def test_png_bomb_refused_before_decoding(no_decoding):
    with pytest.raises(ValidationError) as info:
        decode_image(bomb_png(100_000, 100_000), max_pixels=100_000_000)
    assert info.value.reason == (
        "PNG header says 100000×100000 = 10,000,000,000 pixels, more than "
        "max_pixels=100,000,000 (decompression-bomb guard)"
    )


def test_jpeg_bomb_refused_before_decoding(no_decoding):
    data = bytearray(encode(".jpg", IMAGE))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60000, 60000)
    with pytest.raises(ValidationError, match="JPEG header says 60000×60000"):
        decode_image(bytes(data))


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".bmp", ".tiff", ".gif", ".ppm"])
def test_pixel_limit_is_inclusive(ext):
    data = encode(ext, IMAGE)
    decode_image(data, max_pixels=40 * 60)
    with pytest.raises(ValidationError, match="decompression-bomb guard"):
        decode_image(data, max_pixels=40 * 60 - 1)


def test_bad_max_pixels():
    with pytest.raises(ValueError, match="max_pixels"):
        decode_image(encode(".png", IMAGE), max_pixels=0)


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


def test_align_region_map_checks_and_does_not_modify():
    region = region_map(5, 6)
    before = region.copy()
    out = align_region_map(region, (5, 6))
    assert out is not region and np.array_equal(out, region)
    assert align_region_map(region[..., 0], (7, 4)).shape == (7, 4)
    np.testing.assert_array_equal(region, before)
    with pytest.raises(ValueError, match="shape"):
        align_region_map(region, (0, 3))
    with pytest.raises(ValueError, match="max_size_mismatch"):
        validate_pair(encode(".png", IMAGE), None, max_size_mismatch=-1)

"""decode_image / decode_pair on a bad-file corpus generated here (pairs as ingest checks them:
tests/tasks/test_ingest_validation.py)."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from regionflow.storage.image_headers import sniff_format
from regionflow.storage.validation import ValidationError, decode_image, decode_pair

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
    decode_pair(data, bytearray(encode(".png", region_map(40, 60))))
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


# --- pairs: decoded, not yet fitted ------------------------------------------------------------


def test_decode_pair_returns_the_map_at_its_own_size_and_prefixes_its_flags():
    rgba_map = np.dstack([region_map(41, 60), np.full((41, 60), 255, np.uint8)])
    sample = decode_pair(
        encode(".jpg", IMAGE), encode(".png", rgba_map), image_name="a.jpg", region_name="a.jpg"
    )
    assert sample.region_map.shape == (41, 60, 3)
    assert sample.flags == ["region_alpha_dropped", "region_extension_mismatch"]
    with pytest.raises(ValidationError, match="^region map: empty file"):
        decode_pair(encode(".png", IMAGE), b"")

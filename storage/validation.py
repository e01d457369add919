"""Validate raw dataset files (bytes in, arrays out): decode by content, refuse bad files early.

`decode_image` judges the format by its magic bytes, never by the file name, and reads the
dimensions from the header **before** decoding, so a decompression bomb (a tiny file that
claims 100000×100000 pixels) is refused without allocating anything. A file whose data ends
before its end marker (PNG `IEND`, JPEG `EOI`, the RIFF/BMP/TIFF/PNM sizes, GIF trailer) is
refused even when OpenCV would decode part of it.

The pixels are exactly `cv2.imdecode(data, cv2.IMREAD_COLOR)`: BGR uint8 — grey expanded to
three channels, 16-bit samples reduced to 8 bits (PNG: the high byte; TIFF: rounded), alpha
dropped, EXIF orientation applied. What was converted is noted in `ImageInfo.flags`.

`decode_pair` decodes an image and its region map, or raises `ValidationError` with the reason
that goes into the manifest's quarantine column. Whether the map fits its image (size agreement,
a usable annotation) is a question about arrays, answered in `regions.danbooregion.annotation`;
ingest's `validate_pair` (tasks/ingest.py) asks both.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from regionflow.storage.image_headers import ValidationError, read_header

MAX_PIXELS = 100_000_000

# Name suffixes each format is expected under (for the `extension_mismatch` flag).
_EXTENSIONS = {
    "png": (".png",),
    "jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "webp": (".webp",),
    "bmp": (".bmp", ".dib"),
    "tiff": (".tif", ".tiff"),
    "gif": (".gif",),
    "pnm": (".pbm", ".pgm", ".ppm", ".pnm"),
}


@dataclass(frozen=True)
class ImageInfo:
    """What the file says about itself (from its header), and what decoding changed.

    format: png | jpeg | webp | bmp | tiff | gif | pnm (by content)
    width, height: from the header (before any EXIF rotation)
    channels: samples per pixel in the file (1 grey, 2 grey+alpha, 3 colour, 4 colour+alpha
        or CMYK)
    bit_depth: bits per sample in the file
    has_alpha: the file carries transparency (dropped in the decoded array)
    flags: "alpha_dropped", "grey_expanded", "depth_reduced", "trailing_data"
    """

    format: str
    width: int
    height: int
    channels: int
    bit_depth: int
    has_alpha: bool
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ValidatedSample:
    """An image and its region map, ready to store.

    image: (H, W, 3) uint8 BGR
    region_map: (H, W, 3) uint8 BGR, or None (no annotation); as decoded from `decode_pair`
        (its own size), aligned to the image once ingest's `validate_pair` has checked it
    flags: quality flags; region-map flags carry a `region_` prefix
    """

    image: np.ndarray
    region_map: np.ndarray | None
    flags: list[str]
    image_info: ImageInfo
    region_info: ImageInfo | None


# ---------------------------------------------------------------------------------------------
# Public API


def decode_image(
    data: bytes | bytearray | memoryview, *, max_pixels: int = MAX_PIXELS
) -> tuple[np.ndarray, ImageInfo]:
    """Decode an image file's bytes to BGR uint8, refusing bad or dangerous files.

    Parameters
    ----------
    data : bytes-like
        The whole file. Not modified.
    max_pixels : int
        Refuse images whose header claims more pixels than this (decompression-bomb guard),
        before decoding.

    Returns
    -------
    image : (H, W, 3) uint8 array, BGR, as `cv2.imdecode(data, cv2.IMREAD_COLOR)`
    info : ImageInfo

    Raises
    ------
    ValidationError: empty, not an image (text or unknown bytes), unsupported format,
        truncated or corrupt, or more than `max_pixels` pixels.
    """
    if not isinstance(max_pixels, int | np.integer) or max_pixels <= 0:
        raise ValueError(f"max_pixels: expected a positive integer, got {max_pixels!r}")
    view = memoryview(data).cast("B")
    if len(view) == 0:
        raise ValidationError("empty file (0 bytes)")
    buf = bytes(view) if not isinstance(data, bytes) else data
    header = read_header(buf)
    pixels = header.width * header.height
    if header.width <= 0 or header.height <= 0:
        raise ValidationError(
            f"{header.format.upper()} header gives an empty size {header.width}×{header.height}"
        )
    if pixels > max_pixels:
        raise ValidationError(
            f"{header.format.upper()} header says {header.width}×{header.height} = {pixels:,} "
            f"pixels, more than max_pixels={max_pixels:,} (decompression-bomb guard)"
        )
    image = cv2.imdecode(np.frombuffer(buf, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValidationError(f"corrupt {header.format.upper()} data: OpenCV could not decode it")
    if image.shape[:2] not in ((header.height, header.width), (header.width, header.height)):
        raise ValidationError(
            f"decoded size {image.shape[1]}×{image.shape[0]} differs from the "
            f"{header.format.upper()} header's {header.width}×{header.height}"
        )
    if image.ndim == 2:  # defensive: IMREAD_COLOR always gives 3 channels today
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    flags = []
    if header.has_alpha:
        flags.append("alpha_dropped")
    if header.channels in (1, 2):
        flags.append("grey_expanded")
    if header.bit_depth > 8:
        flags.append("depth_reduced")
    if header.trailing:
        flags.append("trailing_data")
    info = ImageInfo(
        format=header.format,
        width=header.width,
        height=header.height,
        channels=header.channels,
        bit_depth=header.bit_depth,
        has_alpha=header.has_alpha,
        flags=tuple(flags),
    )
    return image, info


def extension_matches(name: str, fmt: str) -> bool:
    """Whether file `name`'s suffix is one `fmt` is normally stored under."""
    return name.lower().endswith(_EXTENSIONS.get(fmt, ()))


def decode_pair(
    image_bytes: bytes | bytearray | memoryview,
    region_bytes: bytes | bytearray | memoryview | None,
    *,
    max_pixels: int = MAX_PIXELS,
    image_name: str | None = None,
    region_name: str | None = None,
) -> ValidatedSample:
    """Decode an image and its region map (or an image alone), each refused as `decode_image`
    refuses a file; the map is returned as decoded (its fit to the image is judged in
    `regions.danbooregion.annotation`).

    Parameters
    ----------
    image_bytes, region_bytes : bytes-like
        The files' contents; `region_bytes` None for an image without annotation (the
        DanbooRegion test split).
    max_pixels : int
        Decompression-bomb guard for each file (see `decode_image`).
    image_name, region_name : str, optional
        File names, only to flag a suffix that does not match the content (`X.image.png`
        holding JPEG data): flag `extension_mismatch` / `region_extension_mismatch`.

    Returns
    -------
    ValidatedSample; the region map at its own size, its flags prefixed `region_`.

    Raises
    ------
    ValidationError: either file fails `decode_image` (reason prefixed "image: " or
        "region map: ").
    """
    image, image_info = _decode_as("image", image_bytes, max_pixels)
    flags = list(image_info.flags)
    if image_name and not extension_matches(image_name, image_info.format):
        flags.append("extension_mismatch")
    if region_bytes is None:
        return ValidatedSample(image, None, flags, image_info, None)

    region, region_info = _decode_as("region map", region_bytes, max_pixels)
    flags += [f"region_{f}" for f in region_info.flags]
    if region_name and not extension_matches(region_name, region_info.format):
        flags.append("region_extension_mismatch")
    return ValidatedSample(image, region, flags, image_info, region_info)


# ---------------------------------------------------------------------------------------------
# Helpers


def _decode_as(role: str, data, max_pixels: int) -> tuple[np.ndarray, ImageInfo]:
    try:
        return decode_image(data, max_pixels=max_pixels)
    except ValidationError as exc:
        raise ValidationError(f"{role}: {exc.reason}") from exc

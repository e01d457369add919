"""Image files a user hands us or asks for (single-image commands)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from regionflow.storage.atomic import atomic_write_bytes


def read_image_file(path: str | os.PathLike[str], flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """Decode an image file by content (the extension may lie), BGR uint8 by default."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    image = cv2.imdecode(np.fromfile(path, dtype=np.uint8), flags)
    if image is None:
        raise ValueError(f"{path}: not a readable image")
    return image


def write_image_file(path: str | os.PathLike[str], image: np.ndarray) -> Path:
    """Write an image atomically; the format follows the extension (.png for 16-bit labels)."""
    path = Path(path)
    ok, data = cv2.imencode(path.suffix or ".png", image)
    if not ok:
        raise ValueError(
            f"{path}: cannot encode a {image.dtype} {image.shape} image as {path.suffix}"
        )
    return atomic_write_bytes(path, data.tobytes())


def read_region_map(path: str | os.PathLike[str]) -> np.ndarray:
    """A region map file as (H, W, 3) uint8 colours: grey maps become three equal channels,
    16-bit ones keep their high byte (the region edges stay where they are)."""
    region = read_image_file(path, cv2.IMREAD_UNCHANGED)
    if region.ndim == 2:
        region = cv2.cvtColor(region, cv2.COLOR_GRAY2BGR)
    if region.dtype != np.uint8:
        region = (region // 257).astype(np.uint8)
    return region

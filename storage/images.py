"""Image files a user hands us or asks for (single-image commands)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from storage.atomic import atomic_write_bytes


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

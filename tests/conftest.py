"""Shared test set-up: fixture paths, the `gpu` marker's skip, small helpers."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
DANBOOREGION = FIXTURES / "danbooregion"


def read_fixture(relative: str, flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """Read a fixture image as OpenCV decodes it (BGR uint8 unless `flags` says otherwise)."""
    data = np.fromfile(DANBOOREGION / relative, dtype=np.uint8)
    image = cv2.imdecode(data, flags)
    if image is None:
        raise FileNotFoundError(DANBOOREGION / relative)
    return image


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except Exception:  # torch missing or broken: no GPU tests either way
        has_cuda = False
    if has_cuda:
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)

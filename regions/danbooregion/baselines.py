"""Classical region baselines (no learning), for comparison with the skeleton decoders.

Each takes an OpenCV BGR image and returns (H, W) int32 labels, consecutive 1..N, like the
decoders in `regions.danbooregion.decode`. The defaults suit illustrations with a short side of ~1024 px.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.filters import sobel
from skimage.segmentation import felzenszwalb, relabel_sequential, slic, watershed

__all__ = ["felzenszwalb_regions", "slic_regions", "watershed_regions"]


def _rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise ValueError(f"image: expected (H, W, 3) uint8 BGR, got {image.shape} {image.dtype}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError("image: empty image")
    # scikit-image assumes RGB (SLIC converts to Lab).
    return np.ascontiguousarray(image[..., 2::-1])


def _consecutive(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels)
    relabelled, _, _ = relabel_sequential(labels - labels.min() + 1)
    return relabelled.astype(np.int32, copy=False)


def felzenszwalb_regions(
    image: np.ndarray, *, scale: float = 400.0, sigma: float = 0.8, min_size: int = 64
) -> np.ndarray:
    """Felzenszwalb–Huttenlocher graph segmentation (the paper's "Felz-Hutt" row).

    Parameters
    ----------
    image : (H, W, 3) uint8 BGR, or (H, W) uint8 grey
    scale : larger gives larger regions
    sigma : Gaussian pre-smoothing
    min_size : smallest region, in pixels

    Returns
    -------
    (H, W) int32 labels, consecutive 1..N
    """
    rgb = _rgb(image)
    if scale <= 0:
        raise ValueError(f"scale: expected > 0, got {scale}")
    if sigma < 0:
        raise ValueError(f"sigma: expected >= 0, got {sigma}")
    if min_size < 0:
        raise ValueError(f"min_size: expected >= 0, got {min_size}")
    return _consecutive(felzenszwalb(rgb, scale=scale, sigma=sigma, min_size=min_size))


def slic_regions(
    image: np.ndarray,
    *,
    n_segments: int = 600,
    compactness: float = 10.0,
    sigma: float = 1.0,
) -> np.ndarray:
    """SLIC superpixels (k-means in Lab + position), connected.

    Parameters
    ----------
    image : (H, W, 3) uint8 BGR, or (H, W) uint8 grey
    n_segments : approximate number of regions (DanbooRegion maps have hundreds)
    compactness : colour vs. space trade-off; higher gives squarer regions
    sigma : Gaussian pre-smoothing

    Returns
    -------
    (H, W) int32 labels, consecutive 1..N
    """
    rgb = _rgb(image)
    if n_segments < 1:
        raise ValueError(f"n_segments: expected >= 1, got {n_segments}")
    if compactness <= 0:
        raise ValueError(f"compactness: expected > 0, got {compactness}")
    labels = slic(
        rgb,
        n_segments=n_segments,
        compactness=compactness,
        sigma=sigma,
        start_label=1,
        enforce_connectivity=True,
        channel_axis=-1,
    )
    return _consecutive(labels)


def watershed_regions(
    image: np.ndarray, *, markers: int = 600, compactness: float = 0.0, sigma: float = 1.0
) -> np.ndarray:
    """Watershed of the image gradient (Sobel magnitude of the grey image).

    Parameters
    ----------
    image : (H, W, 3) uint8 BGR, or (H, W) uint8 grey
    markers : number of seeds, placed on a regular grid by scikit-image
    compactness : > 0 gives the compact watershed (more regular regions)
    sigma : Gaussian smoothing of the grey image before the gradient (0: none)

    Returns
    -------
    (H, W) int32 labels, consecutive 1..N
    """
    rgb = _rgb(image)
    if markers < 1:
        raise ValueError(f"markers: expected >= 1, got {markers}")
    if compactness < 0:
        raise ValueError(f"compactness: expected >= 0, got {compactness}")
    if sigma < 0:
        raise ValueError(f"sigma: expected >= 0, got {sigma}")
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    if sigma > 0:
        grey = cv2.GaussianBlur(grey, (0, 0), sigma)
    gradient = sobel(grey)
    return _consecutive(watershed(gradient, markers=markers, compactness=compactness))

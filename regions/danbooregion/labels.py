"""Region maps (one colour per region, colours may repeat) → connected-component labels."""

from __future__ import annotations

import cv2
import numpy as np
from skimage.measure import label as _label


def colour_key(region_map: np.ndarray) -> np.ndarray:
    """Pack each pixel's colour into one integer so equal colours compare equal.

    Parameters
    ----------
    region_map : (H, W, C) uint8 with C in {1, 3, 4}, or (H, W) integer array
        A colour region map (BGR as OpenCV decodes it). An alpha channel is ignored.

    Returns
    -------
    (H, W) int64 array; equal values ⇔ equal colours.
    """
    region_map = np.asarray(region_map)
    if region_map.ndim == 2:
        if not np.issubdtype(region_map.dtype, np.integer):
            raise ValueError(f"region_map: a 2-D map must be integer, got {region_map.dtype}")
        return region_map.astype(np.int64, copy=False)
    if region_map.ndim != 3 or region_map.shape[2] not in (1, 3, 4):
        raise ValueError(
            f"region_map: expected (H, W), (H, W, 3) or (H, W, 4), got {region_map.shape}"
        )
    if region_map.dtype != np.uint8:
        raise ValueError(f"region_map: expected uint8 colours, got {region_map.dtype}")
    colours = region_map[..., :3].astype(np.int64)
    if colours.shape[2] == 1:
        return colours[..., 0]
    return (colours[..., 0] << 16) | (colours[..., 1] << 8) | colours[..., 2]


def region_labels(region_map: np.ndarray) -> np.ndarray:
    """Label the regions of a region map: 4-connected components of equal colour.

    Colours are not unique per region in real data (DanbooRegion's sample has 28 colours and
    641 regions), so a region is a connected component, not a colour.

    Parameters
    ----------
    region_map : (H, W, 3|4) uint8 colour map, or (H, W) integer map

    Returns
    -------
    (H, W) uint32 labels, consecutive from 1 in raster order of each region's first pixel.
    """
    key = colour_key(region_map)
    if key.size == 0:
        raise ValueError("region_map: empty map")
    if key.min() == np.iinfo(np.int64).min:  # no smaller value left for the background
        key = np.unique(key, return_inverse=True)[1].reshape(key.shape)
    # skimage treats `background` as unlabelled; pick a value no pixel has.
    background = int(key.min()) - 1
    labels = _label(key, background=background, connectivity=1)
    return labels.astype(np.uint32, copy=False)


def given_labels(region_map: np.ndarray) -> np.ndarray:
    """Labels of a region map as a user hands one over.

    Parameters
    ----------
    region_map : (H, W) integer map, taken as labels as they are (a 16-bit label PNG), or
        (H, W, 3|4) uint8 colour map, split into connected components (`region_labels`).

    Returns
    -------
    (H, W) int64 labels (a new array).
    """
    region_map = np.asarray(region_map)
    if region_map.ndim == 2:
        if not np.issubdtype(region_map.dtype, np.integer):
            raise ValueError(f"region_map: expected integer labels, got {region_map.dtype}")
        return region_map.astype(np.int64)
    return region_labels(region_map).astype(np.int64)


def resize_labels(labels: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Labels resampled nearest-neighbour (cv2.INTER_NEAREST) to `shape`'s first two sizes.

    Parameters
    ----------
    labels : (H, W) integer labels, below 2**31.
    shape : the target (height, width[, ...]).

    Returns
    -------
    (height, width) labels: `labels` itself when the size already matches, else int32.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels: expected (H, W) integer labels, got {labels.shape} {labels.dtype}"
        )
    height, width = (int(n) for n in shape[:2])
    if min(height, width) < 1:
        raise ValueError(f"shape: expected a positive size, got {tuple(shape)}")
    if labels.shape == (height, width):
        return labels
    return cv2.resize(labels.astype(np.int32), (width, height), interpolation=cv2.INTER_NEAREST)

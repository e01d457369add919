"""Skeleton (height) map → regions: the DanbooRegion decoders, and the flat-colour rendering.

Long because the three decoders share their checks, the watershed finish and the boundary
absorption; one module keeps those steps identical for all of them.

Three decoders: `decode_simple` (the seed's: markers from the height, watershed on its normal
map), `decode_full` (the original's full inference: sharpened, opened markers, watershed on the
picture) and `decode_colour` (the simple decoder's markers, watershed on the picture: boundaries
land on the picture's colour edges, where annotators draw them). All end the same way: OpenCV's watershed leaves a 1-px boundary (and the image frame)
unlabelled, and every such pixel is then absorbed into a neighbouring region, so each pixel of
the output belongs to exactly one region.
"""

from __future__ import annotations

import cv2
import numpy as np
from numba import njit

from regionflow.regions.danbooregion.skeleton import normal_map

__all__ = [
    "DECODERS",
    "absorb_boundaries",
    "decode_colour",
    "decode_full",
    "decode_simple",
    "flat_colour",
]

# Decoder names as the CLI and the configs spell them.
DECODERS = ("simple", "full", "colour")

# Neighbour order of the original absorption: left, up-left, up, up-right, right, down-right,
# down, down-left. The first labelled one wins, so the order decides ties.
_NEIGHBOURS = np.array(
    [(0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1)], dtype=np.int64
)
_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


def _check_height(height: np.ndarray, name: str = "height") -> np.ndarray:
    height = np.asarray(height)
    if height.ndim == 3 and height.shape[2] in (1, 3, 4):
        # Skeleton PNGs are stored grey-in-RGB(A); all colour channels are equal.
        height = height[..., 0]
    if height.ndim != 2:
        raise ValueError(f"{name}: expected an (H, W) map, got shape {height.shape}")
    if height.size == 0:
        raise ValueError(f"{name}: empty map")
    if height.dtype != np.uint8:
        raise ValueError(
            f"{name}: expected uint8 (0 = boundary, 255 = region centre), got {height.dtype}"
        )
    return height


@njit(cache=True, nogil=True)
def _absorb_inplace(labels: np.ndarray, neighbours: np.ndarray) -> int:
    """Absorb 0-pixels into labelled neighbours, pass by pass; returns the number of passes."""
    height, width = labels.shape
    pending = np.empty(labels.size, dtype=np.int64)
    n_pending = 0
    for y in range(height):
        for x in range(width):
            if labels[y, x] == 0:
                pending[n_pending] = y * width + x
                n_pending += 1
    return _absorb_pending(labels, neighbours, pending[:n_pending])


@njit(cache=True, nogil=True)
def _absorb_pending(labels: np.ndarray, neighbours: np.ndarray, pending: np.ndarray) -> int:
    """Absorb the 0-pixels listed in `pending` (flat indices, overwritten) pass by pass.

    A pass reads the labels as they were at its start (updates are buffered and applied at
    the end of the pass), so a boundary band is eaten one pixel ring per pass, from both
    sides. That is what the original did, and the in-place variant does not reproduce it.
    """
    height, width = labels.shape
    n_pending = pending.size
    new_label = np.empty(n_pending, dtype=labels.dtype)
    passes = 0
    while n_pending > 0:
        passes += 1
        for i in range(n_pending):
            y, x = divmod(pending[i], width)
            found = 0
            for k in range(neighbours.shape[0]):
                yy = y + neighbours[k, 0]
                xx = x + neighbours[k, 1]
                if 0 <= yy < height and 0 <= xx < width and labels[yy, xx] > 0:
                    found = labels[yy, xx]
                    break
            new_label[i] = found
        kept = 0
        for i in range(n_pending):
            if new_label[i] > 0:
                labels[pending[i] // width, pending[i] % width] = new_label[i]
            else:
                pending[kept] = pending[i]
                kept += 1
        if kept == n_pending:  # nothing labelled anywhere near: no progress is possible
            break
        n_pending = kept
    return passes


def _consecutive(labels: np.ndarray) -> np.ndarray:
    """Renumber positive labels to 1..N (order kept); 0 stays 0. Returns int32."""
    if labels.max() < 4 * labels.size:  # a lookup table is cheaper than sorting
        present = np.bincount(labels.ravel())
        present[0] = 0
        lookup = np.cumsum(present > 0).astype(np.int32)
        return lookup[labels]
    values, index = np.unique(labels, return_inverse=True)
    index = index.reshape(labels.shape).astype(np.int32)
    return index if values[0] == 0 else index + 1


def absorb_boundaries(labels: np.ndarray) -> np.ndarray:
    """Give every unlabelled (0) pixel the label of a neighbour, as the DanbooRegion decoders do.

    Repeated passes: each 0-pixel that touches a labelled pixel takes the label of its first
    labelled 8-neighbour in the order left, up-left, up, up-right, right, down-right, down,
    down-left, reading the labels as they were at the start of the pass. The original stopped
    after 100 passes; we run until no 0-pixel is left, which is the same whenever it finished
    (watershed boundaries are 1 px wide, so two passes normally suffice).

    Parameters
    ----------
    labels : (H, W) integer array, 0 = unlabelled, > 0 = region

    Returns
    -------
    (H, W) int32 labels, consecutive 1..N. A map with no labelled pixel at all becomes one
    region (all 1).
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.size == 0:
        raise ValueError(f"labels: expected a non-empty (H, W) array, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels: expected integers, got {labels.dtype}")
    if labels.min() < 0:
        raise ValueError("labels: negative labels; add 1 to OpenCV watershed output first")
    out = labels.astype(np.int64)  # always a copy: the kernel works in place
    if out.max() == 0:
        return np.ones(out.shape, dtype=np.int32)
    _absorb_inplace(out, _NEIGHBOURS)
    return _consecutive(out)


def _watershed(image: np.ndarray, markers: np.ndarray) -> np.ndarray:
    """OpenCV watershed, then boundaries (−1 → 0 after +1) absorbed; int32 labels 1..N.

    Same result as ``absorb_boundaries(watershed(...) + 1)``, fused: after a pass for the
    highest label, one pass adds the 1, lists the boundary pixels and notes which labels are
    present; the absorption visits only
    the listed pixels; renumbering runs only when a marker vanished (one that lay entirely on
    the image frame, which the watershed overwrites). `markers` is a temporary of the caller
    and is overwritten when it is already contiguous int32.
    """
    markers = np.ascontiguousarray(markers, dtype=np.int32)
    cv2.watershed(np.ascontiguousarray(image), markers)
    _finish_watershed(markers, _NEIGHBOURS)
    return markers


@njit(cache=True, nogil=True)
def _finish_watershed(labels: np.ndarray, neighbours: np.ndarray) -> None:
    flat = labels.reshape(-1)
    top = -1  # the watershed's own minimum
    for p in range(flat.size):
        top = max(top, flat[p])
    top += 1
    if top == 0:  # nothing labelled: one region
        flat[:] = 1
        return
    present = np.zeros(top + 1, dtype=np.int32)
    pending = np.empty(flat.size, dtype=np.int64)
    n_pending = 0
    for p in range(flat.size):
        value = flat[p] + 1
        flat[p] = value
        present[value] = 1
        if value == 0:
            pending[n_pending] = p
            n_pending += 1
    _absorb_pending(labels, neighbours, pending[:n_pending])
    present[0] = 0
    if present[1:].all():
        return
    running = 0
    for v in range(top + 1):
        running += present[v]
        present[v] = running
    for p in range(flat.size):
        flat[p] = present[flat[p]]


def decode_simple(height: np.ndarray, *, threshold: int = 100) -> np.ndarray:
    """Decode a skeleton height map into regions (DanbooRegion seed's simple decoder).

    Markers are the 4-connected components of ``height > threshold``; OpenCV's watershed runs
    on the height's normal map (`regions.danbooregion.skeleton.normal_map`: backward 2-tap differences, as
    OpenCV's ``filter2D`` anchors them, which is what reproduces the seed's ``regions.png``;
    forward differences do not) with those markers; its boundary and frame pixels are then
    absorbed into neighbouring regions (see `absorb_boundaries`).

    Parameters
    ----------
    height : (H, W) uint8, or (H, W, C) uint8 whose first channel is the height
        0 on boundaries, 255 on region centres.
    threshold : int
        Height above which a pixel seeds a region.

    Returns
    -------
    (H, W) int32 labels, consecutive 1..N. No marker at all gives one region.
    """
    height = _check_height(height)
    return _watershed(normal_map(height), _markers(height, threshold))


def decode_colour(height: np.ndarray, image: np.ndarray, *, threshold: int = 120) -> np.ndarray:
    """Decode a skeleton height map into regions whose boundaries follow ``image``'s colours.

    Markers as in `decode_simple` (4-connected components of ``height > threshold``); OpenCV's
    watershed then floods the colour image from them, as the original's full inference does, so
    a boundary settles on the strongest colour edge between two markers rather than on the
    middle of the predicted valley; boundary pixels are absorbed. On flat-coloured pictures this
    places boundaries where annotators draw them (docs/model_card.md measures it on the real
    DanbooRegion pairs); on grainy or gradient-filled pictures the simple decoder is steadier.

    Parameters
    ----------
    height : (h, w) uint8 (or (h, w, C) with the height in channel 0); resized (bilinear) to the
        image's size when it differs.
    image : (H, W, 3) uint8 BGR, or (H, W) uint8 grey
    threshold : int
        Height above which a pixel seeds a region.

    Returns
    -------
    (H, W) int32 labels, consecutive 1..N. No marker at all gives one region.
    """
    height = _check_height(height)
    image = _check_image(image)
    if height.shape != image.shape[:2]:
        height = cv2.resize(height, image.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    return _watershed(image, _markers(height, threshold))


def _markers(height: np.ndarray, threshold: int) -> np.ndarray:
    """The simple and colour decoders' markers: 4-connected components of ``height > threshold``."""
    _check_threshold(threshold)
    _, markers = cv2.connectedComponents((height > threshold).view(np.uint8), connectivity=4)
    return markers


def _check_image(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 BGR from a BGR, BGRA or grey uint8 picture; a clear error otherwise."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise ValueError(f"image: expected (H, W, 3) uint8 BGR, got {image.shape} {image.dtype}")
    if image.size == 0:
        raise ValueError("image: empty image")
    return image[..., :3]


def _check_threshold(threshold: int) -> None:
    if not 0 <= threshold <= 255:
        raise ValueError(f"threshold: expected 0..255, got {threshold}")


def _drop_small(mask: np.ndarray, min_size: int) -> np.ndarray:
    n, components, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=4
    )
    keep = stats[:, cv2.CC_STAT_AREA] >= min_size
    keep[0] = False
    return keep[components]


def _opened_markers(
    marker: np.ndarray, *, min_marker: int, erode_iterations: int, merge_below: int
) -> np.ndarray:
    """Markers after the full decoder's opening, with the cut-off pieces merged or kept."""
    marker = _drop_small(marker, min_marker)
    core = cv2.erode(marker.astype(np.uint8), _CROSS, iterations=erode_iterations)
    core = _drop_small(core, min_marker)
    core = cv2.dilate(core.astype(np.uint8), _CROSS, iterations=erode_iterations) > 0
    n_kept, kept = cv2.connectedComponents(core.astype(np.uint8), connectivity=4)
    n_pieces, pieces = cv2.connectedComponents((marker & ~core).astype(np.uint8), connectivity=4)
    markers = kept.astype(np.int64)
    if n_pieces <= 1:
        return markers
    # Which kept labels does each piece touch (4-adjacency)? One pair code per contact.
    contacts = []
    for piece_side, kept_side in (
        (pieces[:, :-1], kept[:, 1:]),
        (pieces[:, 1:], kept[:, :-1]),
        (pieces[:-1, :], kept[1:, :]),
        (pieces[1:, :], kept[:-1, :]),
    ):
        touching = (piece_side > 0) & (kept_side > 0)
        contacts.append(piece_side[touching].astype(np.int64) * n_kept + kept_side[touching])
    codes = np.unique(np.concatenate(contacts))
    piece_of, label_of = codes // n_kept, codes % n_kept
    n_touched = np.bincount(piece_of, minlength=n_pieces)
    sizes = np.bincount(pieces.ravel(), minlength=n_pieces)
    target = np.zeros(n_pieces, dtype=np.int64)
    target[piece_of] = label_of  # only read where a piece touches exactly one label
    merge = (n_touched == 1) & (sizes < merge_below)
    merge[0] = False
    own = ~merge
    own[0] = False
    target[own] = n_kept + np.arange(int(own.sum()))
    target[0] = 0
    in_piece = pieces > 0
    markers[in_piece] = target[pieces[in_piece]]
    return markers


def decode_full(
    height: np.ndarray,
    image: np.ndarray,
    *,
    threshold: int = 135,
    sharpen: float = 10.0,
    sigma: float = 3.0,
    min_marker: int = 64,
    erode_iterations: int = 5,
    merge_below: int = 128,
) -> np.ndarray:
    """Decode a predicted skeleton height map into regions of ``image`` (seed's full inference).

    Steps: sharpen ``h += (h − GaussianBlur(h, sigma)) · sharpen`` (clipped to uint8); markers
    = ``h > threshold``; drop marker components smaller than ``min_marker`` px; open with a 3×3
    cross (``erode_iterations`` erosions, drop components < ``min_marker``, as many
    dilations); each piece the opening cut off merges into the kept marker it touches if it is
    smaller than ``merge_below`` px and touches exactly one, otherwise it is a marker of its
    own; OpenCV watershed on the colour image; boundary pixels absorbed.

    Unlike the original (which answered at short side 2048), the output is at the image's
    size: a height map of another size is first resized to the image (bilinear), and all
    pixel sizes above are in image pixels. Component connectivity is 4 throughout.

    Parameters
    ----------
    height : (h, w) uint8 (or (h, w, C) with the height in channel 0)
    image : (H, W, 3) uint8 BGR, or (H, W) uint8 grey

    Returns
    -------
    (H, W) int32 labels, consecutive 1..N. No marker at all gives one region.
    """
    height = _check_height(height)
    image = _check_image(image)
    _check_threshold(threshold)
    if sigma <= 0:
        raise ValueError(f"sigma: expected > 0, got {sigma}")
    for name, value in (
        ("min_marker", min_marker),
        ("erode_iterations", erode_iterations),
        ("merge_below", merge_below),
    ):
        if value < 0:
            raise ValueError(f"{name}: expected >= 0, got {value}")
    if height.shape != image.shape[:2]:
        height = cv2.resize(height, image.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    h = height.astype(np.float32)
    h = h + (h - cv2.GaussianBlur(h, (0, 0), sigma)) * sharpen
    h = h.clip(0, 255).astype(np.uint8)
    markers = _opened_markers(
        h > threshold,
        min_marker=min_marker,
        erode_iterations=erode_iterations,
        merge_below=merge_below,
    )
    return _watershed(image, markers)


@njit(cache=True, nogil=True)
def _region_medians(region: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per-region, per-channel median by a counting sort and a 256-bin histogram per region."""
    n_regions = region.max() + 1
    counts = np.zeros(n_regions + 1, dtype=np.int64)
    for r in region:
        counts[r + 1] += 1
    starts = np.cumsum(counts)
    order = np.empty(region.size, dtype=np.int64)
    fill = starts[:-1].copy()
    for i in range(region.size):
        order[fill[region[i]]] = i
        fill[region[i]] += 1
    medians = np.empty((n_regions, values.shape[1]), dtype=np.uint8)
    histogram = np.zeros(256, dtype=np.int64)
    for r in range(n_regions):
        n = starts[r + 1] - starts[r]
        low_rank = (n - 1) // 2
        high_rank = n // 2
        for c in range(values.shape[1]):
            histogram[:] = 0
            for j in range(starts[r], starts[r + 1]):
                histogram[values[order[j], c]] += 1
            seen = 0
            low = -1
            high = -1
            for v in range(256):
                seen += histogram[v]
                if low < 0 and seen > low_rank:
                    low = v
                if seen > high_rank:
                    high = v
                    break
            medians[r, c] = (low + high) // 2
    out = np.empty_like(values)
    for i in range(region.size):
        for c in range(values.shape[1]):
            out[i, c] = medians[region[i], c]
    return out


def flat_colour(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Fill each region with its median colour (the seed's "flat" visualisation).

    The median is taken per channel; for an even pixel count it is the mean of the two middle
    values, rounded down (as ``np.median(...).astype(np.uint8)`` would give).

    Parameters
    ----------
    image : (H, W, 3) uint8 (any channel order; kept), or (H, W) uint8
    labels : (H, W) integer labels, any values (0 is a region like any other)

    Returns
    -------
    array of the image's shape, uint8.
    """
    image = np.asarray(image)
    labels = np.asarray(labels)
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(f"image: expected (H, W[, C]) uint8, got {image.shape} {image.dtype}")
    if labels.shape != image.shape[:2]:
        raise ValueError(f"labels: shape {labels.shape} does not match image {image.shape[:2]}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels: expected integers, got {labels.dtype}")
    flat_labels = labels.ravel()
    if flat_labels.min() >= 0 and flat_labels.max() < 4 * flat_labels.size:
        present = np.bincount(flat_labels) > 0
        region = (np.cumsum(present) - 1)[flat_labels]
    else:
        region = np.unique(flat_labels, return_inverse=True)[1].ravel()
    channels = image.reshape(image.shape[0] * image.shape[1], -1)
    out = _region_medians(region.astype(np.int64), np.ascontiguousarray(channels))
    return out.reshape(image.shape)

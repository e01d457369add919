"""Page skew: the small rotation of a scanned or photographed comic page.

A page scanned a degree off square has no straight gutter: over a 1,600 px page a 1° tilt moves
a gutter by 28 px, wider than the gutter, so every straight cut line crosses art and neighbouring
panels merge. :func:`page_skew` measures the tilt from the gutters themselves, and
:func:`rotate_square` / :func:`skew_back` turn the page square and carry boxes found on the square page
back to the page as given.

Estimate: the gutter mask (:func:`regions.comics.panels.gutter_mask`) on a page shrunk to at most
``_WORK_SIZE`` pixels gives the panels' edges (where gutter meets content), which are summed
along lines tilted by candidate angles; at the page's own angle the edges run along those lines,
so the sums are most concentrated (largest sum of squares, the projection-profile criterion of document deskewing).
Coarse steps over ±``max_degrees``, then a fine search around the best.
"""

from __future__ import annotations

import cv2
import numpy as np

_WORK_SIZE = 480  # longest side the angle search runs on
_COARSE = 0.25  # degrees between coarse candidates
_FINE = 0.05  # degrees between fine candidates


def _sheared_sums(mask: np.ndarray, slope: float) -> np.ndarray:
    """Sums of ``mask`` along the lines ``y - slope·x = const``: each column is shifted by
    ``-slope·x`` rows onto a canvas tall enough that no pixel leaves it."""
    h, w = mask.shape
    lo = min(0.0, -slope * (w - 1))
    out_h = int(np.ceil(h - 1 + abs(slope) * (w - 1))) + 1
    shear = np.float32([[1, 0, 0], [slope, 1, lo]])
    flags = cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
    return cv2.reduce(cv2.warpAffine(mask, shear, (w, out_h), flags=flags), 1, cv2.REDUCE_SUM)[:, 0]


def _concentration(edges_y: np.ndarray, edges_x_t: np.ndarray, degrees: float) -> float:
    """How concentrated the gutter's edges are along the page's rows (its horizontal edges) and
    columns (its vertical edges, transposed) when the page is tilted by ``degrees``. Lines are
    sheared, not rotated, so no pixel leaves the canvas and the total is the same at every
    angle; edges, not the mask, so the page's own border (all gutter at any angle) weighs
    nothing."""
    t = float(np.tan(np.radians(degrees)))
    rows = _sheared_sums(edges_y, -t)  # a row tilted counter-clockwise rises to the right
    cols = _sheared_sums(edges_x_t, t)
    return float(rows @ rows) + float(cols @ cols)


def page_skew(gutter: np.ndarray, *, max_degrees: float = 3.0) -> float:
    """Counter-clockwise tilt in degrees (as the page is seen) of a page whose gutter mask is
    ``gutter`` ((H, W) bool, :func:`regions.comics.panels.gutter_mask`), in
    ``[-max_degrees, max_degrees]``; 0.0 when the page holds too little gutter to tell.

    :func:`rotate_square` by the result squares the page.
    """
    gutter = np.asarray(gutter)
    if gutter.ndim != 2:
        raise ValueError(f"gutter: expected an (H, W) mask, got shape {gutter.shape}")
    if not np.isfinite(max_degrees) or not 0 <= max_degrees <= 15:
        raise ValueError(f"max_degrees: expected a value in [0, 15], got {max_degrees!r}")
    h, w = gutter.shape
    mask = gutter.astype(np.float32)
    scale = min(1.0, _WORK_SIZE / max(h, w))
    if scale < 1:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        mask = cv2.resize(mask, size, interpolation=cv2.INTER_AREA)
    share = float(mask.mean()) if mask.size else 0.0
    if max_degrees == 0 or min(mask.shape) < 2 or share < 0.02 or share > 0.9:
        return 0.0  # nothing to measure: no gutter, all gutter, or a single row or column
    edges_y = np.abs(np.diff(mask, axis=0))
    edges_x_t = np.ascontiguousarray(np.abs(np.diff(mask, axis=1)).T)
    coarse = np.arange(-max_degrees, max_degrees + 1e-9, _COARSE)
    best = max(coarse, key=lambda a: _concentration(edges_y, edges_x_t, a))
    fine = np.arange(best - _COARSE, best + _COARSE + 1e-9, _FINE)
    best = max(fine, key=lambda a: _concentration(edges_y, edges_x_t, a))
    return float(np.clip(round(best, 2), -max_degrees, max_degrees))


def _rotation(shape: tuple[int, int], degrees: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The affine map (2×3) rotating a page of ``shape`` by ``degrees`` counter-clockwise about
    its centre onto a canvas that holds all of it, and that canvas's (width, height)."""
    h, w = shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    cw, ch = int(np.ceil(w * cos + h * sin)), int(np.ceil(w * sin + h * cos))
    m[0, 2] += (cw - w) / 2
    m[1, 2] += (ch - h) / 2
    return m, (cw, ch)


def rotate_square(
    page: np.ndarray, degrees: float, *, inside: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """``page`` rotated by ``-degrees`` (squaring a page tilted by ``degrees``); returns the square
    page and the 2×3 affine map from page to square-page pixels.

    By default on a canvas that holds all of it, the corners filled by repeating the page's
    edge. ``inside``: only the centred axis-aligned rectangle that lies within the page as given,
    nothing filled — a margin of about half of ``max(H, W)·sin(degrees)`` is lost on each side,
    and so are the wedges a tilted scan has along its edges (scanner background or paper), which
    would otherwise join everything along the page edge: a panel bleeding off the page touches
    the edge again, as it did on paper.
    """
    h, w = page.shape[:2]
    m, size = _rotation((h, w), -degrees)
    if inside:
        c, s = np.cos(np.radians(abs(degrees))), np.sin(np.radians(abs(degrees)))
        # A centred rectangle of half-sizes (w/2 - e, h/2 - e) turned back by the tilt must
        # stay within (w/2, h/2) along both axes.
        e = max(w / 2 * (c - 1) + h / 2 * s, w / 2 * s + h / 2 * (c - 1)) / (c + s)
        e = min(int(np.ceil(max(e, 0.0))) + 1, (min(h, w) - 1) // 2)  # +1: the rounded centre
        cw, ch = size
        x0, y0 = (cw - w) // 2 + e, (ch - h) // 2 + e
        m[:, 2] -= (x0, y0)
        size = (w - 2 * e, h - 2 * e)
    square = cv2.warpAffine(page, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return square, m


def points_back(
    points, to_square: np.ndarray, shape: tuple[int, int]
) -> tuple[tuple[int, int], ...]:
    """Points ``((x, y), ...)`` of the square page on the page as given, clipped to its
    ``shape`` (H, W)."""
    back = cv2.invertAffineTransform(to_square)
    xy = np.asarray(points, np.float64).reshape(-1, 2) @ back[:, :2].T + back[:, 2]
    h, w = shape
    xy = np.clip(np.round(xy), 0, (w, h)).astype(int)
    return tuple((int(x), int(y)) for x, y in xy)


def skew_back(
    box: tuple[int, int, int, int], to_square: np.ndarray, shape: tuple[int, int]
) -> tuple[tuple[int, int, int, int], tuple[tuple[int, int], ...]]:
    """A box ``(x, y, w, h)`` found on the square page, on the page as given: its bounding box
    (clipped to the page ``shape`` (H, W)) and its four corners, the tilted rectangle."""
    x, y, bw, bh = box
    corners = points_back(((x, y), (x + bw, y), (x + bw, y + bh), (x, y + bh)), to_square, shape)
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)), corners

"""The seed's panel detector (before issue 14), kept callable for side-by-side benchmarks.

Use :func:`detect_panels_legacy`; new code uses :mod:`regions.comics.panels`. Original docstring:

Panel detection on comic pages: gutters both ways, bubbles set aside, reading order.

Pipeline of :func:`detect_panels`:

1. **Gutter mask** (:func:`gutter_mask`): a 3×3 median removes JPEG speckle, then a flood fill
   from the page border with a *floating* per-neighbour tolerance. Neighbouring gutter pixels
   differ by little even in a gradient, while panel frames and frameless art edges are sharp
   steps, so tinted, black, white and graded gutters all come out without knowing their colour.
   Where JPEG colour bleeding stops the flood in a narrow gutter, pixels close to the gutter
   colour estimated around them complete it. Seeds are the border pixels of the border's most
   common colour (pages have margins; a panel bleeding off every edge is out of scope).
2. **Bubbles set aside** (:func:`speech_bubbles`): light, enclosed, ellipse-like regions (a bubble
   with its tail fills 60–86 % of its bounding box and is nearly convex) are removed from the
   content, so a bubble bridging a gutter no longer joins two panels and a bubble over a panel
   edge does not enlarge the panel.
3. **Recursive XY-cut** on the content mask: a block is trimmed to its content, split at every
   run of at least ``min_gutter`` empty rows (top to bottom) or, failing that, empty columns (in
   reading direction), and recursed. Horizontal gutters come first, so panels read in rows.
4. **Contour fallback** in each leaf: when a leaf holds several large connected pieces (bubbles
   count as connecting) whose boxes lie at least 4 px apart (panels no straight gutter
   separates, e.g. staggered layouts), each piece becomes a panel, ordered by
   :func:`reading_order`.
5. Leaves smaller than ``min_panel_area`` (page numbers, stray marks) are dropped.

The output order is the XY-cut tree order: rows top to bottom, within a row left to right
(``direction="ltr"``) or right to left (``"rtl"``), a stacked cell's panels top to bottom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

# Unchanged by the new detector: shared, not copied.
from regionflow.regions.comics.panels import _check_direction, _check_page, _split_leaf

Direction = Literal["ltr", "rtl"]
_DIRECTIONS = ("ltr", "rtl")
_FALLBACK_GAP = 4  # pixels between pieces the contour fallback separates (wider than ink)


@dataclass(frozen=True)
class Panel:
    """A panel's box ``[x, x + w) × [y, y + h)`` in page pixels.

    ``source`` is ``"xy-cut"`` (a leaf of the gutter recursion) or ``"contour"`` (split off by the
    contour fallback); ``confidence`` is a ranking heuristic: 1.0 and 0.8 respectively.
    """

    x: int
    y: int
    w: int
    h: int
    source: str = "xy-cut"
    confidence: float = 1.0

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)


def gutter_mask(
    page: np.ndarray, *, tolerance: float = 8.0, colour_tolerance: float = 40.0
) -> np.ndarray:
    """Pixels of the page background (margins and gutters) connected to the page border.

    Two passes. A flood fill from the border with a *floating* per-neighbour ``tolerance``
    finds gutter pixels safely: neighbouring gutter pixels differ by little even in a gradient,
    while frames and panel edges are sharp steps. JPEG colour bleeding can stop it short in
    narrow gutters, so the second pass estimates the gutter's colour everywhere (a blur of the
    flooded pixels, normalised by their density: gradients are followed) and adds every pixel
    within ``colour_tolerance`` of that estimate that is connected to the flooded gutter.

    Parameters
    ----------
    page : (H, W, 3) uint8
    tolerance : float >= 0, largest per-channel step between neighbouring pixels of the flood
        (after a 3×3 median)
    colour_tolerance : float >= 0, largest per-channel distance from the estimated gutter colour;
        must stay under the contrast of a frameless panel against its gutter

    Returns
    -------
    (H, W) bool, True on the gutter.
    """
    page = _check_page(page)
    for name, value in (("tolerance", tolerance), ("colour_tolerance", colour_tolerance)):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name}: expected a finite value >= 0, got {value!r}")
    h, w = page.shape[:2]
    smooth = cv2.medianBlur(page, 3)
    ys = np.concatenate([np.zeros(w, int), np.full(w, h - 1), np.arange(h), np.arange(h)])
    xs = np.concatenate([np.arange(w), np.arange(w), np.zeros(h, int), np.full(h, w - 1)])
    ring = smooth[ys, xs].astype(np.int32) // 16
    key = (ring[:, 0] << 8) | (ring[:, 1] << 4) | ring[:, 2]
    values, counts = np.unique(key, return_counts=True)
    seeds = np.flatnonzero(key == values[counts.argmax()])
    mask = np.zeros((h + 2, w + 2), np.uint8)
    diff = (float(tolerance),) * 3
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
    for i in seeds:
        y, x = int(ys[i]), int(xs[i])
        if not mask[y + 1, x + 1]:
            cv2.floodFill(smooth, mask, (x, y), 0, diff, diff, flags)
    flooded = mask[1:-1, 1:-1]
    # Gutter colour field: mean colour of the flooded pixels around each pixel, from the finest
    # of three window sizes that holds any (long unflooded stretches need the wide ones).
    flooded_f = flooded.astype(np.float32)
    weighted = smooth.astype(np.float32) * flooded_f[..., None]
    field = np.zeros((h, w, 3), np.float32)
    known = np.zeros((h, w), bool)
    for fraction in (0.04, 0.16, 0.64):
        k = 2 * int(max(8, fraction * max(h, w))) + 1
        weight = cv2.blur(flooded_f, (k, k))
        fill = (weight > 1e-3) & ~known
        if fill.any():
            field[fill] = cv2.blur(weighted, (k, k))[fill] / weight[fill][:, None]
            known |= fill
    distance = np.abs(smooth.astype(np.float32) - field).max(axis=2)
    near = (known & (distance <= colour_tolerance)) | flooded.astype(bool)
    n, labels = cv2.connectedComponents(near.astype(np.uint8), connectivity=4)
    reached = np.zeros(n, bool)
    reached[np.unique(labels[flooded.astype(bool)])] = True
    reached[0] = False
    return reached[labels]


def speech_bubbles(
    page: np.ndarray,
    gutter: np.ndarray,
    *,
    light: int = 190,
    min_size: int = 10,
    max_area_fraction: float = 0.15,
) -> np.ndarray:
    """Filled masks of speech-bubble-like regions.

    A bubble is an enclosed (not gutter) region of light pixels (every channel ≥ ``light``)
    whose outer contour is ellipse-like: it fills 60–86 % of its bounding box (an ellipse fills
    78.5 %, a tail lowers it) and at least 85 % of its convex hull. A panel's light background
    is rectangular (≈ 100 %) and is kept.

    Parameters
    ----------
    page : (H, W, 3) uint8
    gutter : (H, W) bool, from :func:`gutter_mask`
    light, min_size, max_area_fraction : thresholds above (size in pixels, area as a fraction
        of the page)

    Returns
    -------
    (H, W) bool, True inside detected bubbles (outline not included).
    """
    page = _check_page(page)
    gutter = np.asarray(gutter)
    if gutter.shape != page.shape[:2] or gutter.dtype != bool:
        raise ValueError(f"gutter: expected a bool mask of shape {page.shape[:2]}")
    h, w = page.shape[:2]
    smooth = cv2.medianBlur(page, 3)
    candidate = ((smooth.min(axis=2) >= light) & ~gutter).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(candidate, connectivity=4)
    out = np.zeros((h, w), np.uint8)
    for i in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if bw < min_size or bh < min_size or bw * bh > max_area_fraction * h * w:
            continue
        piece = (labels[y : y + bh, x : x + bw] == i).astype(np.uint8)
        contours, _ = cv2.findContours(piece, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        contour = max(contours, key=cv2.contourArea)
        filled = np.zeros_like(piece)
        cv2.drawContours(filled, [contour], -1, 1, -1)
        filled_area = float(filled.sum())
        hull_area = float(cv2.contourArea(cv2.convexHull(contour))) + 1e-9
        fill = filled_area / (bw * bh)
        solidity = min(1.0, float(cv2.contourArea(contour)) / hull_area)
        if 0.6 <= fill <= 0.86 and solidity >= 0.85:
            region = out[y : y + bh, x : x + bw]
            region |= filled
    return out.astype(bool)


def _content_spans(profile: np.ndarray, min_gutter: int) -> list[tuple[int, int]]:
    """[start, stop) spans of a True/False content profile split at gaps ≥ min_gutter."""
    idx = np.flatnonzero(profile)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > min_gutter)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    stops = np.concatenate([idx[breaks], [idx[-1]]]) + 1
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


def _xy_cut(
    content: np.ndarray,
    bubble: np.ndarray,
    box: tuple[int, int, int, int],
    min_gutter: int,
    direction: str,
    leaves: list[tuple[int, int, int, int]],
) -> None:
    x0, y0, x1, y1 = box
    sub = content[y0:y1, x0:x1]
    # A line crossing a bubble is still a gutter when the bubble covers at most half of it (a
    # bubble bridging two panels); a wider bubble inside a panel does not open a gutter.
    bsub = bubble[y0:y1, x0:x1]
    has_rows, has_cols = sub.any(axis=1), sub.any(axis=0)
    rows = _content_spans(has_rows | (2 * bsub.sum(axis=1) > (x1 - x0)), min_gutter)
    rows = [
        (a + int(np.argmax(has_rows[a:b])), b - int(np.argmax(has_rows[a:b][::-1])))
        for a, b in rows
        if has_rows[a:b].any()
    ]
    if not rows:
        return
    if len(rows) > 1:
        for a, b in rows:
            _xy_cut(content, bubble, (x0, y0 + a, x1, y0 + b), min_gutter, direction, leaves)
        return
    cols = _content_spans(has_cols | (2 * bsub.sum(axis=0) > (y1 - y0)), min_gutter)
    cols = [
        (a + int(np.argmax(has_cols[a:b])), b - int(np.argmax(has_cols[a:b][::-1])))
        for a, b in cols
        if has_cols[a:b].any()
    ]
    if len(cols) > 1:
        if direction == "rtl":
            cols = cols[::-1]
        for a, b in cols:
            _xy_cut(content, bubble, (x0 + a, y0, x0 + b, y1), min_gutter, direction, leaves)
        return
    (a, b), (c, d) = rows[0], cols[0]
    leaves.append((x0 + c, y0 + a, x0 + d, y0 + b))


def detect_panels(
    page: np.ndarray,
    *,
    direction: Direction = "ltr",
    tolerance: float = 8.0,
    min_gutter: int = 1,
    min_panel_area: float | None = None,
    remove_bubbles: bool = True,
    fallback: bool = True,
) -> list[Panel]:
    """Find the panels of a comic page, in reading order.

    Parameters
    ----------
    page : (H, W, 3) uint8 (BGR as OpenCV decodes it)
    direction : {"ltr", "rtl"}, reading direction within a row of panels (RTL for manga)
    tolerance : float, neighbour step of the gutter flood fill (see :func:`gutter_mask`)
    min_gutter : int >= 1, fewest empty rows/columns that separate two panels
    min_panel_area : float or None, smallest panel in pixels; default ``0.005 * H * W``
    remove_bubbles : set speech bubbles aside before cutting (see :func:`speech_bubbles`)
    fallback : split XY-cut leaves into their large non-nested connected pieces

    Returns
    -------
    list of Panel in reading order (see the module docstring). ``page`` is not modified.
    """
    page = _check_page(page)
    _check_direction(direction)
    if int(min_gutter) != min_gutter or min_gutter < 1:
        raise ValueError(f"min_gutter: expected an integer >= 1, got {min_gutter!r}")
    h, w = page.shape[:2]
    if min_panel_area is None:
        min_panel_area = 0.005 * h * w
    elif not np.isfinite(min_panel_area) or min_panel_area < 0:
        raise ValueError(f"min_panel_area: expected a value >= 0 or None, got {min_panel_area!r}")
    gutter = gutter_mask(page, tolerance=tolerance)
    content = ~gutter
    bubble = np.zeros_like(gutter)
    if remove_bubbles:
        found = speech_bubbles(page, gutter)
        if found.any():
            # The outline (up to a few pixels, anti-aliased) goes with the bubble.
            ring = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (11, 11))
            bubble = cv2.dilate(found.astype(np.uint8), ring).astype(bool)
            content &= ~bubble
    # Specks (JPEG ringing, text crumbs) must not block a gutter.
    n, labels, stats, _ = cv2.connectedComponentsWithStats(content.astype(np.uint8), connectivity=8)
    speck = max(16.0, 2e-5 * h * w)
    small = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] < speck)
    small = small[small > 0]
    if small.size:
        content &= ~np.isin(labels, small)
    leaves: list[tuple[int, int, int, int]] = []
    _xy_cut(content, bubble, (0, 0, w, h), int(min_gutter), direction, leaves)
    panels = []
    for leaf in leaves:
        x0, y0, x1, y1 = leaf
        if (x1 - x0) * (y1 - y0) < min_panel_area:
            continue
        pieces = (
            _split_leaf(content | bubble, leaf, min_panel_area, direction) if fallback else None
        )
        if pieces is None:
            panels.append(Panel(x0, y0, x1 - x0, y1 - y0, "xy-cut", 1.0))
        else:
            panels.extend(Panel(a, b, c - a, d - b, "contour", 0.8) for a, b, c, d in pieces)
    return panels


#: The seed's rule under a name that says so (``benchmarks/panels.py`` compares against it).
detect_panels_legacy = detect_panels

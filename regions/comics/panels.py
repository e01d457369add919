"""Panel detection on comic pages: gutters, slanted cuts, frame lines, closed frames, order.

Long because it is one pipeline whose stages share the gutter mask and the box/polygon types;
split it (gutters, cuts, second stages, order) when a stage grows a second caller.

Pipeline of :func:`detect_panels` (the old rule lives on in :mod:`regions.comics.panels_legacy`):

0. **Resolution**: a page longer than ``max_side`` (1000 px) is searched on a copy shrunk to
   it, its panels scaled back (results and time independent of the scan's resolution).
   **Scanner border** (``scan_borders=True``): bands of dark scanner background beyond the
   paper are cropped (:func:`regions.comics.page_edges.scan_border`), and so is a band along
   one side that the gutter flood (step 1) reaches alone (a border before bleeding panels:
   :func:`regions.comics.page_edges.flooded_band`). **Deskew**
   (``deskew=True``): the page's tilt is measured from the gutter mask
   (:func:`regions.comics.skew.page_skew`); a scan ≥ 0.2° off square is turned square (the part
   inside the scan only: its edge wedges would join panels bleeding off the page), its panels
   found there and carried back as tilted rectangles (``polygon``) and their boxes.
1. **Gutter mask** (:func:`gutter_mask`): a 3×3 median removes JPEG speckle, then a flood fill
   from the page border with a *floating* per-neighbour tolerance, walled off by every sharp
   step to a neighbour (a floating flood alone climbs the slow ramp an anti-aliased frame line
   a degree off the axis draws along itself, into the panel), completed by pixels close to
   the gutter colour estimated around them (farther than a few pixels from the flood, only
   pixels much closer: a dark panel on a black gutter stays a panel). Tinted, black, white,
   grey and graded gutters all come out without knowing their colour. A wide pocket of it that
   the frames cut off from the gutter network is a panel bleeding off the page: content.
2. **Bubbles set aside** (:func:`speech_bubbles`): light, enclosed, ellipse-like regions count
   neither as gutter nor as content, so a bubble across a gutter does not join two panels; a
   light region running along a straight side of its box (a sky under a frame) is no bubble.
3. **Region cuts** on work-resolution maps (longest side ≤ 640 px, area-averaged so thin gutters
   survive as fractions): a region is cut along the best line ``y - s·x = d`` (or
   ``x - s·y = d``) whose pixels outside bubbles are at least ``gutter_fraction`` gutter, that
   crosses most of the region, leaves a panel's worth of content on both sides and ends sharply
   at panel edges on both sides. Straight lines first (rows before columns), then slopes up to
   ±0.35 (≈ 19°). Art, hair or a leaf crossing a gutter only lowers the fraction. Failing any
   gutter, a thin straight dark line across the region (a frame line between panels with no
   gutter) cuts it. Line sums come from a shear (``cv2.warpAffine``) and row reductions.
4. **Closed frames** (:func:`_framed_holes`): holes of the long straight frame lines that are
   nearly rectangular. Several tiling a leaf replace it (panels joined by art or by touching
   frames); smaller ones inside it are **insets**, own panels after their parent.
5. **Contour fallback** for staggered layouts no line separates (slanted leaves included), then
   the **bridged split** (:func:`_bridged_split`): gutter runs closed over short art crossings
   and bubbles across gutters, kept only when every piece is panel-like; panels under
   ``min_panel_area`` are dropped. Slanted leaves carry a **polygon**.
6. **Panels drawn over a gutter**: a straight cut may cross closed-frame interiors when the
   line is otherwise gutter to both ends; a closed frame or a lone rectangular piece a cut
   crosses through its middle is its own panel (``"inset"``), read before the next row.

The output order is the cut tree's: rows top to bottom, within a row left to right
(``direction="ltr"``) or right to left (``"rtl"``), a stacked cell's panels top to bottom.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import cv2
import numpy as np

from regionflow.regions.comics.page_edges import flooded_band, scan_border
from regionflow.regions.comics.skew import page_skew, points_back, rotate_square, skew_back

Direction = Literal["ltr", "rtl"]
_DIRECTIONS = ("ltr", "rtl")
_FALLBACK_GAP = 4  # pixels between pieces the contour fallback separates (wider than ink)
_DARK_GUTTER = 64  # a gutter whose channels all lie under this is dark (black pages)


@dataclass(frozen=True)
class Panel:
    """A panel's box ``[x, x + w) × [y, y + h)`` in page pixels.

    ``source`` is ``"cut"`` (a leaf of the region cuts), ``"frame"`` (a closed frame tiling a
    leaf), ``"inset"`` (a closed frame inside a panel) or ``"contour"`` (the fallback);
    ``confidence`` is a ranking heuristic: 1.0, 0.9, 0.7 and 0.8 respectively. ``polygon``
    holds the outline ``((x, y), ...)`` of a panel cut by a slanted line, else None.
    """

    x: int
    y: int
    w: int
    h: int
    source: str = "cut"
    confidence: float = 1.0
    polygon: tuple[tuple[int, int], ...] | None = None

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)


def _check_page(page: np.ndarray) -> np.ndarray:
    page = np.asarray(page)
    if page.ndim != 3 or page.shape[2] != 3 or page.dtype != np.uint8:
        raise ValueError(f"page: expected (H, W, 3) uint8, got {page.shape} {page.dtype}")
    if page.shape[0] < 3 or page.shape[1] < 3:
        raise ValueError(f"page: too small {page.shape}")
    return page


def _check_direction(direction: str) -> None:
    if direction not in _DIRECTIONS:
        raise ValueError(f"direction: expected one of {_DIRECTIONS}, got {direction!r}")


def gutter_mask(
    page: np.ndarray, *, tolerance: float = 8.0, colour_tolerance: float = 40.0
) -> np.ndarray:
    """Pixels of the page background (margins and gutters) connected to the page border.

    Two passes. A flood fill from the border with a *floating* per-neighbour ``tolerance``
    finds gutter pixels safely: neighbouring gutter pixels differ by little even in a gradient,
    while frames and panel edges are sharp steps. JPEG colour bleeding can stop it short in
    narrow gutters, so the second pass estimates the gutter's colour everywhere (a blur of the
    flooded pixels, normalised by their density: gradients are followed) and adds every pixel
    within ``colour_tolerance`` of that estimate that is connected to the flooded gutter; farther
    than a few pixels (0.4 % of the long side) from the flood, within a third of it.

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
    mask = np.zeros((h + 2, w + 2), np.uint8)
    # Walls: pixels with a sharp step to a neighbour. A floating flood alone climbs the slow
    # ramp an anti-aliased line a degree off the axis draws along itself (255 → 0 over ~60 px
    # at 1°), crosses the frame and floods the panel; across such a line the step is sharp.
    walls = _sharp_steps(smooth, 3 * float(tolerance), (1,))
    ys, xs, depth = _seed_ring(walls)
    ring = smooth[ys, xs].astype(np.int32) // 16
    key = (ring[:, 0] << 8) | (ring[:, 1] << 4) | ring[:, 2]
    values, counts = np.unique(key, return_counts=True)
    gutter_key = values[counts.argmax()]
    seeds = np.flatnonzero(key == gutter_key)
    if max(gutter_key >> 8, (gutter_key >> 4) & 15, gutter_key & 15) < _DARK_GUTTER // 16:
        # A dark gutter: dark panels differ from it by a few tens of levels, and an edge that
        # soft spreads over two pixels in steps under the threshold (scans, enlarged pages).
        # Two pixels apart it shows; on light pages, whose frames are strong, the wider walls
        # would only close narrow gutters beside blurred frames.
        walls = _sharp_steps(smooth, 3 * float(tolerance), (1, 2))
    mask[1:-1, 1:-1] = walls
    diff = (float(tolerance),) * 3
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | (2 << 8)
    for i in seeds:
        y, x = int(ys[i]), int(xs[i])
        if not mask[y + 1, x + 1]:
            cv2.floodFill(smooth, mask, (x, y), 0, diff, diff, flags)
    flooded = (mask[1:-1, 1:-1] == 2).view(np.uint8)
    if depth:  # the walled rings outside the seeds are the page's edge, not content
        flooded[:depth] = flooded[-depth:] = 1
        flooded[:, :depth] = flooded[:, -depth:] = 1
    # Gutter colour field: mean colour of the flooded pixels around each pixel, from the finest
    # of three window sizes that holds any (long unflooded stretches need the wide ones). The
    # field is smooth, so it is estimated on a 4× smaller grid and interpolated back.
    step = 4 if min(h, w) >= 64 else 1
    small = (max(1, w // step), max(1, h // step))
    flooded_f = flooded.astype(np.float32)
    weighted = smooth.astype(np.float32) * flooded_f[..., None]
    if step > 1:
        flooded_f = cv2.resize(flooded_f, small, interpolation=cv2.INTER_AREA)
        weighted = cv2.resize(weighted, small, interpolation=cv2.INTER_AREA)
    field = np.zeros((*flooded_f.shape, 3), np.float32)
    known = np.zeros(flooded_f.shape, bool)
    for fraction in (0.04, 0.16, 0.64):
        k = 2 * int(max(8, fraction * max(h, w)) / step) + 1
        weight = cv2.blur(flooded_f, (k, k))
        fill = (weight > 1e-3) & ~known
        if fill.any():
            field[fill] = cv2.blur(weighted, (k, k))[fill] / weight[fill][:, None]
            known |= fill
    if step > 1:
        field = cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR)
        known = cv2.resize(known.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    gap = cv2.absdiff(smooth.astype(np.float32), field)
    distance = np.maximum(np.maximum(gap[..., 0], gap[..., 1]), gap[..., 2])
    # JPEG bleeding that stops the flood lies within a few pixels of it; farther out only
    # pixels within a third of the tolerance join, so a dark panel on a black gutter (or a grey
    # one on grey) that differs by less than the tolerance stays a panel.
    reach = max(3, round(0.004 * max(h, w)))
    away = cv2.distanceTransform((flooded == 0).astype(np.uint8), cv2.DIST_L1, 3) > reach
    limit = np.where(away, np.float32(colour_tolerance / 3), np.float32(colour_tolerance))
    near = (known & (distance <= limit)) | flooded.astype(bool)
    n, labels = cv2.connectedComponents(near.astype(np.uint8), connectivity=4)
    reached = np.zeros(n, bool)
    reached[np.unique(labels[flooded.astype(bool)])] = True
    reached[0] = False
    return reached[labels]


def _seed_ring(walls: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(ys, xs) of the flood's candidate seeds and their depth: the page's outermost ring of
    pixels, or the first ring inside it that is mostly no wall (a page cut right at a sharp
    step, e.g. a scanner border cropped off, has walls all along its edge), walls left out."""
    h, w = walls.shape
    for depth in range(max(1, min(h, w) // 50)):
        top, bottom, left, right = depth, h - 1 - depth, depth, w - 1 - depth
        if bottom <= top or right <= left:
            break
        cols, rows = np.arange(left, right + 1), np.arange(top, bottom + 1)
        ys = np.concatenate([np.full(cols.size, top), np.full(cols.size, bottom), rows, rows])
        xs = np.concatenate([cols, cols, np.full(rows.size, left), np.full(rows.size, right)])
        open_ = walls[ys, xs] == 0
        if open_.mean() >= 0.25:
            return ys[open_], xs[open_], depth
    return ys, xs, 0


def _sharp_steps(image: np.ndarray, threshold: float, spacings: tuple[int, ...]) -> np.ndarray:
    """(H, W) uint8, 1 where a pixel differs by more than ``threshold`` in some channel of the
    (H, W, 3) uint8 ``image`` from the pixel ``k`` rows or columns away, for each ``k`` in
    ``spacings`` (both pixels and those between them are marked). Two pixels apart catches an edge
    softened over two pixels — a scan's or an enlarged page's — whose single steps stay under
    the threshold (dark panels on a black gutter)."""
    h, w = image.shape[:2]
    step = float(np.floor(threshold))  # integer differences: > t ⇔ > floor(t)
    flat = image.reshape(h, w * 3)

    def exceeds(diff: np.ndarray, rows: int, cols: int) -> np.ndarray:
        d = diff.reshape(rows, cols, 3)  # OpenCV's saturating absdiff and max: 15× numpy's
        return cv2.max(cv2.max(d[..., 0], d[..., 1]), d[..., 2]) > step

    wall = np.zeros((h, w), bool)
    for k in spacings:
        if k < h:
            dy = exceeds(cv2.absdiff(flat[k:], flat[:-k]), h - k, w)
            for j in range(k + 1):
                wall[j : h - k + j] |= dy
        if k < w:
            dx = exceeds(cv2.absdiff(flat[:, 3 * k :], flat[:, : -3 * k]), h, w - k)
            for j in range(k + 1):
                wall[:, j : w - k + j] |= dx
    return wall.view(np.uint8)


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
    is rectangular (≈ 100 %) or, cut by a horizon, runs along its frame (a side of its box at
    least 60 % filled): it is kept.

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
    darkest = np.minimum(np.minimum(smooth[..., 0], smooth[..., 1]), smooth[..., 2])
    candidate = ((darkest >= light) & ~gutter).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(candidate, connectivity=4)
    out = np.zeros((h, w), np.uint8)
    # Size test on the whole table first: a page has thousands of specks, few bubble-sized parts.
    bws, bhs = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    sized = (bws >= min_size) & (bhs >= min_size) & (bws * bhs <= max_area_fraction * h * w)
    for i in np.flatnonzero(sized[1:]) + 1:
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        piece = (labels[y : y + bh, x : x + bw] == i).astype(np.uint8)
        contours, _ = cv2.findContours(piece, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        contour = max(contours, key=cv2.contourArea)
        filled = np.zeros_like(piece)
        cv2.drawContours(filled, [contour], -1, 1, -1)
        filled_area = float(filled.sum())
        hull_area = float(cv2.contourArea(cv2.convexHull(contour))) + 1e-9
        fill = filled_area / (bw * bh)
        solidity = min(1.0, float(cv2.contourArea(contour)) / hull_area)
        # A bubble's outline is curved: it meets each side of its box in a short stretch. A
        # light sky or wall closed by a panel's frame runs along the frame (a straight side)
        # and is the panel's picture, whose frame and insets the bubble ring would erase.
        sides = (filled[0].mean(), filled[-1].mean(), filled[:, 0].mean(), filled[:, -1].mean())
        if 0.6 <= fill <= 0.86 and solidity >= 0.85 and max(sides) < 0.6:
            region = out[y : y + bh, x : x + bw]
            region |= filled
    return out.astype(bool)


def _edge_pockets(gutter: np.ndarray) -> np.ndarray:
    """Parts of the gutter mask that are panel interiors bleeding off the page.

    A panel drawn to the page edge lets the border flood into its light interior. Such a
    pocket is cut off from the gutter network by the panel's frame (another connected
    component) and is wide: farther from anything but itself than half of any margin or gutter
    (6 % of the page's short side), the page edge counting as a boundary. The largest
    component is the gutter network itself and always stays.
    """
    h, w = gutter.shape
    n, labels, stats, _ = cv2.connectedComponentsWithStats(gutter.astype(np.uint8), connectivity=4)
    if n <= 2:
        return np.zeros_like(gutter)
    # Only components big enough to hold the inscribed circle need the distance transform.
    wide = 0.06 * min(h, w)
    areas = stats[1:, cv2.CC_STAT_AREA]
    biggest = 1 + int(areas.argmax())
    candidates = [
        i
        for i in range(1, n)
        if i != biggest
        and min(stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]) > 2 * wide
        and stats[i, cv2.CC_STAT_AREA] > np.pi * wide * wide
    ]
    if not candidates:
        return np.zeros_like(gutter)
    padded = np.zeros((h + 2, w + 2), np.uint8)
    padded[1:-1, 1:-1] = gutter
    depth = cv2.distanceTransform(padded, cv2.DIST_L2, 3)[1:-1, 1:-1]
    pockets = np.zeros(n, bool)
    for i in candidates:
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        window = labels[y : y + bh, x : x + bw] == i
        pockets[i] = float(depth[y : y + bh, x : x + bw][window].max()) >= wide
    return pockets[labels]


# Line families searched for gutters: slopes (dy/dx for near-horizontal lines, dx/dy for
# near-vertical ones) up to about 19°, straight first so ties prefer the straight cut.
_SLOPES = tuple(
    float(s)
    for s in np.round([0.0, *np.repeat(np.arange(1, 11) * 0.035, 2) * np.tile([1, -1], 10)], 4)
)
_MIN_SKEW = 0.2  # degrees of page tilt from which panels are found on the squared page
_SKEW_SIZE = 800  # longest side of the page the tilt is measured on
_MIN_SKEW_SIDE = 64  # pages smaller than this are not deskewed (too few gutter pixels to tell)
_WORK_SIZE = 640  # longest side of the maps the cut search runs on (gutters ≥ ~2 px survive)


@dataclass(frozen=True)
class _Maps:
    """Work-resolution fractions (0..1, float32) of what each pixel holds, and the thresholds."""

    sep: np.ndarray  # gutter (or speck) pixels
    bubble: np.ndarray  # speech bubbles (neutral: neither gutter nor content)
    content: np.ndarray  # everything else
    ink: np.ndarray  # dark pixels off the gutter (frame lines)
    min_area: float  # smallest panel, work pixels
    threshold: float  # fraction of a line's non-bubble pixels that must be gutter
    min_run: int  # fewest neighbouring gutter lines
    ink_width: int  # thickest frame line a frame-line split accepts, work pixels
    frame_lines: bool
    framed: np.ndarray | None = None  # content inside closed frames (panels that may overlap)
    overlap_cuts: list | None = None  # straight cuts made (filled by the cuts)
    edge: float = 0.5  # largest gutter share of the lines just past a gutter's edges


def _runs(ok: np.ndarray) -> list[tuple[int, int]]:
    """[a, b] inclusive index runs where ``ok`` holds."""
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts = idx[np.concatenate([[0], breaks + 1])]
    stops = idx[np.concatenate([breaks, [idx.size - 1]])]
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


def _line_sums(planes: list[np.ndarray], slope: float) -> tuple[np.ndarray, float]:
    """Sums of each (h, w) plane along the lines ``y - slope·x = offset``, one per integer
    offset from the smallest; returns ``(sums (n_lines, n_planes), smallest offset)``."""
    h, w = planes[0].shape
    if slope == 0:
        return np.stack([cv2.reduce(p, 1, cv2.REDUCE_SUM)[:, 0] for p in planes], 1), 0.0
    lo = min(0.0, -slope * (w - 1))
    out_h = int(np.ceil(h - 1 + abs(slope) * (w - 1))) + 1
    m = np.float32([[1, 0, 0], [slope, 1, lo]])
    flags = cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
    # One warp per plane: OpenCV's single-channel float warp is ~5x faster than a merged one.
    sums = [
        cv2.reduce(cv2.warpAffine(p, m, (w, out_h), flags=flags), 1, cv2.REDUCE_SUM)[:, 0]
        for p in planes
    ]
    return np.stack(sums, 1), lo


def _best_cut(
    planes: list[np.ndarray], maps: _Maps, slopes: Sequence[float], *, ink: bool = False
) -> tuple[tuple, float, float, bool] | None:
    """Best cut of a region along near-horizontal lines: ``(key, slope, offset, overlapped)``
    or None (``overlapped``: the line crosses a panel drawn over the gutter).

    ``planes`` are (h, w) float32: the region mask, then bubble and content fractions (each
    multiplied by the mask), then for ``ink`` the dark-line fraction, else optionally the
    content inside closed frames. A line ``y - slope·x = offset`` separates when at least
    ``maps.threshold`` of its non-bubble pixels are gutter (for ``ink``: 70 % dark, in a band
    no thicker than a frame line), it crosses most of the region, and both sides keep a
    panel's worth of content. A panel overlapping a gutter (a closed frame drawn across it)
    does not block a straight line when at least half the line is gutter and both of its
    ends are: such cuts rank below clean ones.
    """
    h, w = planes[0].shape
    total = float(planes[2].sum())
    best = None
    min_len = (0.8 if ink else 0.4) * w
    threshold = 0.85 if ink else maps.threshold
    for slope in slopes:
        sums, lo = _line_sums(planes, slope)
        count, bub, con = sums[:, 0], sums[:, 1], sums[:, 2]
        sep = sums[:, 3] if ink else count - bub - con
        usable = count - bub
        frac = np.where((usable > 0.5) & (bub <= 0.5 * count), sep / np.maximum(usable, 1e-6), 0.0)
        ok = (frac >= threshold) & (count >= min_len)
        over = np.zeros_like(ok)
        if not ink and len(planes) > 3 and slope == 0:
            framed = sums[:, 3]
            rest = np.maximum(usable - framed, 1e-6)
            over = (framed >= 0.1 * count) & (sep >= 0.5 * count) & (sep / rest >= threshold)
            over &= ~ok & (count >= min_len)
            ok = ok | over
        if not ok.any():
            continue
        before = np.cumsum(con)
        n = len(frac)
        for a, b in _runs(ok):
            if ink:
                if b - a + 1 > maps.ink_width:
                    continue  # a dark mass, not a frame line
                if a < 3 or b + 3 >= n or max(frac[a - 3], frac[b + 3]) >= 0.3:
                    continue  # not a thin line between lighter pixels
                if min(a, n - b) < 0.15 * n:
                    continue  # a frame-line split leaves two panels of some size
            elif b - a + 1 < maps.min_run:
                continue
            else:
                # A gutter ends at panel edges on both sides: a few lines past the band the
                # line is mostly content. Light art (a sky, a neck) fades out instead.
                k = maps.ink_width
                if (a >= k and frac[a - k] >= maps.edge) or (
                    b + k < n and frac[b + k] >= maps.edge
                ):
                    continue
            c_before = before[a] - con[a]
            c_after = total - before[b]
            if min(c_before, c_after) < maps.min_area * (2 if ink else 1):
                continue
            peak = float(frac[a : b + 1].max())
            overlapped = bool(over[a : b + 1].any())
            if overlapped:
                if not _gutter_ends(planes, slope, lo + (a + b + 1) / 2):
                    continue  # the frame ends the line: a panel of the layout, no overlap
                peak = 0.8  # below any clean gutter
            key = (int(peak * 20), b - a + 1, -abs(slope))
            if best is None or key > best[0]:
                best = (key, slope, lo + (a + b + 1) / 2, overlapped)
    return best


def _gutter_ends(planes: list[np.ndarray], slope: float, offset: float) -> bool:
    """Whether the line ``y - slope·x = offset`` is gutter (neither bubble nor content) over
    the first and the last 15 % of its run through the region mask ``planes[0]``."""
    h, w = planes[0].shape
    xs = np.arange(w)
    ys = np.round(offset + slope * xs).astype(int)
    keep = (ys >= 0) & (ys < h)
    xs, ys = xs[keep], ys[keep]
    inside = planes[0][ys, xs] > 0.5
    xs, ys = xs[inside], ys[inside]
    if xs.size < 10:
        return False
    gutter = planes[0][ys, xs] - planes[1][ys, xs] - planes[2][ys, xs]
    k = max(2, int(0.15 * xs.size))
    return float(gutter[:k].mean()) >= 0.5 and float(gutter[-k:].mean()) >= 0.5


def _cut_region(
    maps: _Maps,
    mask: np.ndarray,
    x0: int,
    y0: int,
    direction: str,
    slanted: bool,
    leaves: list[tuple[int, int, np.ndarray, bool]],
    depth: int = 0,
) -> None:
    """Recursive cut of a region (``mask`` placed at ``(x0, y0)`` in work pixels) into leaves.

    Straight gutters first (near-horizontal before near-vertical, so rows read top to bottom),
    then slanted ones, then, failing all, a thin frame line crossing the region.
    """
    h, w = mask.shape
    con = maps.content[y0 : y0 + h, x0 : x0 + w] * mask
    rows = np.flatnonzero(cv2.reduce(con, 1, cv2.REDUCE_MAX)[:, 0] > 0.25)
    cols = np.flatnonzero(cv2.reduce(con, 0, cv2.REDUCE_MAX)[0] > 0.25)
    if rows.size == 0 or float(con.sum()) < maps.min_area:
        return
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    mask = mask[r0:r1, c0:c1]
    x0, y0 = x0 + c0, y0 + r0
    h, w = mask.shape
    if depth >= 32:
        leaves.append((x0, y0, mask, slanted))
        return
    win = (slice(y0, y0 + h), slice(x0, x0 + w))
    m = mask.astype(np.float32)
    planes = [m, maps.bubble[win] * m, maps.content[win] * m]
    if maps.framed is not None and maps.framed[win].any():
        planes.append(maps.framed[win] * m)
    transposed = [np.ascontiguousarray(p.T) for p in planes]
    found = None  # (vertical, (key, slope, offset)); keys rank cleanness, then horizontal
    # No line can pass when the region holds too little gutter for one (a framed panel).
    sep_total = float(m.sum() - planes[1].sum() - planes[2].sum())
    searches = ((0.0,), _SLOPES[1:]) if sep_total >= 0.3 * min(h, w) else ()
    for slopes in searches:
        for vertical, ps in ((False, planes), (True, transposed)):
            cut = _best_cut(ps, maps, slopes)
            if cut is None:
                continue
            cut = ((cut[0][0], not vertical, *cut[0][1:]), *cut[1:])
            if found is None or cut[0] > found[1][0]:
                found = (vertical, cut)
        if found is not None and found[1][0][0] >= 19:
            break  # a clean straight gutter: no slanted line can do better
    ink = maps.ink[win] * m if maps.frame_lines and found is None else None
    if ink is not None and float(ink.sum()) >= 0.6 * min(h, w):
        for vertical, ps in (
            (False, [*planes[:3], ink]),
            (True, [*transposed[:3], ink.T.copy()]),
        ):
            cut = _best_cut(ps, maps, _SLOPES[:7], ink=True)
            cut = None if cut is None else ((cut[0][0], not vertical, *cut[0][1:]), *cut[1:])
            if cut is not None and (found is None or cut[0] > found[1][0]):
                found = (vertical, cut)
    if found is None:
        leaves.append((x0, y0, mask, slanted))
        return
    vertical, (_, slope, offset, overlapped) = found
    if slope == 0 and maps.overlap_cuts is not None:
        maps.overlap_cuts.append((vertical, x0, y0, w, h, offset))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    along, across = (xx, yy) if vertical else (yy, xx)
    first = along - slope * across < offset
    parts = [mask & first, mask & ~first]
    if vertical and direction == "rtl":
        parts = parts[::-1]
    for part in parts:
        _cut_region(maps, part, x0, y0, direction, slanted or slope != 0, leaves, depth + 1)


def _framed_holes(ink: np.ndarray, min_area: float) -> list[tuple[int, int, int, int, float]]:
    """Rectangular regions enclosed by frame lines: ``(x, y, w, h, area)`` in work pixels.

    A hole of the dark-line mask is a frame's interior when it is nearly convex and nearly
    fills its rotated bounding rectangle (a speech bubble's ellipse fills π/4 of it).
    """
    binary = (ink >= 0.5).astype(np.uint8)
    # Frames are long straight lines; art drawn against them would cut their interiors into
    # pieces, so only long horizontal and vertical ink runs are kept.
    run = max(8, int(0.08 * min(ink.shape)))
    lines = cv2.morphologyEx(binary, cv2.MORPH_OPEN, np.ones((1, run), np.uint8))
    lines |= cv2.morphologyEx(binary, cv2.MORPH_OPEN, np.ones((run, 1), np.uint8))
    binary = cv2.dilate(lines, np.ones((3, 3), np.uint8))
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    if hierarchy is None:
        return out
    for contour, link in zip(contours, hierarchy[0], strict=True):
        if link[3] < 0:
            continue  # an outer boundary, not a hole
        area = float(cv2.contourArea(contour))
        if area < min_area:
            continue
        hull = cv2.convexHull(contour)
        hull_area = float(cv2.contourArea(hull))
        (_, _), (rw, rh), _ = cv2.minAreaRect(hull)
        if hull_area <= 0 or area / hull_area < 0.9 or hull_area / max(rw * rh, 1e-6) < 0.9:
            continue
        if len(cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)) != 4:
            continue  # four straight sides, not a wavy horizon closing a sky
        x, y, bw, bh = cv2.boundingRect(contour)
        out.append((x, y, bw, bh, area))
    return out


def reading_order(
    boxes: Sequence[Sequence[int]] | np.ndarray, *, direction: Direction = "ltr"
) -> list[int]:
    """Reading order of boxes: rows top to bottom, within a row in ``direction``.

    Boxes are grouped greedily in order of their top edge (then leading edge): a box joins the
    current row when its vertical centre lies above the row's bottom edge. Within a row boxes sort by their leading
    edge (left for LTR, right for RTL), then by top edge, so a stacked pair reads top first.

    Parameters
    ----------
    boxes : (N, 4) ``(x, y, w, h)``
    direction : {"ltr", "rtl"}

    Returns
    -------
    list of N indices into ``boxes``.
    """
    _check_direction(direction)
    arr = (
        np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
        if len(boxes)
        else np.zeros((0, 4), np.int64)
    )
    if (arr[:, 2:] <= 0).any():
        raise ValueError("boxes: widths and heights must be positive")
    # Leading edge: left for LTR, right for RTL, so RTL on a mirrored page mirrors LTR.
    lead = arr[:, 0] if direction == "ltr" else -(arr[:, 0] + arr[:, 2])
    order = sorted(range(len(arr)), key=lambda i: (arr[i, 1], lead[i]))
    rows: list[list[int]] = []
    bottom = -1
    for i in order:
        x, y, w, h = arr[i]
        if rows and y + h / 2 < bottom:
            rows[-1].append(i)
            bottom = max(bottom, y + h)
        else:
            rows.append([i])
            bottom = y + h
    out = []
    for row in rows:
        row.sort(key=lambda i: (lead[i], arr[i, 1]))
        out.extend(int(i) for i in row)
    return out


def _split_leaf(
    solid: np.ndarray, leaf: tuple[int, int, int, int], min_piece: float, direction: str
) -> list[tuple[int, int, int, int]] | None:
    """Contour fallback: the leaf's large, well separated pieces, or None for one panel."""
    x0, y0, x1, y1 = leaf
    sub = solid[y0:y1, x0:x1].astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(sub, connectivity=8)
    pieces = [tuple(int(v) for v in stats[i][:4]) for i in range(1, n) if stats[i][4] > 0]
    big = [p for p in pieces if p[2] * p[3] >= min_piece]
    if len(big) < 2:
        return None
    # Pieces whose boxes overlap or nearly touch belong together (art inside a frame, a panel
    # cut by ink that touches a frame and gutter of the same colour); only boxes a gutter's
    # width apart are panels that no straight gutter separates.
    kept = [list(p) for p in big]
    merged = True
    while merged and len(kept) > 1:
        merged = False
        for i in range(len(kept)):
            for j in range(i + 1, len(kept)):
                a, b = kept[i], kept[j]
                g = _FALLBACK_GAP
                if (
                    a[0] < b[0] + b[2] + g
                    and b[0] < a[0] + a[2] + g
                    and a[1] < b[1] + b[3] + g
                    and b[1] < a[1] + a[3] + g
                ):
                    x, y = min(a[0], b[0]), min(a[1], b[1])
                    kept[i] = [
                        x,
                        y,
                        max(a[0] + a[2], b[0] + b[2]) - x,
                        max(a[1] + a[3], b[1] + b[3]) - y,
                    ]
                    del kept[j]
                    merged = True
                    break
            if merged:
                break
    if len(kept) < 2:
        return None
    order = reading_order(kept, direction=direction)  # type: ignore[arg-type]
    return [
        (
            x0 + kept[i][0],
            y0 + kept[i][1],
            x0 + kept[i][0] + kept[i][2],
            y0 + kept[i][1] + kept[i][3],
        )
        for i in order
    ]


_BRIDGES = (0.025, 0.05, 0.09)  # longest art crossing a gutter, as a fraction of the long side


def _bridging_bubbles(bubble: np.ndarray, gutter: np.ndarray) -> np.ndarray:
    """Bubbles (``bubble`` components) the ``gutter`` touches on two opposite sides (top and
    bottom, or left and right): a bubble across a gutter. (H, W) bool masks in, (H, W) bool
    out."""
    out = np.zeros_like(bubble)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(bubble.view(np.uint8), connectivity=8)
    h, w = bubble.shape
    for i in range(1, n):
        bx, by, bw, bh = (int(v) for v in stats[i, :4])
        wx0, wy0 = max(0, bx - 3), max(0, by - 3)
        wx1, wy1 = min(w, bx + bw + 3), min(h, by + bh + 3)
        piece = (labels[wy0:wy1, wx0:wx1] == i).view(np.uint8)
        ring = cv2.dilate(piece, np.ones((7, 7), np.uint8)).astype(bool) & gutter[wy0:wy1, wx0:wx1]
        ys, xs = np.nonzero(ring)
        # Side of the bubble each touching pixel faces (by its direction from the centre).
        u = (xs + wx0 - bx - bw / 2) / max(bw / 2, 1)
        v = (ys + wy0 - by - bh / 2) / max(bh / 2, 1)
        across = (v < -np.abs(u)).any() and (v > np.abs(u)).any()
        along = (u < -np.abs(v)).any() and (u > np.abs(v)).any()
        if across or along:
            out[wy0:wy1, wx0:wx1] |= piece.astype(bool)
    return out


def _walled(filled: np.ndarray, region: np.ndarray, box: np.ndarray) -> bool:
    """Whether gutter lies just outside each side of ``box`` (x, y, w, h) within ``region``:
    on one of the two lines past the side, at least 70 % of the cells are not ``filled``. A
    panel ends at a gutter on every side (bridges block a little of it); a piece of art the
    closings cut out of a picture has the rest of the picture past its cut."""
    bx, by, bw, bh = (int(v) for v in box)
    h, w = filled.shape
    sides = []
    for d in (1, 2):
        sides.append((slice(by, by + bh), bx - d, 0))
        sides.append((slice(by, by + bh), bx + bw - 1 + d, 0))
        sides.append((slice(bx, bx + bw), by - d, 1))
        sides.append((slice(bx, bx + bw), by + bh - 1 + d, 1))
    ok = [False] * 4
    for n, (span, at, horizontal) in enumerate(sides):
        side = n % 4
        limit = h if horizontal else w
        if not 0 <= at < limit:
            ok[side] = True  # the window's edge: the page edge
            continue
        cells = (
            (filled[at, span], region[at, span])
            if horizontal
            else (filled[span, at], region[span, at])
        )
        if not cells[1].any() or cells[1].mean() < 0.5:
            ok[side] = True  # past the leaf: its own border
            continue
        if 1 - cells[0][cells[1]].mean() >= 0.7:
            ok[side] = True
    return all(ok)


def _bridged_split(
    body: np.ndarray,
    bridges: np.ndarray,
    leaf: tuple[int, int, int, int],
    min_piece: float,
    direction: str,
    first: int = 0,
) -> list[tuple[int, int, int, int]] | None:
    """Second stage for a leaf no gutter line crosses: its panels joined by art over gutters.

    Layouts no straight gutter separates (a pinwheel, staggered rows) leave several panels in
    one leaf; the contour fallback separates them unless hair, a figure, a leaf or a bubble
    bridges a gutter. Gutter runs blocked for less than a bridge length (closings of the
    non-content mask with horizontal and vertical lines, over the leaf and the margin around
    it; the page edge closes nothing) cut the bridges; the content left in the leaf falls into
    pieces. A split is taken only when every piece of a panel's size is panel-like (fills
    85 % of its box: frames are rectangles, frameless art on the gutter colour is not) and
    the pieces hold most of the content. ``body`` (H, W) bool is the page's content with the
    bubbles that cross no gutter; ``bridges`` (H, W) bool the bubbles across gutters (barriers
    like the gutter, but no hole in the panels they overlap). A leaf its body fills leaves no
    room for a gutter and is not searched. Bridge lengths ``_BRIDGES[first:]`` go from short to long: the shortest that
    splits wins (a long closing also cuts a panel between a bubble and its edge), and each
    piece large enough for two panels is split again with the longer ones, its bubbles then
    counting as content. Runs on maps of at
    most ``_WORK_SIZE`` pixels (a 2 px gutter stays a fifth of a work pixel); the pieces'
    boxes are refined at full resolution.
    """
    x0, y0, x1, y1 = leaf
    area = (x1 - x0) * (y1 - y0)
    inside = np.count_nonzero(body[y0:y1, x0:x1]) + np.count_nonzero(bridges[y0:y1, x0:x1])
    if inside >= 0.985 * area:
        return None  # no room for a gutter: one panel
    H, W = body.shape
    long_side = max(H, W)
    scale = min(1.0, _WORK_SIZE / long_side)
    # The leaf and what lies around it (a gutter ends past the leaf's edge, in the margin),
    # within the longest bridge; the page edge itself closes nothing.
    m = int(np.ceil(_BRIDGES[-1] * long_side)) + 2
    wx0, wy0, wx1, wy1 = max(0, x0 - m), max(0, y0 - m), min(W, x1 + m), min(H, y1 + m)
    full_body, full_bridges = body, bridges
    body = body[wy0:wy1, wx0:wx1]
    bridges = bridges[wy0:wy1, wx0:wx1]
    if first > 0:
        # A piece's bubbles are its own (the first split had those across gutters).
        body, bridges = body | bridges, np.zeros_like(bridges)
    in_leaf = np.zeros(body.shape, bool)
    in_leaf[y0 - wy0 : y1 - wy0, x0 - wx0 : x1 - wx0] = True
    h, w = body.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if scale < 1:
        full = cv2.resize(body.view(np.uint8) * np.uint8(255), size, interpolation=cv2.INTER_AREA)
        filled = full >= 204  # a cell a fifth gutter is gutter: thin gutters survive
        neutral = cv2.resize(bridges.view(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        leaf_cells = cv2.resize(in_leaf.view(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    else:
        filled, neutral, leaf_cells = body, bridges, in_leaf
    total = float(np.count_nonzero(filled & leaf_cells))
    open_ = (~filled).view(np.uint8)
    body &= in_leaf
    min_area = min_piece * scale * scale
    best: list[tuple[int, ...]] | None = None
    best_labels = None
    found = None
    for j in range(first, len(_BRIDGES)):
        k = 2 * max(2, round(_BRIDGES[j] * long_side * scale / 2)) + 1
        padded = cv2.copyMakeBorder(open_, k, k, k, k, cv2.BORDER_CONSTANT, value=0)
        closed = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, np.ones((1, k), np.uint8))
        closed |= cv2.morphologyEx(padded, cv2.MORPH_CLOSE, np.ones((k, 1), np.uint8))
        kept = ((closed[k:-k, k:-k] == 0) & leaf_cells).view(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(kept, connectivity=4)
        big = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= min_area]
        if len(big) < 2:
            continue
        if sum(float(stats[i, cv2.CC_STAT_AREA]) for i in big) < 0.75 * total:
            continue
        # A bubble across the gutter is no hole in the panels it overlaps.
        if any(
            stats[i, cv2.CC_STAT_AREA] + np.count_nonzero(neutral[by : by + bh, bx : bx + bw])
            < 0.85 * bw * bh
            for i in big
            for bx, by, bw, bh in [stats[i, :4]]
        ):
            continue
        if not all(_walled(filled, leaf_cells, stats[i, :4]) for i in big):
            continue
        best, best_labels = [tuple(int(v) for v in stats[i, :4]) + (i,) for i in big], labels
        found = j
        break
    if best is None or best_labels is None:
        return None
    boxes = []
    reach = int(np.ceil(1 / scale)) if scale < 1 else 0  # cell rounding
    grow = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    for bx, by, bw, bh, i in best:
        # Full-resolution window of the piece, its content under the (grown) piece mask.
        fx0, fy0 = max(0, int(bx / scale) - reach), max(0, int(by / scale) - reach)
        fx1, fy1 = (
            min(w, int(np.ceil((bx + bw) / scale)) + reach),
            min(h, int(np.ceil((by + bh) / scale)) + reach),
        )
        cy = np.minimum(((np.arange(fy0, fy1) + 0.5) * scale).astype(int), best_labels.shape[0] - 1)
        cx = np.minimum(((np.arange(fx0, fx1) + 0.5) * scale).astype(int), best_labels.shape[1] - 1)
        piece = (best_labels[cy][:, cx] == i).view(np.uint8)
        inside = cv2.dilate(piece, grow).astype(bool) & body[fy0:fy1, fx0:fx1]
        rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
        if rows.size == 0:
            return None
        boxes.append(
            (
                fx0 + int(cols[0]),
                fy0 + int(rows[0]),
                int(cols[-1] - cols[0]) + 1,
                int(rows[-1] - rows[0]) + 1,
            )
        )
    out = []
    for bx, by, bw, bh in boxes:
        piece = (wx0 + bx, wy0 + by, wx0 + bx + bw, wy0 + by + bh)
        again = None
        if bw * bh >= 3 * min_piece and found is not None and found + 1 < len(_BRIDGES):
            again = _bridged_split(full_body, full_bridges, piece, min_piece, direction, found + 1)
        out.extend(again or [piece])
    order = reading_order([(a, b, c - a, d - b) for a, b, c, d in out], direction=direction)  # type: ignore[arg-type]
    return [out[i] for i in order]


def _work_maps(
    page: np.ndarray, content: np.ndarray, bubble: np.ndarray, scale: float
) -> tuple[np.ndarray, ...]:
    """Full-resolution masks → work-resolution fractions (area averages, so thin gutters and
    frame lines survive as partial values)."""
    h, w = content.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    gray = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    ink = (gray < 100) & content
    out = []
    for m in (~content & ~bubble, bubble, content, ink):
        if scale < 1:
            # Area averages of 0/255 bytes: ~4x cheaper than of floats, fractions to 1/255.
            f = cv2.resize(m.view(np.uint8) * np.uint8(255), size, interpolation=cv2.INTER_AREA)
            out.append(f.astype(np.float32) * np.float32(1 / 255))
        else:
            out.append(m.astype(np.float32))
    return tuple(out)


def _leaf_panel(
    leaf: tuple[int, int, np.ndarray, bool],
    content: np.ndarray,
    scale: float,
) -> tuple[tuple[int, int, int, int], np.ndarray, tuple[tuple[int, int], ...] | None] | None:
    """A leaf's full-resolution box, region mask over that box, and polygon (slanted leaves)."""
    x0, y0, mask, slanted = leaf
    H, W = content.shape
    grown = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8))
    pad = 1
    gx0, gy0 = x0 - pad, y0 - pad
    big = np.zeros((mask.shape[0] + 2 * pad, mask.shape[1] + 2 * pad), np.uint8)
    big[pad:-pad, pad:-pad] = grown
    # Full-resolution window under the grown work mask.
    fx0, fy0 = max(0, int(np.floor(gx0 / scale))), max(0, int(np.floor(gy0 / scale)))
    fx1 = min(W, int(np.ceil((gx0 + big.shape[1]) / scale)))
    fy1 = min(H, int(np.ceil((gy0 + big.shape[0]) / scale)))
    if fx1 <= fx0 or fy1 <= fy0:
        return None
    ys = ((np.arange(fy0, fy1) + 0.5) * scale - gy0).astype(int).clip(0, big.shape[0] - 1)
    xs = ((np.arange(fx0, fx1) + 0.5) * scale - gx0).astype(int).clip(0, big.shape[1] - 1)
    region = big[ys][:, xs].astype(bool)
    inside = content[fy0:fy1, fx0:fx1] & region
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    if rows.size == 0:
        return None
    bx0, by0 = fx0 + int(cols[0]), fy0 + int(rows[0])
    bx1, by1 = fx0 + int(cols[-1]) + 1, fy0 + int(rows[-1]) + 1
    polygon = None
    if slanted:
        piece = inside.astype(np.uint8)
        contours, _ = cv2.findContours(piece, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        hull = cv2.convexHull(np.concatenate(contours))
        if cv2.contourArea(hull) < 0.95 * (bx1 - bx0) * (by1 - by0):
            approx = cv2.approxPolyDP(hull, 0.01 * cv2.arcLength(hull, True), True)
            polygon = tuple((int(px) + fx0, int(py) + fy0) for px, py in approx[:, 0])
    window = region[by0 - fy0 : by1 - fy0, bx0 - fx0 : bx1 - fx0]
    return (bx0, by0, bx1, by1), window, polygon


def detect_panels(
    page: np.ndarray,
    *,
    direction: Direction = "ltr",
    tolerance: float = 8.0,
    min_gutter: int = 1,
    min_panel_area: float | None = None,
    remove_bubbles: bool = True,
    fallback: bool = True,
    gutter_fraction: float = 0.8,
    frame_lines: bool = True,
    insets: bool = True,
    deskew: bool = True,
    scan_borders: bool = True,
    max_side: int | None = 1000,
) -> list[Panel]:
    """Find the panels of a comic page, in reading order.

    Parameters
    ----------
    page : (H, W, 3) uint8 (BGR as OpenCV decodes it)
    direction : {"ltr", "rtl"}, reading direction within a row of panels (RTL for manga)
    tolerance : float, neighbour step of the gutter flood fill (see :func:`gutter_mask`)
    min_gutter : int >= 1, narrowest gutter in page pixels
    min_panel_area : float or None, smallest panel in pixels; default ``0.005 * H * W``
    remove_bubbles : set speech bubbles aside before cutting (see :func:`speech_bubbles`)
    fallback : split leaves into their large, well separated connected pieces (staggered
        layouts no straight line separates)
    gutter_fraction : float in (0.5, 1], share of a cut line's pixels (bubbles aside) that must
        be gutter; below 1 so art, hair or a leaf crossing the gutter does not join two panels
    frame_lines : split a region along a thin dark line crossing it (panels divided only by a
        frame line)
    insets : report regions enclosed by a rectangular frame inside a panel as their own panels
    deskew : measure the page's tilt from its gutters (:func:`regions.comics.skew.page_skew`)
        and, from ``_MIN_SKEW`` degrees, find the panels on the squared page; their boxes are
        then the bounding boxes of the tilted rectangles, which ``polygon`` holds
    scan_borders : find the panels inside the scanner border, a band of scanner background
        along the page's edges (:func:`regions.comics.page_edges.scan_border`), and inside a
        band along one side that the gutter flood found alone (a border before panels
        bleeding off the page, which no paper follows)
    max_side : int >= 64 or None, a page whose longest side is longer is searched on a copy
        shrunk to it (area-averaged; ``min_gutter`` and ``min_panel_area`` shrink with it) and
        its panels scaled back: the result and the time no longer depend on the scan's
        resolution (an edge softened over more pixels on a larger scan gave the gutter flood
        other walls). None: every page at its own size

    Returns
    -------
    list of Panel in reading order (see the module docstring). ``page`` is not modified.
    """
    page = _check_page(page)
    _check_direction(direction)
    if int(min_gutter) != min_gutter or min_gutter < 1:
        raise ValueError(f"min_gutter: expected an integer >= 1, got {min_gutter!r}")
    if not 0.5 < gutter_fraction <= 1:
        raise ValueError(f"gutter_fraction: expected a value in (0.5, 1], got {gutter_fraction!r}")
    if max_side is not None and (int(max_side) != max_side or max_side < _MIN_SKEW_SIDE):
        raise ValueError(
            f"max_side: expected an integer >= {_MIN_SKEW_SIDE} or None, got {max_side!r}"
        )
    h, w = page.shape[:2]
    if min_panel_area is not None and (not np.isfinite(min_panel_area) or min_panel_area < 0):
        raise ValueError(f"min_panel_area: expected a value >= 0 or None, got {min_panel_area!r}")
    options = {
        "direction": direction,
        "tolerance": tolerance,
        "min_gutter": min_gutter,
        "min_panel_area": min_panel_area,
        "remove_bubbles": remove_bubbles,
        "fallback": fallback,
        "gutter_fraction": gutter_fraction,
        "frame_lines": frame_lines,
        "insets": insets,
    }
    if max_side is not None and max(h, w) > max_side:
        factor = max_side / max(h, w)
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        small = cv2.resize(page, size, interpolation=cv2.INTER_AREA)
        shrunk = {
            **options,
            "min_gutter": max(1, round(min_gutter * factor)),
            "min_panel_area": None if min_panel_area is None else min_panel_area * factor**2,
        }
        found = detect_panels(
            small, **shrunk, deskew=deskew, scan_borders=scan_borders, max_side=None
        )
        return [_enlarged(p, w / size[0], h / size[1], (h, w)) for p in found]
    if min_panel_area is None:
        min_panel_area = options["min_panel_area"] = 0.005 * h * w
    if scan_borders:
        border = scan_border(page)
        if any(border):
            return _inside(page, border, options, deskew)
    if deskew and min(h, w) >= _MIN_SKEW_SIDE:
        angle = _page_tilt(page, tolerance)
        if abs(angle) >= _MIN_SKEW:
            square, to_square = rotate_square(page, angle, inside=True)
            found = detect_panels(square, **options, deskew=False, scan_borders=False)
            return [_tilted_back(p, to_square, (h, w)) for p in found]
    gutter = gutter_mask(page, tolerance=tolerance)
    if scan_borders:
        band = flooded_band(gutter)
        if any(band):
            return _inside(page, band, options, deskew)
    gutter &= ~_edge_pockets(gutter)
    content = ~gutter
    bubble = np.zeros_like(gutter)
    if remove_bubbles:
        found = speech_bubbles(page, gutter)
        if found.any():
            # The outline (up to a few pixels, anti-aliased) goes with the bubble.
            ring = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (11, 11))
            bubble = cv2.dilate(found.astype(np.uint8), ring).astype(bool)
            content &= ~bubble
    # Specks (JPEG ringing, text crumbs, page numbers' dots) are not content.
    n, labels, stats, _ = cv2.connectedComponentsWithStats(content.astype(np.uint8), connectivity=8)
    speck = max(16.0, 2e-5 * h * w)
    small = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] < speck)
    small = small[small > 0]
    if small.size:
        keep = np.ones(n, bool)
        keep[small] = False
        content &= keep[labels]  # a lookup, much cheaper than np.isin at full resolution
    scale = min(1.0, _WORK_SIZE / max(h, w))
    sep, bub, con, ink = _work_maps(page, content, bubble, scale)
    holes = _framed_holes(ink, min_panel_area * scale * scale) if insets else []
    framed = None
    if holes:
        # Content inside closed frames (their interiors: a gutter line between two frames
        # passes none).
        framed = np.zeros_like(con)
        for hx, hy, hw, hh, _ in holes:
            if hw * hh <= 0.25 * con.size:
                framed[hy : hy + hh, hx : hx + hw] = 1
        framed *= con
    maps = _Maps(
        sep=sep,
        bubble=bub,
        content=con,
        ink=ink,
        min_area=0.5 * min_panel_area * scale * scale,
        threshold=float(gutter_fraction),
        min_run=max(1, round(min_gutter * scale)),
        ink_width=max(3, round(0.012 * max(h, w) * scale)),
        frame_lines=frame_lines,
        framed=framed,
        overlap_cuts=[],
    )
    leaves: list[tuple[int, int, np.ndarray, bool]] = []
    _cut_region(maps, np.ones(con.shape, bool), 0, 0, direction, False, leaves)
    limit = max(2, round(0.012 * max(h, w)))
    overlays = _overlays(holes, maps.overlap_cuts or [], content, scale, limit, con, maps.min_area)
    if overlays:
        # The panels under an overlapping one end where it covers them.
        content = content.copy()
        for x, y, bw, bh in overlays:
            content[max(0, y - limit) : y + bh + limit, max(0, x - limit) : x + bw + limit] = False
    solid = content | bubble
    bridges = body = None  # bubbles across gutters, and the rest: for the second stage
    panels: list[Panel] = []
    for leaf in leaves:
        shaped = _leaf_panel(leaf, content, scale)
        if shaped is None:
            continue
        (x0, y0, x1, y1), region, polygon = shaped
        if (x1 - x0) * (y1 - y0) < min_panel_area:
            continue
        inner = _holes_in(holes, (x0, y0, x1, y1), scale, direction)
        if inner is not None and inner[1]:
            # Frames tile the leaf: panels split only by frame lines, or joined by art.
            for b in inner[0]:
                panels.append(
                    Panel(*_grow_to_frame(content, b, (x0, y0, x1, y1), limit), "frame", 0.9)
                )
            continue
        pieces = None
        if fallback:
            pieces = _split_leaf(solid, (x0, y0, x1, y1), min_panel_area, direction)
            # The bridged split reads the leaf's box: a slanted leaf's box holds corners of
            # its neighbours.
            big = (x1 - x0) * (y1 - y0) >= 3 * min_panel_area
            if pieces is None and polygon is None and big:
                if bridges is None:
                    # Only a bubble across a gutter bridges panels; one inside a panel, even
                    # touching its edge, is the panel's: content for the second stage.
                    bridges = _bridging_bubbles(bubble, ~solid)
                    body = content | (bubble & ~bridges)
                pieces = _bridged_split(body, bridges, (x0, y0, x1, y1), min_panel_area, direction)
        if pieces is None:
            panels.append(Panel(x0, y0, x1 - x0, y1 - y0, "cut", 1.0, polygon))
        else:
            panels.extend(Panel(a, b, c - a, d - b, "contour", 0.8) for a, b, c, d in pieces)
        if inner is not None:
            for b in inner[0]:
                box = _grow_to_frame(content, b, (x0, y0, x1, y1), limit)
                # A framed panel the contour fallback already split off is no inset of it.
                if pieces is None or all(_iou(box, p) < 0.5 for p in pieces):
                    panels.append(Panel(*box, "inset", 0.7))
    for box in overlays:
        # Read before the first panel starting below its centre (the next row).
        cy = box[1] + box[3] / 2
        at = next((i for i, p in enumerate(panels) if p.y >= cy), len(panels))
        panels.insert(at, Panel(*box, "inset", 0.7))
    return panels


def _page_tilt(page: np.ndarray, tolerance: float) -> float:
    """The page's tilt in degrees (:func:`regions.comics.skew.page_skew`), from the gutter mask
    of the page shrunk to ``_SKEW_SIZE``: as exact as at full size on 1100×1600 pages (mean
    error 0.03°, 77 tilted and square pages) at a third of the time."""
    h, w = page.shape[:2]
    scale = _SKEW_SIZE / max(h, w)
    if scale < 1:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        page = cv2.resize(page, size, interpolation=cv2.INTER_AREA)
    return page_skew(gutter_mask(page, tolerance=tolerance))


def _enlarged(panel: Panel, fx: float, fy: float, shape: tuple[int, int]) -> Panel:
    """``panel`` found on a shrunk copy of the page, on the page of ``shape`` (see ``max_side``)."""
    h, w = shape
    x0, x1 = min(w, round(panel.x * fx)), min(w, round((panel.x + panel.w) * fx))
    y0, y1 = min(h, round(panel.y * fy)), min(h, round((panel.y + panel.h) * fy))
    polygon = panel.polygon
    if polygon is not None:
        polygon = tuple(
            (min(w, max(0, round(x * fx))), min(h, max(0, round(y * fy)))) for x, y in polygon
        )
    return replace(panel, x=x0, y=y0, w=x1 - x0, h=y1 - y0, polygon=polygon)


def _inside(page: np.ndarray, border: tuple[int, int, int, int], options: dict, deskew: bool):
    """The panels of ``page`` without its scanner ``border`` ``(top, bottom, left, right)``, in
    page pixels."""
    h, w = page.shape[:2]
    top, bottom, left, right = border
    paper = page[top : h - bottom, left : w - right]
    found = detect_panels(paper, **options, deskew=deskew, scan_borders=False)
    return [_moved(p, left, top) for p in found]


def _moved(panel: Panel, dx: int, dy: int) -> Panel:
    """``panel`` moved by ``(dx, dy)`` (found inside the scan border, see ``scan_borders``)."""
    polygon = panel.polygon
    if polygon is not None:
        polygon = tuple((x + dx, y + dy) for x, y in polygon)
    return replace(panel, x=panel.x + dx, y=panel.y + dy, polygon=polygon)


def _tilted_back(panel: Panel, to_square: np.ndarray, shape: tuple[int, int]) -> Panel:
    """A panel found on the squared page, on the page as given (see ``deskew``)."""
    box, corners = skew_back(panel.box, to_square, shape)
    if panel.polygon is not None:
        corners = points_back(panel.polygon, to_square, shape)
    return Panel(*box, panel.source, panel.confidence, corners)


def _overlays(
    holes: list[tuple[int, int, int, int, float]],
    cuts: list[tuple[bool, int, int, int, int, float]],
    content: np.ndarray,
    scale: float,
    limit: int,
    work_content: np.ndarray,
    min_area: float,
) -> list[tuple[int, int, int, int]]:
    """Panels drawn over a gutter that a straight cut went across (``cuts``: ``(vertical,
    x0, y0, w, h, offset)`` of each straight cut in work pixels): closed frames the cut
    crossed through their middle half, and pieces of content standing alone (a white border
    around them) that the cut crossed through their middle half and along 80 % of their
    width, that fill 85 % of their box and are panel-sized but shorter than half the cut. Full-resolution ``(x, y, w, h)`` boxes
    grown over their frame."""
    H, W = content.shape
    found: list[tuple[int, int, int, int]] = [
        (hx, hy, hw, hh) for hx, hy, hw, hh, _ in holes if hw * hh <= 0.25 * work_content.size
    ]
    n, labels, stats, _ = cv2.connectedComponentsWithStats(
        (work_content >= 0.5).view(np.uint8), connectivity=4
    )
    for vertical, x0, y0, w, h, offset in cuts:
        at = int(round((x0 if vertical else y0) + offset))
        line = labels[y0 : y0 + h, at] if vertical else labels[at, x0 : x0 + w]
        for i in np.unique(line[line > 0]):
            bx, by, bw, bh, area = (int(v) for v in stats[i])
            if area < min_area or area < 0.85 * bw * bh or max(bw, bh) <= 2:
                continue
            span = bh if vertical else bw
            if span > 0.5 * (h if vertical else w):
                continue
            if np.count_nonzero(line == i) < 0.8 * span:
                continue  # panels joined by art across the gutter, not one panel over it
            found.append((bx, by, bw, bh))
    out: list[tuple[int, int, int, int]] = []
    for hx, hy, hw, hh in found:
        for vertical, x0, y0, w, h, offset in cuts:
            if vertical:
                at, lo, hi, a0, a1 = x0 + offset, y0, y0 + h, hx, hx + hw
                b0, b1 = hy, hy + hh
            else:
                at, lo, hi, a0, a1 = y0 + offset, x0, x0 + w, hy, hy + hh
                b0, b1 = hx, hx + hw
            # Across its middle half: a panel drawn over a gutter straddles it.
            if a0 + 0.25 * (a1 - a0) < at < a1 - 0.25 * (a1 - a0) and b0 < hi and lo < b1:
                b = (round(hx / scale), round(hy / scale), round(hw / scale), round(hh / scale))
                box = _grow_to_frame(content, b, (0, 0, W, H), limit)
                if all(_iou(box, (x, y, x + bw, y + bh)) < 0.5 for x, y, bw, bh in out):
                    out.append(box)
                break
    return out


def _iou(box: tuple[int, int, int, int], corners: tuple[int, int, int, int]) -> float:
    """IoU of an ``(x, y, w, h)`` box and an ``(x0, y0, x1, y1)`` box."""
    x, y, w, h = box
    a0, b0, a1, b1 = corners
    iw = max(0, min(x + w, a1) - max(x, a0))
    ih = max(0, min(y + h, b1) - max(y, b0))
    inter = iw * ih
    return inter / max(1, w * h + (a1 - a0) * (b1 - b0) - inter)


def _grow_to_frame(
    content: np.ndarray,
    box: tuple[int, int, int, int],
    bounds: tuple[int, int, int, int],
    limit: int,
) -> tuple[int, int, int, int]:
    """A frame interior's box grown over its frame: each side moves out while the line just
    outside is mostly content, by at most ``limit`` pixels and never past ``bounds``."""
    x, y, w, h = box
    x0, y0, x1, y1 = x, y, x + w, y + h
    bx0, by0, bx1, by1 = bounds
    for _ in range(limit):
        moved = False
        if x0 > bx0 and content[y0:y1, x0 - 1].mean() > 0.5:
            x0, moved = x0 - 1, True
        if y0 > by0 and content[y0 - 1, x0:x1].mean() > 0.5:
            y0, moved = y0 - 1, True
        if x1 < bx1 and content[y0:y1, x1].mean() > 0.5:
            x1, moved = x1 + 1, True
        if y1 < by1 and content[y1, x0:x1].mean() > 0.5:
            y1, moved = y1 + 1, True
        if not moved:
            break
    return x0, y0, x1 - x0, y1 - y0


def _holes_in(
    holes: list[tuple[int, int, int, int, float]],
    box: tuple[int, int, int, int],
    scale: float,
    direction: str,
) -> tuple[list[tuple[int, int, int, int]], bool] | None:
    """Framed holes inside a leaf box (full-resolution boxes in reading order) and whether they
    tile it (True: they replace the leaf; False: insets). None when there are none."""
    x0, y0, x1, y1 = box
    area = (x1 - x0) * (y1 - y0)
    slack = 2 / scale + 2
    inside = []
    for hx, hy, hw, hh, _ in holes:
        fx0, fy0 = hx / scale, hy / scale
        fx1, fy1 = (hx + hw) / scale, (hy + hh) / scale
        if fx0 < x0 - slack or fy0 < y0 - slack or fx1 > x1 + slack or fy1 > y1 + slack:
            continue
        b = (
            max(x0, round(fx0)),
            max(y0, round(fy0)),
            min(x1, round(fx1)) - max(x0, round(fx0)),
            min(y1, round(fy1)) - max(y0, round(fy0)),
        )
        if b[2] <= 0 or b[3] <= 0 or b[2] * b[3] > 0.7 * area:
            continue  # the leaf's own frame
        touching = (fx0 < x0 + slack) + (fy0 < y0 + slack) + (fx1 > x1 - slack) + (fy1 > y1 - slack)
        inside.append((b, touching))
    tiles = [b for b, _ in inside]
    covered = sum(b[2] * b[3] for b in tiles)
    if len(tiles) >= 2 and covered >= 0.75 * area:
        order = reading_order(tiles, direction=direction)  # type: ignore[arg-type]
        return [tiles[i] for i in order], True
    # An inset touches at most two sides of its panel (a corner); a region closed by the frame
    # on three sides and an art line on the fourth is part of the picture.
    inside = [b for b, touching in inside if touching <= 2]
    if not inside:
        return None
    order = reading_order(inside, direction=direction)  # type: ignore[arg-type]
    return [inside[i] for i in order], False


def _as_box(panel) -> list[int]:
    if hasattr(panel, "box"):
        box = panel.box
    else:
        box = tuple(panel)
    if len(box) != 4:
        raise ValueError(f"panels: expected (x, y, w, h) boxes, got {panel!r}")
    return [int(v) for v in box]


def panels_to_kumiko(
    filename: str,
    size: Sequence[int],
    panels: Iterable,
    *,
    numbering: Direction | None = None,
) -> dict:
    """One page in kumiko's JSON layout.

    Parameters
    ----------
    filename : str, the page's file name as kumiko reports it
    size : (width, height) of the page
    panels : iterable of Panel, Cut or ``(x, y, w, h)``, in reading order
    numbering : "ltr", "rtl" or None; kumiko's ``numbering`` key, written when given

    Returns
    -------
    ``{"filename": str, "size": [w, h], "panels": [[x, y, w, h], ...]}`` (+ ``"numbering"``;
    + ``"polygons"``, one ``[[x, y], ...]`` or None per panel, when any panel has a polygon),
    plain Python ints, ready for ``json.dumps``.
    """
    if not isinstance(filename, str):
        raise ValueError(f"filename: expected a string, got {type(filename).__name__}")
    size = [int(v) for v in size]
    if len(size) != 2 or min(size) <= 0:
        raise ValueError(f"size: expected positive (width, height), got {size!r}")
    if numbering is not None:
        _check_direction(numbering)
    out: dict = {"filename": filename, "size": size}
    if numbering is not None:
        out["numbering"] = numbering
    panels = list(panels)
    out["panels"] = [_as_box(p) for p in panels]
    polygons = [getattr(p, "polygon", None) for p in panels]
    if any(polygons):
        # Not in kumiko's format (readers ignore it): a panel's outline where it is no rectangle.
        out["polygons"] = [
            None if poly is None else [[int(x), int(y)] for x, y in poly] for poly in polygons
        ]
    return out


def draw_panels(
    page: np.ndarray,
    panels: Iterable,
    *,
    colour: tuple[int, int, int] = (0, 0, 255),
    thickness: int = 2,
) -> np.ndarray:
    """Debug overlay: each panel's box and its reading-order number on a copy of ``page``.

    Returns
    -------
    (H, W, 3) uint8, a new array.
    """
    out = _check_page(page).copy()
    for i, p in enumerate(panels):
        x, y, w, h = _as_box(p)
        polygon = getattr(p, "polygon", None)
        if polygon is not None:
            cv2.polylines(out, [np.array(polygon, np.int32)], True, colour, thickness)
        else:
            cv2.rectangle(out, (x, y), (x + w - 1, y + h - 1), colour, thickness)
        cv2.putText(out, str(i + 1), (x + 4, y + 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, colour, 2)
    return out

"""Cut detection on a vertical webtoon strip: gutter rows → cuts (panels) and floating fragments.

Long because the three modes (ours, seed-rough, seed) share the row statistics and their checks,
and are kept side by side so they stay comparable.

Everything ``mode="ours"`` needs is a handful of numbers per row (:class:`RowStatistics`), so a
strip too long to hold in memory can be scanned slice by slice: compute :func:`row_statistics` on
each placed slice (``regions.comics.strips.StripIndex.place``), :meth:`RowStatistics.concatenate` them,
and call :func:`cuts_from_statistics`. The result equals :func:`detect_cuts` on the linked strip.

Modes
-----
``"ours"``
    A row is a gutter when nearly every pixel lies within ``tolerance`` of the row's median colour
    (so tinted, black, white and vertically graded gutters all count, and JPEG noise does not break
    them). Runs of such rows are split where their colour steps; pieces shorter than
    ``min_gutter`` rows, or (``gutter_colour``) of a colour other than the gutter's, are content. Each
    content block between gutters becomes a cut, including blocks touching the top or bottom; its
    x-range is trimmed with a horizontal gutter test (columns matching the gutter colour on every
    row are dropped). Blocks smaller than ``min_cut_height``/``min_cut_area`` are *fragments*
    (speech bubbles, sound effects floating between panels): merged into the nearest cut, or
    emitted with ``kind="fragment"``.
``"seed-rough"``
    The seed's rough detector as REFERENCE §2 describes it (written from that description, not
    from the seed's code): a row is a gutter iff all of its values (every channel of every pixel)
    are one single value, so tinted gutters never count and one JPEG speck joins neighbouring
    blocks; every maximal run of content rows with a gutter row above and below becomes a
    full-width cut, with no minimum height; runs touching the top or bottom are dropped.
``"seed"``
    ``"seed-rough"`` followed by the seed's final detector on each rough cut, again from the
    description: grey → Canny (thresholds 3000/2000, aperture 5, L2 gradient) → Hough lines; only
    exactly horizontal lines are kept and the cut is cropped between the topmost and bottommost of
    them; no such line (or only one row) drops the cut. Our Hough reading: ``cv2.HoughLines`` with
    1-px, 1° resolution and a vote threshold of half the cut's width (a line must span half the
    strip). Needs the strip's pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

CutMode = Literal["ours", "seed", "seed-rough"]
FragmentPolicy = Literal["merge", "separate"]
_MODES = ("ours", "seed", "seed-rough")
_FRAGMENT_POLICIES = ("merge", "separate")
_CHUNK_ROWS = 256  # bounds the float temporaries to ~chunk × width × 3 values
_EDGE_PIXELS = 3  # pixels averaged for a row's left/right edge colour
_SAME_COLOUR = 6  # grey levels within which gutter runs count as one flat colour


@dataclass(frozen=True)
class Cut:
    """One cut of a strip: the box ``[x, x + w) × [y, y + h)`` in strip pixels.

    ``kind`` is ``"panel"`` or ``"fragment"``; ``confidence`` in (0, 1] is a ranking heuristic,
    not a calibrated probability: 1 for a block closed by gutters on both sides, halved when the
    block touches the strip's top or bottom (it may continue in another strip), 0.9× when
    fragments were merged in, and ``0.5 × min(1, h / min_cut_height)`` for fragments.
    """

    x: int
    y: int
    w: int
    h: int
    kind: str = "panel"
    confidence: float = 1.0

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)


@dataclass(frozen=True, eq=False)
class RowStatistics:
    """Per-row numbers from which cuts are found (arrays have one entry per strip row).

    Attributes
    ----------
    width : int, the strip width
    tolerance : float, the colour tolerance the counts were taken with
    colour : (H, 3) float32, the row's median colour (per channel; the lower median)
    outliers : (H,) int32, pixels farther than ``tolerance`` from ``colour`` (max over channels)
    uniform : (H,) bool, the seed's test: every value of the row is one single value
    left_colour, right_colour : (H, 3) float32, mean colour of the row's first/last 3 pixels
    left : (H,) int32, first column farther than ``tolerance`` from ``left_colour`` (rounded)
        (``width`` if none)
    right : (H,) int32, one past the last column farther than ``tolerance`` from
        ``right_colour`` (rounded) (0 if none)
    """

    width: int
    tolerance: float
    colour: np.ndarray
    outliers: np.ndarray
    uniform: np.ndarray
    left_colour: np.ndarray
    right_colour: np.ndarray
    left: np.ndarray
    right: np.ndarray

    def __len__(self) -> int:
        return int(self.outliers.shape[0])

    @staticmethod
    def concatenate(parts: Sequence[RowStatistics]) -> RowStatistics:
        """Statistics of slices stacked top to bottom (same width and tolerance)."""
        parts = list(parts)
        if not parts:
            raise ValueError("parts: nothing to concatenate")
        if len({p.width for p in parts}) != 1 or len({p.tolerance for p in parts}) != 1:
            raise ValueError("parts: widths and tolerances must all be equal")
        fields = ("colour", "outliers", "uniform", "left_colour", "right_colour", "left", "right")
        joined = {f: np.concatenate([getattr(p, f) for p in parts]) for f in fields}
        return RowStatistics(width=parts[0].width, tolerance=parts[0].tolerance, **joined)


def _check_strip(strip: np.ndarray, name: str = "strip") -> np.ndarray:
    strip = np.asarray(strip)
    if strip.ndim != 3 or strip.shape[2] != 3 or strip.dtype != np.uint8:
        raise ValueError(f"{name}: expected (H, W, 3) uint8, got {strip.shape} {strip.dtype}")
    if strip.shape[0] == 0 or strip.shape[1] == 0:
        raise ValueError(f"{name}: empty image {strip.shape}")
    return strip


def _check_tolerance(tolerance: float) -> float:
    if not np.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"tolerance: expected a finite value >= 0, got {tolerance!r}")
    return float(tolerance)


def row_statistics(strip: np.ndarray, *, tolerance: float = 24.0) -> RowStatistics:
    """Per-row gutter statistics of a strip or of one placed slice of it.

    Parameters
    ----------
    strip : (H, W, 3) uint8
    tolerance : float >= 0, colour distance (max over channels, in grey levels) a gutter pixel may
        have from its row's median colour; absorbs JPEG noise and gradients.

    Returns
    -------
    RowStatistics with H rows. Rows are independent, so the statistics of a strip equal the
    concatenation of its slices' statistics.
    """
    strip = _check_strip(strip)
    tolerance = _check_tolerance(tolerance)
    h, w, _ = strip.shape
    edge = min(_EDGE_PIXELS, w)
    colour = np.empty((h, 3), np.float32)
    outliers = np.empty(h, np.int32)
    uniform = np.empty(h, bool)
    left_colour = np.empty((h, 3), np.float32)
    right_colour = np.empty((h, 3), np.float32)
    left = np.empty(h, np.int32)
    right = np.empty(h, np.int32)
    columns = np.arange(w, dtype=np.int32)
    mid = (w - 1) // 2
    for y0 in range(0, h, _CHUNK_ROWS):
        rows = np.ascontiguousarray(strip[y0 : y0 + _CHUNK_ROWS])
        n = rows.shape[0]
        sl = slice(y0, y0 + n)
        # The (lower) median, unlike the mean, leaves a minority of content pixels at full
        # contrast; exact uint8 arithmetic keeps this fast.
        med = np.partition(rows, mid, axis=1)[:, mid]
        colour[sl] = med
        outliers[sl] = (_channel_max(cv2.absdiff(rows, _spread(med, w))) > tolerance).sum(axis=1)
        uniform[sl] = (rows == rows[:, :1, :1]).all(axis=(1, 2))
        lc = rows[:, :edge].mean(axis=1, dtype=np.float32)
        rc = rows[:, w - edge :].mean(axis=1, dtype=np.float32)
        left_colour[sl] = lc
        right_colour[sl] = rc
        off_left = (
            _channel_max(cv2.absdiff(rows, _spread(np.rint(lc).astype(np.uint8), w))) > tolerance
        )
        off_right = (
            _channel_max(cv2.absdiff(rows, _spread(np.rint(rc).astype(np.uint8), w))) > tolerance
        )
        left[sl] = np.where(off_left.any(axis=1), off_left.argmax(axis=1), w)
        right[sl] = np.where(off_right, columns + 1, 0).max(axis=1)
    return RowStatistics(
        width=w,
        tolerance=tolerance,
        colour=colour,
        outliers=outliers,
        uniform=uniform,
        left_colour=left_colour,
        right_colour=right_colour,
        left=left,
        right=right,
    )


def _spread(colours: np.ndarray, width: int) -> np.ndarray:
    """(n, 3) uint8 colours → (n, width, 3) contiguous image, one colour per row."""
    return np.ascontiguousarray(np.broadcast_to(colours[:, None, :], (colours.shape[0], width, 3)))


def _channel_max(diff: np.ndarray) -> np.ndarray:
    return np.maximum(np.maximum(diff[..., 0], diff[..., 1]), diff[..., 2])


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _seed_rough_blocks(uniform: np.ndarray) -> list[tuple[int, int]]:
    """(first row, height) of each run of content rows with a gutter row above and below."""
    last = len(uniform)
    return [(a, b - a) for a, b in _runs(~np.asarray(uniform, bool)) if a > 0 and b < last]


def _seed_final_rows(cut_pixels: np.ndarray) -> tuple[int, int] | None:
    """Canny + Hough on one rough cut: (top, bottom) rows between exactly horizontal lines."""
    width = cut_pixels.shape[1]
    grey = cv2.cvtColor(cut_pixels, cv2.COLOR_BGR2GRAY)
    edges = cv2.Canny(grey, 3000, 2000, apertureSize=5, L2gradient=True)
    lines = cv2.HoughLines(edges, 1, np.pi / 180, max(1, width // 2))
    if lines is None:
        return None
    horizontal = np.pi / 2
    ys = [
        int(round(rho))
        for rho, theta in lines.reshape(-1, 2).tolist()
        if abs(theta - horizontal) < 1e-6
    ]
    if len(set(ys)) < 2:
        return None
    return min(ys), max(ys)


def _auto(value: float | None, default: float, name: str) -> float:
    if value is None:
        return default
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name}: expected a value >= 0 or None, got {value!r}")
    return float(value)


def cuts_from_statistics(
    stats: RowStatistics,
    *,
    mode: Literal["ours", "seed-rough"] = "ours",
    min_gutter: int | None = None,
    min_cut_height: float | None = None,
    min_cut_area: float | None = None,
    outlier_fraction: float = 0.002,
    fragments: FragmentPolicy = "merge",
    gutter_colour: Literal["auto"] | Sequence[float] | None = "auto",
    bridges: bool = True,
) -> list[Cut]:
    """Cuts of a strip from its row statistics (see :func:`detect_cuts` for the options).

    Returns
    -------
    list of Cut, top to bottom.
    """
    if not isinstance(stats, RowStatistics):
        raise ValueError(f"stats: expected RowStatistics, got {type(stats).__name__}")
    if mode not in ("ours", "seed-rough"):
        raise ValueError(f"mode: expected 'ours' or 'seed-rough' from statistics, got {mode!r}")
    if fragments not in _FRAGMENT_POLICIES:
        raise ValueError(f"fragments: expected one of {_FRAGMENT_POLICIES}, got {fragments!r}")
    if not 0 <= outlier_fraction < 1:
        raise ValueError(f"outlier_fraction: expected a value in [0, 1), got {outlier_fraction!r}")
    if isinstance(gutter_colour, str):
        if gutter_colour != "auto":
            raise ValueError(
                f"gutter_colour: expected 'auto', None or 3 values, got {gutter_colour!r}"
            )
    elif gutter_colour is not None and np.asarray(gutter_colour).shape != (3,):
        raise ValueError(f"gutter_colour: expected 'auto', None or 3 values, got {gutter_colour!r}")
    height, width = len(stats), stats.width
    if mode == "seed-rough":
        return [Cut(0, y, width, h) for y, h in _seed_rough_blocks(stats.uniform)]

    gap = int(_auto(min_gutter, max(2, round(0.01 * width)), "min_gutter"))
    min_h = _auto(min_cut_height, 0.2 * width, "min_cut_height")
    min_area = _auto(min_cut_area, 0.12 * width * width, "min_cut_area")
    max_outliers = int(outlier_fraction * width)

    gutter = _gutter_rows(stats, gap, max_outliers, gutter_colour)

    blocks = []
    spans = []
    for y0, y1 in _runs(~gutter):
        spans += _split_bridges(stats, y0, y1, gap, min_h) if bridges else [(y0, y1)]
    for y0, y1 in spans:
        x0, x1 = _trim_columns(stats, y0, y1)
        touches = y0 == 0 or y1 == height
        small = (y1 - y0) < min_h or (x1 - x0) * (y1 - y0) < min_area
        blocks.append([x0, y0, x1, y1, small, touches])

    cuts: list[Cut] = []
    panels = [b for b in blocks if not b[4]]
    if fragments == "merge" and panels:
        merged: dict[int, list] = {id(p): list(p) for p in panels}
        was_merged: set[int] = set()
        for b in blocks:
            if not b[4]:
                continue
            # Nearest panel by vertical gap; a tie goes to the panel above, whose dialogue a
            # bubble under it usually continues.
            best = min(panels, key=lambda p, b=b: (max(p[1] - b[3], b[1] - p[3]), p[1] > b[1]))
            m = merged[id(best)]
            m[0], m[1], m[2], m[3] = (
                min(m[0], b[0]),
                min(m[1], b[1]),
                max(m[2], b[2]),
                max(m[3], b[3]),
            )
            was_merged.add(id(best))
        for p in panels:
            x0, y0, x1, y1, _, _ = merged[id(p)]
            touches = y0 == 0 or y1 == height
            conf = (0.5 if touches else 1.0) * (0.9 if id(p) in was_merged else 1.0)
            cuts.append(Cut(x0, y0, x1 - x0, y1 - y0, "panel", conf))
    else:
        for x0, y0, x1, y1, small, touches in blocks:
            if small:
                conf = 0.5 * min(1.0, (y1 - y0) / min_h) if min_h > 0 else 0.5
                cuts.append(Cut(x0, y0, x1 - x0, y1 - y0, "fragment", conf))
            else:
                cuts.append(Cut(x0, y0, x1 - x0, y1 - y0, "panel", 0.5 if touches else 1.0))
    cuts.sort(key=lambda c: (c.y, c.x))
    return cuts


def _gutter_rows(
    stats: RowStatistics,
    gap: int,
    max_outliers: int,
    gutter_colour: str | Sequence[float] | None,
) -> np.ndarray:
    """(H,) bool: the rows that separate cuts."""
    height = len(stats)
    tol = stats.tolerance
    candidate = stats.outliers <= max_outliers
    # A frameless full-width panel with a flat background starts with a colour step inside a
    # run of uniform rows: split there, so each side can be judged by its colour.
    step = np.zeros(height, bool)
    step[1:] = np.abs(np.diff(stats.colour, axis=0)).max(axis=1) > tol
    segments = []
    for a, b in _runs(candidate):
        cuts = [a, *(int(r) for r in np.flatnonzero(step[a + 1 : b]) + a + 1), b]
        segments += [(s0, s1) for s0, s1 in zip(cuts[:-1], cuts[1:], strict=True)]
    # Short blank runs inside art are content; runs at the strip's ends are margins whatever
    # their length.
    segments = [(a, b) for a, b in segments if b - a >= gap or a == 0 or b == height]
    colours = [np.median(stats.colour[a:b], axis=0) for a, b in segments]
    keep = [True] * len(segments)
    if isinstance(gutter_colour, str) and segments:  # "auto"
        # Only a truly single-colour gutter (one colour, within a few levels, over half of the
        # gutter rows in three runs or more) lets runs of a rare other colour (a panel's flat
        # sky) be rejected. Gradients never qualify and keep every run.
        lengths = np.array([b - a for a, b in segments])
        c = np.array(colours)
        distance = np.abs(c[:, None] - c[None]).max(axis=2)
        close = distance <= _SAME_COLOUR
        support = close.astype(np.int64) @ lengths
        best = int(np.argmax(support))
        total = int(lengths.sum())
        if support[best] >= 0.5 * total and close[best].sum() >= 3:
            far = distance[best] > tol
            for i in np.flatnonzero(far):
                kin = far & (distance[i] <= tol)
                keep[i] = bool(3 * lengths[kin].sum() >= total)
    elif gutter_colour is not None:
        ref = np.asarray(gutter_colour, dtype=np.float64)
        keep = [bool(np.abs(c - ref).max() <= tol) for c in colours]
    gutter = np.zeros(height, bool)
    for (a, b), k in zip(segments, keep, strict=True):
        gutter[a:b] = k
    return gutter


def _split_bridges(
    stats: RowStatistics, y0: int, y1: int, gap: int, min_h: float
) -> list[tuple[int, int]]:
    """Block rows [y0, y1) split where a bubble or art bridges the gap between two cuts.

    A bridged gap still shows as rows whose median, left and right edge colours are the gutter's
    (interpolated between the gutter rows above and below the block) and whose off-gutter
    pixels fill a narrow span (at most 60 % of the width). A run of such rows, at least ``max(gap, 3 % of the width)``
    tall, splits the block when both sides keep ``min_h`` rows and the content right above and
    below is at least 1.4 times as wide as the bridge (a narrow figure on a frameless panel is
    as narrow above and below its waist, so it stays whole).
    """
    height, width = len(stats), stats.width
    above = stats.colour[y0 - 1] if y0 > 0 else None
    below = stats.colour[y1] if y1 < height else None
    if above is None and below is None:
        return [(y0, y1)]
    above = below if above is None else above
    below = above if below is None else below
    t = ((np.arange(y0, y1) - y0 + 1) / (y1 - y0 + 1))[:, None]
    behind = above[None, :] * (1 - t) + below[None, :] * t
    tol = stats.tolerance
    gutterish = (
        (np.abs(stats.colour[y0:y1] - behind).max(axis=1) <= tol)
        & (np.abs(stats.left_colour[y0:y1] - behind).max(axis=1) <= tol)
        & (np.abs(stats.right_colour[y0:y1] - behind).max(axis=1) <= tol)
    )
    span = np.clip(stats.right[y0:y1] - stats.left[y0:y1], 0, None)
    narrow = gutterish & (span <= 0.6 * width)
    shortest = max(gap, round(0.03 * width))
    look = max(8, round(0.05 * width))
    out, start = [], y0
    for a, b in _runs(narrow):
        a, b = a + y0, b + y0
        if b - a < shortest or a - start < min_h or y1 - b < min_h:
            continue
        bridge = float(np.median(span[a - y0 : b - y0]))
        up = span[max(start, a - look) - y0 : a - y0]
        down = span[b - y0 : min(y1, b + look) - y0]
        if min(np.median(up), np.median(down)) < max(1.4 * bridge, 0.5 * width):
            continue
        out.append((start, a))
        start = b
    out.append((start, y1))
    return out


def _trim_columns(stats: RowStatistics, y0: int, y1: int) -> tuple[int, int]:
    """Horizontal gutter test for block rows [y0, y1): the content's [x0, x1)."""
    height, width = len(stats), stats.width
    above = stats.colour[y0 - 1] if y0 > 0 else None
    below = stats.colour[y1] if y1 < height else None
    if above is None and below is None:
        return 0, width
    if above is None:
        above = below
    if below is None:
        below = above
    # The gutter colour behind the block, interpolated so vertical gradients stay gutter.
    t = ((np.arange(y0, y1) - y0 + 1) / (y1 - y0 + 1))[:, None]
    behind = above[None, :] * (1 - t) + below[None, :] * t
    tol = stats.tolerance
    left_is_gutter = np.abs(stats.left_colour[y0:y1] - behind).max(axis=1) <= tol
    right_is_gutter = np.abs(stats.right_colour[y0:y1] - behind).max(axis=1) <= tol
    x0 = int(np.where(left_is_gutter, stats.left[y0:y1], 0).min())
    x1 = int(np.where(right_is_gutter, stats.right[y0:y1], width).max())
    if x1 <= x0:  # no column stands out from the gutter: keep the full width
        return 0, width
    return x0, x1


def detect_cuts(
    strip: np.ndarray,
    *,
    mode: CutMode = "ours",
    tolerance: float = 24.0,
    min_gutter: int | None = None,
    min_cut_height: float | None = None,
    min_cut_area: float | None = None,
    outlier_fraction: float = 0.002,
    fragments: FragmentPolicy = "merge",
    gutter_colour: Literal["auto"] | Sequence[float] | None = "auto",
    bridges: bool = True,
) -> list[Cut]:
    """Find the cuts (panels) of a vertical strip.

    Parameters
    ----------
    strip : (H, W, 3) uint8, a linked strip (BGR as OpenCV decodes it)
    mode : {"ours", "seed", "seed-rough"}
        See the module docstring. The seed modes ignore every option below.
    tolerance : float, colour tolerance of the gutter test (grey levels, max over channels)
    min_gutter : int or None
        Shortest run of gutter rows that separates cuts; default ``max(2, round(0.01 * W))``.
    min_cut_height, min_cut_area : float or None
        Blocks lower than ``min_cut_height`` rows or smaller than ``min_cut_area`` pixels are
        fragments; defaults ``0.2 * W`` and ``0.12 * W**2`` (a speech bubble is rarely that big,
        a panel rarely smaller).
    outlier_fraction : float in [0, 1)
        A gutter row may have up to ``int(outlier_fraction * W)`` pixels off its colour (specks).
    fragments : {"merge", "separate"}
        ``"merge"``: each fragment joins the cut nearest to it (no content is lost; falls back
        to ``"separate"`` when there is no panel at all). ``"separate"``: fragments are returned
        with ``kind="fragment"``.
    gutter_colour : "auto", None or three values (the strip's channel order)
        Uniform rows are split where their colour steps (a frameless full-width panel's edge).
        ``"auto"``: when one flat colour (within 6 levels) covers at least half of those rows in
        three runs or more, runs farther than ``tolerance`` from it whose colour covers under a
        third of the rows (a panel's flat background) are content; otherwise (gradients)
        every run counts. A short section of a strip with gutters of another colour (say black
        for a flashback, under a third of the gutter rows) is then merged: pass ``None``. ``None``: every uniform run is a gutter. Three values: only runs within
        ``tolerance`` of that colour are gutters.
    bridges : bool
        Split a block where a speech bubble or art crosses the gap between two cuts: rows of
        the gutter's colour whose other pixels fill a narrow span, between wider content.

    Returns
    -------
    list of Cut, top to bottom. ``strip`` is not modified.
    """
    if mode not in _MODES:
        raise ValueError(f"mode: expected one of {_MODES}, got {mode!r}")
    strip = _check_strip(strip)
    tolerance = _check_tolerance(tolerance)
    if mode == "ours":
        return cuts_from_statistics(
            row_statistics(strip, tolerance=tolerance),
            mode="ours",
            min_gutter=min_gutter,
            min_cut_height=min_cut_height,
            min_cut_area=min_cut_area,
            outlier_fraction=outlier_fraction,
            fragments=fragments,
            gutter_colour=gutter_colour,
            bridges=bridges,
        )
    # The seed's test alone: every value of the row (all channels) equals the first.
    uniform = np.concatenate(
        [
            (rows == rows[:, :1, :1]).all(axis=(1, 2))
            for rows in (strip[y : y + _CHUNK_ROWS] for y in range(0, strip.shape[0], _CHUNK_ROWS))
        ]
    )
    width = strip.shape[1]
    rough = [Cut(0, y, width, h) for y, h in _seed_rough_blocks(uniform)]
    if mode == "seed-rough":
        return rough
    cuts = []
    for c in rough:
        rows = _seed_final_rows(strip[c.y : c.y + c.h])
        if rows is not None:
            cuts.append(Cut(0, c.y + rows[0], c.w, rows[1] - rows[0]))
    return cuts


def crop(strip: np.ndarray, cut: Cut, *, copy: bool = False) -> np.ndarray:
    """The pixels of ``cut``: ``strip[y : y + h, x : x + w]`` (a view unless ``copy``)."""
    strip = np.asarray(strip)
    if strip.ndim < 2:
        raise ValueError(f"strip: expected an image, got shape {strip.shape}")
    if not isinstance(cut, Cut):
        raise ValueError(f"cut: expected a Cut, got {type(cut).__name__}")
    h, w = strip.shape[:2]
    if cut.w <= 0 or cut.h <= 0 or cut.x < 0 or cut.y < 0 or cut.x + cut.w > w or cut.y + cut.h > h:
        raise ValueError(f"cut: box {cut.box} outside the {w}x{h} strip")
    out = strip[cut.y : cut.y + cut.h, cut.x : cut.x + cut.w]
    return out.copy() if copy else out

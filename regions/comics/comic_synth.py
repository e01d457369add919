"""Synthetic webtoon strips and comic pages with exact panel ground truth.

Long because each page category (issue 14's real failure modes) is a small drawing routine over
shared layout helpers; they are read and changed together with the benchmark's category table.

Deterministic for a given ``seed``. Images are BGR uint8 (as OpenCV decodes files). Ground truth
is one ``(x, y, w, h)`` box per panel, in reading order:

- a bordered panel's box is the outer edge of its frame;
- a borderless (frameless) panel's box is its filled rectangle;
- a floating-art panel (strips only: a figure drawn straight on the gutter) is the bounding box
  of the pixels drawn;
- speech bubbles are not panels: bubbles inside panels, bubbles overlapping a panel edge into the
  gutter, bubbles bridging the gutter between two panels (pages) and bubbles floating in a gutter
  between panels (strips) are drawn on top and listed separately.

Gutters are white, black, tinted (a random flat colour) or a vertical gradient; with probability
``jpeg_probability`` the image goes through ``cv2.imencode(".jpg")`` at a random quality in
``jpeg_quality``, in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from regionflow.regions.comics.panels import reading_order

GutterKind = Literal["white", "black", "tinted", "gradient"]
GUTTER_KINDS: tuple[str, ...] = ("white", "black", "tinted", "gradient")
_MIN_CONTRAST = 70  # grey levels (max over channels) between a frameless panel and its gutter
_LETTERS = "ABCDEFGHIJKLMNOPRSTUVWY!?"


@dataclass(frozen=True, eq=False)
class SynthComic:
    """A synthetic strip or page and its ground truth.

    Attributes
    ----------
    image : (H, W, 3) uint8 BGR
    panels : (N, 4) int64 ``(x, y, w, h)`` boxes in reading order
    panel_kinds : tuple of str, ``"bordered"``, ``"borderless"`` or ``"floating"`` per panel
    bubbles : (M, 4) int64 ``(x, y, w, h)`` of every speech bubble
    bubble_kinds : tuple of str, ``"inside"``, ``"edge"``, ``"bridge"`` or ``"floating"``
    gutter : the gutter kind
    direction : ``"ltr"`` or ``"rtl"`` for pages, ``"ttb"`` (top to bottom) for strips
    jpeg_quality : int or None
    """

    image: np.ndarray
    panels: np.ndarray
    panel_kinds: tuple[str, ...]
    bubbles: np.ndarray
    bubble_kinds: tuple[str, ...]
    gutter: str
    direction: str = "ltr"
    jpeg_quality: int | None = None


def _check_choice(value: str | None, options: tuple[str, ...], name: str) -> None:
    if value is not None and value not in options:
        raise ValueError(f"{name}: expected one of {options} or None, got {value!r}")


def _random_colour(rng: np.random.Generator, lo: int = 0, hi: int = 256) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(lo, hi, 3))  # type: ignore[return-value]


def _gutter_canvas(rng: np.random.Generator, height: int, width: int, kind: str) -> np.ndarray:
    """The gutter background: one colour, or a piecewise-linear vertical gradient."""
    canvas = np.empty((height, width, 3), np.uint8)
    if kind == "white":
        colours = [np.array([255, 255, 255])]
    elif kind == "black":
        colours = [np.array([0, 0, 0])]
    elif kind == "tinted":
        colours = [np.array(_random_colour(rng, 40, 236))]
    else:
        n = int(rng.integers(2, 5))
        colours = [np.array(_random_colour(rng, 30, 246)) for _ in range(n)]
    if len(colours) == 1:
        canvas[:] = colours[0]
        return canvas
    # Piecewise-linear vertical gradient: every row is one colour, colours change slowly.
    stops = np.linspace(0, height - 1, len(colours))
    rows = np.arange(height)
    ramp = np.stack(
        [np.interp(rows, stops, [c[ch] for c in colours]) for ch in range(3)], axis=1
    ).round()
    canvas[:] = ramp.astype(np.uint8)[:, None, :]
    return canvas


def _contrasting_colour(
    rng: np.random.Generator, avoid: list[np.ndarray], minimum: int = _MIN_CONTRAST
) -> tuple[int, int, int]:
    for _ in range(200):
        c = np.array(_random_colour(rng))
        if all(np.abs(c - a).max() >= minimum for a in avoid):
            return tuple(int(v) for v in c)  # type: ignore[return-value]
    # Fall back to the colour farthest from the first gutter colour.
    return tuple(int(255 - v) if v < 128 else 0 for v in avoid[0])  # type: ignore[return-value]


def _draw_art(
    rng: np.random.Generator, h: int, w: int, background: tuple[int, int, int]
) -> np.ndarray:
    """A panel's picture: a sky/ground split, a few outlined shapes and a simple figure."""
    art = np.empty((h, w, 3), np.uint8)
    art[:] = background
    if rng.random() < 0.6:
        horizon = int(rng.integers(h // 3, max(h // 3 + 1, 5 * h // 6)))
        ground = _random_colour(rng, 60, 230)
        pts = [(0, horizon)]
        for x in np.linspace(0, w, int(rng.integers(3, 8))):
            pts.append((int(x), int(horizon + rng.integers(-h // 8 - 1, h // 8 + 1))))
        pts += [(w, h), (0, h)]
        cv2.fillPoly(art, [np.array(pts, np.int32)], ground, cv2.LINE_AA)
        cv2.polylines(art, [np.array(pts[:-2], np.int32)], False, (20, 20, 20), 2, cv2.LINE_AA)
    for _ in range(int(rng.integers(2, 6))):
        colour = _random_colour(rng, 30, 240)
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        if rng.random() < 0.5:
            axes = (int(rng.integers(6, max(7, w // 5))), int(rng.integers(6, max(7, h // 5))))
            angle = float(rng.uniform(0, 180))
            cv2.ellipse(art, (cx, cy), axes, angle, 0, 360, colour, -1, cv2.LINE_AA)
            cv2.ellipse(art, (cx, cy), axes, angle, 0, 360, (15, 15, 15), 2, cv2.LINE_AA)
        else:
            n = int(rng.integers(3, 6))
            r = int(rng.integers(8, max(9, min(h, w) // 4)))
            angles = np.sort(rng.uniform(0, 2 * np.pi, n))
            poly = np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles)], 1).astype(np.int32)
            cv2.fillPoly(art, [poly], colour, cv2.LINE_AA)
            cv2.polylines(art, [poly], True, (15, 15, 15), 2, cv2.LINE_AA)
    _draw_figure(rng, art, size=float(rng.uniform(0.25, 0.45)))
    for _ in range(int(rng.integers(0, 6))):  # speed lines, hatching
        p = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        q = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.line(art, p, q, (30, 30, 30), 1, cv2.LINE_AA)
    return art


def _draw_figure(
    rng: np.random.Generator, art: np.ndarray, mask: np.ndarray | None = None, *, size: float = 0.3
) -> None:
    """A head-and-body figure standing on a ground patch, one connected blob.

    ``size`` scales the body to the picture's height; every pixel drawn is also set in ``mask``
    when given (outlines included), so the blob's bounding box is exact.
    """
    h, w = art.shape[:2]
    body_h = max(8, int(h * rng.uniform(size, size + 0.08) / 2))
    head_r = max(5, int(h * rng.uniform(0.08, 0.12)))
    half_w = max(4, min(w // 3, body_h // 2 + int(rng.integers(0, body_h // 2 + 1))))
    cx = int(rng.integers(half_w + 4, max(half_w + 5, w - half_w - 4)))
    ground_h = max(4, h // 14)
    base = int(rng.integers(min(h - ground_h - 3, 2 * body_h + 2 * head_r + 4), h - ground_h - 2))
    body_c = (cx, base - body_h)
    head_c = (
        cx + int(rng.integers(-head_r // 2, head_r // 2 + 1)),
        base - 2 * body_h - head_r // 2,
    )
    ground_c = (cx, base)
    ground_ax = (max(half_w + 4, int(w * rng.uniform(0.25, 0.45))), ground_h)
    ground_ax = (min(ground_ax[0], cx - 3, w - cx - 4), ground_h)
    skin, cloth, hair = (170, 200, 240), _random_colour(rng, 40, 220), _random_colour(rng, 0, 120)
    shade = _random_colour(rng, 60, 200)
    ink = (10, 10, 10)
    shapes = [  # (centre, axes, fill)
        (ground_c, ground_ax, shade),
        (body_c, (half_w, body_h), cloth),
        (head_c, (head_r, head_r), skin),
    ]
    for centre, axes, fill in shapes:
        cv2.ellipse(art, centre, axes, 0, 0, 360, fill, -1, cv2.LINE_AA)
        cv2.ellipse(art, centre, axes, 0, 0, 360, ink, 2, cv2.LINE_AA)
        if mask is not None:
            cv2.ellipse(mask, centre, axes, 0, 0, 360, 255, -1)
            cv2.ellipse(mask, centre, axes, 0, 0, 360, 255, 3)
    cv2.ellipse(art, head_c, (head_r, head_r), 0, 180, 360, hair, -1, cv2.LINE_AA)
    eye_y = head_c[1] + head_r // 5
    for dx in (-head_r // 3, head_r // 3):
        cv2.circle(art, (head_c[0] + dx, eye_y), max(1, head_r // 8), ink, -1)


def _paste_panel(
    rng: np.random.Generator, canvas: np.ndarray, box: tuple[int, int, int, int], kind: str
) -> tuple[int, int, int, int]:
    """Draw one panel in ``box``; returns its ground-truth box."""
    x, y, w, h = box
    if kind == "floating":
        region = canvas[y : y + h, x : x + w]
        art = region.copy()
        mask = np.zeros((h, w), np.uint8)
        _draw_figure(rng, art, mask, size=0.55)
        ys, xs = np.nonzero(mask)
        canvas[y : y + h, x : x + w] = np.where(mask[..., None] > 0, art, region)
        return (x + int(xs.min()), y + int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1)
    if kind == "borderless":
        # Frameless art must stand out from the gutter it sits on, gradient included.
        around = [canvas[y + dy, max(0, x - 1)].astype(int) for dy in range(0, h, 4)]
        around += [
            canvas[y + dy, min(canvas.shape[1] - 1, x + w)].astype(int) for dy in range(0, h, 4)
        ]
        background = _contrasting_colour(rng, around)
    else:
        background = _contrasting_colour(rng, [np.array([10, 10, 10])])
    art = _draw_art(rng, h, w, background)
    if kind == "borderless":
        edge = np.ones((h, w), bool)
        edge[4:-4, 4:-4] = False
        art[edge] = background
    else:
        t = int(rng.integers(2, 6))
        art[:t], art[-t:], art[:, :t], art[:, -t:] = 0, 0, 0, 0
    canvas[y : y + h, x : x + w] = art
    return (x, y, w, h)


def _draw_bubble(
    rng: np.random.Generator,
    canvas: np.ndarray,
    centre: tuple[int, int],
    axes: tuple[int, int],
    *,
    tail: bool = True,
) -> tuple[int, int, int, int]:
    """A white speech bubble with an outline, a tail and a few words; returns its box."""
    H, W = canvas.shape[:2]
    ax, ay = axes
    outline = int(rng.integers(2, 4))
    # Work in a window around the bubble (tail and outline included), clipped to the canvas.
    x0, x1 = max(0, centre[0] - 2 * ax - 8), min(W, centre[0] + 2 * ax + 8)
    y0, y1 = max(0, centre[1] - ay - 8), min(H, centre[1] + 2 * ay + 8)
    local = (centre[0] - x0, centre[1] - y0)
    layer = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.ellipse(layer, local, (ax, ay), 0, 0, 360, 255, -1, cv2.LINE_AA)
    if tail:
        side = 1 if rng.random() < 0.5 else -1
        base = (local[0] + side * ax // 3, local[1] + ay // 2)
        tip = (local[0] + side * int(ax * rng.uniform(0.4, 0.8)), local[1] + int(ay * 1.35))
        tri = np.array([base, (base[0] + side * ax // 4, base[1]), tip], np.int32)
        cv2.fillPoly(layer, [tri], 255, cv2.LINE_AA)
    contours, _ = cv2.findContours(
        (layer > 127).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE
    )
    window = np.ascontiguousarray(canvas[y0:y1, x0:x1])
    cv2.drawContours(window, contours, -1, (0, 0, 0), 2 * outline, cv2.LINE_AA)
    window[layer > 127] = 255
    canvas[y0:y1, x0:x1] = window
    n_lines = max(1, min(3, (2 * ay) // 22))
    font_scale = 0.45
    for i in range(n_lines):
        word = "".join(rng.choice(list(_LETTERS), int(rng.integers(3, 9))))
        (tw, th), _ = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        ty = centre[1] - (n_lines - 1) * 9 + 18 * i + th // 2
        tx = centre[0] - min(tw, int(1.4 * ax)) // 2
        cv2.putText(
            canvas,
            word[: max(1, int(len(word) * min(1.0, 1.4 * ax / max(tw, 1))))],
            (tx, ty),
            cv2.FONT_HERSHEY_SIMPLEX,
            font_scale,
            (20, 20, 20),
            1,
            cv2.LINE_AA,
        )
    ys, xs = np.nonzero(layer)
    pad = outline
    bx0, by0 = max(0, x0 + int(xs.min()) - pad), max(0, y0 + int(ys.min()) - pad)
    bx1, by1 = min(W, x0 + int(xs.max()) + pad + 1), min(H, y0 + int(ys.max()) + pad + 1)
    return (bx0, by0, bx1 - bx0, by1 - by0)


def _bubble_axes(rng: np.random.Generator, width: int, *, small: float = 1.0) -> tuple[int, int]:
    ax = int(width * rng.uniform(0.1, 0.2) * small)
    ay = int(width * rng.uniform(0.045, 0.085) * small)
    return max(ax, 14), max(ay, 10)


def _jpeg(
    rng: np.random.Generator, image: np.ndarray, probability: float, quality: tuple[int, int]
):
    if rng.random() >= probability:
        return image, None
    q = int(rng.integers(quality[0], quality[1] + 1))
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, q])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 image
        raise RuntimeError("cv2.imencode failed")
    return cv2.imdecode(data, cv2.IMREAD_COLOR), q


def _check_common(width: int, jpeg_probability: float, jpeg_quality: tuple[int, int]) -> None:
    if int(width) != width or width < 120:
        raise ValueError(f"width: expected an integer >= 120, got {width!r}")
    if not 0 <= jpeg_probability <= 1:
        raise ValueError(f"jpeg_probability: expected a value in [0, 1], got {jpeg_probability!r}")
    lo, hi = jpeg_quality
    if not 1 <= lo <= hi <= 100:
        raise ValueError(f"jpeg_quality: expected 1 <= low <= high <= 100, got {jpeg_quality!r}")


def synth_strip(
    seed: int,
    *,
    width: int = 600,
    n_panels: tuple[int, int] = (3, 6),
    gutter: GutterKind | None = None,
    jpeg_probability: float = 0.7,
    jpeg_quality: tuple[int, int] = (60, 95),
    bubbles: bool = True,
) -> SynthComic:
    """A webtoon strip: panels one under another on a gutter background.

    Parameters
    ----------
    seed : int, the whole strip is a function of it and the options
    width : int >= 120, strip width in pixels
    n_panels : (low, high) inclusive range of the panel count
    gutter : {"white", "black", "tinted", "gradient"} or None for a random kind
    jpeg_probability, jpeg_quality : chance of JPEG compression and its quality range
    bubbles : draw speech bubbles (inside panels, over a panel edge, floating in gutters)

    Returns
    -------
    SynthComic with panels top to bottom. About 15% of strips start or end with a panel touching
    the strip's edge; panels are full width (about 40%) or inset.
    """
    _check_common(width, jpeg_probability, jpeg_quality)
    _check_choice(gutter, GUTTER_KINDS, "gutter")
    lo, hi = n_panels
    if not 1 <= lo <= hi:
        raise ValueError(f"n_panels: expected 1 <= low <= high, got {n_panels!r}")
    rng = np.random.default_rng(seed)
    kind = gutter or str(rng.choice(GUTTER_KINDS))
    n = int(rng.integers(lo, hi + 1))
    heights = [int(width * rng.uniform(0.45, 1.3)) for _ in range(n)]
    gaps = [int(width * rng.uniform(0.1, 0.5)) for _ in range(n - 1)]
    top = 0 if rng.random() < 0.15 else int(width * rng.uniform(0.05, 0.3))
    bottom = 0 if rng.random() < 0.15 else int(width * rng.uniform(0.05, 0.3))
    height = top + sum(heights) + sum(gaps) + bottom
    canvas = _gutter_canvas(rng, height, width, kind)

    boxes, panel_kinds, slots = [], [], []
    y = top
    for i, ph in enumerate(heights):
        if rng.random() < 0.4:
            x, pw = 0, width
        else:
            ml = int(width * rng.uniform(0.03, 0.15))
            mr = int(width * rng.uniform(0.03, 0.15))
            x, pw = ml, width - ml - mr
        pk = str(rng.choice(["bordered", "borderless", "floating"], p=[0.5, 0.35, 0.15]))
        boxes.append(_paste_panel(rng, canvas, (x, y, pw, ph), pk))
        panel_kinds.append(pk)
        slots.append((x, y, pw, ph))
        y += ph + (gaps[i] if i < n - 1 else 0)

    bubble_boxes, bubble_kinds = [], []
    if bubbles:
        for i, (x, y, pw, ph) in enumerate(slots):
            if rng.random() < 0.5 and panel_kinds[i] != "floating":  # inside the panel
                ax, ay = _bubble_axes(rng, width, small=0.8)
                if pw > 2 * ax + 20 and ph > 3 * ay + 20:
                    c = (
                        int(rng.integers(x + ax + 8, x + pw - ax - 8)),
                        int(rng.integers(y + ay + 8, y + ph - 2 * ay - 8)),
                    )
                    bubble_boxes.append(_draw_bubble(rng, canvas, c, (ax, ay)))
                    bubble_kinds.append("inside")
            if rng.random() < 0.35 and panel_kinds[i] != "floating":  # over the bottom edge
                room = gaps[i] if i < n - 1 else bottom
                ax, ay = _bubble_axes(rng, width)
                out = min(int(ay * rng.uniform(0.3, 0.9)), room - 12 - int(0.4 * ay))
                if out > 4 and pw > 2 * ax + 20:
                    c = (int(rng.integers(x + ax + 8, x + pw - ax - 8)), y + ph + out - ay)
                    bubble_boxes.append(_draw_bubble(rng, canvas, c, (ax, ay), tail=False))
                    bubble_kinds.append("edge")
        clear = int(width * 0.04)  # gutter left clear above and below a floating bubble
        for i in range(n - 1):  # floating in the gutter between two panels
            gap_top = slots[i][1] + slots[i][3]
            for b, bk in zip(bubble_boxes, bubble_kinds, strict=True):
                if bk == "edge" and slots[i][1] < b[1] < gap_top:
                    gap_top = max(gap_top, b[1] + b[3])
            gap_bottom = slots[i + 1][1]
            ax, ay = _bubble_axes(rng, width)
            lo_y = gap_top + clear + ay
            hi_y = gap_bottom - clear - int(1.4 * ay) - 4  # the tail reaches 1.35 ay down
            if rng.random() < 0.5 and hi_y > lo_y:
                c = (int(rng.integers(ax + 10, width - ax - 10)), int(rng.integers(lo_y, hi_y)))
                bubble_boxes.append(_draw_bubble(rng, canvas, c, (ax, ay)))
                bubble_kinds.append("floating")

    image, q = _jpeg(rng, canvas, jpeg_probability, jpeg_quality)
    return SynthComic(
        image=image,
        panels=np.array(boxes, np.int64).reshape(-1, 4),
        panel_kinds=tuple(panel_kinds),
        bubbles=np.array(bubble_boxes, np.int64).reshape(-1, 4),
        bubble_kinds=tuple(bubble_kinds),
        gutter=kind,
        direction="ttb",
        jpeg_quality=q,
    )


def _split(
    rng: np.random.Generator, total: int, parts: int, gap: int, minimum: int
) -> list[tuple[int, int]]:
    """Split ``total`` pixels into ``parts`` spans separated by ``gap``: [(offset, size), ...]."""
    free = total - gap * (parts - 1)
    weights = rng.uniform(0.6, 1.4, parts)
    sizes = np.maximum(minimum, np.floor(free * weights / weights.sum())).astype(int)
    sizes[-1] = free - sizes[:-1].sum()
    out, pos = [], 0
    for s in sizes:
        out.append((pos, int(s)))
        pos += int(s) + gap
    return out


def synth_page(
    seed: int,
    *,
    width: int = 600,
    height: int | None = None,
    direction: Literal["ltr", "rtl"] = "ltr",
    gutter: GutterKind | None = None,
    jpeg_probability: float = 0.7,
    jpeg_quality: tuple[int, int] = (60, 95),
    bubbles: bool = True,
) -> SynthComic:
    """A comic page: rows of panels, some cells split into two stacked panels.

    Parameters
    ----------
    seed : int
    width : int >= 120; height : int or None (default ``round(1.42 * width)``, a B5-like page)
    direction : {"ltr", "rtl"}, the reading order of panels within a row (RTL for manga)
    gutter, jpeg_probability, jpeg_quality, bubbles : as in :func:`synth_strip`; bubbles here
        also bridge the gutter between two neighbouring panels.

    Returns
    -------
    SynthComic with panels in reading order: rows top to bottom, cells in ``direction``, the two
    panels of a stacked cell top then bottom. Stacked cells never line up across a whole row, so
    the order is unambiguous.
    """
    _check_common(width, jpeg_probability, jpeg_quality)
    _check_choice(gutter, GUTTER_KINDS, "gutter")
    if direction not in ("ltr", "rtl"):
        raise ValueError(f"direction: expected 'ltr' or 'rtl', got {direction!r}")
    height = round(1.42 * width) if height is None else int(height)
    if height < 120:
        raise ValueError(f"height: expected >= 120, got {height!r}")
    rng = np.random.default_rng(seed)
    kind = gutter or str(rng.choice(GUTTER_KINDS))
    canvas = _gutter_canvas(rng, height, width, kind)
    margin = int(width * rng.uniform(0.03, 0.07))
    gap = int(rng.integers(max(4, width // 100), max(5, width // 35) + 1))
    n_rows = int(rng.integers(2, 5))
    rows = _split(rng, height - 2 * margin, n_rows, gap, minimum=height // 10)

    slots: list[tuple[int, int, int, int]] = []
    grid: list[list[list[int]]] = []  # row → cell (in reading order) → slot indices
    for ry, rh in rows:
        n_cells = 1 if rng.random() < 0.2 else int(rng.integers(2, 4))
        cells = _split(rng, width - 2 * margin, n_cells, gap, minimum=width // 8)
        stacked = (
            int(rng.integers(0, n_cells))
            if n_cells > 1 and rh > 4 * gap + 80 and rng.random() < 0.35
            else -1
        )
        row_cells = []
        order = range(n_cells) if direction == "ltr" else range(n_cells - 1, -1, -1)
        for c in order:
            cx, cw = cells[c]
            x, y = margin + cx, margin + ry
            if c == stacked:
                upper = int(rh * rng.uniform(0.35, 0.65))
                parts = [
                    (x, y, cw, upper - gap // 2),
                    (x, y + upper - gap // 2 + gap, cw, rh - upper + gap // 2 - gap),
                ]
            else:
                parts = [(x, y, cw, rh)]
            ids = []
            for p in parts:
                ids.append(len(slots))
                slots.append(p)
            row_cells.append(ids)
        grid.append(row_cells)

    boxes, panel_kinds = [], []
    for s in slots:
        pk = "bordered" if rng.random() < 0.6 else "borderless"
        boxes.append(_paste_panel(rng, canvas, s, pk))
        panel_kinds.append(pk)

    bubble_boxes, bubble_kinds = [], []
    if bubbles:
        for x, y, pw, ph in slots:
            if rng.random() < 0.5:
                ax, ay = _bubble_axes(rng, width, small=0.7)
                if pw > 2 * ax + 16 and ph > 3 * ay + 16:
                    c = (
                        int(rng.integers(x + ax + 6, x + pw - ax - 6)),
                        int(rng.integers(y + ay + 6, y + ph - 2 * ay - 6)),
                    )
                    bubble_boxes.append(_draw_bubble(rng, canvas, c, (ax, ay)))
                    bubble_kinds.append("inside")
        # Bubbles bridging a gutter: between two cells of a row, or between two rows.
        for _ in range(int(rng.integers(0, 3))):
            r = int(rng.integers(0, len(grid)))
            ax, ay = _bubble_axes(rng, width, small=0.7)
            if len(grid[r]) > 1 and rng.random() < 0.5:
                k = int(rng.integers(0, len(grid[r]) - 1))
                a, b = slots[grid[r][k][0]], slots[grid[r][k + 1][0]]
                left, right = (a, b) if a[0] < b[0] else (b, a)
                gx = (left[0] + left[2] + right[0]) // 2
                y_lo = max(left[1], right[1]) + ay + 8
                y_hi = min(left[1] + left[3], right[1] + right[3]) - 2 * ay - 8
                if y_hi > y_lo:
                    c = (gx, int(rng.integers(y_lo, y_hi)))
                    bubble_boxes.append(_draw_bubble(rng, canvas, c, (ax, ay)))
                    bubble_kinds.append("bridge")
            elif r + 1 < len(grid):
                upper = slots[grid[r][0][-1]]
                lower = slots[grid[r + 1][0][0]]
                gy = (upper[1] + upper[3] + lower[1]) // 2
                x_lo = max(upper[0], lower[0]) + ax + 8
                x_hi = min(upper[0] + upper[2], lower[0] + lower[2]) - ax - 8
                if x_hi > x_lo:
                    c = (int(rng.integers(x_lo, x_hi)), gy)
                    bubble_boxes.append(_draw_bubble(rng, canvas, c, (ax, ay), tail=False))
                    bubble_kinds.append("bridge")

    image, q = _jpeg(rng, canvas, jpeg_probability, jpeg_quality)
    return SynthComic(
        image=image,
        panels=np.array(boxes, np.int64).reshape(-1, 4),
        panel_kinds=tuple(panel_kinds),
        bubbles=np.array(bubble_boxes, np.int64).reshape(-1, 4),
        bubble_kinds=tuple(bubble_kinds),
        gutter=kind,
        direction=direction,
        jpeg_quality=q,
    )


# manga-like pages by failure category --------------------------------------------------------
PAGE_CATEGORIES: tuple[str, ...] = (
    "grid",
    "slanted",
    "bleed",
    "inset",
    "frame_line",
    "art_cross",
    "bubble_cross",
    "dark",
    "frameless",
    "staggered",
    "overlap",
)


def _line_cross(h_line: tuple[float, float], v_line: tuple[float, float]) -> tuple[float, float]:
    """Crossing of ``y = c1 + s1·x`` and ``x = c2 + s2·y``."""
    c1, s1 = h_line
    c2, s2 = v_line
    y = (c1 + s1 * c2) / (1 - s1 * s2)
    return c2 + s2 * y, y


def _tone(rng: np.random.Generator, art: np.ndarray, mask: np.ndarray) -> None:
    """Screen tone: a regular dot grid over ``mask`` (as printed manga greys are)."""
    h, w = mask.shape
    pitch = int(rng.integers(3, 6))
    yy, xx = np.mgrid[0:h, 0:w]
    dots = ((yy % pitch) < pitch // 2 + 1) & ((xx % pitch) < pitch // 2 + 1)
    level = int(rng.integers(60, 170))
    art[mask & dots] = level


def _manga_layout(
    rng: np.random.Generator,
    width: int,
    height: int,
    *,
    margins: tuple[int, int, int, int],
    gap: int,
    slant: float,
    direction: str,
    zero_gap: float = 0.0,
) -> list[np.ndarray]:
    """Panel quadrilaterals (float (4, 2) corners) in reading order.

    Rows are separated by gutters ``y = c + s·x`` and cells by ``x = c + s·y``, each slope
    drawn in ``[-slant, slant]`` (0 for a straight grid); a cell boundary has no gap (panels
    divided by a frame line only) with probability ``zero_gap``.
    """
    left, top, right, bottom = margins
    n_rows = int(rng.integers(2, 5))
    cuts = np.sort(rng.uniform(0.18, 0.82, n_rows - 1)) if n_rows > 1 else np.array([])
    inner_h = height - top - bottom
    cuts = top + inner_h * np.concatenate([[0], np.sort(cuts), [1]])
    # keep rows at least a tenth of the page tall
    for i in range(1, len(cuts)):
        cuts[i] = max(cuts[i], cuts[i - 1] + height / 10)
    cuts[-1] = height - bottom
    h_lines = [(float(top), 0.0)]
    for c in cuts[1:-1]:
        s = float(rng.uniform(-slant, slant)) if slant and rng.random() < 0.7 else 0.0
        h_lines.append((float(c) - s * width / 2, s))
    h_lines.append((float(height - bottom), 0.0))
    quads = []
    for r in range(len(h_lines) - 1):
        n_cells = 1 if rng.random() < 0.2 else int(rng.integers(2, 4))
        xs = (
            np.sort(rng.uniform(0.25, 0.75, n_cells - 1))
            if n_cells > 2
            else rng.uniform(0.3, 0.7, n_cells - 1)
        )
        xs = np.sort(xs)
        if n_cells == 3:
            xs = np.array([rng.uniform(0.25, 0.42), rng.uniform(0.58, 0.75)])
        inner_w = width - left - right
        v_lines = [(float(left), 0.0, gap)]
        for x in xs:
            s = float(rng.uniform(-slant, slant)) if slant and rng.random() < 0.6 else 0.0
            centre_y = (h_lines[r][0] + h_lines[r + 1][0]) / 2 + (
                h_lines[r][1] + h_lines[r + 1][1]
            ) * width / 4
            g = 0 if rng.random() < zero_gap else gap
            v_lines.append((left + inner_w * float(x) - s * centre_y, s, g))
        v_lines.append((float(width - right), 0.0, gap))
        top_line, bottom_line = h_lines[r], h_lines[r + 1]
        row = []
        for c in range(len(v_lines) - 1):
            lv, rv = v_lines[c], v_lines[c + 1]
            t_off = 0 if r == 0 else gap / 2
            b_off = 0 if r == len(h_lines) - 2 else gap / 2
            l_off = 0 if c == 0 else lv[2] / 2
            r_off = 0 if c == len(v_lines) - 2 else rv[2] / 2
            tl = (top_line[0] + t_off, top_line[1])
            bl = (bottom_line[0] - b_off, bottom_line[1])
            ll = (lv[0] + l_off, lv[1])
            rl = (rv[0] - r_off, rv[1])
            quad = np.array(
                [_line_cross(tl, ll), _line_cross(tl, rl), _line_cross(bl, rl), _line_cross(bl, ll)]
            )
            row.append(quad)
        quads.extend(row if direction == "ltr" else row[::-1])
    return quads


def _staggered_layout(
    rng: np.random.Generator,
    width: int,
    height: int,
    *,
    margins: tuple[int, int, int, int],
    gap: int,
) -> list[np.ndarray]:
    """Panel rectangles (float (4, 2) corners, unordered) no straight gutter separates.

    A pinwheel block (four panels turning around a centre panel: no gutter crosses the block)
    fills the page or one of two bands split by a straight gutter; the other band holds one to
    three cells.
    """
    left, top, right, bottom = margins
    x0, y0, x1, y1 = float(left), float(top), float(width - right), float(height - bottom)
    blocks = [(x0, y0, x1, y1, True)]
    if rng.random() < 0.5:
        cut = y0 + (y1 - y0) * float(rng.uniform(0.25, 0.4))
        upper, lower = (y0, cut - gap / 2), (cut + gap / 2, y1)
        if rng.random() < 0.5:  # the pinwheel below or above the plain band
            blocks = [(x0, *upper[:1], x1, upper[1], False), (x0, lower[0], x1, lower[1], True)]
        else:
            cut = y1 - (cut - y0)
            upper, lower = (y0, cut - gap / 2), (cut + gap / 2, y1)
            blocks = [(x0, upper[0], x1, upper[1], True), (x0, lower[0], x1, lower[1], False)]
    rects: list[tuple[float, float, float, float]] = []
    for bx0, by0, bx1, by1, pinwheel in blocks:
        bw, bh = bx1 - bx0, by1 - by0
        if not pinwheel:
            n = int(rng.integers(1, 4))
            edges = np.linspace(bx0, bx1, n + 1)
            edges[1:-1] += rng.uniform(-0.08, 0.08, n - 1) * bw
            for a, b in zip(edges[:-1], edges[1:], strict=True):
                rects.append(
                    (a + (gap / 2 if a > bx0 else 0), by0, b - (gap / 2 if b < bx1 else 0), by1)
                )
            continue
        xa, xb = bx0 + bw * rng.uniform(0.28, 0.42), bx0 + bw * rng.uniform(0.58, 0.72)
        yc, yd = by0 + bh * rng.uniform(0.28, 0.42), by0 + bh * rng.uniform(0.58, 0.72)
        g = gap / 2
        wheel = [
            (bx0, by0, xb - g, yc - g),  # top
            (xb + g, by0, bx1, yd - g),  # right
            (xa + g, yd + g, bx1, by1),  # bottom
            (bx0, yc + g, xa - g, by1),  # left
            (xa + g, yc + g, xb - g, yd - g),  # centre
        ]
        if rng.random() < 0.5:  # turning the other way
            wheel = [(bx0 + bx1 - c, b, bx0 + bx1 - a, d) for a, b, c, d in wheel]
        rects.extend(wheel)
    return [np.array([[a, b], [c, b], [c, d], [a, d]], float) for a, b, c, d in rects]


def _render_panel(
    rng: np.random.Generator,
    canvas: np.ndarray,
    quad: np.ndarray,
    *,
    background: tuple[int, int, int],
    frame: int,
    frame_colour: tuple[int, int, int] = (0, 0, 0),
    tone: bool = True,
) -> tuple[int, int, int, int] | None:
    """Fill a (clipped) panel polygon with art and an inner frame; returns its box."""
    H, W = canvas.shape[:2]
    poly = np.round(quad).astype(np.int32)
    mask = np.zeros((H, W), np.uint8)
    cv2.fillPoly(mask, [poly], 255)
    ys, xs = np.nonzero(mask)
    if ys.size < 100:
        return None
    x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
    art = _draw_art(rng, y1 - y0, x1 - x0, background)
    local = mask[y0:y1, x0:x1] > 0
    if tone and rng.random() < 0.6:
        band = np.zeros_like(local)
        a = int(rng.integers(0, max(1, (y1 - y0) // 2)))
        band[a : a + int(rng.integers((y1 - y0) // 4, (y1 - y0) // 2 + 2))] = True
        _tone(rng, art, band)
    if frame:
        edge = np.zeros((H, W), np.uint8)
        cv2.polylines(edge, [poly], True, 255, 2 * frame)
        ring = (edge[y0:y1, x0:x1] > 0) & local
        art[ring] = frame_colour
    region = canvas[y0:y1, x0:x1]
    region[local] = art[local]
    return (x0, y0, x1 - x0, y1 - y0)


def synth_manga_page(
    seed: int,
    category: str,
    *,
    width: int = 600,
    height: int | None = None,
    direction: Literal["ltr", "rtl"] = "rtl",
    jpeg_probability: float = 0.8,
    jpeg_quality: tuple[int, int] = (50, 92),
) -> SynthComic:
    """A manga-like page built to hold one failure category of real pages (issue 14).

    Categories (``PAGE_CATEGORIES``): ``grid`` (:func:`synth_page`), ``slanted`` (slanted
    gutters, polygon panels), ``bleed`` (panels running off one to three page edges),
    ``inset`` (framed panels inside panels, listed right after their panel), ``frame_line``
    (neighbours divided by one frame line, no gutter), ``art_cross`` (hair, a figure or a leaf
    across a gutter), ``bubble_cross`` (bubbles bridging gutters), ``dark`` (dark panels on a
    black gutter), ``frameless`` (panels without frame whose background is the gutter's colour:
    their box is the art drawn), ``staggered`` (a pinwheel block no straight gutter crosses,
    hair, a figure or a leaf across its gutters on most pages, one page edge bled on some),
    ``overlap`` (one or two framed panels drawn across a row gutter, over the panels above
    and below it; read before the row under it).
    Most pages are grey (printed manga) with screen tones, gutter
    widths and grey levels vary, and most go through JPEG.

    Ground truth: one box per panel, the bounding box of its polygon clipped to the page.
    """
    if category not in PAGE_CATEGORIES:
        raise ValueError(f"category: expected one of {PAGE_CATEGORIES}, got {category!r}")
    if category == "grid":
        return synth_page(
            seed,
            width=width,
            height=height,
            direction=direction,
            gutter="white",
            jpeg_probability=jpeg_probability,
            jpeg_quality=jpeg_quality,
        )
    _check_common(width, jpeg_probability, jpeg_quality)
    height = round(1.42 * width) if height is None else int(height)
    rng = np.random.default_rng([seed, PAGE_CATEGORIES.index(category)])
    gutter_level = (
        0 if category == "dark" else (255 if rng.random() < 0.7 else int(rng.integers(200, 240)))
    )
    canvas = np.full((height, width, 3), gutter_level, np.uint8)
    m = int(width * rng.uniform(0.03, 0.07))
    margins = [m, int(m * rng.uniform(0.8, 1.3)), m, int(m * rng.uniform(0.8, 1.6))]
    if category == "bleed":
        for side in rng.choice(4, int(rng.integers(1, 4)), replace=False):
            margins[side] = -int(width * 0.03)  # drawn past the edge, clipped by the page
    if category == "staggered" and rng.random() < 0.3:
        margins[int(rng.integers(0, 4))] = -int(width * 0.03)
    gap = int(rng.integers(max(3, width // 120), max(5, width // 30) + 1))
    if category == "staggered":
        quads = _staggered_layout(
            rng,
            width,
            height,
            margins=tuple(margins),
            gap=gap,  # type: ignore[arg-type]
        )
    else:
        quads = _manga_layout(
            rng,
            width,
            height,
            margins=tuple(margins),  # type: ignore[arg-type]
            gap=gap,
            slant=0.25 if category == "slanted" else 0.0,
            direction=direction,
            zero_gap=0.6 if category == "frame_line" else 0.0,
        )
    boxes, kinds = [], []
    for quad in quads:
        if category == "dark":
            bg = (int(rng.integers(15, 70)),) * 3
            frame = int(rng.integers(1, 3)) if rng.random() < 0.5 else 0
            fc = (int(rng.integers(90, 200)),) * 3
        elif category == "frameless" and rng.random() < 0.6:
            bg, frame, fc = (gutter_level,) * 3, 0, (0, 0, 0)
        else:
            bg = (255,) * 3 if rng.random() < 0.5 else _random_colour(rng, 150, 256)
            frame, fc = int(rng.integers(2, 5)), (0, 0, 0)
        box = _render_panel(rng, canvas, quad, background=bg, frame=frame, frame_colour=fc)
        if box is None:
            continue
        if frame == 0 and bg[0] == gutter_level and category == "frameless":
            x, y, w, h = box
            diff = np.abs(canvas[y : y + h, x : x + w].astype(int) - gutter_level).max(axis=2) > 40
            ys, xs = np.nonzero(diff)
            if ys.size == 0:
                continue
            box = (x + int(xs.min()), y + int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1)
            kinds.append("borderless")
        else:
            kinds.append("bordered")
        boxes.append(box)
        if category == "inset" and rng.random() < 0.5:
            x, y, w, h = box
            iw, ih = int(w * rng.uniform(0.25, 0.45)), int(h * rng.uniform(0.25, 0.45))
            if iw > 40 and ih > 40:
                ix = x + (
                    int(rng.integers(8, max(9, w - iw - 8))) if rng.random() < 0.6 else w - iw - 6
                )
                iy = y + int(rng.integers(8, max(9, h - ih - 8)))
                cv2.rectangle(
                    canvas, (ix - 4, iy - 4), (ix + iw + 3, iy + ih + 3), (255, 255, 255), -1
                )
                inset = np.array(
                    [[ix, iy], [ix + iw, iy], [ix + iw, iy + ih], [ix, iy + ih]], float
                )
                ib = _render_panel(rng, canvas, inset, background=(255, 255, 255), frame=3)
                if ib is not None:
                    boxes.append(ib)
                    kinds.append("inset")
    if category == "staggered":
        # No layout order to follow: rows of the boxes as a reader groups them.
        order = reading_order(boxes, direction=direction)
        boxes, kinds = [boxes[i] for i in order], [kinds[i] for i in order]
    if category == "overlap":
        _overlap_panels(rng, canvas, boxes, kinds, width, height, gap)
    bubble_boxes, bubble_kinds = [], []
    crossed = category == "art_cross" or (category == "staggered" and rng.random() < 0.75)
    if crossed or category == "bubble_cross":
        # Neighbours in the same row (boxes overlapping in y) or rows (overlapping in x).
        pairs = [
            (i, j)
            for i in range(len(boxes))
            for j in range(i + 1, len(boxes))
            if _neighbours(boxes[i], boxes[j], 3 * gap + 8)
        ]
        rng.shuffle(pairs)
        for i, j in pairs[: int(rng.integers(1, 4))]:
            a, b = boxes[i], boxes[j]
            cx, cy = _gap_point(rng, a, b)
            if category == "bubble_cross":
                ax, ay = _bubble_axes(rng, width, small=0.7)
                bubble_boxes.append(_draw_bubble(rng, canvas, (cx, cy), (ax, ay), tail=False))
                bubble_kinds.append("bridge")
            else:
                _cross_art(rng, canvas, (cx, cy), width)
    image = canvas
    if rng.random() < 0.7:
        image = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    image, q = _jpeg(rng, image, jpeg_probability, jpeg_quality)
    return SynthComic(
        image=image,
        panels=np.array(boxes, np.int64).reshape(-1, 4),
        panel_kinds=tuple(kinds),
        bubbles=np.array(bubble_boxes, np.int64).reshape(-1, 4),
        bubble_kinds=tuple(bubble_kinds),
        gutter="black" if gutter_level == 0 else "white",
        direction=direction,
        jpeg_quality=q,
    )


def _overlap_panels(
    rng: np.random.Generator,
    canvas: np.ndarray,
    boxes: list,
    kinds: list,
    width: int,
    height: int,
    gap: int,
) -> None:
    """Framed panels drawn across the gutter between two panels stacked one above the other,
    with a white border; each is inserted in ``boxes`` before the first panel starting below
    its centre. The panels under it keep their boxes (their corners stay visible)."""
    pairs = [
        (i, j)
        for i in range(len(boxes))
        for j in range(len(boxes))
        if i != j
        and 0 <= boxes[j][1] - (boxes[i][1] + boxes[i][3]) <= 3 * gap + 8
        and min(boxes[i][0] + boxes[i][2], boxes[j][0] + boxes[j][2])
        - max(boxes[i][0], boxes[j][0])
        > 0.2 * width
    ]
    rng.shuffle(pairs)
    placed: list[tuple[int, int, int, int]] = []
    wanted = int(rng.integers(1, 3))
    for a, b in [(boxes[i], boxes[j]) for i, j in pairs]:
        if len(placed) == wanted:
            break
        lo = max(a[0], b[0])
        hi = min(a[0] + a[2], b[0] + b[2])
        ow = int((hi - lo) * rng.uniform(0.3, 0.5))
        oh = int(min(a[3], b[3]) * rng.uniform(0.6, 0.9))
        ox = int(rng.integers(lo + 12, max(lo + 13, hi - ow - 12)))
        oy = (a[1] + a[3] + b[1]) // 2 - oh // 2
        box = (ox, oy, ow, oh)
        if ow < 40 or oh < 40 or any(_neighbours(box, p, 0) or _overlaps(box, p) for p in placed):
            continue
        cv2.rectangle(canvas, (ox - 5, oy - 5), (ox + ow + 4, oy + oh + 4), (255, 255, 255), -1)
        quad = np.array([[ox, oy], [ox + ow, oy], [ox + ow, oy + oh], [ox, oy + oh]], float)
        drawn = _render_panel(rng, canvas, quad, background=(255, 255, 255), frame=3)
        if drawn is None:
            continue
        placed.append(drawn)
        centre = drawn[1] + drawn[3] / 2
        at = next((k for k, p in enumerate(boxes) if p[1] >= centre), len(boxes))
        boxes.insert(at, drawn)
        kinds.insert(at, "overlap")


def _overlaps(a, b) -> bool:
    return min(a[0] + a[2], b[0] + b[2]) > max(a[0], b[0]) and min(a[1] + a[3], b[1] + b[3]) > max(
        a[1], b[1]
    )


def _neighbours(a, b, reach: int) -> bool:
    ax0, ay0, ax1, ay1 = a[0], a[1], a[0] + a[2], a[1] + a[3]
    bx0, by0, bx1, by1 = b[0], b[1], b[0] + b[2], b[1] + b[3]
    overlap_x = min(ax1, bx1) - max(ax0, bx0)
    overlap_y = min(ay1, by1) - max(ay0, by0)
    gap_x = max(bx0 - ax1, ax0 - bx1)
    gap_y = max(by0 - ay1, ay0 - by1)
    return (overlap_y > 40 and 0 <= gap_x <= reach) or (overlap_x > 40 and 0 <= gap_y <= reach)


def _gap_point(rng: np.random.Generator, a, b) -> tuple[int, int]:
    """A point in the gutter between neighbouring boxes ``a`` and ``b``."""
    ax0, ay0, ax1, ay1 = a[0], a[1], a[0] + a[2], a[1] + a[3]
    bx0, by0, bx1, by1 = b[0], b[1], b[0] + b[2], b[1] + b[3]
    if min(ay1, by1) - max(ay0, by0) > 40:  # side by side
        x = (min(ax1, bx1) + max(ax0, bx0)) // 2
        lo, hi = max(ay0, by0) + 20, min(ay1, by1) - 20
        return int(x), int(rng.integers(lo, max(lo + 1, hi)))
    y = (min(ay1, by1) + max(ay0, by0)) // 2
    lo, hi = max(ax0, bx0) + 20, min(ax1, bx1) - 20
    return int(rng.integers(lo, max(lo + 1, hi))), int(y)


def _cross_art(rng: np.random.Generator, canvas: np.ndarray, centre: tuple[int, int], width: int):
    """Art across a gutter: a strand of hair, a figure's limb, or a falling leaf."""
    kind = rng.choice(["hair", "figure", "leaf"])
    cx, cy = centre
    if kind == "leaf":
        axes = (int(width * 0.012) + 3, int(width * 0.006) + 2)
        cv2.ellipse(canvas, centre, axes, float(rng.uniform(0, 180)), 0, 360, (40, 40, 40), -1)
        return
    if kind == "hair":
        for _ in range(int(rng.integers(3, 7))):
            length = width * rng.uniform(0.05, 0.12)
            angle = rng.uniform(0, 2 * np.pi)
            p = (int(cx - length * np.cos(angle)), int(cy - length * np.sin(angle)))
            q = (int(cx + length * np.cos(angle)), int(cy + length * np.sin(angle)))
            cv2.line(canvas, p, q, (15, 15, 15), int(rng.integers(2, 5)), cv2.LINE_AA)
        return
    axes = (int(width * rng.uniform(0.03, 0.06)), int(width * rng.uniform(0.03, 0.06)))
    cv2.ellipse(canvas, centre, axes, 0, 0, 360, (200, 200, 200), -1, cv2.LINE_AA)
    cv2.ellipse(canvas, centre, axes, 0, 0, 360, (10, 10, 10), 2, cv2.LINE_AA)

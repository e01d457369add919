"""Synthetic anime-style illustrations with exact region ground truth (the "illustration" style).

Long because the painter draws a whole scene from one random stream in one order, which keeps a
seed's picture byte-identical; one module keeps that order in view.

`regions.synthetic.cartoons` draws random shapes; real DanbooRegion pictures look different: one or two
characters on a light or patterned background, hair made of long tapering strands, faces with
layered eyes, cloth with folds, **cel shading** (each shape split into a lit tone and one or two
shadow tones, separated by colour only), highlights, soft coloured line art of varying width,
and lines that separate nothing. This module draws such pictures so that the region model learns
the boundaries an annotator draws on real illustrations:

* a region is a connected area of one (shape, tone) — shadow and highlight tones are regions
  of their own, as in DanbooRegion's annotations; soft gradients and grain inside a tone are not;
* line art lies on shape boundaries, its pixels keep the label of the region they lie in (lines
  have no region of their own); some shapes have no outline (colour-only boundaries), and some
  strokes (creases, fingers) are drawn in the image only and split no region;
* fine screen tone and paper texture are image-only texture; coarse patterns (stripes, checks,
  polka dots) are regions;
* like most illustrations, pictures are light: mostly white pages, pale clothes, a high-key lift
  of every colour in most pictures; shadows vary in depth from the house style's ×0.8 down to a
  few grey levels (faint shading is still a region boundary for annotators).

Same seed and size → byte-identical arrays (integer OpenCV drawing, exact float arithmetic, one
`np.random.default_rng(seed)`), like `regions.synthetic.cartoons`.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from regionflow.regions.synthetic.cartoons import (
    SyntheticScene,
    _adjacency,
    _box4,
    _check_int,
    _hsv_to_bgr,
    _jpeg_round_trip,
    _neighbour_pairs,
    _region_colours,
    _regions_of,
)

__all__ = ["illustration_sample", "illustration_scene"]

_MIN_SIDE = 32
_CRUMB_AREA = 6
_TONES = 4  # 0 lit, 1 shadow, 2 deep shadow, 3 highlight
_TONE_FACTOR = (1.0, 0.8, 0.64, 1.0)


class _Canvas:
    """Shape map (int32 ids), tone map (uint8) and per-shape drawing attributes."""

    def __init__(self, rng: np.random.Generator, h: int, w: int) -> None:
        self.rng, self.h, self.w = rng, h, w
        self.shape = np.zeros((h, w), np.int32)
        self.tone = np.zeros((h, w), np.uint8)
        self.fill: list[tuple[float, float, float]] = [(250.0, 250.0, 250.0)]
        self.outline: list[int] = [0]
        self.line_colour: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)]
        self.shaded: list[bool] = [False]
        self.decor = np.zeros((h, w), np.uint8)  # image-only strokes (creases, fingers)

    def new(
        self,
        fill: tuple[float, float, float],
        *,
        outline: int,
        line: tuple[float, float, float],
        shaded: bool,
    ) -> int:
        self.fill.append(fill)
        self.outline.append(outline)
        self.line_colour.append(line)
        self.shaded.append(shaded)
        return len(self.fill) - 1

    def paint(self, mask: np.ndarray, sid: int) -> None:
        self.shape[mask] = sid
        self.tone[mask] = 0


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------


def _bezier(p0, p1, p2, n: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, max(3, n))[:, None]
    return (1 - t) ** 2 * np.asarray(p0) + 2 * (1 - t) * t * np.asarray(p1) + t**2 * np.asarray(p2)


def _strand(rng, x0, y0, angle, length, width, *, taper=0.0, bend=0.35) -> np.ndarray:
    """Polygon of a curved band from width `width` at its root to `taper`·width at its tip."""
    x2, y2 = x0 + length * math.cos(angle), y0 + length * math.sin(angle)
    b = rng.uniform(-bend, bend) * length
    x1 = (x0 + x2) / 2 - b * math.sin(angle)
    y1 = (y0 + y2) / 2 + b * math.cos(angle)
    centre = _bezier((x0, y0), (x1, y1), (x2, y2), int(length / 6) + 4)
    tangent = np.gradient(centre, axis=0)
    tangent /= np.maximum(np.hypot(tangent[:, 0], tangent[:, 1]), 1e-6)[:, None]
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    t = np.linspace(0.0, 1.0, len(centre))[:, None]
    half = 0.5 * width * (1 - (1 - taper) * t**1.3)
    pts = np.concatenate([centre + normal * half, (centre - normal * half)[::-1]])
    return np.round(pts).astype(np.int32)


def _blob(rng, cx, cy, rx, ry, *, wobble=0.25, angle=None) -> np.ndarray:
    n = 48
    theta = np.arange(n) * (2.0 * math.pi / n)
    radius = np.ones(n)
    for k in (2, 3, 4, 6):
        radius += rng.uniform(0.0, wobble) / k * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
    a = rng.uniform(0, math.pi) if angle is None else angle
    x, y = rx * radius * np.cos(theta), ry * radius * np.sin(theta)
    ca, sa = math.cos(a), math.sin(a)
    return np.round(np.stack([cx + ca * x - sa * y, cy + sa * x + ca * y], 1)).astype(np.int32)


def _poly_mask(canvas: _Canvas, pts: np.ndarray) -> np.ndarray:
    mask = np.zeros((canvas.h, canvas.w), np.uint8)
    cv2.fillPoly(mask, [pts], 1)
    return mask.astype(bool)


def _ellipse_mask(canvas: _Canvas, cx, cy, rx, ry, angle) -> np.ndarray:
    mask = np.zeros((canvas.h, canvas.w), np.uint8)
    axes = (max(1, round(rx)), max(1, round(ry)))
    cv2.ellipse(mask, (round(cx), round(cy)), axes, angle, 0, 360, 1, -1)
    return mask.astype(bool)


# --------------------------------------------------------------------------------------------
# Colours
# --------------------------------------------------------------------------------------------


def _colour(rng, hue=None, sat=(0.1, 0.7), val=(0.55, 1.0)) -> tuple[float, float, float]:
    hue = rng.uniform(0, 1) if hue is None else hue % 1.0
    return _hsv_to_bgr(hue, rng.uniform(*sat), rng.uniform(*val))


def _line_for(rng, fill, style: str) -> tuple[float, float, float]:
    """Line colour: near-black, dark brown, or a dark version of the fill (coloured line art)."""
    if style == "black":
        v = rng.uniform(10, 60)
        return (v, v, v)
    if style == "brown":
        return _hsv_to_bgr(rng.uniform(0.0, 0.1), rng.uniform(0.3, 0.7), rng.uniform(0.15, 0.35))
    f = rng.uniform(0.3, 0.55)
    return (fill[0] * f, fill[1] * f, fill[2] * f)


# --------------------------------------------------------------------------------------------
# Drawing a picture
# --------------------------------------------------------------------------------------------


class _Painter:
    def __init__(self, rng: np.random.Generator, h: int, w: int) -> None:
        self.rng = rng
        self.c = _Canvas(rng, h, w)
        self.line_style = str(rng.choice(["black", "brown", "coloured", "coloured"]))
        self.width = int(rng.integers(1, 4))
        self.outline_rate = rng.uniform(0.55, 1.0)

    def shape(self, mask: np.ndarray, fill, *, outline: bool | None = None, shaded=None) -> int:
        rng = self.rng
        lined = rng.random() < self.outline_rate if outline is None else outline
        width = int(np.clip(self.width + rng.choice([-1, 0, 0, 1]), 1, 4)) if lined else 0
        shaded = rng.random() < 0.7 if shaded is None else shaded
        sid = self.c.new(
            fill, outline=width, line=_line_for(rng, fill, self.line_style), shaded=shaded
        )
        self.c.paint(mask, sid)
        return sid

    # --- backgrounds ---------------------------------------------------------------------------
    def background(self) -> None:
        rng, c = self.rng, self.c
        kind = rng.random()
        if kind < 0.6:  # white or near-white page (most illustrations)
            v = rng.uniform(240, 255)
            c.fill[0] = (v - rng.uniform(0, 5), v - rng.uniform(0, 5), v)
            return
        c.fill[0] = _colour(rng, sat=(0.05, 0.4), val=(0.75, 1.0))
        if kind < 0.7:  # bands: sky, ground, walls
            for _ in range(int(rng.integers(1, 4))):
                xs = np.linspace(-2, c.w + 2, 10)
                ys = rng.uniform(0.2, 0.9) * c.h + rng.uniform(-0.05, 0.05) * c.h * np.sin(
                    xs / c.w * rng.uniform(2, 8) + rng.uniform(0, 6)
                )
                far = c.h + c.w
                pts = np.concatenate([np.stack([xs, ys], 1), [[c.w + 2, far], [-2, far]]])
                mask = _poly_mask(c, np.round(pts).astype(np.int32))
                self.shape(mask, _colour(rng, sat=(0.05, 0.6), val=(0.5, 1.0)), outline=False)
        else:  # a coarse pattern: stripes, checks or polka dots (each piece a region)
            fill = _colour(rng, sat=(0.1, 0.6), val=(0.6, 1.0))
            step = int(rng.integers(14, 48))
            yy, xx = np.mgrid[0 : c.h, 0 : c.w]
            pattern = rng.random()
            if pattern < 0.4:
                a = rng.uniform(0, math.pi)
                u = xx * math.cos(a) + yy * math.sin(a)
                mask = (u % step) < step * rng.uniform(0.3, 0.6)
            elif pattern < 0.7:
                mask = ((xx // step) + (yy // step)) % 2 == 0
            else:
                r = step * rng.uniform(0.15, 0.35)
                dx, dy = xx % step - step / 2, yy % step - step / 2
                mask = dx * dx + dy * dy < r * r
            self.shape(mask, fill, outline=False, shaded=False)

    # --- a character ---------------------------------------------------------------------------
    def character(self, cx: float, top: float, size: float) -> None:
        rng, c = self.rng, self.c
        skin = _hsv_to_bgr(rng.uniform(0.02, 0.09), rng.uniform(0.12, 0.35), rng.uniform(0.9, 1.0))
        hair = _colour(rng, sat=(0.15, 0.8), val=(0.3, 1.0))
        cloth = [
            _colour(rng, sat=(0.0, 0.15), val=(0.88, 1.0))  # white / pale: shirts, frills
            if rng.random() < 0.35
            else _colour(rng, sat=(0.0, 0.8), val=(0.2, 1.0))
            for _ in range(4)
        ]
        head_r = size * rng.uniform(0.11, 0.16)
        hx, hy = cx + rng.normal(0, 0.03 * size), top + head_r * 1.3
        tilt = rng.normal(0, 0.25)

        # back hair: a mass with hanging strands
        back = _blob(rng, hx, hy + head_r * 0.6, head_r * 1.35, head_r * rng.uniform(1.3, 2.2))
        back_id = self.shape(_poly_mask(c, back), hair, shaded=True)
        self.folds(back_id, back, hair, count=(3, 12))
        for _ in range(int(rng.integers(8, 30))):
            x0 = hx + rng.uniform(-1.3, 1.3) * head_r
            self.strand(
                x0,
                hy + head_r * rng.uniform(0.2, 1.2),
                math.pi / 2 + rng.normal(0, 0.35),
                size * rng.uniform(0.2, 0.9),
                head_r * rng.uniform(0.08, 0.45),
                hair,
            )

        # body: torso, skirt or trousers, arms
        sx, sy = hx + rng.normal(0, 0.05 * size), hy + head_r * 1.2
        neck = _poly_mask(
            c,
            np.round(
                np.array(
                    [
                        [hx - head_r * 0.25, hy],
                        [hx + head_r * 0.25, hy],
                        [sx + head_r * 0.3, sy + head_r * 0.3],
                        [sx - head_r * 0.3, sy + head_r * 0.3],
                    ]
                )
            ).astype(np.int32),
        )
        self.shape(neck, skin)
        sh = head_r * rng.uniform(1.2, 1.8)
        waist = sy + size * rng.uniform(0.25, 0.35)
        torso = np.array(
            [
                [sx - sh, sy + head_r * 0.3],
                [sx + sh, sy + head_r * 0.3],
                [sx + sh * rng.uniform(0.6, 0.9), waist],
                [sx - sh * rng.uniform(0.6, 0.9), waist],
            ]
        )
        torso_id = self.shape(_poly_mask(c, np.round(torso).astype(np.int32)), cloth[0])
        self.folds(torso_id, torso, cloth[0])
        lower = np.array(
            [
                [sx - sh * 0.8, waist],
                [sx + sh * 0.8, waist],
                [sx + sh * rng.uniform(1.0, 2.0), waist + size * rng.uniform(0.25, 0.5)],
                [sx - sh * rng.uniform(1.0, 2.0), waist + size * rng.uniform(0.25, 0.5)],
            ]
        )
        lower_id = self.shape(_poly_mask(c, np.round(lower).astype(np.int32)), cloth[1])
        self.folds(lower_id, lower, cloth[1])
        if rng.random() < 0.6:  # a collar or a bow / ribbon at the neck
            self.bow(sx, sy + head_r * 0.45, head_r * rng.uniform(0.4, 0.8), cloth[2])
        for _ in range(int(rng.integers(0, 5))):  # buttons
            y = sy + head_r * 0.5 + rng.uniform(0, 1) * (waist - sy - head_r * 0.5)
            self.shape(
                _ellipse_mask(c, sx, y, head_r * 0.06 + 1.5, head_r * 0.06 + 1.5, 0),
                cloth[3],
                shaded=False,
            )
        for side in (-1, 1):  # arms with a hand at the end
            ax, ay = sx + side * sh * 0.9, sy + head_r * 0.5
            angle = math.pi / 2 - side * rng.uniform(-0.3, 1.2)
            length = size * rng.uniform(0.25, 0.4)
            sleeve = _strand(
                rng, ax, ay, angle, length, head_r * rng.uniform(0.45, 0.7), taper=0.7, bend=0.2
            )
            self.shape(_poly_mask(c, sleeve), cloth[int(rng.choice([0, 2]))])
            tip = sleeve[len(sleeve) // 2 - 1]
            hand = _blob(rng, tip[0], tip[1], head_r * 0.28, head_r * 0.22, wobble=0.4)
            self.shape(_poly_mask(c, hand), skin)
            for _ in range(int(rng.integers(0, 4))):  # fingers: lines that split nothing
                a = rng.uniform(0, 2 * math.pi)
                p = np.round(
                    _bezier(
                        tip,
                        tip + head_r * 0.15 * np.array([math.cos(a), math.sin(a)]),
                        tip + head_r * 0.3 * np.array([math.cos(a), math.sin(a)]),
                        6,
                    )
                ).astype(np.int32)
                cv2.polylines(c.decor, [p], False, 1, 1)

        # head, face and eyes
        face = _blob(
            rng,
            hx,
            hy,
            head_r,
            head_r * rng.uniform(1.05, 1.25),
            wobble=0.1,
            angle=math.pi / 2 + tilt,
        )
        face_id = self.shape(_poly_mask(c, face), skin, shaded=True)
        del face_id
        ex = head_r * rng.uniform(0.35, 0.5)
        ey = hy + head_r * rng.uniform(0.0, 0.25)
        iris = _colour(rng, sat=(0.4, 1.0), val=(0.4, 1.0))
        er = head_r * rng.uniform(0.16, 0.26)
        for side in (-1, 1):
            x = hx + side * ex
            self.shape(
                _ellipse_mask(c, x, ey, er * 0.9, er * 1.2, 0), (250.0, 250.0, 252.0), shaded=False
            )
            self.shape(
                _ellipse_mask(c, x + side * er * 0.1, ey + er * 0.1, er * 0.7, er * 1.0, 0),
                iris,
                outline=False,
            )
            self.shape(
                _ellipse_mask(c, x + side * er * 0.1, ey + er * 0.25, er * 0.35, er * 0.5, 0),
                tuple(v * 0.4 for v in iris),
                outline=False,
                shaded=False,
            )
            for k in range(int(rng.integers(1, 3))):
                r = er * rng.uniform(0.12, 0.25) / (k + 1)
                self.shape(
                    _ellipse_mask(
                        c,
                        x - side * er * 0.25 + k * er * 0.4,
                        ey - er * 0.3 + k * er * 0.6,
                        r,
                        r,
                        0,
                    ),
                    (255.0, 255.0, 255.0),
                    outline=False,
                    shaded=False,
                )
            lash = _strand(
                rng,
                x - er * 1.1,
                ey - er * 0.9,
                rng.normal(0, 0.15),
                er * 2.3,
                er * 0.35,
                taper=0.4,
                bend=0.15,
            )
            self.shape(
                _poly_mask(c, lash), _line_for(rng, hair, "brown"), outline=False, shaded=False
            )
        if rng.random() < 0.7:  # mouth
            p = np.round(
                _bezier(
                    (hx - er * 0.5, hy + head_r * 0.6),
                    (hx, hy + head_r * rng.uniform(0.6, 0.75)),
                    (hx + er * 0.5, hy + head_r * 0.6),
                    8,
                )
            ).astype(np.int32)
            cv2.polylines(c.decor, [p], False, 1, 1)

        # front hair: bangs and side locks, many strands over the forehead
        top_hair = _blob(
            rng, hx, hy - head_r * 0.55, head_r * 1.1, head_r * 0.6, wobble=0.15, angle=tilt
        )
        top_id = self.shape(_poly_mask(c, top_hair), hair, outline=True, shaded=True)
        self.folds(top_id, top_hair, hair, count=(2, 8))
        for _ in range(int(rng.integers(8, 26))):
            x0 = hx + rng.uniform(-1.1, 1.1) * head_r
            self.strand(
                x0,
                hy - head_r * rng.uniform(0.6, 0.9),
                math.pi / 2 + rng.normal(0, 0.3),
                head_r * rng.uniform(0.7, 2.2),
                head_r * rng.uniform(0.08, 0.4),
                hair,
            )
        for _ in range(int(rng.integers(2, 12))):  # loose strands flying off
            self.strand(
                hx + rng.normal(0, head_r),
                hy + rng.normal(0, head_r),
                rng.uniform(0, 2 * math.pi),
                size * rng.uniform(0.1, 0.4),
                max(3.0, head_r * rng.uniform(0.05, 0.15)),
                hair,
            )
        if rng.random() < 0.5:  # a hair ribbon or hat
            self.bow(
                hx + rng.uniform(-1, 1) * head_r,
                hy - head_r * 0.9,
                head_r * rng.uniform(0.4, 0.9),
                cloth[3],
            )

    def props(self, count: int, scale: float) -> None:
        """Flowers, leaves, sparkles, frills and furniture-like blobs around the characters."""
        rng, c = self.rng, self.c
        for _ in range(count):
            x, y = rng.uniform(0, c.w), rng.uniform(0, c.h)
            r = scale * rng.uniform(0.5, 1.5)
            colour = _colour(rng, sat=(0.1, 0.8), val=(0.5, 1.0))
            kind = rng.random()
            if kind < 0.3:  # a flower: petals around a centre
                k = int(rng.integers(4, 8))
                for i in range(k):
                    a = 2 * math.pi * i / k
                    petal = _blob(
                        rng, x + r * math.cos(a), y + r * math.sin(a), r * 0.7, r * 0.4, angle=a
                    )
                    self.shape(_poly_mask(c, petal), colour)
                self.shape(
                    _ellipse_mask(c, x, y, r * 0.4, r * 0.4, 0), _colour(rng, val=(0.7, 1.0))
                )
            elif kind < 0.5:  # a leaf or a feather: a tapered band
                pts = _strand(rng, x, y, rng.uniform(0, 2 * math.pi), r * 3, r * 0.9, taper=0.0)
                self.shape(_poly_mask(c, pts), colour)
            elif kind < 0.65:  # frills / lace: a row of small discs
                a = rng.uniform(0, 2 * math.pi)
                for i in range(int(rng.integers(4, 12))):
                    d = r * 0.6 * i
                    m = _ellipse_mask(
                        c, x + d * math.cos(a), y + d * math.sin(a), r * 0.35, r * 0.35, 0
                    )
                    self.shape(m, colour, shaded=False)
            else:  # an object: a big wobbly blob or polygon
                pts = _blob(
                    rng,
                    x,
                    y,
                    r * rng.uniform(1, 4),
                    r * rng.uniform(1, 3),
                    wobble=rng.uniform(0, 0.5),
                )
                self.shape(_poly_mask(c, pts), colour)

    def strand(self, x0, y0, angle, length, width, colour) -> None:
        pts = _strand(self.rng, x0, y0, angle, length, width, taper=self.rng.uniform(0.0, 0.3))
        self.shape(_poly_mask(self.c, pts), colour, outline=self.rng.random() < 0.85)

    def bow(self, x, y, r, colour) -> None:
        rng, c = self.rng, self.c
        for side in (-1, 1):
            wing = np.array(
                [
                    [x, y],
                    [x + side * r * 1.6, y - r * rng.uniform(0.5, 1.0)],
                    [x + side * r * rng.uniform(1.3, 1.8), y + r * rng.uniform(0.5, 1.0)],
                ]
            )
            self.shape(_poly_mask(c, np.round(wing).astype(np.int32)), colour, outline=True)
            tail = _strand(
                rng,
                x,
                y,
                math.pi / 2 + side * rng.uniform(0.2, 0.6),
                r * rng.uniform(1.5, 3.0),
                r * 0.5,
                taper=0.8,
            )
            self.shape(_poly_mask(c, tail), colour, outline=True)
        self.shape(_ellipse_mask(c, x, y, r * 0.35, r * 0.35, 0), colour, outline=True)

    def folds(self, sid: int, quad: np.ndarray, fill, count=(2, 9)) -> None:
        """Folds inside a shape (cloth folds, strands in a hair mass): thin tapering shadow
        wedges, or creases drawn in the image only that split nothing."""
        rng, c = self.rng, self.c
        inside = c.shape == sid
        x_lo, y_lo = quad.min(0)
        x_hi, y_hi = quad.max(0)
        for _ in range(int(rng.integers(*count))):
            x0, y0 = rng.uniform(x_lo, x_hi), rng.uniform(y_lo, y_hi)
            a = math.pi / 2 + rng.normal(0, 0.4)
            pts = _strand(
                rng, x0, y0, a, (y_hi - y_lo) * rng.uniform(0.3, 0.8), rng.uniform(3, 14), taper=0.0
            )
            if rng.random() < 0.7:
                m = _poly_mask(c, pts) & inside
                c.tone[m] = 1
            else:
                cv2.polylines(c.decor, [pts[: len(pts) // 2]], False, 1, 1)

    # --- cel shading ---------------------------------------------------------------------------
    def cel_shading(self) -> None:
        """Split shaded shapes into lit / shadow / deep-shadow tones and add highlights.

        A shadow is the part of a shape not covered by the shape shifted towards the light
        (a crescent on the far side), roughened by a blob; a deep shadow repeats that inside it.
        """
        rng, c = self.rng, self.c
        light = rng.uniform(0, 2 * math.pi)
        for sid in range(1, len(c.fill)):
            if not c.shaded[sid]:
                continue
            mask = c.shape == sid
            ys, xs = np.nonzero(mask)
            if ys.size < 80:
                continue
            extent = max(int(np.ptp(ys)), int(np.ptp(xs))) + 1
            for step, tone in ((rng.uniform(0.15, 0.45), 1), (rng.uniform(0.5, 0.8), 2)):
                if tone == 2 and rng.random() < 0.5:
                    break
                d = step * extent * 0.5
                m = mask.view(np.uint8)
                shift = np.float32([[1, 0, d * math.cos(light)], [0, 1, d * math.sin(light)]])
                lit = cv2.warpAffine(m, shift, (c.w, c.h), flags=cv2.INTER_NEAREST).astype(bool)
                shadow = mask & ~lit
                c.tone[shadow & (c.tone < tone) & (c.shape == sid)] = tone
            if rng.random() < 0.35 and ys.size > 400:  # a highlight: a small light streak or spot
                k = int(rng.integers(ys.size))
                r = extent * rng.uniform(0.05, 0.15)
                hl = _poly_mask(c, _strand(rng, xs[k], ys[k], light + math.pi, r * 3, r, taper=0.2))
                c.tone[hl & mask & (c.tone == 0)] = 3


def _tone_fill(base: np.ndarray, tone_shift: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """(n_shapes, TONES, 3) fills: lit, shadow, deep shadow (darker, hue-shifted), highlight.

    `depth` (n_shapes,) scales each shape's shadow: 1 is the house style (×0.8, ×0.64), small
    values give the faint shadows of painted pictures (a dark dress shaded a few grey levels
    darker), which annotators still split into regions.
    """
    out = np.empty((base.shape[0], _TONES, 3), np.float32)
    for t in range(_TONES):
        out[:, t] = base * (1.0 - (1.0 - _TONE_FACTOR[t]) * depth[:, None])
    out[:, 1:3] += (tone_shift * depth[:, None])[:, None, :]
    out[:, 3] = base + (255.0 - base) * 0.55
    return np.clip(out, 0, 255)


def _line_art(labels, region_shape, outline) -> np.ndarray:
    """Pixels of line art: on the outlined side of boundaries between different shapes."""
    h, w = labels.shape
    width_of = outline[region_shape[labels]]
    a, b, la, lb = _neighbour_pairs(labels)
    other = region_shape[la] != region_shape[lb]
    a, b = a[other], b[other]
    edge = np.zeros(h * w, bool)
    edge[a] = True
    edge[b] = True
    edge = edge.reshape(h, w)
    line = np.zeros((h, w), bool)
    kernels = {
        2: np.ones((2, 2), np.uint8),
        3: cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3)),
        4: cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (4, 4)),
    }
    for width in (1, 2, 3, 4):
        e = edge & (width_of == width)
        if e.any():
            line |= cv2.dilate(e.view(np.uint8), kernels[width]).astype(bool) if width > 1 else e
    n = int(labels.max())
    area = np.bincount(labels.ravel(), minlength=n + 1)
    covered = np.bincount(labels[line], minlength=n + 1)
    hidden = (2 * covered > area) | (area - covered < 3)
    return line & ~hidden[labels]


def illustration_scene(seed: int, *, height: int = 512, width: int = 512) -> SyntheticScene:
    """Draw one anime-style illustration with its exact regions (see the module docstring).

    Parameters
    ----------
    seed : int >= 0
    height, width : int >= 32
        Image size; content is scaled to the image (characters span 0.5–1.3 of the short side).

    Returns
    -------
    SyntheticScene with image (H, W, 3) uint8 BGR, region_map (H, W, 3) uint8 BGR, labels
    (H, W) uint32 (= ``region_labels(region_map)``), fill (H, W, 3) uint8, line (H, W) bool.
    """
    seed = _check_int("seed", seed, 0)
    h = _check_int("height", height, _MIN_SIDE)
    w = _check_int("width", width, _MIN_SIDE)
    rng = np.random.default_rng(seed)
    painter = _Painter(rng, h, w)
    painter.background()
    short = min(h, w)
    painter.props(int(rng.integers(0, 12)), short * rng.uniform(0.03, 0.15))
    for i in range(1 + int(rng.random() < 0.3)):
        size = short * rng.uniform(0.9, 2.2) / (1 + i)
        painter.character(rng.uniform(0.2, 0.8) * w, rng.uniform(-0.3, 0.2) * h, size)
    painter.props(int(rng.integers(0, 10)), short * rng.uniform(0.01, 0.06))
    painter.cel_shading()
    c = painter.c

    labels, region_key = _regions_of(c.shape.astype(np.int64) * _TONES + c.tone, _CRUMB_AREA)
    n = int(labels.max())
    region_shape = region_key // _TONES

    outline = np.array(c.outline, np.int64)
    line = _line_art(labels, region_shape, outline)
    _, _, la, lb = _neighbour_pairs(labels)
    region_map = np.take(_region_colours(rng, _adjacency(n, la, lb)), labels, axis=0)

    base = np.array(c.fill, np.float32)
    if rng.random() < 0.7:  # high key: most illustrations are light, pastel pictures
        base += (255.0 - base) * np.float32(rng.uniform(0.0, 0.4))
    shift = rng.uniform(-12, 12, (len(c.fill), 3)).astype(np.float32)
    shift[:, 0] += 10.0  # shadows lean blue/purple
    depth = rng.uniform(0.4, 1.2, len(c.fill)).astype(np.float32)
    tones = _tone_fill(base, shift, depth).reshape(-1, 3)
    key_at = np.take(region_key, labels)
    image = np.take(tones, key_at, axis=0)

    # Soft gradients inside tones (not region boundaries): one per picture, one per shape.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, 2 * math.pi)
    glow = 1.0 + float(rng.uniform(0.0, 0.12)) * (
        (xx * math.cos(a) + yy * math.sin(a)) / float(max(h, w)) - 0.5
    )
    gx = rng.uniform(-0.08, 0.08, len(c.fill)).astype(np.float32) / float(max(h, w))
    shape_at = np.take(region_shape, labels)
    glow = glow + np.take(gx, shape_at) * (xx - 0.5 * w)
    image *= glow[..., None]
    image = (8.0 * image + _box4(image)) * (1.0 / 12.0)

    # Line art (shape outlines + image-only strokes) in each shape's line colour, soft-edged.
    line_colour = np.take(np.array(c.line_colour, np.float32), shape_at, axis=0)
    decor = c.decor.astype(bool)
    ink = (line | decor).astype(np.float32)
    alpha = np.minimum(1.0, (4.0 * ink + _box4(ink)) * 0.2) * float(rng.uniform(0.6, 1.0))
    alpha = alpha[..., None]
    image = image * (1.0 - alpha) + line_colour * alpha

    if rng.random() < 0.3:  # fine screen tone: texture only
        period = int(rng.integers(3, 6))
        dots = ((np.mgrid[0:h, 0:w] % period) == 0).all(0).astype(np.float32)
        image -= dots[..., None] * float(rng.uniform(10, 40)) * (c.shape == 0)[..., None]
    coarse = rng.integers(0, 256, (max(2, h // 32), max(2, w // 32)), dtype=np.uint8)
    paper = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR_EXACT).astype(np.float32)
    image += (paper[..., None] - 127.5) * float(rng.uniform(0.0, 0.05))
    image += rng.standard_normal((h, w, 1), dtype=np.float32) * float(rng.uniform(0.5, 2.5))
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    if rng.random() < 0.5:  # soft, painted look
        image = cv2.GaussianBlur(image, (3, 3), 0)
    image = _jpeg_round_trip(rng, image)
    return SyntheticScene(
        image=image,
        region_map=region_map,
        labels=labels.astype(np.uint32),
        fill=np.clip(np.take(tones, key_at, axis=0), 0, 255).astype(np.uint8),
        line=line,
    )


def illustration_sample(
    seed: int, *, height: int = 512, width: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """(image, region_map) of :func:`illustration_scene`."""
    scene = illustration_scene(seed, height=height, width=width)
    return scene.image, scene.region_map

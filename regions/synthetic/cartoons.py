"""Synthetic flat-colour illustrations with exact region ground truth.

Long because shapes, regions, colours, line art and shading are drawn from one random stream in
one order, which keeps a seed's sample byte-identical; one module keeps that order in view.

A built-in dataset for tests, demos and smoke-training when DanbooRegion is not at hand. Each
sample is drawn like a cel-painted cartoon:

1. **Shapes** (background bands, big ellipses/polygons/blobs, medium and small shapes, nested
   "detail" shapes, 1–4 px strokes and strand bundles) are painted over each other into an integer shape map
   (painter's algorithm), so shapes cut and split each other.
2. **Regions** are the 4-connected components of that map. Crumbs smaller than 4 px (left where
   shapes nearly cover each other) are merged into their neighbour. The region map colours the
   regions from a small palette (8–24 colours), **repeating colours across regions that do not
   touch** exactly as DanbooRegion does, and never giving two 4-adjacent regions the same colour,
   so ``region_labels(region_map)`` returns exactly the regions that were painted.
3. **Image**: every region gets one flat fill (a shape's fill is shared by all of its fragments).
   Two touching regions get clearly different fills unless a line separates them, where equal
   fills are allowed on purpose (fingers, hair strands: same colour, split only by line art).
   Then, in the image only: smooth shading (linear gradients, soft round shadows and highlights),
   a light anti-aliasing, dark line art of 1–4 px on the boundaries of some shapes, noise, a
   paper-like low-frequency texture and a JPEG round trip (quality 75–95).

Line art follows DanbooRegion's convention: lines have no region of their own. A line is drawn
over a region boundary in the image, and its pixels keep the label of the region they lie in
(the outlined shape's side for 1 px lines, both sides for wider ones). Lines are left out where
they would hide more than half of a region (thin strokes crossing an outlined shape), so every
region stays visible.

Determinism: everything comes from ``np.random.default_rng(seed)``; pixel values are computed
with integer OpenCV drawing/morphology/resizing (``INTER_LINEAR_EXACT``) and IEEE-exact float
arithmetic (+, -, *, /, sqrt; no SIMD-dependent transcendental functions or reductions), so the
same seed gives byte-identical arrays whatever the thread count or CPU. Across library versions
the JPEG codec bundled with OpenCV and numpy's random streams may change; the region map does
not depend on the codec.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
from skimage.measure import label as _label

SPLITS = ("train", "val", "test")

_MIN_SIDE = 16
_CRUMB_AREA = 4  # fragments below this many pixels are merged into a neighbour
_FILL_CONTRAST = 60.0  # min BGR distance between fills of touching regions not split by a line
_LINE_KERNELS = {
    2: np.ones((2, 2), np.uint8),
    3: cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3)),
    4: cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (4, 4)),
}


@dataclass(frozen=True)
class SyntheticScene:
    """Everything drawn for one sample (the public API returns ``image`` and ``region_map``).

    Attributes
    ----------
    image : (H, W, 3) uint8, BGR, shaded, lined, noisy and JPEG-compressed
    region_map : (H, W, 3) uint8, BGR, one colour per region, colours repeat on non-touching regions
    labels : (H, W) uint32, the regions, equal to ``region_labels(region_map)``
    fill : (H, W, 3) uint8, the flat fill of each region (before shading, lines, noise, JPEG)
    line : (H, W) bool, pixels covered by line art in the image
    """

    image: np.ndarray
    region_map: np.ndarray
    labels: np.ndarray
    fill: np.ndarray
    line: np.ndarray


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value}")
    return int(value)


def synthetic_sample(
    seed: int, *, height: int = 256, width: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one illustration-like image and its region map.

    Parameters
    ----------
    seed : int >= 0
        Same seed, same size → byte-identical arrays.
    height, width : int >= 16
        Image size in pixels.

    Returns
    -------
    image : (height, width, 3) uint8
        BGR illustration: flat fills, soft shading, line art on some boundaries, noise, JPEG.
    region_map : (height, width, 3) uint8
        BGR region map: regions are 4-connected components of equal colour
        (``regions.danbooregion.labels.region_labels``); colours repeat across regions that do not touch.
    """
    scene = synthetic_scene(seed, height=height, width=width)
    return scene.image, scene.region_map


def sample_seed(seed: int, split: str, index: int) -> int:
    """The seed of sample ``index`` of ``split``, derived from the dataset ``seed``.

    Derived with ``np.random.SeedSequence`` from (seed, split, index), so adding samples or
    splits never changes existing ones.
    """
    seed = _check_int("seed", seed, 0)
    index = _check_int("index", index, 0)
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
    words = np.random.SeedSequence([seed, SPLITS.index(split), index]).generate_state(2, np.uint32)
    return (int(words[0]) << 32) | int(words[1])


def synthetic_dataset(
    seed: int,
    *,
    n_train: int,
    n_val: int,
    n_test: int,
    height: int = 256,
    width: int = 256,
) -> Iterator[tuple[str, str, np.ndarray, np.ndarray | None]]:
    """Samples in DanbooRegion2020 layout order: train, then val, then test.

    Parameters
    ----------
    seed : int >= 0
        Dataset seed; sample ``i`` of a split uses ``sample_seed(seed, split, i)``.
    n_train, n_val, n_test : int >= 0
        Samples per split.
    height, width : int >= 16
        Image size.

    Yields
    ------
    (split, sample_id, image, region_map) : (str, str, (H, W, 3) uint8, (H, W, 3) uint8 | None)
        ``sample_id`` is ``"0"``, ``"1"``, … within each split (the real files are
        ``<split>/<id>.image.png``). Test samples have no region map (``None``), as in the
        real dataset whose test annotations are withheld.
    """
    seed = _check_int("seed", seed, 0)
    counts = {
        "train": _check_int("n_train", n_train, 0),
        "val": _check_int("n_val", n_val, 0),
        "test": _check_int("n_test", n_test, 0),
    }
    height = _check_int("height", height, _MIN_SIDE)
    width = _check_int("width", width, _MIN_SIDE)

    def samples() -> Iterator[tuple[str, str, np.ndarray, np.ndarray | None]]:
        for split in SPLITS:
            for index in range(counts[split]):
                image, region_map = synthetic_sample(
                    sample_seed(seed, split, index), height=height, width=width
                )
                yield split, str(index), image, (None if split == "test" else region_map)

    return samples()


# --------------------------------------------------------------------------------------------
# Drawing the shape map
# --------------------------------------------------------------------------------------------


@dataclass
class _Shape:
    kind: str  # "background", "fill" or "stroke"
    outline: int = 0  # line-art width in px, 0 = none
    shaded: bool = False


def _star_polygon(
    rng: np.random.Generator, cx: float, cy: float, r: float, *, blob: bool
) -> np.ndarray:
    """A star-shaped outline: a smooth wobbly blob or a 3–8 vertex polygon."""
    if blob:
        n = 40
        theta = np.arange(n) * (2.0 * math.pi / n)
        radius = np.ones(n)
        for k in (2, 3, 4, 5):
            radius += rng.uniform(0.0, 0.35) / k * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
    else:
        n = int(rng.integers(3, 9))
        theta = np.sort(rng.uniform(0, 2 * math.pi, n))
        radius = rng.uniform(0.55, 1.0, n)
    aspect = rng.uniform(0.45, 1.0)
    angle = rng.uniform(0, math.pi)
    x = r * radius * np.cos(theta)
    y = r * aspect * radius * np.sin(theta)
    ca, sa = math.cos(angle), math.sin(angle)
    pts = np.stack([cx + ca * x - sa * y, cy + sa * x + ca * y], axis=1)
    return np.round(pts).astype(np.int32)


def _curve(
    rng: np.random.Generator, x0: float, y0: float, angle: float, length: float
) -> np.ndarray:
    """A quadratic Bézier stroke of about ``length`` px from (x0, y0), as a polyline."""
    x2, y2 = x0 + length * math.cos(angle), y0 + length * math.sin(angle)
    bend = rng.uniform(-0.5, 0.5) * length
    x1 = (x0 + x2) / 2 - bend * math.sin(angle)
    y1 = (y0 + y2) / 2 + bend * math.cos(angle)
    t = np.linspace(0.0, 1.0, max(4, int(length / 4)))[:, None]
    pts = (1 - t) ** 2 * [x0, y0] + 2 * (1 - t) * t * [x1, y1] + t**2 * [x2, y2]
    return np.round(pts).astype(np.int32)


def _draw_shapes(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, list[_Shape]]:
    """Paint shapes into an int32 shape map; returns the map and the shapes (index = id)."""
    size = math.sqrt(h * w)
    more = (h * w / 65536.0) ** 0.6  # bigger canvases hold more (and finer) detail
    shape_map = np.zeros((h, w), np.int32)
    shapes = [_Shape("background")]

    def count(low: int, high: int) -> int:
        return round(int(rng.integers(low, high + 1)) * more)

    def add(kind: str) -> int:
        shapes.append(_Shape(kind))
        return len(shapes) - 1

    def fill_shape(cx: float, cy: float, r: float) -> None:
        sid = add("fill")
        style = rng.random()
        if style < 0.3:
            axes = (max(1, round(r)), max(1, round(r * rng.uniform(0.35, 1.0))))
            centre = (round(cx), round(cy))
            cv2.ellipse(shape_map, centre, axes, rng.uniform(0, 180), 0, 360, sid, -1)
        else:
            pts = _star_polygon(rng, cx, cy, r, blob=style < 0.75)
            cv2.fillPoly(shape_map, [pts], sid)

    def stroke(x0: float, y0: float, angle: float, length: float, thickness: int) -> None:
        sid = add("stroke")
        pts = _curve(rng, x0, y0, angle, length)
        # A 1 px stroke must be 4-connected, or 4-connectivity would shatter it into dots.
        line_type = cv2.LINE_4 if thickness == 1 else cv2.LINE_8
        cv2.polylines(shape_map, [pts], False, sid, thickness, line_type)

    # Background bands: ground, sky, walls, cut by a wavy or slanted horizon.
    for _ in range(int(rng.integers(0, 3))):
        sid = add("fill")
        xs = np.linspace(-2, w + 2, 12)
        y0 = rng.uniform(0.3, 0.85) * h
        ys = y0 + rng.uniform(-0.08, 0.08) * h * np.sin(
            xs / w * rng.uniform(2, 9) + rng.uniform(0, 6)
        )
        ys += (xs - w / 2) * rng.uniform(-0.4, 0.4)
        edge = np.stack([xs, ys], axis=1)
        far = h + w + 10 if rng.random() < 0.7 else -(h + w + 10)
        pts = np.concatenate([edge, [[w + 2, far], [-2, far]]])
        cv2.fillPoly(shape_map, [np.round(pts).astype(np.int32)], sid)

    # Detail gathers around one or two subjects (a character, an object), as in illustrations.
    subjects = [
        (rng.uniform(0.25, 0.75) * w, rng.uniform(0.25, 0.75) * h)
        for _ in range(int(rng.integers(1, 3)))
    ]

    def centre(near: float, spread: float) -> tuple[float, float]:
        if rng.random() < near:
            sx, sy = subjects[int(rng.integers(len(subjects)))]
            return sx + rng.normal(0, spread * size), sy + rng.normal(0, spread * size)
        return rng.uniform(-0.05, 1.05) * w, rng.uniform(-0.05, 1.05) * h

    for _ in range(int(rng.integers(2, 6))):
        fill_shape(*centre(0.7, 0.15), rng.uniform(0.12, 0.3) * size)

    middle = ["medium"] * count(8, 16) + ["stroke"] * count(2, 6) + ["hair"] * count(0, 2)
    late = ["small"] * count(8, 20) + ["detail"] * count(1, 4) + ["stroke"] * count(3, 8)
    for group in (middle, late):
        for i in rng.permutation(len(group)):
            kind = group[i]
            if kind == "medium":
                fill_shape(*centre(0.7, 0.2), rng.uniform(0.04, 0.11) * size)
            elif kind == "small":
                fill_shape(*centre(0.6, 0.2), rng.uniform(2.0, max(3.0, 0.035 * size)))
            elif kind == "detail":  # an eye, a button: nested shapes down to a tiny highlight
                cx, cy = centre(0.8, 0.15)
                r = rng.uniform(0.03, 0.07) * size
                for _ in range(int(rng.integers(2, 4))):
                    fill_shape(cx, cy, r)
                    cx += rng.uniform(-0.25, 0.25) * r
                    cy += rng.uniform(-0.25, 0.25) * r
                    r *= rng.uniform(0.4, 0.7)
            elif kind == "stroke":
                x0, y0 = centre(0.5, 0.25)
                thickness = int(rng.choice([1, 1, 2, 2, 3]))
                stroke(
                    x0, y0, rng.uniform(0, 2 * math.pi), rng.uniform(0.06, 0.4) * size, thickness
                )
            else:  # a bundle of nearly parallel strands, like hair or folds
                x0, y0 = centre(0.8, 0.15)
                angle = rng.uniform(0, 2 * math.pi)
                length = rng.uniform(0.15, 0.4) * size
                for _ in range(int(rng.integers(3, 8))):
                    stroke(
                        x0 + rng.normal(0, 0.04 * size),
                        y0 + rng.normal(0, 0.04 * size),
                        angle + rng.normal(0, 0.15),
                        length * rng.uniform(0.6, 1.1),
                        int(rng.integers(1, 5)),
                    )
    return shape_map, shapes


# --------------------------------------------------------------------------------------------
# Regions, adjacency and colouring
# --------------------------------------------------------------------------------------------


def _neighbour_pairs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flat indices (a, b) of 4-neighbour pixel pairs in different regions, and their labels."""
    w = labels.shape[1]
    ys, xs = np.nonzero(labels[:, :-1] != labels[:, 1:])
    right = ys * w + xs
    ys, xs = np.nonzero(labels[:-1] != labels[1:])
    below = ys * w + xs
    a = np.concatenate([right, below])
    b = np.concatenate([right + 1, below + w])
    flat = labels.ravel()
    return a, b, flat[a], flat[b]


def _merge_crumbs(fragments: np.ndarray, min_area: int) -> np.ndarray:
    """Merge fragments below ``min_area`` px into the neighbour they share most boundary with.

    Returns the fragment map with each crumb's pixels set to the id of the fragment that
    absorbed it (ids are not renumbered).
    """
    for _ in range(4):
        n = int(fragments.max())
        area = np.bincount(fragments.ravel(), minlength=n + 1)
        if area[1:].min() >= min_area:
            break
        _, _, la, lb = _neighbour_pairs(fragments)
        la, lb = np.concatenate([la, lb]), np.concatenate([lb, la])
        # Merge only "upwards" (into a bigger fragment, ties by id) so merges never form a cycle.
        up = (area[lb] > area[la]) | ((area[lb] == area[la]) & (lb > la))
        la, lb = la[up & (area[la] < min_area)], lb[up & (area[la] < min_area)]
        if la.size == 0:
            break
        pair, count = np.unique(la.astype(np.int64) * (n + 1) + lb, return_counts=True)
        pa, pb = pair // (n + 1), pair % (n + 1)
        order = np.lexsort((-count, pa))  # per small fragment, the longest shared boundary first
        pa, pb = pa[order], pb[order]
        first = np.r_[True, pa[1:] != pa[:-1]]
        lut = np.arange(n + 1)
        lut[pa[first]] = pb[first]
        for _ in range(64):  # follow chains small → small → big
            nxt = lut[lut]
            if np.array_equal(nxt, lut):
                break
            lut = nxt
        fragments = lut[fragments]
    return fragments


def _jpeg_round_trip(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """The image after JPEG at a random quality 75–95 (one draw from `rng`)."""
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(75, 96))])
    if not ok:  # pragma: no cover - OpenCV without a JPEG codec
        raise RuntimeError("OpenCV could not encode JPEG")
    return cv2.imdecode(jpeg, cv2.IMREAD_COLOR)


def _regions_of(painted: np.ndarray, crumb_area: int) -> tuple[np.ndarray, np.ndarray]:
    """Regions of a painted id map: its 4-connected fragments, crumbs below `crumb_area` px merged
    into a neighbour. Returns (labels (H, W) int32 1..n, id of each label (n + 1,) int64)."""
    fragments = _label(painted, background=-1, connectivity=1).astype(np.int32)
    fragment_id = np.zeros(int(fragments.max()) + 1, np.int64)
    fragment_id[fragments.ravel()] = painted.ravel()
    # A crumb takes the id of the fragment that absorbed it; that can join two fragments of one
    # id, so regions are the components of the id map after merging.
    painted = fragment_id[_merge_crumbs(fragments, crumb_area)]
    labels = _label(painted, background=-1, connectivity=1).astype(np.int32)
    region_id = np.zeros(int(labels.max()) + 1, np.int64)
    region_id[labels.ravel()] = painted.ravel()
    return labels, region_id


def _adjacency(n: int, la: np.ndarray, lb: np.ndarray) -> list[set[int]]:
    pair = np.unique(np.minimum(la, lb).astype(np.int64) * (n + 1) + np.maximum(la, lb))
    neighbours: list[set[int]] = [set() for _ in range(n + 1)]
    for p in pair.tolist():
        a, b = divmod(p, n + 1)
        neighbours[a].add(b)
        neighbours[b].add(a)
    return neighbours


def _distinct_colours(
    rng: np.random.Generator, k: int, colours: list[tuple[int, int, int]] | None = None
) -> list[tuple[int, int, int]]:
    """Extend ``colours`` to ``k`` random BGR colours that differ pairwise (L1 > 48)."""
    colours = [] if colours is None else colours
    while len(colours) < k:
        c = tuple(int(v) for v in rng.integers(0, 256, 3))
        if all(sum(abs(x - y) for x, y in zip(c, o, strict=True)) > 48 for o in colours):
            colours.append(c)
    return colours


def _region_colours(rng: np.random.Generator, neighbours: list[set[int]]) -> np.ndarray:
    """Colour the region graph from a small palette; touching regions never share a colour."""
    n = len(neighbours) - 1
    palette = _distinct_colours(rng, int(rng.integers(8, 25)))
    colour_of = np.full(n + 1, -1, np.int64)
    # Welsh–Powell order (most neighbours first) keeps the palette small; a random pick among the
    # free colours spreads repeats over the palette like a human annotator's picks.
    order = sorted(range(1, n + 1), key=lambda r: (-len(neighbours[r]), r))
    for r in order:
        used = {int(colour_of[q]) for q in neighbours[r]}
        free = [c for c in range(len(palette)) if c not in used]
        if not free:  # never for planar-like maps with >= 8 colours, but stay correct anyway
            palette = _distinct_colours(rng, len(palette) + 1, palette)
            free = [len(palette) - 1]
        colour_of[r] = free[int(rng.integers(len(free)))]
    table = np.array(palette, np.uint8)
    out = np.zeros((n + 1, 3), np.uint8)
    out[1:] = table[colour_of[1:]]
    return out


def _hsv_to_bgr(hue: float, sat: float, val: float) -> tuple[float, float, float]:
    i = int(hue * 6.0) % 6
    f = hue * 6.0 - math.floor(hue * 6.0)
    p, q, t = val * (1 - sat), val * (1 - sat * f), val * (1 - sat * (1 - f))
    r, g, b = [(val, t, p), (q, val, p), (p, val, t), (p, q, val), (t, p, val), (val, p, q)][i]
    return 255.0 * b, 255.0 * g, 255.0 * r


def _illustration_palette(rng: np.random.Generator) -> list[tuple[float, float, float]]:
    """Fill colours of an illustration: a few hues, muted to vivid, light to mid-dark."""
    base_hues = rng.uniform(0, 1, int(rng.integers(3, 7)))
    palette = []
    for _ in range(int(rng.integers(10, 20))):
        hue = (rng.choice(base_hues) + rng.normal(0, 0.04)) % 1.0
        palette.append(_hsv_to_bgr(hue, rng.uniform(0.05, 0.85), rng.uniform(0.35, 1.0)))
    return palette


def _distance(c1: np.ndarray, c2: np.ndarray) -> float:
    return math.sqrt(sum((float(x) - float(y)) ** 2 for x, y in zip(c1, c2, strict=True)))


def _shape_fills(
    rng: np.random.Generator,
    n_shapes: int,
    contrast: list[set[int]],
    lined: list[set[int]],
    line_colour: np.ndarray,
) -> np.ndarray:
    """One BGR fill per shape; shapes that touch without a line between them get distinct fills."""
    palette = _illustration_palette(rng)
    fills = np.full((n_shapes, 3), -1.0)
    done = np.zeros(n_shapes, bool)

    def margin(c: np.ndarray, s: int) -> float:
        return min((_distance(fills[t], c) for t in contrast[s] if done[t]), default=math.inf)

    def candidates(s: int) -> Iterator[np.ndarray]:
        # Reuse the fill of a line-separated neighbour now and then: same colour, split by line
        # (only where the line stands out from the fill, or the boundary would be invisible).
        twins = [t for t in sorted(lined[s]) if done[t] and _distance(fills[t], line_colour) >= 120]
        if twins and rng.random() < 0.35:
            yield fills[twins[int(rng.integers(len(twins)))]].copy()
        for i in rng.permutation(len(palette)):
            yield np.array(palette[i])
        for _ in range(256):
            yield rng.uniform(10, 250, 3)

    for s in range(n_shapes):
        best, best_margin = None, -1.0
        for c in candidates(s):
            m = margin(c, s)
            if m > best_margin:
                best, best_margin = c, m
            if m >= _FILL_CONTRAST:
                break
        fills[s] = best
        done[s] = True
    return np.round(fills).clip(0, 255)


# --------------------------------------------------------------------------------------------
# The image
# --------------------------------------------------------------------------------------------


def _box4(a: np.ndarray) -> np.ndarray:
    """Sum of the 4 neighbours of every pixel (edges replicated)."""
    p = np.pad(a, [(1, 1), (1, 1)] + [(0, 0)] * (a.ndim - 2), mode="edge")
    return p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]


def _line_art(labels: np.ndarray, region_shape: np.ndarray, shapes: list[_Shape]) -> np.ndarray:
    """Boolean mask of line art along the boundaries of outlined shapes."""
    h, w = labels.shape
    outline = np.array([s.outline for s in shapes], np.int64)
    width_of = outline[region_shape[labels]]
    a, b, _, _ = _neighbour_pairs(labels)
    inner = np.zeros(h * w, bool)
    inner[a] = True
    inner[b] = True
    inner = inner.reshape(h, w)
    line = np.zeros((h, w), bool)
    for width in (1, 2, 3, 4):
        edge = inner & (width_of == width)
        if not edge.any():
            continue
        if width > 1:
            edge = cv2.dilate(edge.view(np.uint8), _LINE_KERNELS[width]).astype(bool)
        line |= edge
    # Lines must not hide a region: drop them inside regions they would mostly cover.
    n = int(labels.max())
    area = np.bincount(labels.ravel(), minlength=n + 1)
    covered = np.bincount(labels[line], minlength=n + 1)
    hidden = (2 * covered > area) | (area - covered < 3)
    line &= ~hidden[labels]
    return line


def _shading(
    rng: np.random.Generator, shape_at: np.ndarray, shapes: list[_Shape], h: int, w: int
) -> np.ndarray:
    """(H, W) float32 brightness factor: per-shape gradients and soft round shadows/highlights."""
    n = len(shapes)
    size = math.sqrt(h * w)
    # Shadows are centred on a pixel of their own shape: the first hit among random probes.
    probes = rng.integers(0, h * w, 4096)
    hit_shape, first = np.unique(shape_at.ravel()[probes], return_index=True)
    anchor = dict(zip(hit_shape.tolist(), probes[first].tolist(), strict=True))
    gx, gy, g0 = np.zeros(n, np.float32), np.zeros(n, np.float32), np.zeros(n, np.float32)
    ex, ey = np.zeros(n, np.float32), np.zeros(n, np.float32)
    inv_r, depth = np.zeros(n, np.float32), np.zeros(n, np.float32)
    for s, shape in enumerate(shapes):
        if not shape.shaded:
            continue
        amp = rng.uniform(0.06, 0.2)
        a = rng.uniform(0, 2 * math.pi)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        gx[s] = amp * math.cos(a) / size
        gy[s] = amp * math.sin(a) / size
        g0[s] = -(gx[s] * cx + gy[s] * cy)
        if s in anchor and rng.random() < 0.6:
            ey[s], ex[s] = divmod(anchor[s], w)
            inv_r[s] = 1.0 / (rng.uniform(0.06, 0.25) * size)
            depth[s] = rng.choice([-1.0, 1.0, 1.0]) * rng.uniform(0.06, 0.18)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    factor = 1.0 + np.take(gx, shape_at) * xx + np.take(gy, shape_at) * yy + np.take(g0, shape_at)
    r = np.take(inv_r, shape_at)
    d = np.sqrt(((xx - np.take(ex, shape_at)) * r) ** 2 + ((yy - np.take(ey, shape_at)) * r) ** 2)
    t = np.clip(1.5 - d, 0.0, 1.0)  # 1 inside radius 0.5, smooth falloff to 0 at radius 1.5
    factor *= 1.0 - np.take(depth, shape_at) * (t * t * (3.0 - 2.0 * t))
    return factor


def synthetic_scene(seed: int, *, height: int = 256, width: int = 256) -> SyntheticScene:
    """Draw one sample and keep its intermediate layers (flat fill, line mask, labels).

    Same parameters and results as :func:`synthetic_sample`, plus the layers tests and
    previews need. See the module docstring for how a sample is drawn.
    """
    seed = _check_int("seed", seed, 0)
    h = _check_int("height", height, _MIN_SIDE)
    w = _check_int("width", width, _MIN_SIDE)
    rng = np.random.default_rng(seed)

    shape_map, shapes = _draw_shapes(rng, h, w)
    outline_rate = rng.uniform(0.3, 0.95)
    base_width = int(rng.integers(1, 4))
    for shape in shapes:
        if shape.kind == "fill" and rng.random() < outline_rate:
            shape.outline = int(np.clip(base_width + rng.choice([-1, 0, 0, 1]), 1, 4))
        shape.shaded = shape.kind != "stroke" and rng.random() < 0.45

    labels, region_shape = _regions_of(shape_map, _CRUMB_AREA)
    n = int(labels.max())

    line = _line_art(labels, region_shape, shapes)

    # Which touching regions are split by line art along their whole shared boundary?
    a, b, la, lb = _neighbour_pairs(labels)
    flat_line = line.ravel()
    key = np.minimum(la, lb).astype(np.int64) * (n + 1) + np.maximum(la, lb)
    pair, inverse = np.unique(key, return_inverse=True)
    total = np.bincount(inverse)
    lined_px = np.bincount(inverse, weights=flat_line[a] | flat_line[b])
    ra, rb = pair // (n + 1), pair % (n + 1)
    sa, sb = region_shape[ra], region_shape[rb]
    contrast: list[set[int]] = [set() for _ in shapes]
    lined: list[set[int]] = [set() for _ in shapes]
    for s, t, fully_lined in zip(
        sa.tolist(), sb.tolist(), (lined_px >= total).tolist(), strict=True
    ):
        (lined if fully_lined else contrast)[s].add(t)
        (lined if fully_lined else contrast)[t].add(s)
    for s in range(len(shapes)):
        lined[s] -= contrast[s]

    line_colour = np.array(
        _hsv_to_bgr(rng.uniform(0, 1), rng.uniform(0.1, 0.7), rng.uniform(0.05, 0.3))
    )
    fills = _shape_fills(rng, len(shapes), contrast, lined, line_colour)
    region_map = np.take(_region_colours(rng, _adjacency(n, la, lb)), labels, axis=0)

    # float32 with Python-float scalars keeps float32 (NEP 50); + - * / are exact in IEEE, so
    # the result does not depend on the CPU's vector width.
    shape_at = np.take(region_shape, labels)
    image = np.take(fills.astype(np.float32), shape_at, axis=0)
    image *= _shading(rng, shape_at, shapes, h, w)[..., None]
    image = (8.0 * image + _box4(image)) * (1.0 / 12.0)  # light anti-aliasing of region edges

    alpha = line.astype(np.float32)
    alpha = np.minimum(1.0, (4.0 * alpha + _box4(alpha)) * 0.2) * float(rng.uniform(0.85, 1.0))
    alpha = alpha[..., None]
    image = image * (1.0 - alpha) + line_colour.astype(np.float32) * alpha

    coarse = rng.integers(0, 256, (max(2, h // 24), max(2, w // 24)), dtype=np.uint8)
    paper = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR_EXACT).astype(np.float32)
    image += (paper[..., None] - 127.5) * float(rng.uniform(0.0, 0.06))
    # Grain in brightness only: a painted (not photographed) picture has no colour noise.
    image += rng.standard_normal((h, w, 1), dtype=np.float32) * float(rng.uniform(0.8, 3.0))
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    image = _jpeg_round_trip(rng, image)

    return SyntheticScene(
        image=image,
        region_map=region_map,
        labels=labels.astype(np.uint32),
        fill=np.take(fills.astype(np.uint8), shape_at, axis=0),
        line=line,
    )

"""Label map → polygons along pixel edges, and an SVG of the regions filled with flat colours.

The polygons follow the pixels' edges (the "crack" boundary), not their centres as
``cv2.findContours`` on the mask would: centre contours make each region half a pixel too thin
all round, so neighbouring regions would leave a 1-px gap in the drawing. We trace each region
on a grid at twice the resolution where pixel (x, y) covers the closed square
[2x, 2x + 2] × [2y, 2y + 2] (+1 for the padding), so the outermost foreground cells lie
exactly on the pixel edges. findContours follows foreground 8-connected and cuts each
concave corner diagonally; we put that corner back (the one of the two candidate cells with
both coordinates odd is the pixel corner). Unsimplified rings then enclose exactly the
region's pixels, and neighbouring regions share their edges: the drawing tiles the image.
"""

from __future__ import annotations

import cv2
import numpy as np
from numba import njit
from scipy import ndimage

from regionflow.regions.danbooregion.region_table import (
    _check_labels,
    _region_index,
    region_medians,
)

__all__ = ["region_polygons", "svg_document"]


@njit(cache=True, nogil=True)
def _signed_area2(ring: np.ndarray) -> int:
    """Twice the shoelace area (x right, y down): > 0 for outer rings as we orient them."""
    n = ring.shape[0]
    total = 0
    for i in range(n):
        j = (i + 1) % n
        total += np.int64(ring[i, 0]) * ring[j, 1] - np.int64(ring[j, 0]) * ring[i, 1]
    return total


@njit(cache=True, nogil=True)
def _doubled_grid(index: np.ndarray, y0: int, y1: int, x0: int, x1: int, k: int) -> np.ndarray:
    """Region `k` of ``index[y0:y1, x0:x1]`` on the doubled grid, one cell of padding around:
    pixel (x, y) sets the 3×3 cells centred on (2x + 2, 2y + 2)."""
    grid = np.zeros((2 * (y1 - y0) + 3, 2 * (x1 - x0) + 3), np.uint8)
    for y in range(y0, y1):
        for x in range(x0, x1):
            if index[y, x] == k:
                gy = 2 * (y - y0) + 1
                gx = 2 * (x - x0) + 1
                for dy in range(3):
                    for dx in range(3):
                        grid[gy + dy, gx + dx] = 1
    return grid


@njit(cache=True, nogil=True)
def _crack_boundary(chain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(corners, guide) of the crack boundary traced by a CHAIN_APPROX_NONE contour (K, 2) on
    the doubled grid, in grid cells, in ring order: the turning points (pixel corners, both
    coordinates odd), and the points simplification should follow (see `_region_rings`)."""
    n = chain.shape[0]
    steps = np.empty((2 * n, 2), np.int32)
    m = 0
    for i in range(n):
        x, y = chain[i, 0], chain[i, 1]
        nx, ny = chain[(i + 1) % n, 0], chain[(i + 1) % n, 1]
        steps[m, 0], steps[m, 1] = x, y
        m += 1
        if x != nx and y != ny:
            # A diagonal step joins two edge cells (one coordinate odd); the pixel corner it
            # skipped is the candidate cell with both coordinates odd.
            if x & 1:
                steps[m, 0], steps[m, 1] = x, ny
            else:
                steps[m, 0], steps[m, 1] = nx, y
            m += 1
    turn = np.zeros(m, np.bool_)
    n_corners = 0
    for i in range(m):
        p = steps[(i - 1) % m]
        q = steps[i]
        r = steps[(i + 1) % m]
        if (q[0] & 1) == 1 and (q[1] & 1) == 1:
            if np.sign(q[0] - p[0]) != np.sign(r[0] - q[0]) or np.sign(q[1] - p[1]) != np.sign(
                r[1] - q[1]
            ):
                turn[i] = True
                n_corners += 1
    corners = np.empty((n_corners, 2), np.int32)
    at = np.empty(n_corners, np.int64)
    k = 0
    for i in range(m):
        if turn[i]:
            corners[k] = steps[i]
            at[k] = i
            k += 1
    guide = np.empty((m, 2), np.int32)
    n_guide = 0
    k = 0
    for i in range(m):
        q = steps[i]
        if (q[0] & 1) != (q[1] & 1):
            guide[n_guide] = q
            n_guide += 1
        elif turn[i]:
            before = corners[(k - 1) % n_corners]
            after = corners[(k + 1) % n_corners]
            run_in = abs(q[0] - before[0]) + abs(q[1] - before[1])
            run_out = abs(after[0] - q[0]) + abs(after[1] - q[1])
            if run_in >= 4 and run_out >= 4:  # both sides >= 2 px long
                guide[n_guide] = q
                n_guide += 1
            k += 1
    return corners, guide[:n_guide]


def _region_rings(
    index: np.ndarray, box: tuple[slice, slice], k: int, tolerance: float
) -> list[np.ndarray]:
    rows, cols = box
    grid = _doubled_grid(index, rows.start, rows.stop, cols.start, cols.stop, k)
    chains, hierarchy = cv2.findContours(grid, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    origin = np.array([cols.start, rows.start], np.float64)
    rings = []
    for chain, links in zip(chains, hierarchy[0], strict=True):
        ring, guide = _crack_boundary(chain[:, 0, :])
        sign = -1 if links[3] >= 0 else 1  # RETR_CCOMP: a parent means a hole
        if _signed_area2(ring) * sign < 0:
            ring, guide = ring[::-1], guide[::-1]
        if tolerance > 0:
            # Simplify through the pixel edges' midpoints, not the corners: a staircase's
            # corners alternate either side of the line it digitises and Douglas–Peucker keeps
            # the extreme (convex) ones, which biased every region outwards (~5 % of the area
            # at 1 px on 300-px regions); the midpoints lie on the line, and neighbours share
            # them. Corners between two runs of >= 2 px are kept as candidates: a digital
            # straight line never has those (one direction's runs are all 1 px), so they are
            # real corners, and a rectangle stays a rectangle.
            simple = cv2.approxPolyDP(guide.reshape(-1, 1, 2), 2 * tolerance, True)[:, 0, :]
            # Keep the exact ring when simplifying would collapse or turn it inside out.
            if len(simple) >= 3 and _signed_area2(simple) * sign > 0:
                ring = simple
        rings.append((ring - 1) / 2 + origin)  # doubled grid → pixel-corner coordinates
    return rings


def region_polygons(
    labels: np.ndarray, *, simplify: float = 1.0
) -> list[tuple[int, list[np.ndarray]]]:
    """Each region's outline as polygons along pixel edges, holes included.

    Parameters
    ----------
    labels : (H, W) integer array, 0 = unlabelled (no polygon), > 0 = region.
    simplify : Douglas–Peucker tolerance in pixels (``cv2.approxPolyDP``); 0 keeps every corner
        of the pixel staircase (exact). A ring that simplification would collapse (< 3 points, or
        orientation lost) is kept unsimplified, so no region vanishes.

    Returns
    -------
    list of ``(label, rings)``, ascending by label. Each ring is a (K, 2) float64 array of
    (x, y) coordinates where pixel (x, y) is the unit square [x, x + 1] × [y, y + 1], so the
    image is [0, W] × [0, H]. Unsimplified rings run through pixel corners (whole numbers);
    simplified ones through midpoints of the boundary's pixel edges (halves), which keeps
    simplification unbiased on slanted edges, and through the corners that join two straight
    runs of >= 2 px (so a rectangle stays exact). Outer boundaries have positive shoelace area
    (x right, y down), holes negative, so the signed areas of a region's rings add up to its
    pixel count, exactly when ``simplify=0``, approximately otherwise. With ``simplify=0``
    neighbouring regions share their boundary exactly; simplified rings are simplified
    independently, so thin slivers (at most ~2 × `simplify` wide) can open or overlap between
    them. A region that is not connected has several outer rings.
    """
    labels = _check_labels(labels)
    if not np.isfinite(simplify) or simplify < 0:
        raise ValueError(f"simplify: expected a tolerance >= 0 in pixels, got {simplify!r}")
    ids, index = _region_index(labels)
    boxes = ndimage.find_objects(index + 1, max_label=ids.size)
    polygons = []
    for k, (label, box) in enumerate(zip(ids, boxes, strict=True)):
        rings = _region_rings(index, box, k, float(simplify))
        polygons.append((int(label), rings))
    return polygons


def _number(value: float) -> str:
    # Coordinates are whole or halves: print "3" and "3.5", never exponents or "3.0".
    return str(int(value)) if value.is_integer() else repr(value)


def _path_data(rings: list[np.ndarray]) -> str:
    parts = []
    for ring in rings:
        xy = [_number(v) for v in ring.ravel().tolist()]
        parts.append(f"M{xy[0]} {xy[1]}L{' '.join(xy[2:])}Z")
    return "".join(parts)


def svg_document(labels: np.ndarray, colours: np.ndarray, *, simplify: float = 1.0) -> str:
    """An SVG drawing of the regions, each one path filled with a flat colour.

    Parameters
    ----------
    labels : (H, W) integer array, 0 = unlabelled (left transparent), > 0 = region.
    colours : either (N, 3) integers 0..255 in BGR order, one row per region in ascending
        label order (N regions present, as `region_table`'s rows), or the (H, W, 3) uint8 BGR
        image, whose per-region median colours (as `flat_colour` paints) are used.
    simplify : polygon tolerance in pixels, as `region_polygons`.

    Returns
    -------
    the SVG document as a string: ``viewBox="0 0 W H"`` in pixel units, one
    ``<path id="region-<label>" fill="#rrggbb" fill-rule="evenodd" d=...>`` per region, in
    ascending label order.
    """
    labels = _check_labels(labels)
    colours = np.asarray(colours)
    if colours.ndim == 3:
        if colours.shape != (*labels.shape, 3) or colours.dtype != np.uint8:
            raise ValueError(
                f"colours: an image must be {(*labels.shape, 3)} uint8 BGR like labels, got "
                f"{colours.shape} {colours.dtype}"
            )
        _, colours = region_medians(labels, colours)
    polygons = region_polygons(labels, simplify=simplify)
    if colours.ndim != 2 or colours.shape != (len(polygons), 3):
        raise ValueError(
            f"colours: expected ({len(polygons)}, 3) BGR rows, one per region, or an "
            f"(H, W, 3) image; got shape {colours.shape}"
        )
    if not np.issubdtype(colours.dtype, np.integer) or (
        colours.size and (colours.min() < 0 or colours.max() > 255)
    ):
        raise ValueError(f"colours: expected integers 0..255, got {colours.dtype}")
    height, width = labels.shape
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">'
    ]
    for (label, rings), (b, g, r) in zip(polygons, colours.tolist(), strict=True):
        lines.append(
            f'<path id="region-{label}" fill="#{r:02x}{g:02x}{b:02x}" fill-rule="evenodd" '
            f'd="{_path_data(rings)}"/>'
        )
    lines.append("</svg>")
    return "\n".join(lines) + "\n"

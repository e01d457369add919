"""Region map → skeleton target: DanbooRegion's learnable height field (REFERENCE.md §1.2).

Long because edges, skeleton, both field solvers and the normal map are one chain sharing
its argument checks and numba kernels (the Jacobi kernels themselves are in `_skeleton_kernels`).

A region map (one colour per region; colours may repeat) becomes

1. `region_edges`: 1-px boundaries on the upper/left side of every colour change, plus the
   image frame;
2. `region_skeleton`: the medial skeleton of the region interiors;
3. `skeleton_field`: a height field, 255 on the skeleton and 0 on the edges, smooth in
   between: the original's 512 clamped Jacobi rounds from noise (``method="jacobi"``), or the
   converged harmonic interpolation (``method="harmonic"``, `harmonic_field`).

`skeleton_target` chains the three. `normal_map` and `watershed_markers` are the first steps
of turning a height field back into regions.
"""

from __future__ import annotations

import functools
from numbers import Integral, Real

import cv2
import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
import scipy.sparse.linalg
from numba import njit
from scipy import ndimage
from skimage.morphology import skeletonize

from regionflow.regions.danbooregion import _skeleton_kernels as _kernels

__all__ = [
    "region_edges",
    "region_skeleton",
    "skeleton_field",
    "harmonic_field",
    "normal_map",
    "watershed_markers",
    "skeleton_target",
]

_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
# Rounds per wavefront group (each group reads and writes the whole field once). Measured on
# 1821- and 8000-wide maps: 24-32 rounds beat fewer even when the ring buffers (6 padded rows
# per round) spill from L2 to L3; the byte cap only bites on extremely wide maps.
_GROUP_ROUNDS = 32
_RING_BYTES = 8 * 1024 * 1024
_METHODS = ("jacobi", "harmonic")


def region_edges(region_map: np.ndarray) -> np.ndarray:
    """Mark region boundaries: pixels whose colour differs from the pixel below or to the right.

    Forward differences put the 1-px boundary on the upper/left side of every colour change;
    the 1-px image frame is always edge. Reproduces DanbooRegion's ``edge.png`` exactly.

    Parameters
    ----------
    region_map : (H, W, 3) or (H, W, 4) uint8 colour map (BGR; an alpha channel is ignored),
        or (H, W) integer label map. For 4-neighbours "label differs" ⇔ "colour differs", so
        `regions.danbooregion.labels.region_labels` of a colour map gives the same edges as the map itself.

    Returns
    -------
    edges : (H, W) uint8, 255 on edges, 0 elsewhere. A map of height or width ≤ 2 is all edge.
    """
    region_map = _region_map_arg(region_map)
    h, w = region_map.shape[:2]
    edges = np.zeros((h, w), dtype=bool)
    # One channel at a time keeps the temporaries at bool size (no packed int64 colour key).
    channels = [region_map] if region_map.ndim == 2 else [region_map[..., c] for c in range(3)]
    for channel in channels:
        edges[:-1] |= channel[:-1] != channel[1:]
        edges[:, :-1] |= channel[:, :-1] != channel[:, 1:]
    edges[[0, -1], :] = True
    edges[:, [0, -1]] = True
    return _to_mask255(edges)


def region_skeleton(edges: np.ndarray) -> np.ndarray:
    """Skeleton of the region interiors: dilate `edges` by a 3×3 cross, invert, skeletonize.

    Uses `skimage.morphology.skeletonize` (Zhang's method), not `thin`; reproduces
    DanbooRegion's ``skeleton.png`` exactly. Regions at most ~2 px wide vanish under the
    dilation and get no skeleton pixel.

    Parameters
    ----------
    edges : (H, W) uint8 (0/255) or bool; nonzero = edge.

    Returns
    -------
    skeleton : (H, W) uint8, 255 on the skeleton, 0 elsewhere; never on or 4-adjacent to an
        edge pixel.
    """
    edge_mask = _mask_arg(edges, "edges")
    dilated = cv2.dilate(np.ascontiguousarray(edge_mask).view(np.uint8), _CROSS)  # 0 stays 0
    interior = dilated == 0
    del dilated
    return _to_mask255(skeletonize(interior))


def skeleton_field(
    edges: np.ndarray,
    skeleton: np.ndarray,
    *,
    rounds: int = 512,
    seed: int | None = 0,
    method: str = "jacobi",
) -> np.ndarray:
    """Height field that is 255 on the skeleton, 0 on the edges and smooth in between.

    ``method="jacobi"`` is DanbooRegion's target: start from uniform noise
    ``np.random.default_rng(seed).random((H, W), dtype=np.float32) * np.float32(255)``
    (generated row by row, the same stream), then `rounds` times: convolve with the 5-point
    cross (each weight 1/5, OpenCV reflect-101 border), set skeleton pixels to 255 and edge
    pixels to 0 (edges win where both are set). The result is
    ``clip(0, 255).astype(np.uint8)``. It equals that loop written with `cv2.filter2D` and
    boolean masks (bit for bit where OpenCV uses its AVX2+FMA filter, else within one grey
    level) at a fraction of the cost: see `regions.danbooregion._skeleton_kernels`. 512 rounds are not
    converged (about 12 grey levels from the harmonic field on a 1-megapixel map).

    ``method="harmonic"`` is the converged, noise-free limit (`harmonic_field`, truncated to
    uint8 the same way); `rounds` and `seed` are ignored.

    Parameters
    ----------
    edges : (H, W) uint8 (0/255) or bool; nonzero = edge (clamped to 0).
    skeleton : (H, W) uint8 (0/255) or bool; nonzero = skeleton (clamped to 255).
    rounds : int >= 1, Jacobi rounds.
    seed : int or None, seed of the initial noise (None: fresh entropy, not reproducible).
    method : "jacobi" or "harmonic".

    Returns
    -------
    field : (H, W) uint8.
    """
    edge_mask, skeleton_mask = _edges_skeleton_args(edges, skeleton)
    if method not in _METHODS:
        raise ValueError(f"method: expected one of {_METHODS}, got {method!r}")
    if isinstance(rounds, bool) or not isinstance(rounds, Integral) or rounds < 1:
        raise ValueError(f"rounds: expected an integer >= 1, got {rounds!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0):
        raise ValueError(f"seed: expected a non-negative integer or None, got {seed!r}")
    if method == "harmonic":
        field, _ = harmonic_field(edge_mask, skeleton_mask)
        return field.astype(np.uint8)  # already within [0, 255]
    return _jacobi_field(edge_mask, skeleton_mask, int(rounds), seed)


def harmonic_field(edges: np.ndarray, skeleton: np.ndarray) -> tuple[np.ndarray, float]:
    """Converged limit of `skeleton_field`'s iteration: the discrete harmonic interpolation.

    Solves, on every free pixel (neither edge nor skeleton), ``4·u = sum of the 4 neighbours``
    with u = 255 on the skeleton and 0 on the edges (edges win), neighbours outside the image
    taken by reflect-101 as in the iteration. Each 4-connected component of free pixels is an
    independent sparse system, solved directly (SuperLU); small components are batched.
    Deterministic, no noise. A free component touching no edge or skeleton pixel has no
    unique solution and raises ValueError (never the case for `region_edges` output, whose
    frame is edge).

    Memory and time grow faster than linearly with the largest free component (direct
    factorisation): fine for illustration-sized maps, heavy for one huge region.

    Parameters
    ----------
    edges, skeleton : (H, W) uint8 (0/255) or bool; nonzero = set.

    Returns
    -------
    field : (H, W) float32 in [0, 255].
    residual : float, max over free pixels of ``|u - mean of its 4 neighbours|`` (grey levels)
        of the returned float32 field: how far one more Jacobi round would move it (×4/5).
    """
    edge_mask, skeleton_mask = _edges_skeleton_args(edges, skeleton)
    edge_mask, skeleton_mask = edge_mask != 0, skeleton_mask != 0
    h, w = edge_mask.shape
    field = np.zeros((h, w), dtype=np.float32)
    field[skeleton_mask & ~edge_mask] = 255.0
    free = ~(edge_mask | skeleton_mask)
    components, count = ndimage.label(free)
    if count:
        _solve_components(field, components, count, h, w)
    residual = _harmonic_residual(field, free)
    return field, residual


def normal_map(height: np.ndarray) -> np.ndarray:
    """Surface normals of a height field as a BGR image, as DanbooRegion's decoder builds them.

    The original filters with the 2-tap kernels ``[[-1, +1]]`` and ``[[-1], [+1]]`` through
    `cv2.filter2D` at its default (centre) anchor, which makes them *backward* differences:
    dx = h[y, x] - h[y, x-1] and dy = h[y, x] - h[y-1, x] (reflect-101 at the near border:
    dx[:, 0] = h[:, 0] - h[:, 1]). Then n = normalise([0.75, dy, dx]) in channel order
    (B, G, R) and image = clip(n·127.5 + 127.5) truncated to uint8. From a 4096-round height
    field of ``region.png`` this reproduces the figure ``normal.jpg`` to about 2 grey levels
    mean absolute error per channel (JPEG and noise); forward differences (the reading in
    REFERENCE.md §1.2) are about twice as far off.

    Parameters
    ----------
    height : (H, W) uint8 or float array.

    Returns
    -------
    normals : (H, W, 3) uint8.
    """
    height = np.asarray(height)
    if height.ndim != 2 or height.size == 0:
        raise ValueError(f"height: expected a non-empty (H, W) array, got shape {height.shape}")
    if not (np.issubdtype(height.dtype, np.integer) or np.issubdtype(height.dtype, np.floating)):
        raise ValueError(f"height: expected an integer or float array, got {height.dtype}")
    if height.dtype == np.uint8:
        # Differences of bytes take 511 × 511 values: look the normals up instead of
        # computing a square root per pixel (same bytes, ~4× faster).
        return _normal_map_lookup(np.ascontiguousarray(height), _normal_table())
    return _normal_map_kernel(np.ascontiguousarray(height, dtype=np.float32))


@njit(cache=True, nogil=True)
def _normal_map_kernel(h: np.ndarray) -> np.ndarray:
    rows, cols = h.shape
    out = np.empty((rows, cols, 3), dtype=np.uint8)
    for y in range(rows):
        up = y - 1 if y > 0 else (1 if rows > 1 else 0)  # reflect-101
        for x in range(cols):
            left = x - 1 if x > 0 else (1 if cols > 1 else 0)
            _normal_bytes(h[y, x] - h[y, left], h[y, x] - h[up, x], out[y, x])
    return out


@njit(cache=True, nogil=True, inline="always")
def _normal_bytes(dx, dy, out):
    # float32 throughout, in the same operation order as the filter2D + NumPy formulation
    # (no fastmath: no FMA contraction), so the bytes are identical to it.
    half = np.float32(127.5)
    inv = np.float32(1.0) / np.sqrt(dx * dx + dy * dy + np.float32(0.75 * 0.75))
    out[0] = _to_byte(np.float32(0.75) * inv * half + half)
    out[1] = _to_byte(dy * inv * half + half)
    out[2] = _to_byte(dx * inv * half + half)


@functools.cache
def _normal_table() -> np.ndarray:
    """(511, 511, 3) uint8: the normal bytes of dy, dx in -255..255 at [dy + 255, dx + 255]."""
    return _normal_table_kernel()


@njit(cache=True, nogil=True)
def _normal_table_kernel() -> np.ndarray:
    table = np.empty((511, 511, 3), dtype=np.uint8)
    for dy in range(-255, 256):
        for dx in range(-255, 256):
            _normal_bytes(np.float32(dx), np.float32(dy), table[dy + 255, dx + 255])
    return table


@njit(cache=True, nogil=True)
def _normal_map_lookup(h: np.ndarray, table: np.ndarray) -> np.ndarray:
    rows, cols = h.shape
    out = np.empty((rows, cols, 3), dtype=np.uint8)
    for y in range(rows):
        up = y - 1 if y > 0 else (1 if rows > 1 else 0)  # reflect-101
        for x in range(cols):
            left = x - 1 if x > 0 else (1 if cols > 1 else 0)
            centre = np.int32(h[y, x])
            dx = centre - np.int32(h[y, left]) + 255
            dy = centre - np.int32(h[up, x]) + 255
            out[y, x, 0] = table[dy, dx, 0]
            out[y, x, 1] = table[dy, dx, 1]
            out[y, x, 2] = table[dy, dx, 2]
    return out


@njit(cache=True, nogil=True, inline="always")
def _to_byte(value):
    return np.uint8(min(max(value, np.float32(0)), np.float32(255)))


def watershed_markers(height: np.ndarray, *, threshold: float) -> np.ndarray:
    """Region seeds of a height field: ``height > threshold``.

    DanbooRegion's figure ``mark.png`` is ``height > 200``; its decoders use 100 (simple) and
    135 after sharpening (full).

    Parameters
    ----------
    height : (H, W) uint8 or float array.
    threshold : real number.

    Returns
    -------
    markers : (H, W) bool.
    """
    height = np.asarray(height)
    if height.ndim != 2:
        raise ValueError(f"height: expected an (H, W) array, got shape {height.shape}")
    if not (np.issubdtype(height.dtype, np.integer) or np.issubdtype(height.dtype, np.floating)):
        raise ValueError(f"height: expected an integer or float array, got {height.dtype}")
    if isinstance(threshold, bool) or not isinstance(threshold, Real) or np.isnan(threshold):
        raise ValueError(f"threshold: expected a real number, got {threshold!r}")
    return height > threshold


def skeleton_target(
    region_map: np.ndarray,
    *,
    rounds: int = 512,
    seed: int | None = 0,
    method: str = "jacobi",
) -> np.ndarray:
    """Region map → skeleton target: `region_edges` → `region_skeleton` → `skeleton_field`.

    Parameters
    ----------
    region_map : (H, W, 3|4) uint8 colour map or (H, W) integer label map.
    rounds, seed, method : as in `skeleton_field`.

    Returns
    -------
    target : (H, W) uint8; 255 on region skeletons, 0 on boundaries. Maps of height or width
        ≤ 2 are all edge, hence all 0. Regions ≤ ~2 px wide get no skeleton pixel and stay
        low (only the decaying noise, or 0 with ``method="harmonic"``).
    """
    edges = region_edges(region_map)
    skeleton = region_skeleton(edges)
    return skeleton_field(edges, skeleton, rounds=rounds, seed=seed, method=method)


# --- Jacobi ---------------------------------------------------------------------------------


def _jacobi_field(edges: np.ndarray, skeleton: np.ndarray, rounds: int, seed: int | None):
    state = _jacobi_state(edges, skeleton, rounds, seed)
    out = np.empty(edges.shape, dtype=np.uint8)
    _kernels.to_grey(state, edges.shape[1], out)
    return out


def _jacobi_height(
    edges: np.ndarray, skeleton: np.ndarray, *, rounds: int = 512, seed: int | None = 0
) -> np.ndarray:
    """`skeleton_field`'s Jacobi iteration before the uint8 cast: (H, W) float32."""
    edge_mask, skeleton_mask = _edges_skeleton_args(edges, skeleton)
    state = _jacobi_state(edge_mask, skeleton_mask, rounds, seed)
    return np.ascontiguousarray(state[:, _kernels.PAD : _kernels.PAD + edges.shape[1]])


def _jacobi_state(edges: np.ndarray, skeleton: np.ndarray, rounds: int, seed: int | None):
    """Run the clamped Jacobi rounds; returns the field in the kernels' padded layout."""
    h, w = edges.shape
    pitch = _kernels.padded_width(w)
    first, last = _kernels.PAD, _kernels.PAD + w
    state = _kernels.empty_aligned((h, pitch))
    state[:, :first] = 0.0
    state[:, last:] = 0.0
    # Row by row into the padded layout: the same stream as one (H, W) call.
    rng = np.random.default_rng(seed)
    row = np.empty(w, dtype=np.float32)
    for y in range(h):
        rng.random(out=row, dtype=np.float32)
        np.multiply(row, np.float32(255), out=state[y, first:last])
    code = np.empty((h, pitch // _kernels.LANES, 2), dtype=np.uint16)
    border_free = np.empty(h, dtype=bool)
    _kernels.clamp_code(edges, skeleton, code, border_free)
    per_group = max(1, min(_GROUP_ROUNDS, _RING_BYTES // (6 * 4 * pitch)))
    groups = -(-rounds // per_group)
    sizes = [rounds // groups + (i < rounds % groups) for i in range(groups)]
    ring = _kernels.empty_aligned((6 * max(sizes), pitch))
    ring[:] = 0.0
    if state.ctypes.data % 64 or ring.ctypes.data % 64:  # aligned vector loads would fault
        raise RuntimeError("skeleton_field: scratch buffers are not 64-byte aligned")
    for levels in sizes:
        _kernels.jacobi_group(state, code, border_free, w, levels, ring)
    return state


# --- harmonic -------------------------------------------------------------------------------

# Unknowns per sparse solve: small components are batched up to this size.
_BATCH_UNKNOWNS = 20_000
_PERMUTATION = "MMD_AT_PLUS_A"


def _solve_components(field, components, count, h, w):
    objects = ndimage.find_objects(components)
    batch: list[np.ndarray] = []
    batch_size = 0
    for label, box in enumerate(objects, start=1):
        if box is None:
            continue
        ys, xs = np.nonzero(components[box] == label)
        flat = (ys + box[0].start).astype(np.int64) * w + (xs + box[1].start)
        batch.append(flat)
        batch_size += flat.size
        if batch_size >= _BATCH_UNKNOWNS:
            _solve_batch(field, np.concatenate(batch), h, w)
            batch, batch_size = [], 0
    if batch:
        _solve_batch(field, np.concatenate(batch), h, w)


def _solve_batch(field, pixels, h, w):
    """Solve 4u - Σ free neighbours = Σ fixed neighbours on `pixels` (whole components)."""
    pixels = np.sort(pixels)
    n = pixels.size
    ys, xs = np.divmod(pixels, w)
    flat_field = field.reshape(-1)
    rows, cols = [], []
    rhs = np.zeros(n, dtype=np.float64)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        ny = _reflect101(ys + dy, h)
        nx = _reflect101(xs + dx, w)
        neighbour = ny * w + nx
        pos = np.searchsorted(pixels, neighbour)
        pos_clipped = np.minimum(pos, n - 1)
        is_free = pixels[pos_clipped] == neighbour
        # 4-adjacent free pixels share a component, so a free neighbour is always in `pixels`.
        rows.append(np.flatnonzero(is_free))
        cols.append(pos_clipped[is_free])
        rhs += np.where(is_free, 0.0, flat_field[neighbour])
    free_neighbours = np.bincount(np.concatenate(rows), minlength=n)
    if np.any(free_neighbours == 4):
        _check_anchored(pixels, rows, cols, n)
    off_diagonal = scipy.sparse.csr_matrix(
        (np.full(sum(r.size for r in rows), -1.0), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n, n),
    )
    system = (off_diagonal + scipy.sparse.identity(n, format="csr") * 4.0).tocsc()
    # A diagonally dominant M-matrix needs no pivoting, so SuperLU can keep its symmetric
    # fill-reducing ordering instead of trading it for pivots.
    factor = scipy.sparse.linalg.splu(
        system,
        permc_spec=_PERMUTATION,
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )
    solution = factor.solve(rhs)
    flat_field[pixels] = np.clip(solution, 0.0, 255.0).astype(np.float32)


def _check_anchored(pixels, rows, cols, n):
    # A component whose pixels all have 4 free neighbours has no boundary value: singular.
    adjacency = scipy.sparse.csr_matrix(
        (np.ones(sum(r.size for r in rows)), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n, n),
    )
    _, component_of = scipy.sparse.csgraph.connected_components(adjacency, directed=False)
    anchored_pixels = np.bincount(np.concatenate(rows), minlength=n) < 4
    anchored = np.zeros(component_of.max() + 1, dtype=bool)
    anchored[component_of[anchored_pixels]] = True
    if not anchored.all():
        raise ValueError(
            "edges: an area of free pixels touches no edge or skeleton pixel; "
            "its harmonic field is undefined"
        )


def _reflect101(index, size):
    if size == 1:
        return np.zeros_like(index)
    index = np.where(index < 0, 1, index)
    return np.where(index >= size, size - 2, index)


def _harmonic_residual(field, free):
    if not free.any():
        return 0.0
    mean4 = cv2.filter2D(
        field, cv2.CV_32F, np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], np.float32) / 4
    )
    return float(np.abs(field[free].astype(np.float64) - mean4[free]).max())


# --- arguments ------------------------------------------------------------------------------


def _region_map_arg(region_map):
    region_map = np.asarray(region_map)
    if region_map.ndim == 2:
        if not np.issubdtype(region_map.dtype, np.integer):
            raise ValueError(f"region_map: a 2-D map must be integer, got {region_map.dtype}")
    elif region_map.ndim == 3 and region_map.shape[2] in (3, 4):
        if region_map.dtype != np.uint8:
            raise ValueError(f"region_map: expected uint8 colours, got {region_map.dtype}")
    else:
        raise ValueError(
            f"region_map: expected (H, W), (H, W, 3) or (H, W, 4), got {region_map.shape}"
        )
    if region_map.shape[0] == 0 or region_map.shape[1] == 0:
        raise ValueError(f"region_map: empty map of shape {region_map.shape}")
    return region_map


def _mask_arg(mask, name):
    # bool and uint8 masks pass through uncopied (the kernels read "!= 0"); a full-size
    # bool copy per mask is avoidable memory on large maps.
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.size == 0:
        raise ValueError(f"{name}: expected a non-empty (H, W) array, got shape {mask.shape}")
    if mask.dtype == bool or mask.dtype == np.uint8:
        return mask
    if not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f"{name}: expected uint8 (0/255) or bool, got {mask.dtype}")
    return mask != 0


def _edges_skeleton_args(edges, skeleton):
    edge_mask = _mask_arg(edges, "edges")
    skeleton_mask = _mask_arg(skeleton, "skeleton")
    if skeleton_mask.shape != edge_mask.shape:
        raise ValueError(
            f"skeleton: shape {skeleton_mask.shape} differs from edges {edge_mask.shape}"
        )
    return edge_mask, skeleton_mask


def _to_mask255(mask):
    return mask.view(np.uint8) * np.uint8(255)

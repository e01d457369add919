"""Skeleton target (REFERENCE.md §1.2): figures reproduced, fast kernel == straightforward loop."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from regionflow.regions.danbooregion.labels import region_labels
from regionflow.regions.danbooregion.skeleton import (
    _jacobi_height,
    harmonic_field,
    normal_map,
    region_edges,
    region_skeleton,
    skeleton_field,
    skeleton_target,
    watershed_markers,
)
from tests.conftest import read_fixture

CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.float32) / 5


def reference_field(edges, skeleton, rounds, seed=0):
    """The original loop, written plainly: noise, then filter2D + boolean-mask clamping."""
    edge_mask, skeleton_mask = edges > 0, skeleton > 0
    h = np.random.default_rng(seed).random(edges.shape, dtype=np.float32) * np.float32(255)
    for _ in range(rounds):
        h = cv2.filter2D(h, cv2.CV_32F, CROSS)
        h[skeleton_mask] = 255
        h[edge_mask] = 0
    return h.clip(0, 255).astype(np.uint8)


def assert_within_one_level(ours, reference):
    assert ours.dtype == np.uint8 and ours.shape == reference.shape
    assert np.abs(ours.astype(np.int16) - reference).max() <= 1


def blob_map(shape, cells, seed):
    """A synthetic region map: nearest-seed cells with repeated colours, as BGR uint8."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[: shape[0], : shape[1]]
    points = rng.random((cells, 2)) * shape
    d = (ys[..., None] - points[:, 0]) ** 2 + (xs[..., None] - points[:, 1]) ** 2
    owner = d.argmin(-1)
    palette = rng.integers(0, 4, size=(cells, 3), dtype=np.uint8) * 60  # colours repeat
    return palette[owner]


@pytest.fixture(scope="module")
def figure_region():
    return read_fixture("skeleton_figures/region.png", -1)


@pytest.fixture(scope="module")
def figure_height(figure_region):
    """The seed figure's height field: ~4096 rounds (512 are far from it)."""
    edges = region_edges(figure_region)
    return _jacobi_height(edges, region_skeleton(edges), rounds=4096)


# --- the DanbooRegion figures -------------------------------------------------------------


def test_edges_and_skeleton_reproduce_the_figures(figure_region):
    edges = region_edges(figure_region)
    np.testing.assert_array_equal(edges, read_fixture("skeleton_figures/edge.png", -1))
    skeleton = region_skeleton(edges)
    np.testing.assert_array_equal(skeleton, read_fixture("skeleton_figures/skeleton.png", -1))
    assert edges.dtype == skeleton.dtype == np.uint8


def test_label_map_gives_the_same_edges(figure_region):
    np.testing.assert_array_equal(
        region_edges(region_labels(figure_region)), region_edges(figure_region)
    )


@pytest.mark.slow
def test_markers_of_4096_rounds_match_mark_figure(figure_height):
    height = figure_height.clip(0, 255).astype(np.uint8)
    markers = watershed_markers(height, threshold=200)
    mark = read_fixture("skeleton_figures/mark.png", -1) > 0
    assert (markers == mark).mean() >= 0.99


@pytest.mark.slow
def test_normal_map_matches_normal_figure(figure_height):
    figure = read_fixture("skeleton_figures/normal.jpg").astype(np.float32)
    error = np.abs(normal_map(figure_height).astype(np.float32) - figure).mean(axis=(0, 1))
    assert error.max() < 4.0  # measured ≈ (2.8, 1.9, 2.9); JPEG + a different noise draw
    # The forward-difference reading is clearly worse: the figure used backward differences.
    h = figure_height
    dx = np.zeros_like(h)
    dy = np.zeros_like(h)
    dx[:, :-1] = h[:, 1:] - h[:, :-1]
    dy[:-1] = h[1:] - h[:-1]
    n = np.stack([np.full_like(h, 0.75), dy, dx], -1)
    forward = (n / np.linalg.norm(n, axis=-1, keepdims=True) * 127.5 + 127.5).clip(0, 255)
    assert np.abs(forward.astype(np.uint8) - figure)[..., 1:].mean() > error[1:].mean() + 1


# --- Jacobi: fast kernel == the straightforward loop --------------------------------------


@pytest.mark.parametrize("rounds", [1, 2, 5, 37])
def test_field_equals_reference_on_a_region_map(rounds):
    edges = region_edges(blob_map((61, 83), 9, seed=rounds))
    skeleton = region_skeleton(edges)
    assert skeleton.any()
    ours = skeleton_field(edges, skeleton, rounds=rounds, seed=3)
    assert_within_one_level(ours, reference_field(edges, skeleton, rounds, seed=3))


@pytest.mark.parametrize(
    "shape", [(1, 1), (1, 7), (6, 1), (2, 2), (3, 8), (5, 15), (9, 16), (4, 17), (17, 33), (12, 40)]
)
def test_field_equals_reference_for_any_masks_and_widths(shape):
    # Arbitrary masks (no edge frame): free pixels on the border exercise reflect-101, and
    # widths around the vector block sizes exercise the kernel's tails.
    rng = np.random.default_rng(sum(shape))
    edges = (rng.random(shape) < 0.2).astype(np.uint8) * 255
    skeleton = rng.random(shape) < 0.15  # bool masks work too; overlaps: edges win
    for rounds in (1, 3, 20):
        ours = skeleton_field(edges, skeleton, rounds=rounds, seed=rounds)
        assert_within_one_level(ours, reference_field(edges, skeleton, rounds, seed=rounds))


def test_field_equals_reference_for_512_rounds_on_the_illustration_crop():
    region = read_fixture("illustration/X.region.png", -1)[200:520, 700:1180]
    edges = region_edges(region)
    skeleton = region_skeleton(edges)
    ours = skeleton_field(edges, skeleton)
    reference = reference_field(edges, skeleton, 512)
    assert_within_one_level(ours, reference)
    assert (ours != reference).mean() < 1e-2  # bit-exact where OpenCV uses AVX2 + FMA


def test_field_is_the_clipped_float_height():
    edges = region_edges(blob_map((40, 50), 6, seed=1))
    skeleton = region_skeleton(edges)
    height = _jacobi_height(edges, skeleton, rounds=30, seed=5)
    assert height.dtype == np.float32
    np.testing.assert_array_equal(
        skeleton_field(edges, skeleton, rounds=30, seed=5), height.clip(0, 255).astype(np.uint8)
    )


def test_field_clamps_and_seed_matters():
    edges = region_edges(blob_map((64, 64), 5, seed=2))
    skeleton = region_skeleton(edges)
    a = skeleton_field(edges, skeleton, rounds=8, seed=0)
    np.testing.assert_array_equal(a, skeleton_field(edges, skeleton, rounds=8, seed=0))
    assert not np.array_equal(a, skeleton_field(edges, skeleton, rounds=8, seed=1))
    assert (a[edges > 0] == 0).all() and (a[skeleton > 0] == 255).all()


def test_non_contiguous_inputs():
    edges = region_edges(blob_map((50, 70), 7, seed=4))
    skeleton = region_skeleton(edges)
    wide_e = np.zeros((50, 140), np.uint8)
    wide_s = np.zeros((50, 140), np.uint8)
    wide_e[:, ::2] = edges
    wide_s[:, ::2] = skeleton
    np.testing.assert_array_equal(
        skeleton_field(wide_e[:, ::2], wide_s[:, ::2], rounds=9),
        skeleton_field(edges, skeleton, rounds=9),
    )


# --- harmonic -----------------------------------------------------------------------------


def dense_harmonic(edges, skeleton):
    """4u = Σ neighbours on free pixels, u fixed elsewhere, solved densely (tiny maps)."""
    h, w = edges.shape
    fixed = np.where(edges > 0, 0.0, np.where(skeleton > 0, 255.0, np.nan))
    free = np.flatnonzero(np.isnan(fixed))
    index = {p: i for i, p in enumerate(free)}
    a = np.zeros((free.size, free.size))
    b = np.zeros(free.size)
    for i, p in enumerate(free):
        y, x = divmod(p, w)
        a[i, i] = 4
        for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
            ny = 1 if ny < 0 else (h - 2 if ny >= h else ny)  # reflect-101
            nx = 1 if nx < 0 else (w - 2 if nx >= w else nx)
            q = ny * w + nx
            if q in index:
                a[i, index[q]] -= 1
            else:
                b[i] += fixed.flat[q]
    u = fixed.copy().ravel()
    u[free] = np.linalg.solve(a, b)
    return u.reshape(h, w)


def test_harmonic_equals_a_dense_solve_and_is_the_jacobi_limit():
    edges = region_edges(blob_map((24, 30), 4, seed=7))
    skeleton = region_skeleton(edges)
    field, residual = harmonic_field(edges, skeleton)
    assert field.dtype == np.float32 and field.shape == edges.shape
    assert 0 <= field.min() and field.max() <= 255
    assert residual < 1e-3
    np.testing.assert_allclose(field, dense_harmonic(edges, skeleton), atol=1e-3)
    converged = _jacobi_height(edges, skeleton, rounds=20000)
    np.testing.assert_allclose(converged, field, atol=0.05)
    np.testing.assert_array_equal(
        skeleton_field(edges, skeleton, method="harmonic"), field.astype(np.uint8)
    )


def test_harmonic_with_free_border_pixels_uses_reflect101():
    rng = np.random.default_rng(5)
    edges = rng.random((9, 11)) < 0.3
    skeleton = (rng.random((9, 11)) < 0.2) & ~edges
    edges[4, 5] = True  # anchors every area in this draw
    field, residual = harmonic_field(edges, skeleton)
    assert residual < 1e-3
    np.testing.assert_allclose(field, dense_harmonic(edges, skeleton), atol=1e-3)


def test_harmonic_on_the_illustration_crop():
    region = read_fixture("illustration/X.region.png", -1)[:300, :400]
    edges = region_edges(region)
    field, residual = harmonic_field(edges, region_skeleton(edges))
    assert residual < 1e-3
    assert field[edges > 0].max() == 0


def test_harmonic_of_an_unanchored_area_raises():
    with pytest.raises(ValueError, match="edges"):
        harmonic_field(np.zeros((5, 5), np.uint8), np.zeros((5, 5), np.uint8))


# --- small and odd maps -------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (1, 9), (2, 5), (3, 3)])
def test_tiny_maps_are_all_edge_and_zero(shape):
    region = np.random.default_rng(0).integers(0, 255, shape + (3,), dtype=np.uint8)
    edges = region_edges(region)
    assert (edges == 255).all()
    assert not region_skeleton(edges).any()
    assert not skeleton_target(region).any()
    assert not skeleton_target(region, method="harmonic").any()


def test_one_colour_map_has_frame_edges_and_a_centre_line():
    region = np.full((20, 31, 3), 7, np.uint8)
    edges = region_edges(region)
    assert edges[1:-1, 1:-1].max() == 0 and edges[0].min() == edges[:, -1].min() == 255
    skeleton = region_skeleton(edges)
    assert skeleton.any() and skeleton[9:11].any()
    target = skeleton_target(region, rounds=64)
    assert target[skeleton > 0].min() == 255 and target[edges > 0].max() == 0


def test_alpha_is_ignored():
    region = blob_map((30, 40), 5, seed=3)
    alpha = np.random.default_rng(1).integers(0, 255, (30, 40, 1), dtype=np.uint8)
    np.testing.assert_array_equal(
        region_edges(np.concatenate([region, alpha], -1)), region_edges(region)
    )


def test_repeated_colours_are_separated_only_where_they_change():
    region = np.zeros((10, 12), np.int32)
    region[:, 6:] = 1
    region[:, 9:] = 0  # colour 0 again, a separate region
    edges = region_edges(region) > 0
    interior = edges[1:-1, 1:-1]
    assert interior[:, 4].all() and interior[:, 7].all()  # columns 5 and 8: left of a change
    assert interior.sum() == 2 * 8


# --- normal map and markers ---------------------------------------------------------------


def test_normal_map_of_a_ramp():
    height = np.tile(np.arange(8, dtype=np.float32), (5, 1))  # dx = 1, dy = 0
    normals = normal_map(height)
    assert normals.shape == (5, 8, 3) and normals.dtype == np.uint8
    # n = (0.75, 0, 1) / 1.25 = (0.6, 0, 0.8) → (204, 127, 229) in (B, G, R)
    np.testing.assert_array_equal(normals[2, 3], [204, 127, 229])
    np.testing.assert_array_equal(normals[2, 0], [204, 127, 25])  # reflect-101: h0 - h1 = -1


def test_normal_map_of_bytes_is_the_computed_one():
    # uint8 heights go through a lookup table of every (dy, dx) in -255..255; it must give the
    # bytes the float path computes. Rows 0/255 alternating reach the extreme differences.
    rng = np.random.default_rng(5)
    heights = [
        rng.integers(0, 256, (61, 47), dtype=np.uint8),
        np.tile(np.array([[0, 255], [255, 0]], np.uint8), (8, 9)),
        rng.integers(0, 256, (1, 9), dtype=np.uint8),
        rng.integers(0, 256, (7, 1), dtype=np.uint8),
    ]
    for height in heights:
        np.testing.assert_array_equal(normal_map(height), normal_map(height.astype(np.float32)))


def test_watershed_markers_is_strictly_greater():
    height = np.array([[199, 200, 201]], np.uint8)
    np.testing.assert_array_equal(watershed_markers(height, threshold=200), [[False, False, True]])


# --- arguments ----------------------------------------------------------------------------


def test_inputs_are_not_modified():
    region = np.concatenate([blob_map((30, 40), 5, seed=6), np.full((30, 40, 1), 9, np.uint8)], -1)
    copy = region.copy()
    edges = region_edges(region)
    skeleton = region_skeleton(edges)
    e_copy, s_copy = edges.copy(), skeleton.copy()
    field = skeleton_field(edges, skeleton, rounds=5)
    skeleton_field(edges, skeleton, method="harmonic")
    harmonic_field(edges, skeleton)
    f_copy = field.copy()
    normal_map(field)
    watershed_markers(field, threshold=100)
    skeleton_target(region, rounds=3)
    np.testing.assert_array_equal(region, copy)
    np.testing.assert_array_equal(edges, e_copy)
    np.testing.assert_array_equal(skeleton, s_copy)
    np.testing.assert_array_equal(field, f_copy)


E = np.zeros((4, 4), np.uint8)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: region_edges(np.zeros((4, 4), np.float32)), "region_map"),
        (lambda: region_edges(np.zeros((4, 4, 2), np.uint8)), "region_map"),
        (lambda: region_edges(np.zeros((4, 4, 3), np.uint16)), "region_map"),
        (lambda: region_edges(np.zeros((0, 4), np.int32)), "region_map"),
        (lambda: region_skeleton(np.zeros((4, 4, 3), np.uint8)), "edges"),
        (lambda: region_skeleton(np.zeros((4, 4), np.float32)), "edges"),
        (lambda: skeleton_field(E, np.zeros((4, 5), np.uint8)), "skeleton"),
        (lambda: skeleton_field(E, E, rounds=0), "rounds"),
        (lambda: skeleton_field(E, E, rounds=2.0), "rounds"),
        (lambda: skeleton_field(E, E, rounds=True), "rounds"),
        (lambda: skeleton_field(E, E, seed=-1), "seed"),
        (lambda: skeleton_field(E, E, seed="1"), "seed"),
        (lambda: skeleton_field(E, E, method="sor"), "method"),
        (lambda: harmonic_field(E[None], E), "edges"),
        (lambda: normal_map(np.zeros((4, 4, 3))), "height"),
        (lambda: normal_map(np.zeros((4, 4), bool)), "height"),
        (lambda: watershed_markers(E, threshold=None), "threshold"),
        (lambda: watershed_markers(E, threshold=float("nan")), "threshold"),
        (lambda: watershed_markers(E[None], threshold=1), "height"),
        (lambda: skeleton_target(np.zeros((4, 4), np.float64)), "region_map"),
    ],
)
def test_bad_arguments_name_themselves(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        skeleton_field(E, E, 5)  # type: ignore[misc]
    with pytest.raises(TypeError):
        watershed_markers(E, 100)  # type: ignore[misc]

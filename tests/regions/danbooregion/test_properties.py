"""Property tests (hypothesis) of the pure region modules on random label and colour maps.

Every property runs on three kinds of map: pixel noise (tiny regions everywhere), blocky maps
(a tiny random map upscaled, so regions are a few pixels to tens of pixels wide) and colour
maps that reuse colours (one colour, several disjoint regions). Each test also checks that its
inputs come back unmodified. Runs are deterministic (``derandomize=True``, no example
database); ``pytest --hypothesis-show-statistics`` prints how many examples each property
tried (docs/reliability-properties.md records them).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pycocotools import mask as coco_mask
from scipy import ndimage

from regionflow.regions.danbooregion.coco import coco_annotations
from regionflow.regions.danbooregion.decode import (
    absorb_boundaries,
    decode_full,
    decode_simple,
    flat_colour,
)
from regionflow.regions.danbooregion.labels import colour_key, region_labels
from regionflow.regions.danbooregion.metrics import (
    boundary_counts,
    danbooregion_counts,
    danbooregion_scores,
    image_metrics,
    region_counts,
    summarize,
)
from regionflow.regions.danbooregion.region_table import region_table
from regionflow.regions.danbooregion.skeleton import (
    normal_map,
    region_edges,
    region_skeleton,
    skeleton_field,
    skeleton_target,
    watershed_markers,
)

# Deterministic: the same examples on every run and machine (for a given hypothesis version),
# and nothing written to .hypothesis/.
PROPERTY = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEW = settings(PROPERTY, max_examples=60)

MAX_SIDE = 48
LABEL_DTYPES = (np.uint8, np.uint16, np.int32, np.uint32, np.int64)
# 512 (AP) and two small scales (thin maps make 512 costly: a 1×48 map becomes 512×24576).
SCALES = (7, 32, 512)
CROSS = ndimage.generate_binary_structure(2, 1)


# --- strategies -----------------------------------------------------------------------------


@st.composite
def label_maps(
    draw,
    *,
    min_side: int = 1,
    max_side: int = MAX_SIDE,
    max_labels: int = 5,
    kinds: tuple[str, ...] = ("sparse", "noise", "blocky"),
) -> np.ndarray:
    """(H, W) integer map with 1..max_labels distinct values (not necessarily connected)."""
    h = draw(st.integers(min_side, max_side), label="height")
    w = draw(st.integers(min_side, max_side), label="width")
    n = draw(st.integers(1, max_labels), label="n_labels")
    kind = draw(st.sampled_from(kinds), label="kind")
    if kind == "sparse":
        # hypothesis fills most cells with one value and sets a few: a background with specks.
        values = draw(hnp.arrays(np.int64, (h, w), elements=st.integers(0, n - 1)))
    elif kind == "noise":
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
        values = rng.integers(0, n, (h, w))
    else:
        th = draw(st.integers(1, min(h, 6)), label="tiny_height")
        tw = draw(st.integers(1, min(w, 6)), label="tiny_width")
        tiny = draw(hnp.arrays(np.int64, (th, tw), elements=st.integers(0, n - 1)))
        values = np.repeat(np.repeat(tiny, -(-h // th), axis=0), -(-w // tw), axis=1)[:h, :w]
    dtype = draw(st.sampled_from(LABEL_DTYPES), label="dtype")
    # Label values far above the pixel count take the np.unique paths instead of lookup tables.
    big = 2**31 - 10 if dtype in (np.uint32, np.int64) else 200
    offset = draw(st.sampled_from([0, 1, 7, big]), label="offset")
    return (values + offset).astype(dtype)


@st.composite
def colour_maps(draw, *, max_side: int = MAX_SIDE) -> np.ndarray:
    """(H, W, 3|4) uint8 map: a label map painted from a small palette, colours repeating."""
    labels = draw(label_maps(max_side=max_side, max_labels=6)).astype(np.int64)
    _, index = np.unique(labels, return_inverse=True)
    n_colours = draw(st.integers(1, 3), label="n_colours")
    palette = np.array(
        draw(
            st.lists(st.tuples(*[st.integers(0, 255)] * 3), min_size=n_colours, max_size=n_colours),
            label="palette",
        ),
        dtype=np.uint8,
    )
    # Several labels share a colour: disjoint regions of one colour, as in DanbooRegion.
    out = palette[index.reshape(labels.shape) % n_colours]
    if draw(st.booleans(), label="alpha"):
        alpha = np.full(out.shape[:2] + (1,), 255, np.uint8)
        alpha[::2] = 0  # alpha is no colour: it must not create regions
        out = np.concatenate([out, alpha], axis=2)
    return out


region_maps = st.one_of(label_maps(), colour_maps())


@st.composite
def heights(draw, *, max_side: int = MAX_SIDE) -> np.ndarray:
    """(H, W) uint8 height field: random values, blocky plateaus, or a GT skeleton target."""
    kind = draw(st.sampled_from(["random", "blocky", "target"]), label="height_kind")
    if kind == "target":
        region_map = draw(region_maps)
        return skeleton_target(region_map, rounds=draw(st.integers(1, 30)), seed=0)
    levels = draw(label_maps(max_side=max_side, max_labels=4)).astype(np.int64)
    if kind == "random":
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="height_seed"))
        return rng.integers(0, 256, levels.shape, dtype=np.uint8)
    palette = np.array(draw(st.lists(st.integers(0, 255), min_size=8, max_size=8)), np.uint8)
    return palette[(levels - levels.min()) % 8]


# --- helpers --------------------------------------------------------------------------------


@contextlib.contextmanager
def unchanged(*arrays: np.ndarray) -> Iterator[None]:
    """Assert the arrays hold the same values (and dtype/shape) after the block."""
    before = [np.array(a, copy=True) for a in arrays]
    yield
    for i, (a, b) in enumerate(zip(arrays, before, strict=True)):
        assert a.dtype == b.dtype and a.shape == b.shape, f"input {i} changed dtype/shape"
        assert np.array_equal(a, b), f"input {i} was modified"


def assert_consecutive(labels: np.ndarray, shape: tuple[int, ...]) -> int:
    """Every pixel in a region: labels 1..N, all present, shape kept. Returns N."""
    assert labels.shape == shape
    assert labels.dtype == np.int32
    n = int(labels.max())
    assert labels.min() >= 1
    np.testing.assert_array_equal(np.unique(labels), np.arange(1, n + 1))
    return n


def neighbours4(mask: np.ndarray) -> np.ndarray:
    """Pixels that are in `mask` or 4-adjacent to it."""
    return ndimage.binary_dilation(mask, structure=CROSS)


# --- labels ---------------------------------------------------------------------------------


@PROPERTY
@given(region_map=region_maps)
def test_region_labels_are_the_4_connected_components_of_equal_colour(region_map):
    with unchanged(region_map):
        labels = region_labels(region_map)
    assert labels.dtype == np.uint32 and labels.shape == region_map.shape[:2]
    n = int(labels.max())
    np.testing.assert_array_equal(np.unique(labels), np.arange(1, n + 1))
    key = colour_key(region_map)
    # Same label ⇔ same colour and 4-connected: within a label one colour, and the count of
    # components summed over colours equals N.
    assert all(np.unique(key[labels == k]).size == 1 for k in range(1, n + 1))
    components = sum(ndimage.label(key == c, structure=CROSS)[1] for c in np.unique(key))
    assert components == n


def test_region_labels_accept_the_whole_int64_range():
    labels = np.array([[np.iinfo(np.int64).min, 0], [5, 5]], dtype=np.int64)
    np.testing.assert_array_equal(region_labels(labels), [[1, 2], [3, 3]])


# --- skeleton -------------------------------------------------------------------------------


@PROPERTY
@given(region_map=region_maps)
def test_edges_include_the_frame_and_skeleton_avoids_edges(region_map):
    with unchanged(region_map):
        edges = region_edges(region_map)
    assert edges.dtype == np.uint8 and edges.shape == region_map.shape[:2]
    assert set(np.unique(edges)) <= {0, 255}
    frame = np.ones(edges.shape, bool)
    frame[1:-1, 1:-1] = False
    assert (edges[frame] == 255).all()
    # Edges are exactly the forward colour changes (plus the frame), colour map or label map.
    key = colour_key(region_map)
    changes = frame.copy()
    changes[:-1] |= key[:-1] != key[1:]
    changes[:, :-1] |= key[:, :-1] != key[:, 1:]
    np.testing.assert_array_equal(edges == 255, changes)
    with unchanged(edges):
        skeleton = region_skeleton(edges)
    assert skeleton.dtype == np.uint8 and skeleton.shape == edges.shape
    assert set(np.unique(skeleton)) <= {0, 255}
    event("skeleton: some pixels" if skeleton.any() else "skeleton: empty")
    assert not ((skeleton > 0) & (edges > 0)).any()
    # Stronger, as documented: never even 4-adjacent to an edge.
    assert not ((skeleton > 0) & neighbours4(edges > 0)).any()


@PROPERTY
@given(region_map=region_maps)
def test_edges_of_a_colour_map_equal_edges_of_its_labels(region_map):
    np.testing.assert_array_equal(region_edges(region_map), region_edges(region_labels(region_map)))


@PROPERTY
@given(
    region_map=region_maps,
    rounds=st.integers(1, 20),
    seed=st.one_of(st.none(), st.integers(0, 2**31)),
    method=st.sampled_from(["jacobi", "harmonic"]),
)
def test_skeleton_field_is_0_on_edges_and_255_on_skeleton(region_map, rounds, seed, method):
    edges = region_edges(region_map)
    skeleton = region_skeleton(edges)
    with unchanged(edges, skeleton):
        field = skeleton_field(edges, skeleton, rounds=rounds, seed=seed, method=method)
    assert field.dtype == np.uint8 and field.shape == edges.shape
    assert (field[edges > 0] == 0).all()
    assert (field[skeleton > 0] == 255).all()


@PROPERTY
@given(
    masks=st.integers(1, 40).flatmap(
        lambda h: st.integers(1, 40).flatmap(
            lambda w: st.tuples(hnp.arrays(np.bool_, (h, w)), hnp.arrays(np.bool_, (h, w)))
        )
    ),
    rounds=st.integers(1, 20),
    as_uint8=st.booleans(),
)
def test_skeleton_field_on_arbitrary_masks_edges_win(masks, rounds, as_uint8):
    # Any masks, overlapping or not: edges are clamped to 0 after the skeleton's 255.
    edges, skeleton = (m.astype(np.uint8) * 255 if as_uint8 else m for m in masks)
    with unchanged(edges, skeleton):
        field = skeleton_field(edges, skeleton, rounds=rounds, seed=1)
    assert field.dtype == np.uint8 and field.shape == edges.shape
    assert (field[edges > 0] == 0).all()
    assert (field[(skeleton > 0) & (edges == 0)] == 255).all()


@pytest.mark.parametrize("rounds", [0, -1, 2.0, True])
def test_skeleton_field_refuses_rounds_below_one(rounds):
    edges = region_edges(np.zeros((4, 4), np.int32))
    with pytest.raises(ValueError, match="rounds"):
        skeleton_field(edges, region_skeleton(edges), rounds=rounds)


@FEW
@given(region_map=region_maps, rounds=st.integers(1, 20))
def test_skeleton_target_is_the_chain(region_map, rounds):
    with unchanged(region_map):
        target = skeleton_target(region_map, rounds=rounds, seed=3)
    edges = region_edges(region_map)
    expected = skeleton_field(edges, region_skeleton(edges), rounds=rounds, seed=3)
    np.testing.assert_array_equal(target, expected)


# --- decoders -------------------------------------------------------------------------------


@PROPERTY
@given(height=heights(), threshold=st.integers(0, 255))
def test_decode_simple_labels_every_pixel(height, threshold):
    with unchanged(height):
        labels = decode_simple(height, threshold=threshold)
    n = assert_consecutive(labels, height.shape)
    # decode_simple seeds the watershed with the 4-connected components of height > threshold
    # (cv2.connectedComponents(..., connectivity=4)); watershed never invents a region. Pixels
    # it never reaches (no marker at all, or pixels walled in by its -1 boundaries: hypothesis
    # found a 13×6 map with two) stay 0 and become label 1 after the "+1": N <= markers + 1,
    # and not N <= max(markers, 1).
    markers = watershed_markers(height, threshold=threshold)
    n_markers = ndimage.label(markers, structure=CROSS)[1]
    assert n <= n_markers + 1


@PROPERTY
@given(height=heights(), threshold=st.integers(0, 255))
def test_decode_simple_is_opencv_watershed_then_absorption(height, threshold):
    # decode_simple fuses the "+1", the absorption and the renumbering after cv2.watershed and
    # skips work it can prove unnecessary; the labels must be those of the plain chain.
    _, markers = cv2.connectedComponents((height > threshold).astype(np.uint8), connectivity=4)
    cv2.watershed(normal_map(height), markers)
    expected = absorb_boundaries(markers + 1)
    assert np.array_equal(decode_simple(height, threshold=threshold), expected)


@PROPERTY
@given(
    region_map=st.one_of(
        region_maps,
        # Regions wide enough to keep a skeleton, so that most examples decode to several.
        label_maps(min_side=12, kinds=("blocky",)),
    )
)
def test_decode_simple_of_a_gt_target_at_most_skeleton_components_plus_one(region_map):
    target = skeleton_target(region_map, rounds=64, seed=0)
    labels = decode_simple(target)
    n = assert_consecutive(labels, target.shape)
    # Markers are the 4-connected components of target > 100 (decode_simple's connectivity).
    n_markers = ndimage.label(target > 100, structure=CROSS)[1]
    event("decoded: one region" if n == 1 else "decoded: several regions")
    assert n <= n_markers + 1


@PROPERTY
@given(
    height=heights(),
    data=st.data(),
    threshold=st.integers(0, 255),
    sharpen=st.floats(0, 20),
    sigma=st.floats(0.3, 5),
    min_marker=st.integers(0, 80),
    erode_iterations=st.integers(0, 6),
    merge_below=st.integers(0, 150),
)
def test_decode_full_labels_every_pixel(
    height, data, threshold, sharpen, sigma, min_marker, erode_iterations, merge_below
):
    # The image may be the height's size or another (the height is resized to it), colour or grey.
    if data.draw(st.booleans(), label="same_size"):
        shape = height.shape
    else:
        shape = (data.draw(st.integers(1, MAX_SIDE)), data.draw(st.integers(1, MAX_SIDE)))
    channels = data.draw(st.sampled_from([(), (3,)]), label="channels")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="image_seed"))
    image = rng.integers(0, 256, shape + channels, dtype=np.uint8)
    with unchanged(height, image):
        labels = decode_full(
            height,
            image,
            threshold=threshold,
            sharpen=sharpen,
            sigma=sigma,
            min_marker=min_marker,
            erode_iterations=erode_iterations,
            merge_below=merge_below,
        )
    assert_consecutive(labels, shape)


@PROPERTY
@given(labels=label_maps(max_labels=4), zero_offset=st.booleans())
def test_absorb_boundaries_fills_zeros_and_keeps_labelled_pixels(labels, zero_offset):
    labels = labels.astype(np.int64) - labels.min()  # some pixels are 0 (unlabelled)
    if zero_offset:
        labels = labels + 1  # none is
    with unchanged(labels):
        out = absorb_boundaries(labels)
    assert_consecutive(out, labels.shape)
    labelled = labels > 0
    if labelled.any():
        # Labelled pixels keep their label, renumbered by rank (order kept).
        rank = np.searchsorted(np.unique(labels[labelled]), labels[labelled]) + 1
        np.testing.assert_array_equal(out[labelled], rank)
    else:
        assert (out == 1).all()


@FEW
@given(labels=label_maps(), data=st.data())
def test_flat_colour_paints_each_region_with_region_table_median(labels, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="image_seed"))
    image = rng.integers(0, 256, labels.shape + (3,), dtype=np.uint8)
    with unchanged(image, labels):
        flat = flat_colour(image, labels)
        table = region_table(labels, image) if labels.min() > 0 else None
    assert flat.shape == image.shape and flat.dtype == np.uint8
    for value in np.unique(labels):
        region = labels == value
        assert (flat[region] == flat[region][0]).all()  # one colour per label
        expected = np.floor(np.median(image[region].astype(np.float64), axis=0))
        np.testing.assert_array_equal(flat[region][0], expected)
        if table is not None:
            row = int(np.flatnonzero(table["id"] == value)[0])
            medians = [table[f"median_{c}"][row] for c in "bgr"]
            np.testing.assert_array_equal(flat[region][0], medians)


# --- metrics --------------------------------------------------------------------------------


def pairs_of_maps(draw_maps=region_maps):
    """Two maps of one size: a GT and an estimate (independent, or the GT slightly altered)."""

    @st.composite
    def pairs(draw):
        gt = draw(draw_maps)
        how = draw(st.sampled_from(["independent", "altered", "same"]), label="pair")
        if how == "same":
            return gt, gt.copy()
        if how == "altered":
            est = region_labels(gt).astype(np.int64)
            y, x = draw(st.integers(0, gt.shape[0] - 1)), draw(st.integers(0, gt.shape[1] - 1))
            est[y:, x:] += 1000  # a cut through the map
            return gt, est
        other = draw(label_maps(max_side=MAX_SIDE))
        h, w = gt.shape[:2]
        est = np.resize(other, (h, w)) if other.size else other
        return gt, est

    return pairs()


@PROPERTY
@given(pair=pairs_of_maps())
def test_danbooregion_precision_in_unit_interval(pair):
    gt, est = pair
    with unchanged(gt, est):
        rows = danbooregion_counts(gt, est, scales=SCALES)
    assert [row["scale"] for row in rows] == list(SCALES)
    for row in rows:
        assert 0 <= row["tp"] <= min(row["n_est"], row["n_gt"])
    scores = danbooregion_scores([{"image": "a", **row} for row in rows])
    for key in ("AP", "OIS", "ODS"):
        assert 0.0 <= scores[key] <= 1.0


@PROPERTY
@given(pair=pairs_of_maps(), tolerance_px=st.floats(0, 4))
def test_boundary_prf_in_unit_interval(pair, tolerance_px):
    gt, est = pair
    with unchanged(gt, est):
        counts = boundary_counts(gt, est, tolerance_px=tolerance_px)
    assert 0 <= counts["matched_pred"] <= counts["n_pred"]
    assert 0 <= counts["matched_gt"] <= counts["n_gt"]
    assert counts["matched_pred"] == counts["matched_gt"]  # one-to-one matching
    # Swapping the roles gives the same matching size.
    swapped = boundary_counts(est, gt, tolerance_px=tolerance_px)
    assert swapped["matched_pred"] == counts["matched_gt"]


@PROPERTY
@given(pair=pairs_of_maps())
def test_covering_in_unit_interval_and_vi_non_negative(pair):
    gt, est = pair
    with unchanged(gt, est):
        counts = region_counts(gt, est)
    n_pixels = gt.shape[0] * gt.shape[1]
    assert counts["n_pixels"] == n_pixels
    tiny = 1e-9 * n_pixels
    assert -tiny <= counts["covering_sum"] <= n_pixels + tiny
    assert -tiny <= counts["pred_covering_sum"] <= n_pixels + tiny
    vi = counts["h_gt_given_pred"] + counts["h_pred_given_gt"]
    assert counts["h_gt_given_pred"] >= 0 and counts["h_pred_given_gt"] >= 0
    assert vi <= math.log2(n_pixels) * 2 + 1e-9


@PROPERTY
@given(region_map=region_maps)
def test_identical_maps_score_perfectly(region_map):
    rows = image_metrics(region_map, region_map.copy(), image="a", scales=SCALES, tolerance_px=0.0)
    scores = summarize(rows)
    assert scores["AP"] == scores["OIS"] == scores["ODS"] == 1.0
    assert scores["boundary_F"] == scores["boundary_precision"] == scores["boundary_recall"] == 1.0
    assert scores["covering"] == pytest.approx(1.0, abs=1e-12)
    assert scores["pred_covering"] == pytest.approx(1.0, abs=1e-12)
    assert scores["VI"] == 0.0
    assert scores["region_count_ratio"] == 1.0


@PROPERTY
@given(region_map=colour_maps())
def test_colour_map_and_its_labels_are_the_same_partition(region_map):
    # Region metrics split a colour map into components, and 4-neighbour boundaries agree.
    labels = region_labels(region_map)
    counts = region_counts(region_map, labels)
    assert counts["covering_sum"] == pytest.approx(counts["n_pixels"])
    assert counts["h_gt_given_pred"] == counts["h_pred_given_gt"] == 0.0
    boundary = boundary_counts(region_map, labels, tolerance_px=0.0)
    assert boundary["matched_gt"] == boundary["n_gt"] == boundary["n_pred"]


@FEW
@given(pairs=st.lists(pairs_of_maps(), min_size=1, max_size=4), tolerance_px=st.floats(0, 3))
def test_summarize_of_random_images_in_range(pairs, tolerance_px):
    rows = []
    for i, (gt, est) in enumerate(pairs):
        with unchanged(gt, est):
            rows += image_metrics(gt, est, image=str(i), scales=SCALES, tolerance_px=tolerance_px)
    scores = summarize(rows)
    assert scores["n_images"] == len(pairs)
    for key in (
        "AP",
        "OIS",
        "ODS",
        "boundary_precision",
        "boundary_recall",
        "boundary_F",
        "covering",
        "pred_covering",
    ):
        assert 0.0 <= scores[key] <= 1.0 + 1e-12, key
    assert scores["OIS"] >= scores["ODS"] - 1e-12  # per-image best scale beats one shared scale
    assert scores["VI"] >= 0.0
    assert scores["region_count_ratio"] > 0.0


@st.composite
def count_rows(draw, image: str = "a") -> list[dict]:
    """Consistent metric rows of one image as image_metrics writes them, with arbitrary counts."""
    n_pixels = draw(st.integers(1, 10**7))
    n_gt_boundary = draw(st.integers(0, n_pixels))
    n_pred_boundary = draw(st.integers(0, n_pixels))
    matched = draw(st.integers(0, min(n_gt_boundary, n_pred_boundary)))
    regions = {
        "n_pixels": n_pixels,
        "n_gt_regions": draw(st.integers(1, n_pixels)),
        "n_pred_regions": draw(st.integers(1, n_pixels)),
        "covering_sum": draw(st.floats(0, n_pixels)),
        "pred_covering_sum": draw(st.floats(0, n_pixels)),
        "h_gt_given_pred": draw(st.floats(0, 30)),
        "h_pred_given_gt": draw(st.floats(0, 30)),
    }
    boundary = {
        "matched_pred": matched,
        "n_pred": n_pred_boundary,
        "matched_gt": matched,
        "n_gt": n_gt_boundary,
    }
    rows = [
        {"image": image, "metric": "regions", **regions},
        {"image": image, "metric": "boundary", **boundary},
    ]
    for scale in SCALES:
        n_est, n_gt = draw(st.integers(0, 10**6)), draw(st.integers(0, 10**6))
        tp = draw(st.integers(0, min(n_est, n_gt)))
        rows.append(
            {"image": image, "metric": "danbooregion", "scale": scale, "tp": tp,
             "n_est": n_est, "n_gt": n_gt}
        )  # fmt: skip
    return rows


@st.composite
def count_row_sets(draw) -> list[dict]:
    n = draw(st.integers(1, 6))
    return [row for i in range(n) for row in draw(count_rows(image=str(i)))]


@PROPERTY
@given(rows=count_row_sets())
def test_summarize_of_arbitrary_consistent_counts_in_range(rows):
    before = [dict(row) for row in rows]
    scores = summarize(rows)
    assert rows == before
    for key in ("AP", "OIS", "ODS", "boundary_precision", "boundary_recall", "boundary_F"):
        assert 0.0 <= scores[key] <= 1.0, key
    assert 0.0 <= scores["covering"] <= 1.0 and 0.0 <= scores["pred_covering"] <= 1.0
    assert scores["VI"] >= 0.0 and scores["region_count_ratio"] > 0.0


# --- region table and COCO ------------------------------------------------------------------


@PROPERTY
@given(labels=label_maps(max_labels=6), data=st.data())
def test_region_table_areas_sum_to_the_labelled_pixels(labels, data):
    labels = labels - labels.min() if data.draw(st.booleans(), label="with_zeros") else labels
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="image_seed"))
    image = rng.integers(0, 256, labels.shape + (3,), dtype=np.uint8)
    with unchanged(labels, image):
        table = region_table(labels, image)
    positive = labels[labels > 0]
    np.testing.assert_array_equal(table["id"], np.unique(positive))
    assert int(table["area"].sum()) == positive.size
    if labels.min() > 0:
        assert int(table["area"].sum()) == labels.size
    for column in table.values():
        assert column.shape == table["id"].shape
    # Boxes hold their regions; perimeters are at least a lone pixel's.
    for k, value in enumerate(table["id"]):
        ys, xs = np.nonzero(labels == value)
        assert (table["bbox_x"][k], table["bbox_y"][k]) == (xs.min(), ys.min())
        assert table["bbox_w"][k] == xs.max() - xs.min() + 1
        assert table["bbox_h"][k] == ys.max() - ys.min() + 1
        assert table["perimeter"][k] >= 4


@PROPERTY
@given(labels=label_maps(max_labels=6), with_zeros=st.booleans())
def test_coco_rle_decodes_back_to_the_labels(labels, with_zeros):
    if with_zeros:
        labels = labels - labels.min()
    with unchanged(labels):
        annotations = coco_annotations(labels, image_id=3, start_id=10)
    rebuilt = np.zeros(labels.shape, np.int64)
    for k, annotation in enumerate(annotations):
        assert annotation["id"] == 10 + k and annotation["image_id"] == 3
        mask = coco_mask.decode(annotation["segmentation"])
        assert mask.shape == labels.shape
        expected = labels == annotation["region_id"]
        np.testing.assert_array_equal(mask.astype(bool), expected)
        assert annotation["area"] == int(expected.sum())
        ys, xs = np.nonzero(expected)
        assert annotation["bbox"] == [
            int(xs.min()),
            int(ys.min()),
            int(xs.max() - xs.min() + 1),
            int(ys.max() - ys.min() + 1),
        ]
        assert not rebuilt[expected].any()  # masks are disjoint
        rebuilt[expected] = annotation["region_id"]
    np.testing.assert_array_equal(rebuilt, labels.astype(np.int64))


# --- memory layout: a strided or Fortran-ordered input gives the contiguous result ---------


@FEW
@given(region_map=region_maps, layout=st.sampled_from(["fortran", "strided", "flipped"]))
def test_non_contiguous_inputs_give_the_same_results(region_map, layout):
    if layout == "fortran":
        view = np.asfortranarray(region_map)
    elif layout == "strided":
        padded = np.repeat(np.repeat(region_map, 2, axis=0), 2, axis=1)
        view = padded[::2, ::2]
    else:
        view = region_map[::-1, ::-1].copy()[::-1, ::-1]
    assert np.array_equal(view, region_map)
    labels = region_labels(region_map).astype(np.int32)
    labels_view = np.asfortranarray(labels) if layout == "fortran" else labels[::-1][::-1]
    np.testing.assert_array_equal(region_labels(view), region_labels(region_map))
    edges = region_edges(region_map)
    np.testing.assert_array_equal(region_edges(view), edges)
    np.testing.assert_array_equal(region_skeleton(np.asfortranarray(edges)), region_skeleton(edges))
    np.testing.assert_array_equal(
        skeleton_target(view, rounds=5, seed=0), skeleton_target(region_map, rounds=5, seed=0)
    )
    target = skeleton_target(region_map, rounds=5, seed=0)
    np.testing.assert_array_equal(decode_simple(np.asfortranarray(target)), decode_simple(target))
    image = np.zeros(labels.shape + (3,), np.uint8)
    image[..., 1] = (labels * 37) % 256
    table, table_view = region_table(labels, image), region_table(labels_view, image)
    for key in table:
        np.testing.assert_array_equal(table_view[key], table[key])
    assert coco_annotations(labels_view, image_id=1) == coco_annotations(labels, image_id=1)
    assert region_counts(view, labels_view) == region_counts(region_map, labels)

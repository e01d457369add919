import re
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest

from regionflow.regions.danbooregion.region_table import region_table
from regionflow.regions.danbooregion.svg import region_polygons, svg_document

SVG = "{http://www.w3.org/2000/svg}"


def _shoelace(ring: np.ndarray) -> float:
    x, y = ring[:, 0].astype(np.float64), ring[:, 1].astype(np.float64)
    return float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) / 2


def _even_odd_fill(rings: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Pixels whose centre lies inside the rings under the even-odd rule (crossing number)."""
    py, px = np.mgrid[: shape[0], : shape[1]] + 0.5
    inside = np.zeros(shape, bool)
    for ring in rings:
        a = ring.astype(np.float64)
        b = np.roll(a, -1, axis=0)
        for (x1, y1), (x2, y2) in zip(a, b, strict=True):
            if y1 == y2:
                continue
            straddles = (y1 > py) != (y2 > py)
            crossing_x = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
            inside ^= straddles & (px < crossing_x)
    return inside


def _voronoi(height: int, width: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    seeds = rng.uniform((0, 0), (height, width), (n, 2))
    y, x = np.mgrid[:height, :width]
    d = (y[..., None] - seeds[:, 0]) ** 2 + (x[..., None] - seeds[:, 1]) ** 2
    return d.argmin(axis=-1).astype(np.int32) + 1


def _random_maps():
    rng = np.random.default_rng(3)
    maps = [
        np.ones((1, 1), np.int32),
        np.array([[2, 1], [1, 2]], np.uint8),  # labels that touch themselves only at corners
        np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]], np.uint16),
    ]
    for _ in range(12):
        h, w = rng.integers(1, 14, 2)
        maps.append(rng.integers(0, rng.integers(2, 6), (h, w)).astype(np.int32))
    ring_with_island = np.ones((7, 7), np.int32)
    ring_with_island[1:6, 1:6] = 2
    ring_with_island[3, 3] = 1  # label 1 again, inside label 2's hole in label 1
    maps.append(ring_with_island)
    return maps


def test_ring_with_hole_exact_coordinates():
    labels = np.full((3, 3), 1, np.int32)
    labels[1, 1] = 2
    polygons = region_polygons(labels, simplify=0)
    assert [label for label, _ in polygons] == [1, 2]
    outer, hole = polygons[0][1]
    assert {tuple(p) for p in outer} == {(0, 0), (3, 0), (3, 3), (0, 3)}
    assert {tuple(p) for p in hole} == {(1, 1), (2, 1), (2, 2), (1, 2)}
    assert _shoelace(outer) == 9 and _shoelace(hole) == -1
    (centre,) = polygons[1][1]
    assert {tuple(p) for p in centre} == {(1, 1), (2, 1), (2, 2), (1, 2)}
    assert _shoelace(centre) == 1
    assert all(r.dtype == np.float64 and r.ndim == 2 and r.shape[1] == 2 for r in (outer, hole))


@pytest.mark.parametrize("index", range(16))
def test_unsimplified_rings_enclose_exactly_the_region(index):
    labels = _random_maps()[index]
    height, width = labels.shape
    polygons = region_polygons(labels, simplify=0)
    assert [label for label, _ in polygons] == [int(v) for v in np.unique(labels) if v > 0]
    for label, rings in polygons:
        mask = labels == label
        assert sum(_shoelace(r) for r in rings) == mask.sum()
        np.testing.assert_array_equal(_even_odd_fill(rings, labels.shape), mask)
        for ring in rings:
            assert ring.min() >= 0
            assert ring[:, 0].max() <= width and ring[:, 1].max() <= height


def test_unsimplified_regions_tile_the_image():
    labels = _voronoi(40, 60, 25, 0)
    total = sum(_shoelace(r) for _, rings in region_polygons(labels, simplify=0) for r in rings)
    assert total == labels.size


@pytest.mark.parametrize("simplify", [0.5, 1.0, 2.0])
def test_simplified_areas_are_close(simplify):
    labels = _voronoi(120, 180, 40, 1)
    labels[40:80, 60:120] = 50  # a rectangle (cutting some cells in two) ...
    labels[55:65, 80:95] = 41  # ... with a hole
    table = region_table(labels, np.zeros((*labels.shape, 3), np.uint8))
    polygons = region_polygons(labels, simplify=simplify)
    assert [label for label, _ in polygons] == table["id"].tolist()
    errors = []
    for (_, rings), area, perimeter in zip(
        polygons, table["area"], table["perimeter"], strict=True
    ):
        unsigned = [cv2.contourArea(r.astype(np.float32)) for r in rings]
        outer_minus_holes = sum(
            a if _shoelace(r) > 0 else -a for a, r in zip(unsigned, rings, strict=True)
        )
        # Douglas–Peucker moves no boundary point by more than `simplify`.
        assert abs(outer_minus_holes - area) <= perimeter * simplify
        errors.append(abs(outer_minus_holes - area))
    assert sum(errors) <= 0.03 * simplify * table["area"].sum()
    rectangle = dict(polygons)[50]
    assert len(rectangle) == 2
    assert sorted(_shoelace(r) for r in rectangle) == [-150, 2400]  # straight edges stay exact


def test_tiny_regions_do_not_vanish_when_simplified():
    labels = np.ones((9, 9), np.int32)
    labels[4, 4] = 2
    labels[0, 8] = 3
    labels[6, 1:3] = 4
    for label, rings in region_polygons(labels, simplify=5.0):
        area = sum(_shoelace(r) for r in rings)
        assert area > 0, label
        if label != 1:
            assert area == (labels == label).sum()


def _parse(svg: str):
    root = ET.fromstring(svg)
    return root, root.findall(f"{SVG}path")


def test_svg_structure_and_colours():
    labels = np.array([[1, 1, 2], [3, 0, 2]], np.int32)
    colours = np.array([[255, 0, 0], [0, 128, 255], [1, 2, 3]], np.uint8)  # BGR
    root, paths = _parse(svg_document(labels, colours))
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == "0 0 3 2"
    assert (root.get("width"), root.get("height")) == ("3", "2")
    assert [p.get("id") for p in paths] == ["region-1", "region-2", "region-3"]
    assert [p.get("fill") for p in paths] == ["#0000ff", "#ff8000", "#030201"]
    assert all(p.get("fill-rule") == "evenodd" for p in paths)


def _rings_from_path(d: str) -> list[np.ndarray]:
    rings = []
    for part in re.findall(r"M([^Z]*)Z", d):
        numbers = [float(v) for v in part.replace("L", " ").split()]
        rings.append(np.array(numbers).reshape(-1, 2))
    return rings


def test_svg_paths_hold_the_polygons():
    labels = _random_maps()[-1]
    colours = np.zeros((2, 3), np.uint8)
    _, paths = _parse(svg_document(labels, colours, simplify=0))
    for path, (label, rings) in zip(paths, region_polygons(labels, simplify=0), strict=True):
        assert path.get("id") == f"region-{label}"
        parsed = _rings_from_path(path.get("d"))
        assert len(parsed) == len(rings)
        for got, expected in zip(parsed, rings, strict=True):
            np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(_even_odd_fill(parsed, labels.shape), labels == label)


def test_svg_from_image_uses_median_colours():
    labels = _voronoi(30, 40, 12, 2)
    labels[0, :5] = 0  # unlabelled pixels get no path
    image = np.random.default_rng(2).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    table = region_table(labels, image)
    _, paths = _parse(svg_document(labels, image))
    assert len(paths) == len(table["id"])
    expected = [
        f"#{r:02x}{g:02x}{b:02x}"
        for b, g, r in zip(table["median_b"], table["median_g"], table["median_r"], strict=True)
    ]
    assert [p.get("fill") for p in paths] == expected
    assert [p.get("id") for p in paths] == [f"region-{i}" for i in table["id"]]


def test_empty_map_gives_an_empty_drawing():
    _, paths = _parse(svg_document(np.zeros((3, 4), np.int32), np.zeros((0, 3), np.uint8)))
    assert paths == []


def test_inputs_not_modified():
    labels = _voronoi(20, 25, 6, 4)
    image = np.random.default_rng(4).integers(0, 256, (20, 25, 3), dtype=np.uint8)
    colours = np.arange(18, dtype=np.uint8).reshape(6, 3)
    copies = labels.copy(), image.copy(), colours.copy()
    region_polygons(labels)
    svg_document(labels, image)
    svg_document(labels, colours)
    for original, copy in zip((labels, image, colours), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


@pytest.mark.parametrize("simplify", [-1.0, float("nan"), float("inf")])
def test_bad_simplify(simplify):
    with pytest.raises(ValueError, match="simplify"):
        region_polygons(np.ones((2, 2), np.int32), simplify=simplify)


@pytest.mark.parametrize(
    ("labels", "colours", "name"),
    [
        (np.ones((2, 2), np.float32), np.zeros((1, 3), np.uint8), "labels"),
        (np.ones((2, 2, 2), np.int32), np.zeros((1, 3), np.uint8), "labels"),
        (np.ones((2, 2), np.int32), np.zeros((2, 3), np.uint8), "colours"),
        (np.ones((2, 2), np.int32), np.zeros((1, 4), np.uint8), "colours"),
        (np.ones((2, 2), np.int32), np.zeros((1, 3), np.float32), "colours"),
        (np.ones((2, 2), np.int32), np.full((1, 3), 256, np.int32), "colours"),
        (np.ones((2, 2), np.int32), np.zeros((3, 2, 3), np.uint8), "colours"),
        (np.ones((2, 2), np.int32), np.zeros((2, 2, 3), np.float32), "colours"),
        (np.ones((2, 2), np.int32), np.zeros((2, 2, 4), np.uint8), "colours"),
    ],
)
def test_svg_bad_input_names_the_argument(labels, colours, name):
    with pytest.raises(ValueError, match=name):
        svg_document(labels, colours)

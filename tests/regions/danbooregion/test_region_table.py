import numpy as np
import pyarrow as pa
import pytest
from scipy import ndimage

from regionflow.regions.danbooregion.decode import flat_colour
from regionflow.regions.danbooregion.region_table import COLUMNS, region_medians, region_table

# 0 = unlabelled (excluded); three regions of 4, 7 and 8 pixels.
LABELS = np.array(
    [
        [1, 1, 2, 2, 2],
        [1, 1, 2, 0, 2],
        [3, 3, 3, 3, 2],
        [3, 3, 3, 3, 2],
    ],
    np.int32,
)
BLUE = np.array(
    [
        [10, 40, 1, 2, 3],
        [20, 30, 4, 99, 5],
        [7, 7, 7, 7, 6],
        [7, 7, 9, 9, 7],
    ],
    np.uint8,
)


def _image() -> np.ndarray:
    y, x = np.mgrid[:4, :5]
    red = ((x + y) % 2).astype(np.uint8)
    return np.dstack([BLUE, 255 - BLUE, red])


def test_hand_made_map_exact_values():
    table = region_table(LABELS, _image())
    assert tuple(table) == COLUMNS
    np.testing.assert_array_equal(table["id"], [1, 2, 3])
    np.testing.assert_array_equal(table["area"], [4, 7, 8])
    np.testing.assert_array_equal(table["bbox_x"], [0, 2, 0])
    np.testing.assert_array_equal(table["bbox_y"], [0, 0, 2])
    np.testing.assert_array_equal(table["bbox_w"], [2, 3, 4])
    np.testing.assert_array_equal(table["bbox_h"], [2, 4, 2])
    np.testing.assert_allclose(table["centroid_x"], [0.5, 23 / 7, 1.5])
    np.testing.assert_allclose(table["centroid_y"], [0.5, 1.0, 2.5])
    np.testing.assert_allclose(table["mean_b"], [25.0, 4.0, 7.5])
    np.testing.assert_allclose(table["mean_g"], [230.0, 251.0, 247.5])
    np.testing.assert_allclose(table["mean_r"], [0.5, 4 / 7, 0.5])
    # Even counts: the two middle values' mean, rounded down ((20 + 30) // 2, (0 + 1) // 2).
    np.testing.assert_array_equal(table["median_b"], [25, 4, 7])
    np.testing.assert_array_equal(table["median_g"], [230, 251, 248])
    np.testing.assert_array_equal(table["median_r"], [0, 1, 0])
    np.testing.assert_array_equal(table["perimeter"], [8, 16, 12])
    np.testing.assert_array_equal(table["touches_border"], [True, True, True])


def test_dtypes():
    table = region_table(LABELS, _image())
    for name in ("id", "area", "bbox_x", "bbox_y", "bbox_w", "bbox_h", "perimeter"):
        assert table[name].dtype == np.int64, name
    for name in ("centroid_x", "centroid_y", "mean_b", "mean_g", "mean_r"):
        assert table[name].dtype == np.float64, name
    for name in ("median_b", "median_g", "median_r"):
        assert table[name].dtype == np.uint8, name
    assert table["touches_border"].dtype == np.bool_


def test_perimeter_counts_holes_and_border_contact():
    labels = np.full((5, 5), 3, np.uint32)
    labels[1:4, 1:4] = 1
    labels[2, 2] = 2
    table = region_table(labels, np.zeros((5, 5, 3), np.uint8))
    np.testing.assert_array_equal(table["area"], [8, 1, 16])
    # Ring: outer 12 + inner 4; lone pixel: 4; frame: outer 20 + inner 12.
    np.testing.assert_array_equal(table["perimeter"], [16, 4, 32])
    np.testing.assert_array_equal(table["touches_border"], [False, False, True])
    np.testing.assert_array_equal(table["bbox_x"], [1, 2, 0])
    np.testing.assert_array_equal(table["bbox_w"], [3, 1, 5])


def _voronoi(height: int, width: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    seeds = rng.uniform((0, 0), (height, width), (n, 2))
    y, x = np.mgrid[:height, :width]
    d = (y[..., None] - seeds[:, 0]) ** 2 + (x[..., None] - seeds[:, 1]) ** 2
    return d.argmin(axis=-1).astype(np.int64) + 1


def _reference(labels: np.ndarray, image: np.ndarray) -> dict[str, np.ndarray]:
    ids = np.unique(labels[labels > 0])
    rows = {name: [] for name in COLUMNS}
    for value in ids:
        mask = labels == value
        ys, xs = np.nonzero(mask)
        padded = np.pad(mask, 1)
        pixels = image[mask].astype(np.int64)
        rows["id"].append(value)
        rows["area"].append(mask.sum())
        rows["bbox_x"].append(xs.min())
        rows["bbox_y"].append(ys.min())
        rows["bbox_w"].append(xs.max() - xs.min() + 1)
        rows["bbox_h"].append(ys.max() - ys.min() + 1)
        rows["centroid_x"].append(xs.mean())
        rows["centroid_y"].append(ys.mean())
        for c, channel in enumerate("bgr"):
            rows[f"mean_{channel}"].append(pixels[:, c].mean())
            rows[f"median_{channel}"].append(int(np.floor(np.median(pixels[:, c]))))
        crack = (padded[1:] != padded[:-1]).sum() + (padded[:, 1:] != padded[:, :-1]).sum()
        rows["perimeter"].append(crack)
        rows["touches_border"].append(
            mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()
        )
    return {name: np.array(values) for name, values in rows.items()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_per_region_reference_on_random_maps(seed):
    rng = np.random.default_rng(seed)
    labels = _voronoi(37, 53, 40, seed)
    labels[rng.random(labels.shape) < 0.05] = 0  # scattered unlabelled pixels
    image = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    table = region_table(labels, image)
    expected = _reference(labels, image)
    for name in COLUMNS:
        np.testing.assert_allclose(table[name], expected[name], err_msg=name)


def test_agrees_with_scipy_ndimage():
    labels = _voronoi(60, 90, 70, 5)
    image = np.random.default_rng(5).integers(0, 256, (60, 90, 3), dtype=np.uint8)
    table = region_table(labels, image)
    ids = table["id"]
    np.testing.assert_array_equal(ids, np.arange(1, 71))
    np.testing.assert_array_equal(
        table["area"], ndimage.sum_labels(np.ones_like(labels), labels, ids)
    )
    centres = np.array(ndimage.center_of_mass(np.ones(labels.shape), labels, ids))
    np.testing.assert_allclose(table["centroid_y"], centres[:, 0])
    np.testing.assert_allclose(table["centroid_x"], centres[:, 1])
    for box, x, y, w, h in zip(
        ndimage.find_objects(labels),
        table["bbox_x"],
        table["bbox_y"],
        table["bbox_w"],
        table["bbox_h"],
        strict=True,
    ):
        assert (box[1].start, box[0].start, box[1].stop - x, box[0].stop - y) == (x, y, w, h)


def test_medians_are_the_flat_colours():
    labels = _voronoi(40, 50, 30, 3)
    image = np.random.default_rng(3).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    table = region_table(labels, image)
    flat = flat_colour(image, labels)
    medians = np.stack([table["median_b"], table["median_g"], table["median_r"]], axis=1)
    np.testing.assert_array_equal(medians[labels - 1], flat)
    ids, direct = region_medians(labels, image)
    np.testing.assert_array_equal(ids, table["id"])
    np.testing.assert_array_equal(direct, medians)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.int64])
def test_label_dtypes_and_gaps(dtype):
    labels = np.zeros((3, 4), dtype)
    labels[0, :2] = 5
    labels[2, 3] = 9
    table = region_table(labels, np.zeros((3, 4, 3), np.uint8))
    np.testing.assert_array_equal(table["id"], [5, 9])
    np.testing.assert_array_equal(table["area"], [2, 1])
    np.testing.assert_array_equal(table["perimeter"], [6, 4])


def test_sparse_huge_label_values():
    labels = np.array([[0, 2**31 + 7], [3, 3]], np.uint32)
    table = region_table(labels, np.zeros((2, 2, 3), np.uint8))
    np.testing.assert_array_equal(table["id"], [3, 2**31 + 7])
    np.testing.assert_array_equal(table["area"], [2, 1])
    np.testing.assert_array_equal(table["bbox_y"], [1, 0])


def test_no_regions_gives_empty_columns():
    table = region_table(np.zeros((3, 3), np.int32), np.zeros((3, 3, 3), np.uint8))
    assert tuple(table) == COLUMNS
    assert all(column.size == 0 for column in table.values())


def test_single_pixel_map():
    table = region_table(np.ones((1, 1), np.uint8), np.full((1, 1, 3), 9, np.uint8))
    assert table["perimeter"][0] == 4 and table["touches_border"][0]
    assert table["median_r"][0] == 9


def test_parquet_ready():
    table = pa.table(region_table(LABELS, _image()))
    assert table.num_rows == 3
    assert table.column_names == list(COLUMNS)
    assert table.schema.field("touches_border").type == pa.bool_()


def test_inputs_not_modified():
    labels = LABELS.copy()
    image = _image()
    before = image.copy()
    region_table(labels, image)
    region_medians(labels, image)
    np.testing.assert_array_equal(labels, LABELS)
    np.testing.assert_array_equal(image, before)


def test_non_contiguous_inputs():
    labels = np.asfortranarray(_voronoi(20, 30, 12, 7))
    wide = np.random.default_rng(7).integers(0, 256, (20, 60, 3), dtype=np.uint8)
    image = wide[:, ::2]
    assert not labels.flags.c_contiguous and not image.flags.c_contiguous
    expected = region_table(np.ascontiguousarray(labels), np.ascontiguousarray(image))
    got = region_table(labels, image)
    for name in COLUMNS:
        np.testing.assert_array_equal(got[name], expected[name])


@pytest.mark.parametrize(
    ("labels", "image", "name"),
    [
        (np.zeros((2, 2, 1), np.int32), np.zeros((2, 2, 3), np.uint8), "labels"),
        (np.zeros((2, 2), np.float32), np.zeros((2, 2, 3), np.uint8), "labels"),
        (np.zeros((2, 2), bool), np.zeros((2, 2, 3), np.uint8), "labels"),
        (np.full((2, 2), -1, np.int32), np.zeros((2, 2, 3), np.uint8), "labels"),
        (np.zeros((0, 2), np.int32), np.zeros((0, 2, 3), np.uint8), "labels"),
        (np.zeros((2, 2), np.int32), np.zeros((2, 3, 3), np.uint8), "image"),
        (np.zeros((2, 2), np.int32), np.zeros((2, 2, 3), np.float32), "image"),
        (np.zeros((2, 2), np.int32), np.zeros((2, 2), np.uint8), "image"),
        (np.zeros((2, 2), np.int32), np.zeros((2, 2, 4), np.uint8), "image"),
    ],
)
def test_bad_input_names_the_argument(labels, image, name):
    with pytest.raises(ValueError, match=name):
        region_table(labels, image)

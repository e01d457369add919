"""Synthetic parts, COCO instance validation and round trips, snapping, COCOeval rows."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from regionflow.regions.parts.coco_instances import (
    category_classes,
    check_document,
    class_key,
    decode_mask,
    encode_mask,
    results_for_image,
    validate_image,
)
from regionflow.regions.parts.parts_eval import coco_evaluate, snap_to_regions
from regionflow.regions.parts.parts_synth import (
    MIN_PART_AREA,
    PART_CLASSES,
    draw_character,
    synthetic_parts,
)


@pytest.mark.parametrize("style", ["A", "B"])
def test_characters_are_deterministic_with_disjoint_exact_masks(style):
    image, parts = draw_character(7, style=style, size=96)
    again, parts_again = draw_character(7, style=style, size=96)
    assert image.shape == (96, 96, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image, again)
    assert [p.class_index for p in parts] == [p.class_index for p in parts_again]
    stacked = np.stack([p.mask for p in parts])
    assert stacked.sum(axis=0).max() <= 1  # visible pixels belong to one part
    assert all(p.mask.sum() >= MIN_PART_AREA for p in parts)
    names = {PART_CLASSES[p.class_index] for p in parts}
    assert "hair" in names and names & {"pants", "skirt"} and names & {"dress-shirt", "T-shirt"}


def test_styles_differ_and_cover_every_class():
    seen = set()
    for seed in range(40):
        for style in ("A", "B"):
            seen |= {p.class_index for p in draw_character(seed, style=style, size=64)[1]}
    assert seen == set(range(len(PART_CLASSES)))
    a, _ = draw_character(0, style="A", size=64)
    b, _ = draw_character(0, style="B", size=64)
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 20


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="style"):
        draw_character(0, style="C")
    with pytest.raises(ValueError, match="size"):
        draw_character(0, size=32)


def test_synthetic_coco_round_trips_through_pycocotools(tmp_path):
    from pycocotools.coco import COCO

    document, images = synthetic_parts(style="B", n_train=3, n_val=2, size=64, seed=1)
    check_document(document)
    assert [e["split"] for e in document["images"]] == ["train"] * 3 + ["val"] * 2
    assert set(images) == {e["file_name"] for e in document["images"]}
    coco = COCO()
    coco.dataset = copy.deepcopy(document)
    coco.createIndex()
    for annotation in document["annotations"]:
        mask = coco.annToMask(annotation)
        assert mask.sum() == annotation["area"]
        np.testing.assert_array_equal(
            mask.astype(bool), decode_mask(annotation["segmentation"], 64, 64)
        )


def test_class_names_match_loosely_and_unknown_names_map_to_none():
    assert class_key("T_shirt") == class_key("t-shirt") == class_key(" T Shirt ")
    mapping = category_classes(
        [{"id": 5, "name": "Hair"}, {"id": 9, "name": "dress_shirt"}, {"id": 3, "name": "shoe"}],
        PART_CLASSES,
    )
    assert mapping == {5: 0, 9: 1, 3: None}


def _image_and_annotation(segmentation, bbox=None, category_id=1):
    annotation = {"id": 1, "image_id": 1, "category_id": category_id, "segmentation": segmentation}
    if bbox is not None:
        annotation["bbox"] = bbox
    return {"id": 1, "file_name": "1.png", "width": 20, "height": 10}, [annotation]


CATEGORIES = {1: 0, 2: None}
SQUARE = [[2, 2, 8, 2, 8, 8, 2, 8]]


def test_valid_polygon_becomes_rle_instance():
    image, annotations = _image_and_annotation(SQUARE, [2, 2, 6, 6])
    found, reason = validate_image(image, annotations, shape=(10, 20), category_to_class=CATEGORIES)
    assert reason is None and len(found) == 1
    assert found[0].class_index == 0 and found[0].rle["size"] == [10, 20]
    assert found[0].area == decode_mask(found[0].rle, 10, 20).sum() > 0


@pytest.mark.parametrize(
    ("segmentation", "bbox", "category", "shape", "reason"),
    [
        (SQUARE, None, 7, (10, 20), "unknown category id 7"),
        ([[1, 1, 5, 1]], None, 1, (10, 20), "at least 3 points"),
        ([[1, 1, 5, 1, 3]], None, 1, (10, 20), "even number"),
        ([[1, 1, 5, 1, 9, 1]], None, 1, (10, 20), "zero area"),
        ([[1, 1, 50, 1, 50, 8]], None, 1, (10, 20), "leaves the 20x10 image"),
        (SQUARE, [15, 2, 10, 5], 1, (10, 20), "outside the 20x10 image"),
        (SQUARE, [2, 2, 0, 5], 1, (10, 20), "no area"),
        ({"size": [11, 20], "counts": "abc"}, None, 1, (10, 20), "RLE size"),
        (SQUARE, None, 1, None, "missing or not an image"),
        (SQUARE, None, 1, (12, 20), "document says 20x10"),
        ([], None, 1, (10, 20), "no segmentation"),
    ],
)
def test_bad_annotations_quarantine_the_image_with_a_reason(
    segmentation, bbox, category, shape, reason
):
    image, annotations = _image_and_annotation(segmentation, bbox, category)
    found, why = validate_image(image, annotations, shape=shape, category_to_class=CATEGORIES)
    assert found == [] and reason in why


def test_categories_outside_the_class_list_are_left_out_not_quarantined():
    image, annotations = _image_and_annotation(SQUARE, category_id=2)
    found, reason = validate_image(image, annotations, shape=(10, 20), category_to_class=CATEGORIES)
    assert found == [] and reason is None


def test_validation_does_not_modify_its_inputs():
    image, annotations = _image_and_annotation(SQUARE, [2, 2, 6, 6])
    before = copy.deepcopy((image, annotations))
    validate_image(image, annotations, shape=(10, 20), category_to_class=CATEGORIES)
    assert (image, annotations) == before


def test_encode_mask_matches_pycocotools():
    mask = np.zeros((9, 7), bool)
    mask[2:5, 1:6] = True
    rle = encode_mask(mask)
    reference = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert rle["counts"] == reference["counts"].decode()
    np.testing.assert_array_equal(decode_mask(rle, 9, 7), mask)


def test_snapping_takes_regions_mostly_inside():
    regions = np.zeros((4, 6), np.int64)
    regions[:, :3], regions[:, 3:] = 1, 2
    mask = np.zeros((1, 4, 6), bool)
    mask[0, :, :2] = True  # 8 of region 1's 12 pixels
    mask[0, 0, 3] = True  # 1 of region 2's 12
    snapped = snap_to_regions(mask, regions)
    np.testing.assert_array_equal(snapped[0], regions == 1)
    assert mask.sum() == 9  # input untouched
    with pytest.raises(ValueError, match="min_inside"):
        snap_to_regions(mask, regions, min_inside=1.0)
    with pytest.raises(ValueError, match="regions"):
        snap_to_regions(mask, regions[:2])


def test_snapping_keeps_unlabelled_pixels_as_predicted():
    regions = np.zeros((3, 3), np.int64)
    mask = np.eye(3, dtype=bool)[None]
    np.testing.assert_array_equal(snap_to_regions(mask, regions), mask)


def test_coco_evaluate_perfect_and_empty_predictions():
    document, _ = synthetic_parts(style="A", n_train=0, n_val=3, size=64, seed=2)
    results = []
    for entry in document["images"]:
        annotations = [a for a in document["annotations"] if a["image_id"] == entry["id"]]
        masks = np.stack([decode_mask(a["segmentation"], 64, 64) for a in annotations])
        classes = np.array([a["category_id"] - 1 for a in annotations])
        results += results_for_image(entry["id"], masks, classes, np.ones(len(classes)))
    rows = coco_evaluate(document, results, classes=PART_CLASSES)
    overall = {r["iou_type"]: r for r in rows if r["class"] == "all"}
    assert overall["segm"]["AP"] == pytest.approx(1.0) and overall["bbox"]["AP"] == pytest.approx(
        1.0
    )
    per_class = [r for r in rows if r["class"] == "hair" and r["iou_type"] == "segm"]
    assert per_class[0]["AP"] == pytest.approx(1.0) and per_class[0]["n_gt"] == 3
    empty = coco_evaluate(document, [], classes=PART_CLASSES)
    assert all(r["AP"] == 0 or r["AP"] != r["AP"] for r in empty)

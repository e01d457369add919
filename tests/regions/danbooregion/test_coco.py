import contextlib
import copy
import io
import json

import numpy as np
import pytest
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from regionflow.regions.danbooregion.coco import coco_annotations, coco_document

LABELS = np.array(
    [
        [1, 1, 2, 2, 2],
        [1, 1, 2, 0, 2],
        [3, 3, 3, 3, 2],
        [3, 3, 3, 3, 2],
    ],
    np.int32,
)


def _random_maps():
    rng = np.random.default_rng(0)
    maps = [
        np.ones((1, 1), np.int32),
        np.array([[0, 1, 1, 0, 2]], np.uint16),
        np.array([[1], [1], [0], [2]], np.uint32),
        np.array([[2, 1], [1, 2]], np.int64),  # diagonal, disconnected labels
        LABELS,
    ]
    for _ in range(30):
        h, w = rng.integers(1, 13, 2)
        maps.append(rng.integers(0, rng.integers(2, 7), (h, w)).astype(np.int32))
    # Runs that wrap from one column into the next (full columns of one label).
    wrap = np.zeros((6, 5), np.int32)
    wrap[3:, 0] = 1
    wrap[:, 1:3] = 1
    wrap[:2, 3] = 1
    wrap[:, 4] = 2
    maps.append(wrap)
    return maps


def test_hand_made_map():
    annotations = coco_annotations(LABELS, image_id=7, category_id=3, start_id=100)
    assert [a["id"] for a in annotations] == [100, 101, 102]
    assert [a["region_id"] for a in annotations] == [1, 2, 3]
    assert [a["area"] for a in annotations] == [4, 7, 8]
    assert [a["bbox"] for a in annotations] == [[0, 0, 2, 2], [2, 0, 3, 4], [0, 2, 4, 2]]
    for a in annotations:
        assert (a["image_id"], a["category_id"], a["iscrowd"]) == (7, 3, 0)
        assert a["segmentation"]["size"] == [4, 5]
        assert isinstance(a["segmentation"]["counts"], str)


@pytest.mark.parametrize("index", range(36))
def test_rle_decodes_to_the_region_masks(index):
    labels = _random_maps()[index]
    annotations = coco_annotations(labels, image_id=1)
    present = [int(v) for v in np.unique(labels) if v > 0]
    assert [a["region_id"] for a in annotations] == present
    assert [a["id"] for a in annotations] == list(range(1, len(present) + 1))
    for a in annotations:
        mask = (labels == a["region_id"]).astype(np.uint8)
        decoded = coco_mask.decode(a["segmentation"])
        np.testing.assert_array_equal(decoded, mask)
        # Byte-identical to encoding the full mask, and pycocotools measures it the same.
        reference = coco_mask.encode(np.asfortranarray(mask))
        assert a["segmentation"]["counts"] == reference["counts"].decode("ascii")
        assert a["area"] == int(coco_mask.area(reference)) == mask.sum()
        assert a["bbox"] == [int(v) for v in coco_mask.toBbox(reference)]


def test_thousands_of_regions_match_pycocotools():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.repeat(np.arange(1, 1201).reshape(30, 40), 3, 0), 2, 1)
    labels[rng.random(labels.shape) < 0.02] = 0
    annotations = coco_annotations(labels, image_id=1)
    assert len(annotations) == 1200
    masks = np.asfortranarray(
        (labels[:, :, None] == np.arange(1, 1201)[None, None, :]).astype(np.uint8)
    )
    reference = coco_mask.encode(masks)
    assert [a["segmentation"]["counts"] for a in annotations] == [
        r["counts"].decode("ascii") for r in reference
    ]


def test_no_regions():
    assert coco_annotations(np.zeros((4, 4), np.uint8), image_id=1) == []


def _document():
    other = np.array([[1, 2, 2], [1, 1, 2]], np.uint32)
    first = coco_annotations(LABELS, image_id=1)
    second = coco_annotations(other, image_id=2, start_id=len(first) + 1)
    images = [
        {"id": 1, "file_name": "a.png", "height": 4, "width": 5},
        {"id": 2, "file_name": "b.png", "height": 2, "width": 3},
    ]
    return coco_document(images, first + second), other


def test_document_json_round_trip():
    document, _ = _document()
    assert json.loads(json.dumps(document)) == document
    assert document["categories"] == [{"id": 1, "name": "region"}]
    assert [a["id"] for a in document["annotations"]] == [1, 2, 3, 4, 5]


def test_pycocotools_loads_the_document():
    document, other = _document()
    coco = COCO()
    coco.dataset = json.loads(json.dumps(document))
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    assert coco.getImgIds() == [1, 2]
    assert coco.getCatIds() == [1]
    assert len(coco.getAnnIds(imgIds=[1])) == 3
    for annotation in coco.loadAnns(coco.getAnnIds(imgIds=[2])):
        np.testing.assert_array_equal(coco.annToMask(annotation), other == annotation["region_id"])


def test_cocoeval_scores_ground_truth_against_itself_perfectly():
    document, _ = _document()
    coco = COCO()
    coco.dataset = copy.deepcopy(document)
    results = [dict(a, score=1.0) for a in document["annotations"]]
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
        detections = coco.loadRes(results)
        evaluation = COCOeval(coco, detections, "segm")
        evaluation.params.areaRng = [[0, 1e10]]
        evaluation.params.areaRngLbl = ["all"]
        evaluation.params.maxDets = [100]
        evaluation.evaluate()
        evaluation.accumulate()
    precision = evaluation.eval["precision"]
    assert (precision > -1).sum() > 0
    assert np.all(precision[precision > -1] == 1.0)


def test_document_copies_inputs_and_custom_categories():
    images = [{"id": 5, "file_name": "x.png", "height": 4, "width": 5}]
    annotations = coco_annotations(LABELS, image_id=5, category_id=2)
    before = copy.deepcopy((images, annotations))
    document = coco_document(images, annotations, categories=[{"id": 2, "name": "flat"}])
    document["images"][0]["file_name"] = "changed"
    assert (images, annotations) == before
    assert document["categories"] == [{"id": 2, "name": "flat"}]


def test_labels_not_modified():
    labels = np.asfortranarray(LABELS)
    coco_annotations(labels, image_id=1)
    np.testing.assert_array_equal(labels, LABELS)


@pytest.mark.parametrize(
    ("labels", "options", "name"),
    [
        (np.zeros((2, 2, 2), np.int32), {}, "labels"),
        (np.zeros((2, 2), np.float64), {}, "labels"),
        (np.full((2, 2), -3, np.int16), {}, "labels"),
        (LABELS, {"image_id": "1"}, "image_id"),
        (LABELS, {"category_id": 1.0}, "category_id"),
        (LABELS, {"start_id": True}, "start_id"),
    ],
)
def test_annotations_bad_input_names_the_argument(labels, options, name):
    with pytest.raises(ValueError, match=name):
        coco_annotations(labels, **({"image_id": 1} | options))


def _image(**overrides):
    return {"id": 1, "file_name": "a.png", "height": 4, "width": 5} | overrides


@pytest.mark.parametrize(
    ("images", "annotations", "categories", "name"),
    [
        ([{"id": 1, "file_name": "a.png"}], [], None, "images"),
        ([_image(), _image()], [], None, "images"),
        ([_image()], coco_annotations(LABELS, image_id=2), None, "annotations"),
        ([_image()], coco_annotations(LABELS, image_id=1, category_id=9), None, "annotations"),
        ([_image()], coco_annotations(LABELS, image_id=1) * 2, None, "annotations"),
        ([_image(height=5)], coco_annotations(LABELS, image_id=1), None, "annotations"),
        ([_image()], [], [{"id": 1}], "categories"),
    ],
)
def test_document_bad_input_names_the_argument(images, annotations, categories, name):
    with pytest.raises(ValueError, match=name):
        coco_document(images, annotations, categories=categories)

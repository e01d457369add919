"""regions.danbooregion.extraction: predictors by name, and every export format as an object."""

import numpy as np
import pytest

from regionflow.regions.danbooregion.decode import DECODERS, decode_colour, decode_simple
from regionflow.regions.danbooregion.extraction import (
    BASELINES,
    EXPORT_FORMATS,
    export_documents,
    predicted_regions,
)
from regionflow.regions.danbooregion.skeleton import skeleton_target
from regionflow.tasks import config


def image_and_regions():
    labels = np.ones((24, 32), np.int32)
    labels[:, 16:] = 2
    image = np.zeros((24, 32, 3), np.uint8)
    image[:, 16:] = (200, 100, 50)
    return image, labels


def test_names_agree_with_the_config():
    assert tuple(BASELINES) == config.BASELINES
    assert EXPORT_FORMATS == config.EXPORT_FORMATS
    assert DECODERS == config.DECODERS


def test_a_skeleton_goes_through_the_decoder_a_baseline_does_not():
    image, labels = image_and_regions()
    skeleton = skeleton_target(labels, rounds=64)
    before = image.copy(), skeleton.copy()
    decoded = predicted_regions(image, skeleton, predictor="ground_truth", decoder="simple")
    np.testing.assert_array_equal(decoded, decode_simple(skeleton))
    np.testing.assert_array_equal(
        predicted_regions(image, skeleton, predictor="model", decoder="simple", threshold=60),
        decode_simple(skeleton, threshold=60),
    )
    np.testing.assert_array_equal(
        predicted_regions(image, skeleton, predictor="model", decoder="colour"),
        decode_colour(skeleton, image),
    )
    assert predicted_regions(image, None, predictor="slic").shape == labels.shape
    np.testing.assert_array_equal(image, before[0])
    np.testing.assert_array_equal(skeleton, before[1])
    with pytest.raises(ValueError, match="skeleton"):
        predicted_regions(image, None, predictor="model")
    with pytest.raises(ValueError, match="decoder"):
        predicted_regions(image, skeleton, predictor="model", decoder="fancy")


def test_every_export_format_is_an_object():
    image, labels = image_and_regions()
    documents = export_documents(image, labels, EXPORT_FORMATS, file_name="a.png")
    assert list(documents) == list(EXPORT_FORMATS)
    assert documents["labels"] is labels
    assert documents["flat"].shape == image.shape
    assert list(documents["regions"]["area"]) == [384, 384]
    assert documents["coco"]["images"][0]["file_name"] == "a.png"
    assert documents["svg"].startswith("<svg") or "<svg" in documents["svg"]
    assert export_documents(image, labels, ["flat"], file_name="a.png").keys() == {"flat"}
    with pytest.raises(ValueError, match="formats"):
        export_documents(image, labels, ["png"], file_name="a.png")

"""Regression guard for the shipped model on a real illustration (evaluation only, never trained
on): boundary F at 2 px through the default decoder stays above a floor set just below the value
measured when the model was shipped (docs/model_card.md). Not a timing test."""

import pytest

from regionflow.models.config import InferenceConfig
from regionflow.models.inference import predict_skeleton
from regionflow.models.weights import load_generator
from regionflow.regions.decode import decode_full, decode_simple
from regionflow.regions.labels import region_labels
from regionflow.regions.metrics import boundary_counts
from regionflow.storage.model_zoo import default_decoding, read_default_model
from tests.conftest import read_fixture

# Measured at shipping time on metric sample 1 (see docs/model_card.md); floor a little below.
F_FLOOR = 0.74  # measured 0.766 (P 0.86) at shipping


@pytest.mark.slow
def test_shipped_model_quality_floor_on_a_real_illustration():
    image = read_fixture("metric_samples/1.input.png")
    gt = region_labels(read_fixture("metric_samples/1.ground_truth.png"))
    net = load_generator(read_default_model())
    skeleton = predict_skeleton(net, image, config=InferenceConfig(short_side=1024, tta=1))
    decoding = default_decoding()
    if decoding["decoder"] == "full":
        labels = decode_full(skeleton, image, threshold=decoding["threshold"])
    else:
        labels = decode_simple(skeleton, threshold=decoding["threshold"])
    c = boundary_counts(gt, labels, tolerance_px=2)
    precision = c["matched_pred"] / c["n_pred"]
    recall = c["matched_gt"] / c["n_gt"]
    f = 2 * precision * recall / (precision + recall)
    assert f > F_FLOOR, f"F@2px {f:.3f} (P {precision:.3f}, R {recall:.3f}) fell below {F_FLOOR}"

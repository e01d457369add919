"""The ceiling of the representation: GT → skeleton target → simple decoder → metric.

REFERENCE §1.5 measured 0.86–0.88 on the metric samples; a perfect predictor cannot beat it.
"""

import numpy as np
import pytest

from regionflow.regions.danbooregion.decode import decode_simple
from regionflow.regions.danbooregion.metrics import danbooregion_counts, danbooregion_scores
from regionflow.regions.danbooregion.skeleton import skeleton_target
from tests.conftest import read_fixture


@pytest.mark.slow
def test_round_trip_ceiling_on_the_metric_samples():
    rows = []
    for n in (1, 2, 3):
        gt = read_fixture(f"metric_samples/{n}.ground_truth.png")
        decoded = decode_simple(skeleton_target(gt, rounds=512, seed=0))
        assert decoded.shape == gt.shape[:2] and decoded.min() == 1
        rows += [{"image": n, **c} for c in danbooregion_counts(gt, decoded)]
    scores = danbooregion_scores(rows)
    assert 0.84 <= scores["AP"] <= 0.90, scores
    assert scores["OIS"] >= scores["AP"] and np.isfinite(scores["ODS"])

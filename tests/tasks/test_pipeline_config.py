"""PipelineConfig: skeleton.method and train.target are one choice, never silently overwritten."""

import pytest

from regionflow.tasks.config import PipelineConfig


def test_the_target_given_sets_the_skeleton_method():
    cfg = PipelineConfig.from_dict({"train": {"target": "harmonic"}})
    assert cfg.skeleton.method == cfg.train.target == "harmonic"


def test_the_skeleton_method_given_sets_the_training_target():
    cfg = PipelineConfig.from_dict({"skeleton": {"method": "harmonic"}})
    assert cfg.train.target == cfg.skeleton.method == "harmonic"


def test_both_given_the_same_is_fine_and_different_names_both_fields():
    same = {"skeleton": {"method": "harmonic"}, "train": {"target": "harmonic"}}
    assert PipelineConfig.from_dict(same).train.target == "harmonic"
    with pytest.raises(ValueError, match=r"skeleton\.method='harmonic'.*train\.target='jacobi'"):
        PipelineConfig.from_dict(
            {"skeleton": {"method": "harmonic"}, "train": {"target": "jacobi"}}
        )


def test_a_resolved_config_round_trips():
    cfg = PipelineConfig.from_dict({"train": {"target": "harmonic"}})
    assert PipelineConfig.from_dict(cfg.to_dict()) == cfg
    assert PipelineConfig.from_dict({}).skeleton.method == "jacobi"

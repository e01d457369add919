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


def test_overrides_are_coerced_by_the_field_types():
    from regionflow.tasks.config import apply_overrides

    cfg = apply_overrides(
        PipelineConfig(),
        [
            "train.steps=50",
            "train.amp=false",
            "train.init=none",
            "train.zoom=[0.8, 1.25]",
            "extract.exports=labels,svg",
            "extract.threshold=null",
        ],
    )
    assert (cfg.train.steps, cfg.train.amp, cfg.train.init) == (50, False, "none")
    assert cfg.train.zoom == (0.8, 1.25) and cfg.extract.exports == ("labels", "svg")
    assert cfg.extract.threshold is None
    with pytest.raises(ValueError, match=r"extract\.exports\.1: expected one of"):
        apply_overrides(cfg, ["extract.exports=labels,bogus"])
    with pytest.raises(ValueError, match=r"train\.crop: must be a multiple of 32"):
        apply_overrides(cfg, ["train.crop=100"])


def test_tuples_stay_tuples_after_a_json_round_trip():
    import json

    from regionflow.tasks.comics import ComicsConfig

    demo = PipelineConfig.demo()
    again = PipelineConfig.from_dict(json.loads(json.dumps(demo.to_dict())))
    assert again == demo and isinstance(again.extract.thresholds, tuple)
    comics = ComicsConfig(background=[0, 0, 0], gutter_colour=[1, 2, 3])
    assert ComicsConfig.from_json(comics.to_json()) == comics
    assert comics.gutter_colour == (1.0, 2.0, 3.0) and ComicsConfig().gutter_colour == "auto"


def test_the_fingerprint_of_a_config_is_the_one_its_dict_gives():
    from regionflow.storage.fingerprints import fingerprint

    cfg = PipelineConfig.demo()
    assert fingerprint(cfg) == fingerprint(
        {name: getattr(cfg, name).to_dict() for name in ("ingest", "skeleton", "train", "extract")}
        | {"dask_address": cfg.dask_address, "lock_wait": cfg.lock_wait}
    )


def test_a_flow_parameter_is_validated_as_from_dict_validates():
    """Prefect validates a flow's `config` dict with pydantic (not `from_dict`): the same model
    validator resolves the target choice, so both give the same config and the same error."""
    from pydantic import TypeAdapter, ValidationError

    as_parameter = TypeAdapter(PipelineConfig | None)
    partial = {"train": {"steps": 50, "target": "harmonic"}}
    assert as_parameter.validate_python(partial) == PipelineConfig.from_dict(partial)
    assert as_parameter.validate_python(partial).skeleton.method == "harmonic"
    assert as_parameter.validate_python({}) == PipelineConfig()
    conflict = {"skeleton": {"method": "harmonic"}, "train": {"target": "jacobi"}}
    with pytest.raises(ValidationError, match=r"skeleton\.method='harmonic'.*train\.target="):
        as_parameter.validate_python(conflict)


def test_a_stage_given_as_a_config_gives_the_fields_it_was_given():
    from regionflow.models.config import TrainConfig
    from regionflow.tasks.config import SkeletonConfig

    assert PipelineConfig(train=TrainConfig(target="harmonic")).skeleton.method == "harmonic"
    assert PipelineConfig(skeleton=SkeletonConfig(method="harmonic")).train.target == "harmonic"
    assert PipelineConfig(train=TrainConfig(steps=5)).skeleton.method == "jacobi"
    with pytest.raises(ValueError, match=r"skeleton\.method='harmonic'.*train\.target='jacobi'"):
        PipelineConfig(skeleton=SkeletonConfig(method="harmonic"), train={"target": "jacobi"})


def test_replace_keeps_what_was_set_apart_from_the_defaults():
    from regionflow.tasks.config import ExtractConfig

    given = ExtractConfig.from_dict({"decoder": "simple"}).replace(tta=4)
    assert given.model_fields_set == {"decoder", "tta"}
    assert given == ExtractConfig(decoder="simple", tta=4)
    assert ExtractConfig.of(given) is given and ExtractConfig.of(None) == ExtractConfig()


def test_comics_config_passes_every_option_of_the_panel_detector():
    import inspect

    from regionflow.regions.comics.panels import detect_panels
    from regionflow.tasks.comics import ComicsConfig

    keywords = set(inspect.signature(detect_panels).parameters) - {"page"}
    assert set(ComicsConfig().panel_options()) == keywords
    assert ComicsConfig.from_dict({"deskew": False}).panel_options()["deskew"] is False

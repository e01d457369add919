"""Flow parameters: every deployment parameter is described in the UI's run form (from the flow
docstring), every deployment's parameters fit that form's schema and validate into the flow's
typed config, and a typed config runs the stages exactly as the same values as a dict do."""

from __future__ import annotations

import importlib
import typing
from pathlib import Path

import pytest
import yaml

from tests.flows.conftest import TINY

ROOT = Path(__file__).resolve().parents[2]


def deployments() -> list[tuple[str, str, dict]]:
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    return [(d["name"], d["entrypoint"], d.get("parameters") or {}) for d in spec["deployments"]]


def flow_of(entrypoint: str):
    path, attribute = entrypoint.split(":")
    module = "regionflow." + path.removesuffix(".py").replace(
        "/", "."
    )  # flows/ is regionflow.flows
    return getattr(importlib.import_module(module), attribute)


def config_class(flow) -> type:
    """The config model a flow's `config: XConfig | None` parameter takes."""
    hint = typing.get_type_hints(flow.fn)["config"]
    return next(a for a in typing.get_args(hint) if a is not type(None))


@pytest.mark.parametrize(("name", "entrypoint", "parameters"), deployments())
def test_every_deployment_parameter_is_described(name, entrypoint, parameters):
    from prefect.utilities.callables import parameter_schema

    properties = parameter_schema(flow_of(entrypoint)).model_dump()["properties"]
    undescribed = sorted(p for p, schema in properties.items() if not schema.get("description"))
    assert not undescribed, (
        f"{name} ({entrypoint}): no description for {undescribed}; "
        "add them to the flow docstring's Args: section"
    )


@pytest.mark.parametrize(("name", "entrypoint", "parameters"), deployments())
def test_every_deployments_parameters_fit_the_run_form(name, entrypoint, parameters):
    """What `prefect deploy` sends is checked against the flow's parameter schema by the server
    (as here); the typed config then validates a partial dict, defaults filling the rest."""
    from prefect.utilities.callables import parameter_schema
    from prefect.utilities.schema_tools import validate

    flow = flow_of(entrypoint)
    schema = parameter_schema(flow).model_dump()
    assert schema["properties"]["config"]["anyOf"][0]["$ref"].endswith(config_class(flow).__name__)
    validate(parameters, schema, raise_on_error=True, ignore_required=True)

    required = {"inputs": ["pages/"], "checkpoint": "run.pt"}
    given = {k: v for k, v in required.items() if k in schema.get("required", [])}
    config = flow.validate_parameters({**given, **parameters})["config"]
    assert isinstance(config, config_class(flow))
    assert config == config_class(flow).from_dict(parameters["config"])
    assert config.model_fields_set == set(parameters["config"])


def test_a_partial_dict_parameter_takes_the_defaults_and_a_conflict_names_both_fields():
    from prefect.exceptions import ParameterTypeError

    from regionflow.flows.pipeline import pipeline
    from regionflow.tasks.config import PipelineConfig

    config = pipeline.validate_parameters({"store": "s", "config": {"train": {"steps": 50}}})
    assert config["config"] == PipelineConfig().replace(
        train=PipelineConfig().train.replace(steps=50)
    )
    conflict = {"skeleton": {"method": "harmonic"}, "train": {"target": "jacobi"}}
    with pytest.raises(ParameterTypeError, match=r"skeleton\.method='harmonic'.*train\.target"):
        pipeline.validate_parameters({"store": "s", "config": conflict})


@pytest.fixture
def stage_keys(monkeypatch):
    """Each stage task's Prefect cache key over its inputs (the stage cache's `Inputs` part),
    recorded instead of running the task; stage fingerprints stand in for their results."""
    from prefect.cache_policies import Inputs

    from regionflow.flows import stages
    from regionflow.storage.fingerprints import fingerprint

    keys: dict[str, str] = {}

    def run_stage(task, store, **inputs):
        keys[task.name] = Inputs(exclude=["dask_address"]).compute_key(
            None, {"store_url": store.url, **inputs}, {}
        )
        fake = fingerprint(keys[task.name])
        return {"state": "Completed", "fingerprint": fake, "checkpoint": f"{fake}.pt", "ids": []}

    monkeypatch.setattr(stages, "_run_stage", run_stage)
    monkeypatch.setattr(stages, "locate_source", lambda store, cfg: {"fingerprint": "source"})
    return keys


def test_a_typed_config_keys_every_stage_as_its_dict_does(prefect_harness, stage_keys, tmp_path):
    """Run ids and stage caches of existing stores stay: the tasks get the same inputs."""
    from regionflow.flows.pipeline import pipeline
    from regionflow.tasks.config import PipelineConfig

    dict_result = pipeline(str(tmp_path), TINY)
    from_dict = dict(stage_keys)
    typed_result = pipeline(str(tmp_path), PipelineConfig.from_dict(TINY))
    assert set(from_dict) == {
        "ingest-samples",
        "skeletonize-samples",
        "train-model",
        "extract-regions",
    }
    assert stage_keys == from_dict
    assert typed_result == dict_result


def test_a_conflicting_config_parameter_fails_the_flow_naming_both_fields(
    prefect_harness, stage_keys, tmp_path
):
    from prefect.exceptions import ParameterTypeError

    from regionflow.flows.pipeline import pipeline

    conflict = {"skeleton": {"method": "harmonic"}, "train": {"target": "jacobi"}}
    with pytest.raises(ParameterTypeError, match=r"skeleton\.method='harmonic'.*train\.target"):
        pipeline(str(tmp_path), conflict)
    assert not stage_keys, "no stage may run"


def test_region_export_keeps_a_set_decoder_and_fills_the_rest_from_the_shipped_model(
    prefect_harness, monkeypatch, tmp_path
):
    """`model_fields_set` of a config Prefect validated from the parameter dict, also when a
    comics flow hands its own (validated) export config on."""
    from regionflow.flows import export
    from regionflow.storage.model_zoo import default_decoding

    given = {}
    monkeypatch.setattr(
        export, "_export", lambda store, inputs, checkpoint, config, dask: given.update(c=config)
    )
    export.region_export(["pages/"], None, str(tmp_path), {"decoder": "simple", "tta": 4})
    shipped = default_decoding()
    assert shipped["decoder"] != "simple"
    config = given["c"]
    assert (config.decoder, config.tta) == ("simple", 4)
    assert config.threshold is None, "the shipped threshold goes with the shipped decoder only"
    assert config.short_side == shipped["short_side"]

    export.region_export(["pages/"], "default", str(tmp_path), {"short_side": None})
    config = given["c"]
    assert (config.decoder, config.threshold) == (shipped["decoder"], shipped["threshold"])
    assert config.short_side is None

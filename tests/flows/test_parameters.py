"""Every deployment parameter has a description in the UI's run form (from the flow docstring)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def deployment_flows() -> list[tuple[str, str]]:
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    return [(d["name"], d["entrypoint"]) for d in spec["deployments"]]


@pytest.mark.parametrize(("name", "entrypoint"), deployment_flows())
def test_every_deployment_parameter_is_described(name, entrypoint):
    from prefect.utilities.callables import parameter_schema

    path, attribute = entrypoint.split(":")
    module = "regionflow." + path.removesuffix(".py").replace(
        "/", "."
    )  # flows/ is regionflow.flows
    flow = getattr(importlib.import_module(module), attribute)
    properties = parameter_schema(flow).model_dump()["properties"]
    undescribed = sorted(p for p, schema in properties.items() if not schema.get("description"))
    assert not undescribed, (
        f"{name} ({entrypoint}): no description for {undescribed}; "
        "add them to the flow docstring's Args: section"
    )

"""`flows.serve` without a server: the deployments it builds and the `serve` subcommand.

Serving them for real is in tests/integration/test_deployments.py.
"""

import argparse

import pytest

import regionflow.flows.cli.serve as serve_cli
from regionflow.flows.serve import DEFAULT_REFRESH_CRON, deployments


def test_three_deployments_named_serve_on_an_absolute_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    built = {d.flow_name: d for d in deployments("relative-store", refresh_cron="*/5 * * * *")}
    assert set(built) == {"pipeline", "dataset-refresh", "region-export"}
    assert {d.name for d in built.values()} == {"serve"}
    store = str(tmp_path / "relative-store")
    assert built["pipeline"].parameters == {"store": store, "config": {}}
    assert built["dataset-refresh"].parameters == {"store": store, "config": {}, "retrain": False}
    assert built["region-export"].parameters == {"output": store}
    # Module paths: a served run imports the installed project, whatever folder it starts in.
    assert built["region-export"].entrypoint == "regionflow.flows.export.region_export"
    assert [s.schedule.cron for s in built["dataset-refresh"].schedules] == ["*/5 * * * *"]
    assert not built["pipeline"].schedules and not built["region-export"].schedules


def test_default_refresh_is_daily_at_3():
    (refresh,) = [d for d in deployments("memory://x/store") if d.flow_name == "dataset-refresh"]
    assert [s.schedule.cron for s in refresh.schedules] == [DEFAULT_REFRESH_CRON] == ["0 3 * * *"]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"refresh_cron": "every day"}, "refresh_cron: 'every day' is not a cron schedule"),
        ({"name": "a/b"}, "name: expected a deployment name without '/'"),
        ({"name": ""}, "name: expected a deployment name"),
    ],
)
def test_bad_arguments_are_named(kwargs, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        deployments(str(tmp_path), **kwargs)


def test_serve_subcommand_passes_its_options(monkeypatch):
    parser = argparse.ArgumentParser(prog="regionflow")
    serve_cli.add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["serve", "--store", "s3://b/store", "--cron", "0 1 * * *", "--limit", "2"]
    )
    assert args.command == "serve" and args.name == "serve"
    seen = {}
    monkeypatch.setattr(serve_cli, "serve_all", lambda store, **kw: seen.update(store=store, **kw))
    assert args.handler(args) == 0
    assert seen == {
        "store": "s3://b/store",
        "refresh_cron": "0 1 * * *",
        "name": "serve",
        "limit": 2,
    }
    defaults = parser.parse_args(["serve"])
    assert defaults.cron == "0 3 * * *" and defaults.limit is None

"""prefect.yaml on a process work pool, and `regionflow serve`, against a real Prefect server.

`prefect deploy --all` from the project root, `prefect worker start --pool regionflow-process`,
runs started with `prefect deployment run` (as a user would) and through the REST API.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from regionflow.storage.manifest import read_manifest
from regionflow.storage.records import read_records
from regionflow.storage.store import Store
from tests.integration.conftest import BIN, ROOT, TINY_INGEST, TINY_SKELETON, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

POOL = "regionflow-process"
TINY_PIPELINE = {
    "ingest": TINY_INGEST,
    "skeleton": TINY_SKELETON,
    "train": {
        "loss": "l1",
        "steps": 2,
        "batch_size": 2,
        "crop": 64,
        "checkpoint_every": 2,
        "preview_every": 2,
        "num_workers": 0,
        "amp": False,
    },
}
DEPLOYMENTS = (
    "pipeline/pipeline",
    "dataset-refresh/dataset-refresh",
    "region-export/region-export",
)


@pytest.fixture(scope="module")
def deployed(prefect_server, processes):
    """The three prefect.yaml deployments and a process worker for their pool.

    The refresh schedule's first runs are kept for the test, then the schedule is paused and
    those runs deleted: a worker must never start a 03:00 refresh on the repo's default store.
    """
    prefect_server.cli("work-pool", "create", POOL, "--type", "process")
    prefect_server.cli("deploy", "--all", timeout=240)
    refresh = prefect_server.deployment("dataset-refresh/dataset-refresh")
    scheduled = wait_until(
        lambda: prefect_server.flow_runs(refresh["id"], state_type="SCHEDULED"),
        timeout=90,
        what="scheduled runs of dataset-refresh",
    )
    for schedule in refresh["schedules"]:
        prefect_server.api(
            "PATCH", f"/deployments/{refresh['id']}/schedules/{schedule['id']}", {"active": False}
        )
    for run in prefect_server.flow_runs(refresh["id"], state_type="SCHEDULED"):
        prefect_server.api("DELETE", f"/flow_runs/{run['id']}")

    worker = processes.start(
        "prefect-worker",
        [str(BIN / "prefect"), "worker", "start", "--pool", POOL],
        env=prefect_server.env,
    )
    try:
        yield {
            "server": prefect_server,
            "worker": worker,
            "refresh": refresh,
            "scheduled": scheduled,
        }
    finally:
        processes.stop(worker)


@pytest.fixture(scope="module")
def export_inputs(tmp_path_factory):
    """Two small pages and an untrained (but real) generator checkpoint."""
    from regionflow.models.unet import RegionUNet
    from regionflow.regions.synthetic.cartoons import synthetic_sample
    from regionflow.storage.checkpoints import write_generator_checkpoint

    root = tmp_path_factory.mktemp("export-inputs")
    pages = root / "pages"
    pages.mkdir()
    for n in (1, 2):
        cv2.imwrite(str(pages / f"page{n}.png"), synthetic_sample(200 + n, height=64, width=96)[0])
    checkpoint = write_generator_checkpoint(
        root / "generator.pt", RegionUNet().state_dict(), source="test"
    )
    return pages, checkpoint


def test_prefect_yaml_makes_three_process_pool_deployments(deployed):
    server = deployed["server"]
    for name in DEPLOYMENTS:
        dep = server.deployment(name)
        assert dep["work_pool_name"] == POOL
        assert dep["pull_steps"] == [
            {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}
        ], "a local process worker runs the flows from the project folder"
    assert server.deployment("pipeline/pipeline")["entrypoint"] == "flows/pipeline.py:pipeline"
    assert (
        server.deployment("region-export/region-export")["entrypoint"]
        == "flows/export.py:region_export"
    )
    export = server.deployment("region-export/region-export")
    assert set(export["parameter_openapi_schema"]["required"]) == {
        "inputs"
    }  # checkpoint: default = the shipped model
    assert export["parameters"]["config"]["exports"] == ["labels", "flat", "regions"]


def test_refresh_cron_schedules_a_run_every_day_at_3(deployed):
    refresh, runs = deployed["refresh"], deployed["scheduled"]
    assert refresh["parameters"] == {"store": "./regionflow-store", "config": {}, "retrain": False}
    assert [s["schedule"]["cron"] for s in refresh["schedules"]] == ["0 3 * * *"]
    starts = [datetime.fromisoformat(r["expected_start_time"].replace("Z", "+00:00")) for r in runs]
    assert all(r["auto_scheduled"] and r["parameters"]["retrain"] is False for r in runs)
    assert all((s.hour, s.minute, s.utcoffset()) == (3, 0, timedelta(0)) for s in starts)
    assert all(b - a == timedelta(days=1) for a, b in zip(starts, starts[1:], strict=False))


def test_region_export_deployment_run_writes_exports(deployed, export_inputs, tmp_path):
    server, worker = deployed["server"], deployed["worker"]
    pages, checkpoint = export_inputs
    out = tmp_path / "out"
    printed = server.cli(
        "deployment",
        "run",
        "region-export/region-export",
        "--param",
        f"inputs={json.dumps([str(pages)])}",
        "--param",
        f"checkpoint={checkpoint}",
        "--param",
        f"output={out}",
        "--param",
        'config={"decoder": "simple", "short_side": null, "exports": ["labels", "flat", "regions", "svg"]}',
    )
    run_id = re.search(r"UUID: ([0-9a-f-]{36})", printed).group(1)
    run = server.wait_for_run(run_id, timeout=240, runner=worker)
    assert run["state"]["type"] == "COMPLETED", run["state"]["message"]

    (export,) = (out / "exports").iterdir()
    for page in ("images-page1", "images-page2"):
        files = {p.name for p in (export / page).iterdir()}
        assert files >= {
            "skeleton.png",
            "labels.png",
            "flat.png",
            "regions.parquet",
            "regions.danbooregion.svg",
        }
        labels = cv2.imread(str(export / page / "labels.png"), cv2.IMREAD_UNCHANGED)
        assert labels.dtype == np.uint16 and labels.shape == (64, 96) and labels.min() >= 1
    assert (out / "reports" / export.name / "report.md").is_file()

    # What the UI shows beside the run: the stage subflows and their artifacts.
    children = server.child_runs(run_id)
    assert len(children) == 2  # ingest, extract
    assert {c["state"]["type"] for c in children} == {"COMPLETED"}
    body = {"artifacts": {"flow_run_id": {"any_": [c["id"] for c in children]}}}
    artifacts = server.api("POST", "/artifacts/filter", body)
    assert {"ingest-progress", "extract-progress-model", "extract-report"} <= {
        a["key"] for a in artifacts
    }
    body = {"artifacts": {"flow_run_id": {"any_": [run_id]}, "key": {"any_": ["pipeline-summary"]}}}
    (summary,) = server.api("POST", "/artifacts/filter", body)
    assert (
        "| ingest | Completed |" in summary["data"] and "| extract | Completed |" in summary["data"]
    )


def test_pipeline_deployment_runs_every_stage(deployed, tmp_path):
    server, worker = deployed["server"], deployed["worker"]
    store = tmp_path / "store"
    run_id = server.create_run("pipeline/pipeline", {"store": str(store), "config": TINY_PIPELINE})
    run = server.wait_for_run(run_id, timeout=300, runner=worker)
    assert run["state"]["type"] == "COMPLETED", run["state"]["message"]
    children = server.child_runs(run_id)
    assert len(children) == 4  # ingest, skeletonize, train, extract
    assert {c["state"]["type"] for c in children} == {"COMPLETED"}
    (train_run,) = (store / "runs").iterdir()
    assert (train_run / "config.json").is_file()
    assert len(read_manifest(Store(store))) == sum(
        TINY_INGEST[f"synthetic_{split}"] for split in ("train", "val", "test")
    )
    assert list((store / "reports").rglob("report.md"))


def test_a_failing_run_is_failed_with_its_reason(deployed, export_inputs, tmp_path):
    server, worker = deployed["server"], deployed["worker"]
    pages, _ = export_inputs
    missing = tmp_path / "no-such-checkpoint.pt"
    run_id = server.create_run(
        "region-export/region-export",
        {"inputs": [str(pages)], "checkpoint": str(missing), "output": str(tmp_path / "out")},
    )
    run = server.wait_for_run(run_id, timeout=240, runner=worker)
    assert run["state"]["type"] == "FAILED"
    message = run["state"]["message"]
    assert "no-such-checkpoint.pt" in message and "FileNotFoundError" in message, message


def test_serve_all_serves_the_three_flows(prefect_server, processes, tmp_path):
    """`serve_all` (what `regionflow serve` runs): its own `<flow>/serve` deployments, a cron of
    our choice, and a dataset refresh run it executes itself."""
    store = tmp_path / "served-store"
    script = f"from regionflow.flows.serve import serve_all; serve_all({str(store)!r}, refresh_cron='15 4 * * 1')"
    served = processes.start(
        "serve", [sys.executable, "-c", script], env=prefect_server.env, cwd=tmp_path
    )
    try:
        log = processes.log_of(served)
        wait_until(
            lambda: "being served" in log.read_text(),
            timeout=120,
            what="serve_all",
            proc=served,
            log=log,
        )
        refresh = prefect_server.deployment("dataset-refresh/serve")
        assert [s["schedule"]["cron"] for s in refresh["schedules"]] == ["15 4 * * 1"]
        upcoming = wait_until(
            lambda: prefect_server.flow_runs(refresh["id"], state_type="SCHEDULED"),
            timeout=90,
            what="scheduled runs of dataset-refresh/serve",
        )
        for run in upcoming:  # Mondays 04:15, in UTC
            start = datetime.fromisoformat(run["expected_start_time"].replace("Z", "+00:00"))
            when = (start.weekday(), start.hour, start.minute, start.utcoffset())
            assert when == (0, 4, 15, timedelta(0))
        assert (
            refresh["work_pool_name"] is None
            and refresh["entrypoint"] == "regionflow.flows.pipeline.dataset_refresh"
        )
        assert prefect_server.deployment("region-export/serve")["parameters"] == {
            "output": str(store)
        }
        assert prefect_server.deployment("pipeline/serve")["parameters"]["store"] == str(store)

        config = {"ingest": TINY_INGEST, "skeleton": TINY_SKELETON}
        run_id = prefect_server.create_run("dataset-refresh/serve", {"config": config})
        run = prefect_server.wait_for_run(run_id, timeout=180, runner=served)
        assert run["state"]["type"] == "COMPLETED", run["state"]["message"]
    finally:
        processes.stop(served)
    manifest = read_manifest(Store(store))
    assert len(manifest) == sum(
        TINY_INGEST[f"synthetic_{split}"] for split in ("train", "val", "test")
    )
    assert set(read_records(Store(store), "skeleton")) == {
        r["id"] for r in manifest if r["split"] != "test"
    }
    assert not Path(tmp_path, "regionflow-store").exists()

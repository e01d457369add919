"""What the Prefect UI shows of a demo-sized pipeline, read back through a real server's API.

One `prefect server start` on 127.0.0.1 (with its UI where Chromium is installed); the pipeline
runs twice in this process against it (the second run finds every stage cached). The artifacts
must be self-contained: pictures embedded as data URIs, no link artifacts, paths as text. Where
Debian's Chromium is installed (`apt-get install chromium`), headless Chromium renders the
artifact pages and the rendered DOM must hold the embedded pictures; without it that one test
skips.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.flows.conftest import TINY
from tests.integration.conftest import PrefectServer, started_prefect_server, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# The demo-sized pipeline; training starts from scratch so the test does not need the shipped
# model's weights (train.init's default).
CONFIG = {**TINY, "train": {**TINY["train"], "init": "none"}}
EMBEDDED = re.compile(r"!\[[^\]]*\]\(data:image/(?:png|jpeg);base64,[A-Za-z0-9+/=]+\)")
NOT_EMBEDDED = re.compile(r"!\[[^\]]*\]\((?!data:)")
STAGES = ("ingest", "skeletonize", "train", "extract")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The flags that work on a machine with no network (no sandbox as root, no background calls).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory, processes) -> Iterator[PrefectServer]:
    """`prefect server start` (with its UI where Chromium is installed) on a free loopback port;
    flows in this process report to it for the module's duration."""
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # The UI only where a browser will look at it (it makes the server slower to start).
    with started_prefect_server(
        processes, tmp_path_factory.mktemp("prefect-ui-home"), ui=bool(CHROMIUM), timeout=600
    ) as server:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            try:
                yield server
            finally:
                APILogWorker.drain_all(timeout=10)


@pytest.fixture(scope="module")
def runs(ui_server, tmp_path_factory) -> dict[str, str]:
    """The pipeline on a fresh store, then again on the same store (all cached): run ids."""
    from prefect.logging.handlers import APILogWorker

    from regionflow.flows.pipeline import pipeline

    store = str(tmp_path_factory.mktemp("ui-store") / "store")
    first = pipeline(store, CONFIG, return_state=True)
    assert first.is_completed(), first.message
    again = pipeline(store, CONFIG, return_state=True)
    assert again.is_completed(), again.message
    APILogWorker.drain_all(timeout=10)
    return {
        "first": str(first.state_details.flow_run_id),
        "again": str(again.state_details.flow_run_id),
    }


def stage_runs(server: PrefectServer, run_id: str) -> dict[str, dict]:
    return {run["name"]: run for run in _children_by_flow(server, run_id)}


def _children_by_flow(server: PrefectServer, run_id: str) -> list[dict]:
    children = server.child_runs(run_id)
    flows = {f["id"]: f["name"] for f in server.api("POST", "/flows/filter", {})}
    return [{**c, "name": flows[c["flow_id"]]} for c in children]


def artifacts_of(server: PrefectServer, run_id: str) -> dict[str, list[dict]]:
    """Every artifact of the run and its stage runs (and their tasks), by key (oldest first)."""
    ids = [run_id, *(c["id"] for c in server.child_runs(run_id))]
    body = {"artifacts": {"flow_run_id": {"any_": ids}}, "sort": "CREATED_DESC"}
    found: dict[str, list[dict]] = {}
    for artifact in reversed(server.api("POST", "/artifacts/filter", body)):
        found.setdefault(artifact["key"] or "", []).append(artifact)
    return found


def test_reports_embed_their_pictures_and_state_paths_as_text(ui_server, runs):
    artifacts = artifacts_of(ui_server, runs["first"])
    assert not [a for group in artifacts.values() for a in group if a["type"] == "link"], (
        "a link artifact to a local path opens the UI's 404 page"
    )
    (extract,) = artifacts["extract-report"]
    markdown = extract["data"]
    # threshold curve, region sizes, preview (+ precision vs scale where sizes allow)
    assert len(EMBEDDED.findall(markdown)) >= 3, markdown[:2000]
    assert not NOT_EMBEDDED.search(markdown)
    assert "On disk: `" in markdown and "report.md`" in markdown
    assert "boundary F (pixel tolerance)" in markdown
    (ingest,) = artifacts["ingest-report"]
    assert len(EMBEDDED.findall(ingest["data"])) == 1 and not NOT_EMBEDDED.search(ingest["data"])
    for group in artifacts.values():
        for artifact in group:
            assert len(json.dumps(artifact["data"])) < 1_000_000, artifact["key"]


def test_one_progress_bar_per_predictor(ui_server, runs):
    artifacts = artifacts_of(ui_server, runs["first"])
    keys = {"extract-progress-model", "extract-progress-ground-truth", "extract-progress-slic"}
    assert keys <= set(artifacts)
    for key in keys | {"ingest-progress", "skeletonize-progress", "train-progress"}:
        (bar,) = artifacts[key]
        assert bar["type"] == "progress" and bar["data"] == 100.0, (key, bar["data"])


def test_training_shows_its_progress_losses_and_previews(ui_server, runs):
    artifacts = artifacts_of(ui_server, runs["first"])
    report = artifacts["train-report"][-1]["data"]
    assert f"Step {TINY['train']['steps']} of {TINY['train']['steps']}." in report
    assert "| step | loss_g" in report
    assert "![loss curve](data:image/" in report and "![preview](data:image/" in report
    train = stage_runs(ui_server, runs["first"])["train"]
    body = {"logs": {"flow_run_id": {"any_": [train["id"]]}}}
    messages = wait_until(
        lambda: [m for log in ui_server.api("POST", "/logs/filter", body)
                 if (m := log["message"]).startswith("train step ")],
        timeout=30, what="loss lines in the train run's log",
    )  # fmt: skip
    last = TINY["train"]["steps"]
    assert messages[-1].startswith(f"train step {last}/{last}: loss_g="), messages


def test_the_pipeline_run_has_its_summary(ui_server, runs):
    (summary,) = artifacts_of(ui_server, runs["first"])["pipeline-summary"]
    assert summary["flow_run_id"] == runs["first"]
    table = summary["data"]
    for stage in STAGES:
        assert re.search(rf"^\| {stage} \| Completed \| [1-9]\d* \w+ \| 0 \w+ \| \d+ \| [^|]+ s \|$",
                         table, re.M), (stage, table)  # fmt: skip
    header = next(line for line in table.splitlines() if line.startswith("| predictor |"))
    cells = lambda line: [c.strip() for c in line.strip().strip("|").split("|")]  # noqa: E731
    column = cells(header).index("boundary_px_F")
    for predictor in ("model", "ground_truth", "slic"):
        (row,) = [line for line in table.splitlines() if line.startswith(f"| {predictor} |")]
        float(cells(row)[column])  # a number, not "–"


def test_a_cached_rerun_reads_as_cached(ui_server, runs):
    stages = stage_runs(ui_server, runs["again"])
    assert {name: run["state"]["name"] for name, run in stages.items()} == dict.fromkeys(
        STAGES, "Cached"
    )
    assert {run["state"]["type"] for run in stages.values()} == {"COMPLETED"}
    artifacts = artifacts_of(ui_server, runs["again"])
    (summary,) = artifacts["pipeline-summary"]
    for stage in STAGES:
        assert re.search(rf"^\| {stage} \| Cached \| 0 \w+ \| [1-9]\d* \w+ \|", summary["data"],
                         re.M), (stage, summary["data"])  # fmt: skip
    for stage in ("ingest-samples", "skeletonize-samples", "train-model", "extract-regions"):
        (counts,) = artifacts[f"{stage}-counts"]
        (row,) = json.loads(counts["data"])
        assert row["state"] == "Cached" and row["done"] == 0 and row["cached"] > 0, row


def render_dom(url: str, profile: Path, screenshot: Path) -> str:
    """The page's DOM after its scripts ran, and a screenshot of it, from headless Chromium."""
    base = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1400,2400",
            "--virtual-time-budget=20000"]  # fmt: skip
    subprocess.run([*base, f"--screenshot={screenshot}", url], capture_output=True, timeout=180)
    done = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=180)
    return done.stdout


@pytest.mark.skipif(
    CHROMIUM is None, reason="headless check needs Debian's chromium (apt-get install chromium)"
)
def test_artifact_pages_render_their_pictures_in_chromium(ui_server, runs, tmp_path):
    """The screenshots land in $REGIONFLOW_SCREENSHOTS when set (to look at), else tmp_path."""
    shots = Path(os.environ.get("REGIONFLOW_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    ui = ui_server.api_url.removesuffix("/api")
    artifacts = artifacts_of(ui_server, runs["first"])
    pages = {
        key: artifacts[key][-1]["id"]
        for key in ("extract-report", "train-report", "pipeline-summary")
    }
    for key, artifact_id in pages.items():
        dom = render_dom(
            f"{ui}/artifacts/artifact/{artifact_id}",
            tmp_path / f"profile-{key}",
            shots / f"{key}.png",
        )
        assert (shots / f"{key}.png").stat().st_size > 0
        if key == "pipeline-summary":
            assert "boundary_px_F" in dom and "Completed" in dom, dom[-3000:]
        else:
            assert re.search(r'<img[^>]+src="data:image/(png|jpeg);base64,', dom), (
                key,
                dom[-3000:],
            )

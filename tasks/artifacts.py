"""What the Prefect UI shows of a run: reports, each stage's counts, the pipeline summary and
training telemetry, as artifacts. Outside a Prefect run every function here does nothing.

Artifacts are self-contained: pictures are embedded (storage.reports.data_uri) and files on disk
are named as text, never as link artifacts (the UI cannot open a local path).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np

from regionflow.storage.reports import pipeline_summary_markdown, training_markdown
from regionflow.tasks.stage import StageProgress

# A stage's result key in the pipeline, by its task's name, and what its counts count.
STAGES = {
    "ingest-samples": "ingest",
    "skeletonize-samples": "skeletonize",
    "train-model": "train",
    "extract-regions": "extract",
}
UNITS = {"ingest": "samples", "skeletonize": "samples", "train": "steps", "extract": "images"}
# Train: at most this many loss lines in the run log, and a fresh report this often.
MAX_LOG_LINES = 500
REPORT_EVERY_S = 60.0


def in_run() -> bool:
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def publish_markdown(key: str, markdown: str, description: str) -> None:
    """A markdown artifact under `key` (a new version of it if the key exists)."""
    if not in_run():
        return
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(markdown=markdown, key=key, description=description)


def stage_counts(stage: str, result: dict[str, Any]) -> dict[str, Any]:
    """What this run of a stage did: `done` units computed now, `cached` units reused.

    A stage whose Prefect task was Cached computed nothing in this run: its result is the one
    an earlier run returned, so its units all count as cached (quarantined stays: it describes
    the data, not the work).
    """
    if stage == "train":
        total = result.get("steps", 0)
        done = result.get("trained", total)
    elif stage == "extract":
        total, done = result.get("images", 0), result.get("computed", 0)
    elif stage == "ingest":
        total = result.get("samples", 0)
        done = result.get("processed", result.get("ingested", 0))
    else:
        total, done = result.get("samples", 0), result.get("computed", 0)
    if result.get("state") == "Cached":
        done = 0
    return {
        "stage": stage,
        "state": result.get("state", "?"),
        "unit": UNITS.get(stage, ""),
        "done": done,
        "cached": total - done,
        "quarantined": result.get("quarantined", 0),
        "duration_s": result.get("duration_s"),
    }


def publish_stage(task_name: str, result: dict[str, Any]) -> None:
    """A table artifact of what the stage did, in its flow run; its report's path as text."""
    if not in_run():
        return
    from prefect.artifacts import create_table_artifact

    stage = STAGES.get(task_name, task_name)
    counts = stage_counts(stage, result)
    row = {
        "stage": task_name,
        "state": counts["state"],
        "done": counts["done"],
        "cached": counts["cached"],
        "unit": counts["unit"],
        "quarantined": counts["quarantined"],
        "failed": 0,  # a failing unit fails the stage after the others finish (see the logs)
        "duration_s": round(counts["duration_s"] or 0.0, 1),
    }
    if result.get("report"):
        row["report"] = result["report"]  # a path: text, the UI cannot open it
    create_table_artifact(
        table=[row], key=f"{task_name}-counts", description=f"{task_name}: what was done"
    )


def publish_summary(title: str, results: dict[str, dict[str, Any]], config: dict) -> None:
    """The `pipeline-summary` artifact: every stage that ran, and the headline scores."""
    if not in_run():
        return
    stages = [stage_counts(name, results[name]) for name in UNITS if name in results]
    extract = results.get("extract", {})
    comparison = None
    if extract.get("scores") or extract.get("compared"):
        predictor = config.get("extract", {}).get("predictor", "model")
        comparison = {predictor: extract.get("scores", {}), **extract.get("compared", {})}
    reports = {
        name: results[name]["report"]
        for name in ("ingest", "extract")
        if name in results and results[name].get("report")
    }
    if "train" in results and results["train"].get("checkpoint"):
        reports["train (last checkpoint)"] = results["train"]["checkpoint"]
    split = config.get("extract", {}).get("split", "")
    source = config.get("ingest", {}).get("source", "")
    markdown = pipeline_summary_markdown(
        title,
        stages,
        comparison=comparison,
        scored_on=f"{split} split of {source}" if split and source else "",
        tolerance_px=config.get("extract", {}).get("tolerance_px"),
        reports=reports,
    )
    publish_markdown("pipeline-summary", markdown, f"{title}: stages and headline scores")


def log_interval(steps: int, log_every: int) -> int:
    """Every how many steps a loss line is logged: a multiple of `log_every` (when the losses
    reach the host), at most MAX_LOG_LINES lines per run."""
    return log_every * max(1, math.ceil(steps / (log_every * MAX_LOG_LINES)))


class TrainingTelemetry:
    """A training run in the UI while it runs: the `train-progress` artifact, a loss line in
    the run log every `log_interval` steps, and the `train-report` artifact (metrics table, loss
    curve, latest preview) every REPORT_EVERY_S seconds and at the end.

    Call it as the training loop's `on_step(step, metrics, preview)`; `finish()` at the end.
    """

    def __init__(
        self,
        run_id: str,
        *,
        steps: int,
        log_every: int,
        start_step: int,
        history: list[dict[str, Any]],
        location: str,
        log: logging.Logger,
    ):
        self.run_id, self.steps, self.location, self.log = run_id, steps, location, log
        self.every = log_interval(steps, log_every)
        self.rows = [r for r in history if r["step"] <= start_step]
        self.step = start_step
        self.preview: np.ndarray | None = None
        self.active = in_run()
        self.progress = StageProgress("train-progress", f"training steps of {run_id}")
        self.progress(start_step, steps)
        self.reported = time.monotonic()

    def __call__(self, step: int, metrics: dict[str, float], preview: np.ndarray | None) -> None:
        self.step = step
        self.rows.append({"step": step, **{k: float(v) for k, v in metrics.items()}})
        if preview is not None:
            self.preview = preview
        if step % self.every == 0 or step == self.steps:
            shown = " ".join(
                f"{k}={metrics[k]:.4g}"
                for k in ("loss_g", "loss_d", "l1", "val_l1", "lr")
                if k in metrics
            )
            speed = metrics.get("images_per_s")
            self.log.info(
                "train step %d/%d: %s%s",
                step,
                self.steps,
                shown,
                f" ({speed:.1f} images/s)" if speed is not None else "",
            )
            self.progress(step, self.steps)
        if self.active and time.monotonic() - self.reported >= REPORT_EVERY_S:
            self.report()

    def report(self) -> None:
        self.reported = time.monotonic()
        if not self.active:
            return
        markdown = training_markdown(
            self.run_id,
            self.rows,
            step=self.step,
            steps=self.steps,
            preview=self.preview,
            location=self.location,
        )
        publish_markdown("train-report", markdown, f"training run {self.run_id}")

    def finish(self, step: int) -> None:
        """The final report and a full progress bar (also when nothing was left to train)."""
        self.step = max(self.step, step)
        self.progress(self.step, self.steps)
        self.report()

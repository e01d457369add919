"""The four stage flows. Each one: resolve config, run its cached stage task, report its state."""

from __future__ import annotations

from typing import Any

from prefect import flow

from models.config import TrainConfig
from storage.locks import StoreLock
from storage.store import Store
from tasks.config import ExtractConfig, IngestConfig, SkeletonConfig, to_dict
from tasks.extract import extract_regions
from tasks.ingest import ingest_samples, locate_source
from tasks.skeletonize import skeletonize_samples
from tasks.stage import stage_options
from tasks.train import train_model


def _run_stage(task, store: Store, **kwargs: Any) -> dict[str, Any]:
    """Run a stage task with the store's cache, holding the store's lock (re-entrant: a pipeline
    already holds it); its result plus how it ended (Completed / Cached)."""
    with StoreLock(store, purpose=task.name):
        state = task.with_options(**stage_options(store))(store.url, **kwargs, return_state=True)
    result = {"state": state.name, **state.result()}
    publish_stage(task.name, result)
    return result


def publish_stage(name: str, result: dict[str, Any]) -> None:
    """A table artifact of the stage's counts and a link to its report, in the flow run."""
    from prefect.artifacts import create_link_artifact, create_table_artifact

    done = result.get("computed", result.get("ingested", result.get("steps", 0)))
    row = {
        "stage": name,
        "state": result["state"],
        "done": done,
        "cached": result.get("reused", result.get("unchanged", 0)),
        "quarantined": result.get("quarantined", 0),
        "failed": 0,  # a failing unit fails the stage after the others finish (see the logs)
    }
    create_table_artifact(table=[row], key=f"{name}-counts", description=f"{name}: what was done")
    if result.get("report"):
        create_link_artifact(
            link=result["report"], link_text=f"{name} report", key=f"{name}-report"
        )


@flow(name="ingest", log_prints=True)
def ingest_flow(store: str, config: dict | None = None, dask_address: str | None = None) -> dict:
    """Fetch or generate the source, validate every sample, write Zarr arrays and the manifest."""
    cfg = to_dict(IngestConfig(**(config or {})))
    source = locate_source(store, cfg)
    return _run_stage(
        ingest_samples,
        Store(store),
        config=cfg,
        source_fingerprint=source["fingerprint"],
        dask_address=dask_address,
    )


@flow(name="skeletonize", log_prints=True)
def skeletonize_flow(
    store: str, upstream: str, config: dict | None = None, dask_address: str | None = None
) -> dict:
    """Compute the DanbooRegion skeleton target of every annotated sample, in parallel."""
    cfg = to_dict(SkeletonConfig(**(config or {})))
    return _run_stage(
        skeletonize_samples, Store(store), config=cfg, upstream=upstream, dask_address=dask_address
    )


@flow(name="train", log_prints=True)
def train_flow(store: str, upstream: str, config: dict | None = None) -> dict:
    """Train the region U-Net on the skeleton targets; resume from the last checkpoint."""
    cfg = TrainConfig.from_dict(config or {}).to_dict()
    return _run_stage(train_model, Store(store), config=cfg, upstream=upstream)


@flow(name="extract", log_prints=True)
def extract_flow(
    store: str,
    upstream: str,
    config: dict | None = None,
    checkpoint: str | None = None,
    sample_ids: list[str] | None = None,
    dask_address: str | None = None,
) -> dict:
    """Predict, decode and score regions for a split; write exports and the report."""
    cfg = to_dict(ExtractConfig(**(config or {})))
    return _run_stage(
        extract_regions,
        Store(store),
        config=cfg,
        upstream=upstream,
        checkpoint=checkpoint,
        sample_ids=sample_ids,
        dask_address=dask_address,
    )

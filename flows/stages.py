"""The four stage flows. Each one: take its typed config, run its cached stage task, report its
state.

A flow's `config` is its stage's config (Prefect validates a dict into one; None: the defaults).
The task gets it as the plain dict it always got: Prefect's stage cache keys on the task's
inputs, so a typed config and the same values as a dict share one cache entry (and run id)."""

from __future__ import annotations

import time
from typing import Any

from prefect import flow
from prefect.states import Completed, State

from regionflow.models.config import TrainConfig
from regionflow.storage.locks import StoreLock
from regionflow.storage.store import Store
from regionflow.tasks.artifacts import publish_stage
from regionflow.tasks.config import ExtractConfig, IngestConfig, SkeletonConfig, to_dict
from regionflow.tasks.extract import extract_regions
from regionflow.tasks.ingest import ingest_samples, locate_source
from regionflow.tasks.skeletonize import skeletonize_samples
from regionflow.tasks.stage import stage_options
from regionflow.tasks.train import train_model


def _run_stage(task, store: Store, **kwargs: Any) -> dict[str, Any] | State:
    """Run a stage task with the store's cache, holding the store's lock (re-entrant: a pipeline
    already holds it); its result plus how it ended (Completed / Cached) and how long it took.

    When the task was Cached, the stage's flow run ends in a Cached state too (a Completed
    state named so), which callers receive as the plain result: the UI then says Cached."""
    started = time.monotonic()
    with StoreLock(store, purpose=task.name):
        state = task.with_options(**stage_options(store))(store.url, **kwargs, return_state=True)
    result = {"state": state.name, **state.result(), "duration_s": time.monotonic() - started}
    publish_stage(task.name, result)
    if state.name == "Cached":
        return Completed(
            name="Cached", message="every unit reused from an earlier run", data=result
        )
    return result


@flow(name="ingest", log_prints=True)
def ingest_flow(
    store: str, config: IngestConfig | None = None, dask_address: str | None = None
) -> dict:
    """Fetch or generate the source, validate every sample, write Zarr arrays and the manifest."""
    cfg = to_dict(IngestConfig.of(config))
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
    store: str,
    upstream: str,
    config: SkeletonConfig | None = None,
    dask_address: str | None = None,
) -> dict:
    """Compute the DanbooRegion skeleton target of every annotated sample, in parallel."""
    cfg = to_dict(SkeletonConfig.of(config))
    return _run_stage(
        skeletonize_samples, Store(store), config=cfg, upstream=upstream, dask_address=dask_address
    )


@flow(name="train", log_prints=True)
def train_flow(store: str, upstream: str, config: TrainConfig | None = None) -> dict:
    """Train the region U-Net on the skeleton targets; resume from the last checkpoint."""
    cfg = TrainConfig.of(config).to_dict()
    return _run_stage(train_model, Store(store), config=cfg, upstream=upstream)


@flow(name="extract", log_prints=True)
def extract_flow(
    store: str,
    upstream: str,
    config: ExtractConfig | None = None,
    checkpoint: str | None = None,
    sample_ids: list[str] | None = None,
    dask_address: str | None = None,
) -> dict:
    """Predict, decode and score regions for a split; write exports and the report."""
    cfg = to_dict(ExtractConfig.of(config))
    return _run_stage(
        extract_regions,
        Store(store),
        config=cfg,
        upstream=upstream,
        checkpoint=checkpoint,
        sample_ids=sample_ids,
        dask_address=dask_address,
    )

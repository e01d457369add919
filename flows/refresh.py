"""Scheduled dataset refresh: re-ingest the source; only new or changed samples are processed."""

from __future__ import annotations

from prefect import flow

from flows.stages import extract_flow, ingest_flow, skeletonize_flow, train_flow
from tasks.config import PipelineConfig


@flow(name="dataset-refresh", log_prints=True)
def dataset_refresh(store: str, config: dict | None = None, retrain: bool = False) -> dict:
    """Ingest + skeletonize incrementally; with `retrain`, also train and evaluate on the result."""
    cfg = PipelineConfig.from_dict(config or {}).to_dict()
    cfg["skeleton"]["method"] = cfg["train"]["target"]
    dask = cfg["dask_address"]
    ingest = ingest_flow(store, cfg["ingest"], dask_address=dask)
    skeleton = skeletonize_flow(store, ingest["fingerprint"], cfg["skeleton"], dask_address=dask)
    result = {"ingest": ingest, "skeletonize": skeleton}
    if retrain:
        train = train_flow(store, skeleton["fingerprint"], cfg["train"])
        result["train"] = train
        result["extract"] = extract_flow(
            store, f"{ingest['fingerprint']}:{train['fingerprint']}", cfg["extract"],
            checkpoint=train["checkpoint"], dask_address=dask,
        )
    return result

"""The whole pipeline (ingest → skeletonize → train → extract) and the scheduled dataset refresh.

Every stage is cached and resumable, so the refresh processes only new or changed samples.
"""

from __future__ import annotations

from prefect import flow

from regionflow.flows.stages import extract_flow, ingest_flow, skeletonize_flow, train_flow
from regionflow.storage.locks import StoreLock
from regionflow.storage.store import Store
from regionflow.tasks.artifacts import publish_summary
from regionflow.tasks.config import PipelineConfig


def run_stages(store: str, config: PipelineConfig | None, *, through_extract: bool) -> dict:
    cfg = PipelineConfig.of(config)  # validated: skeleton.method = train.target
    with StoreLock(Store(store), wait=cfg.lock_wait, purpose="pipeline"):
        result = _chain(store, cfg, through_extract=through_extract)
    publish_summary(f"Pipeline on {store}", result, cfg.to_dict())
    return result


def _chain(store: str, cfg: PipelineConfig, *, through_extract: bool) -> dict:
    dask = cfg.dask_address
    ingest = ingest_flow(store, cfg.ingest, dask_address=dask)
    skeleton = skeletonize_flow(store, ingest["fingerprint"], cfg.skeleton, dask_address=dask)
    result = {"ingest": ingest, "skeletonize": skeleton}
    if not through_extract:
        return result
    train = train_flow(store, skeleton["fingerprint"], cfg.train)
    extract = extract_flow(
        store,
        f"{ingest['fingerprint']}:{train['fingerprint']}",
        cfg.extract,
        checkpoint=train["checkpoint"],
        dask_address=dask,
    )
    return {**result, "train": train, "extract": extract}


@flow(name="pipeline", log_prints=True)
def pipeline(store: str, config: PipelineConfig | None = None) -> dict:
    """Run every stage on `store` with `config` (a PipelineConfig; a dict is validated into one,
    its missing fields taking the defaults in code).

    Args:
        store: the store: a folder (created if missing) or an fsspec URL such as s3://bucket/x.
        config: the PipelineConfig, nested by stage; fields left out take the defaults in code,
            e.g. {"ingest": {"source": "/data/DanbooRegion2020"}, "train": {"steps": 5000}};
            {} runs the defaults (`regionflow config` prints them). skeleton.method and
            train.target are one choice: give one (the other follows) or both the same.
    """
    return run_stages(store, config, through_extract=True)


@flow(name="dataset-refresh", log_prints=True)
def dataset_refresh(
    store: str, config: PipelineConfig | None = None, retrain: bool = False
) -> dict:
    """Ingest + skeletonize incrementally; with `retrain`, also train and evaluate on the result.

    Args:
        store: the store: a folder or an fsspec URL; only its new or changed samples are processed.
        config: the PipelineConfig, nested by stage (as for the pipeline); fields left out take
            the defaults in code; {} runs the defaults.
        retrain: also train (continuing the run if only steps changed) and extract on the result.
    """
    return run_stages(store, config, through_extract=retrain)

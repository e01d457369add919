"""The whole pipeline: ingest → skeletonize → train → extract, each stage cached and resumable."""

from __future__ import annotations

from prefect import flow

from flows.stages import extract_flow, ingest_flow, skeletonize_flow, train_flow
from tasks.config import PipelineConfig


@flow(name="pipeline", log_prints=True)
def pipeline(store: str, config: dict | None = None) -> dict:
    """Run every stage on `store`; `config` is a (partial) PipelineConfig as a dict."""
    cfg = PipelineConfig.from_dict(config or {}).to_dict()
    # The training config names the target it learns; the skeleton stage computes that one.
    cfg["skeleton"]["method"] = cfg["train"]["target"]
    dask = cfg["dask_address"]
    ingest = ingest_flow(store, cfg["ingest"], dask_address=dask)
    skeleton = skeletonize_flow(store, ingest["fingerprint"], cfg["skeleton"], dask_address=dask)
    train = train_flow(store, skeleton["fingerprint"], cfg["train"])
    extract = extract_flow(
        store,
        f"{ingest['fingerprint']}:{train['fingerprint']}",
        cfg["extract"],
        checkpoint=train["checkpoint"],
        dask_address=dask,
    )
    return {"ingest": ingest, "skeletonize": skeleton, "train": train, "extract": extract}

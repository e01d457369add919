"""Batch region export: images (files, folders, globs, URLs) + a checkpoint → regions on disk."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows.stages import extract_flow, ingest_flow
from storage.locks import StoreLock
from storage.model_zoo import is_default, model_identity, read_default_model
from storage.store import Store, default_store_url
from tasks.ingest import gather_inputs


@flow(name="region-export", log_prints=True)
def region_export(
    inputs: list[str],
    checkpoint: str | None = None,
    output: str | None = None,
    config: dict | None = None,
    dask_address: str | None = None,
    lock_wait: float = 0.0,
) -> dict:
    """Extract regions from every input image with the model in `checkpoint` (None or
    "default": the model shipped with regionflow, sha256-verified before anything is read).

    `config` overrides ExtractConfig fields (decoder, short_side, tta, exports). Outputs land in
    `<output>/exports/<export>/<image>/` with a report in `<output>/reports/<export>/`.
    """
    store = output or default_store_url()
    # Fail before gathering and ingesting the images.
    if is_default(checkpoint):
        read_default_model()  # raises on a missing or damaged file
        checkpoint = None
    elif not Path(checkpoint).is_file():
        raise FileNotFoundError(f"checkpoint: {checkpoint} does not exist")
    with StoreLock(Store(store), wait=lock_wait, purpose="region-export"):
        return _export(store, inputs, checkpoint, config, dask_address)


def _export(
    store: str,
    inputs: list[str],
    checkpoint: str | None,
    config: dict | None,
    dask_address: str | None,
) -> dict:
    source = gather_inputs(store, inputs)
    ingest = ingest_flow(store, {"source": source["folder"]}, dask_address=dask_address)
    extract_config = {**(config or {}), "split": "images", "predictor": "model"}
    return extract_flow(
        store,
        f"{ingest['fingerprint']}:{model_identity(checkpoint)}",
        extract_config,
        checkpoint=checkpoint,
        sample_ids=ingest["ids"],
        dask_address=dask_address,
    )

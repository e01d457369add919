"""Batch region export: images (files, folders, globs, URLs) + a checkpoint → regions on disk."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows.stages import extract_flow, ingest_flow
from storage.fingerprints import file_fingerprint
from storage.locks import StoreLock
from storage.store import Store, default_store_url
from tasks.ingest import gather_inputs


@flow(name="region-export", log_prints=True)
def region_export(
    inputs: list[str],
    checkpoint: str,
    output: str | None = None,
    config: dict | None = None,
    dask_address: str | None = None,
    lock_wait: float = 0.0,
) -> dict:
    """Extract regions from every input image with the model in `checkpoint`.

    `config` overrides ExtractConfig fields (decoder, short_side, tta, exports). Outputs land in
    `<output>/exports/<export>/<image>/` with a report in `<output>/reports/<export>/`.
    """
    store = output or default_store_url()
    if not Path(checkpoint).is_file():  # fail before gathering and ingesting the images
        raise FileNotFoundError(f"checkpoint: {checkpoint} does not exist")
    with StoreLock(Store(store), wait=lock_wait, purpose="region-export"):
        return _export(store, inputs, checkpoint, config, dask_address)


def _export(
    store: str, inputs: list[str], checkpoint: str, config: dict | None, dask_address: str | None
) -> dict:
    source = gather_inputs(store, inputs)
    ingest = ingest_flow(store, {"source": source["folder"]}, dask_address=dask_address)
    extract_config = {**(config or {}), "split": "images", "predictor": "model"}
    return extract_flow(
        store,
        f"{ingest['fingerprint']}:{file_fingerprint(checkpoint)}",
        extract_config,
        checkpoint=checkpoint,
        sample_ids=ingest["ids"],
        dask_address=dask_address,
    )

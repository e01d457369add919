"""Batch region export: images (files, folders, globs, URLs) + a checkpoint → regions on disk."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from regionflow.flows.stages import extract_flow, ingest_flow
from regionflow.storage.locks import StoreLock
from regionflow.storage.model_zoo import (
    default_decoding,
    is_default,
    model_identity,
    read_default_model,
)
from regionflow.storage.store import Store, default_store_url
from regionflow.tasks.artifacts import publish_summary
from regionflow.tasks.config import ExtractConfig, IngestConfig
from regionflow.tasks.ingest import gather_inputs


@flow(name="region-export", log_prints=True)
def region_export(
    inputs: list[str],
    checkpoint: str | None = None,
    output: str | None = None,
    config: ExtractConfig | None = None,
    dask_address: str | None = None,
    lock_wait: float = 0.0,
) -> dict:
    """Extract regions from every input image with the model in `checkpoint` (None or
    "default": the model shipped with regionflow, sha256-verified before anything is read).

    `config` is an ExtractConfig (decoder, short_side, tta, exports; a dict is validated into
    one); the model's own decoding fills the fields it was not given (`model_fields_set`: the
    shipped model's, models/zoo/default.json; another checkpoint's: ExtractConfig's defaults,
    full decoder at short side 1024). Its split and predictor are always "images" and "model". Outputs land in
    `<output>/exports/<export>/<image>/` with a report in `<output>/reports/<export>/`.

    Args:
        inputs: images to export: files, folders, globs or http(s)/s3:// URLs.
        checkpoint: a generator checkpoint (.pt) on the worker's machine, or "default" / empty
            for the model shipped with regionflow.
        output: the store the exports and report are written to (a folder or fsspec URL);
            empty: $REGIONFLOW_STORE, else ./regionflow-store.
        config: ExtractConfig fields: decoder (simple | full | colour), threshold, short_side
            (px, null: as is), tta (1, 4 or 8), exports (labels, flat, regions, coco, svg); a
            field left out is the model's own (decoder, threshold, short_side) or the default.
        dask_address: a Dask scheduler to run the per-image work on; empty: a local cluster.
        lock_wait: seconds to wait for another run holding the store's lock (0: fail at once).
    """
    store = output or default_store_url()
    # Fail before gathering and ingesting the images.
    if is_default(checkpoint):
        read_default_model()  # raises on a missing or damaged file
        checkpoint = None
        config = with_shipped_decoding(config)
    elif not Path(checkpoint).is_file():
        raise FileNotFoundError(f"checkpoint: {checkpoint} does not exist")
    with StoreLock(Store(store), wait=lock_wait, purpose="region-export"):
        return _export(store, inputs, checkpoint, config, dask_address)


def with_shipped_decoding(config: ExtractConfig | dict | None) -> ExtractConfig:
    """`config` with the shipped model's own decoder, threshold and working resolution where the
    user set none (`model_fields_set`, also of a config validated from a dict; its threshold only
    goes with its own decoder). The fields filled join the fields set."""
    config, shipped = ExtractConfig.of(config), default_decoding()
    given, filled = config.model_fields_set, {}
    if "decoder" not in given:
        filled["decoder"] = shipped["decoder"]
    if "threshold" not in given and filled.get("decoder", config.decoder) == shipped["decoder"]:
        filled["threshold"] = shipped["threshold"]
    if "short_side" in shipped and "short_side" not in given:
        filled["short_side"] = shipped["short_side"]
    return config.replace(**filled)


def _export(
    store: str,
    inputs: list[str],
    checkpoint: str | None,
    config: ExtractConfig | None,
    dask_address: str | None,
) -> dict:
    source = gather_inputs(store, inputs)
    ingest = ingest_flow(store, IngestConfig(source=source["folder"]), dask_address=dask_address)
    extract_config = ExtractConfig.of(config).replace(split="images", predictor="model")
    extract = extract_flow(
        store,
        f"{ingest['fingerprint']}:{model_identity(checkpoint)}",
        extract_config,
        checkpoint=checkpoint,
        sample_ids=ingest["ids"],
        dask_address=dask_address,
    )
    publish_summary(f"Region export to {store}", {"ingest": ingest, "extract": extract}, {})
    return extract

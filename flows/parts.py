"""Character parts: ingest COCO instances → train Mask R-CNN → evaluate (COCOeval); predict.

`parts` chains the stages like the region pipeline: each is a cached stage task (unchanged
inputs + config + code → Cached), training resumes from its last checkpoint, prediction skips
images already exported. `regionflow parts ingest|train|evaluate|predict` (flows/cli/parts.py)
runs one stage.
"""

from __future__ import annotations

from prefect import flow

from regionflow.flows.stages import _run_stage
from regionflow.models.parts import PartsTrainConfig
from regionflow.storage.parts import coco_source_fingerprint, dataset_fingerprint
from regionflow.storage.store import Store
from regionflow.tasks.parts import (
    PartsConfig,
    PartsEvalConfig,
    PartsIngestConfig,
    PartsPredictConfig,
    config_dict,
    evaluate_parts,
    ingest_parts,
    predict_parts,
    train_parts,
)


@flow(name="parts-ingest", log_prints=True)
def parts_ingest_flow(store: str, config: PartsIngestConfig | None = None) -> dict:
    """Validate a COCO instance dataset (or generate the built-in one) into the store."""
    cfg = config_dict(PartsIngestConfig.of(config))
    source = "synthetic"
    if cfg["source"] != "synthetic":
        source = coco_source_fingerprint(cfg["source"], cfg["images"])
    return _run_stage(ingest_parts, Store(store), config=cfg, source_fingerprint=source)


@flow(name="parts-train-stage", log_prints=True)
def parts_train_flow(
    store: str,
    datasets: list[str],
    upstream: str,
    config: PartsTrainConfig | None = None,
    max_images: int = 0,
) -> dict:
    """Train (or resume) Mask R-CNN on the train split of `datasets`."""
    cfg = PartsTrainConfig.of(config).to_dict()
    return _run_stage(
        train_parts,
        Store(store),
        config=cfg,
        datasets=list(datasets),
        upstream=upstream,
        max_images=max_images,
    )


@flow(name="parts-evaluate", log_prints=True)
def parts_evaluate_flow(
    store: str,
    checkpoint: str,
    dataset: str,
    upstream: str,
    config: PartsEvalConfig | None = None,
) -> dict:
    """COCOeval bbox/segm AP (overall, per class), raw and region-snapped masks."""
    cfg = config_dict(PartsEvalConfig.of(config))
    return _run_stage(
        evaluate_parts,
        Store(store),
        config=cfg,
        checkpoint=checkpoint,
        dataset=dataset,
        upstream=upstream,
    )


@flow(name="parts", log_prints=True)
def parts(store: str, config: PartsConfig | None = None) -> dict:
    """Character parts on one store: ingest COCO instances → train Mask R-CNN → COCOeval.

    Args:
        store: the store: a folder (created if missing) or an fsspec URL.
        config: the PartsConfig, nested by stage; fields left out take the defaults in code:
            {"ingest": PartsIngestConfig fields (source: "synthetic" or a COCO JSON file),
            "train": PartsTrainConfig fields (steps, init = a parts checkpoint for transfer,
            ...), "evaluate": PartsEvalConfig fields, "max_images": first N train images};
            {} runs the defaults.
    """
    cfg = PartsConfig.of(config)
    ingest = parts_ingest_flow(store, cfg.ingest)
    train = parts_train_flow(
        store, [ingest["dataset"]], ingest["fingerprint"], cfg.train, cfg.max_images
    )
    evaluate = parts_evaluate_flow(
        store,
        train["checkpoint"],
        ingest["dataset"],
        f"{ingest['fingerprint']}:{train['fingerprint']}",
        cfg.evaluate,
    )
    return {"ingest": ingest, "train": train, "evaluate": evaluate}


@flow(name="parts-predict", log_prints=True)
def parts_predict(
    store: str, inputs: list[str], checkpoint: str, config: PartsPredictConfig | None = None
) -> dict:
    """Per image: COCO results JSON, a label PNG per class, an overlay (snapped by default).

    Args:
        store: where exports/<export>/<image>/ are written: a folder or an fsspec URL.
        inputs: image files, folders or globs.
        checkpoint: a parts checkpoint (.pt) from `regionflow parts train`.
        config: the PartsPredictConfig; fields left out take the defaults in code, e.g.
            {"snap": false} or {"regions": "model"}.
    """
    from regionflow.storage.parts import expand_image_paths

    cfg = config_dict(PartsPredictConfig.of(config))
    files = expand_image_paths(inputs)
    return _run_stage(predict_parts, Store(store), config=cfg, checkpoint=checkpoint, inputs=files)


def datasets_upstream(store: str, datasets: list[str]) -> str:
    """What training on `datasets` depends on: their instance files' fingerprints, joined."""
    return ":".join(dataset_fingerprint(Store(store), d) for d in datasets)

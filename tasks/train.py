"""Train: the region U-Net on skeleton targets from Zarr; checkpoints, previews, metrics."""

from __future__ import annotations

import functools

from prefect import task

from regionflow.models.config import TrainConfig
from regionflow.models.data import CropDataset
from regionflow.models.train import fit, run_identity
from regionflow.storage.fingerprints import fingerprint
from regionflow.storage.manifest import read_manifest
from regionflow.storage.model_zoo import model_identity, read_model
from regionflow.storage.records import read_records
from regionflow.storage.runs import RUNS, Run
from regionflow.storage.samples import read_training_pair
from regionflow.storage.store import Store
from regionflow.tasks.artifacts import TrainingTelemetry
from regionflow.tasks.skeletonize import STAGE as SKELETON_STAGE
from regionflow.tasks.stage import stage_code, stage_logger

# The code a run's weights depend on: the training loop and data pipeline and what they import
# (models/, regions/). Not this module: editing how a run is reported must not restart it.
STAGE_CODE = ("regionflow.models.train", "regionflow.models.data")


def training_ids(store: Store, config: TrainConfig) -> list[str]:
    """Train-split samples with a skeleton target, minus those below the quality threshold."""
    targets = read_records(store, SKELETON_STAGE)
    ids = []
    for row in read_manifest(store):
        if row["split"] != "train" or row["status"] != "ok" or row["id"] not in targets:
            continue
        if config.min_quality is not None and (row["unfinished"] or 0.0) > 1.0 - config.min_quality:
            continue
        ids.append(row["id"])
    if not ids:
        raise ValueError(
            "train: no train samples with a skeleton target (run ingest and skeletonize first)"
        )
    return ids


def init_weights(config: TrainConfig) -> dict | None:
    """The generator weights a fresh run starts from: the shipped model ("default"), a
    checkpoint file, or None (Glorot initialisation, `train.init=none`)."""
    if config.init is None or config.init == "none":
        return None
    return read_model(config.init)["model"]


def init_identity(config: TrainConfig) -> str | None:
    """What the starting weights are (the shipped model's sha256, a file's fingerprint)."""
    if config.init is None or config.init == "none":
        return None
    return model_identity(config.init)


@task(name="train-model")
def train_model(store_url: str, config: dict, upstream: str) -> dict:
    """Train (or resume) the run named by what determines its weights — config minus the
    resumable fields (`models.train.RESUMABLE_CHANGES`: steps, intervals, device…), training
    code, data — so raising `steps` continues the same run from its last checkpoint."""
    store, cfg, log = Store(store_url), TrainConfig.from_dict(config), stage_logger("train")
    code = stage_code(*STAGE_CODE)
    run = Run(
        store,
        {"train": cfg.to_dict(), "code": code},
        upstream,
        identity={"train": run_identity(cfg), "code": code, "init": init_identity(cfg)},
    )
    checkpoints = run.checkpoints(keep_last=cfg.keep_last)
    resumed = max(checkpoints.steps(), default=0)
    run.start(resumed_step=resumed)
    ids = training_ids(store, cfg)
    log.info("train: run %s on %d samples, %d steps", run.id, len(ids), cfg.steps)
    num_workers = cfg.num_workers if store.shared_between_processes else 0  # workers reopen it
    dataset = CropDataset.from_config(ids, functools.partial(read_training_pair, store.url), cfg)
    telemetry = TrainingTelemetry(
        run.id,
        steps=cfg.steps,
        log_every=cfg.log_every,
        start_step=resumed,
        history=run.read_metrics(),
        location=store.url_of(RUNS, run.id),
        log=log,
    )

    def on_step(step: int, metrics: dict, preview) -> None:
        run.log_metrics(step, metrics)
        telemetry(step, metrics, preview)
        if preview is not None:
            run.write_preview(step, preview)
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            run.flush_metrics()

    fit(
        cfg.replace(num_workers=num_workers),
        dataset,
        checkpoints=checkpoints,
        on_step=on_step,
        init_weights=init_weights(cfg),
    )
    run.flush_metrics()
    last = max(checkpoints.steps())
    telemetry.finish(last)
    return {
        "run": run.id,
        "steps": last,
        "trained": last - resumed,  # steps run now; the rest came from the checkpoint resumed
        "checkpoint": str(checkpoints.path(last)),
        "fingerprint": fingerprint({"run": run.id, "step": last}),
    }

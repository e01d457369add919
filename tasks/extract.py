"""Extract: images → skeleton maps (model or ground truth) → regions → exports, metric rows, report.

Classical baselines (felzenszwalb, slic, watershed) go straight from image to regions; running them
through the same exports and metrics puts "ours vs classical" side by side in one report.
"""

from __future__ import annotations

from functools import partial

from prefect import task

from regionflow.regions.danbooregion import metrics
from regionflow.regions.danbooregion.extraction import export_documents, predicted_regions
from regionflow.storage import records as rec
from regionflow.storage.exports import ExportWriter, export_name
from regionflow.storage.fingerprints import fingerprint
from regionflow.storage.manifest import split_ids
from regionflow.storage.model_zoo import model_identity
from regionflow.storage.reports import write_report
from regionflow.storage.samples import has_array, read_array
from regionflow.storage.store import Store
from regionflow.tasks.artifacts import publish_markdown
from regionflow.tasks.cluster import dask_client, map_units
from regionflow.tasks.config import BASELINES, ExtractConfig
from regionflow.tasks.stage import StageProgress, one_thread_kernels, stage_code, stage_logger

# What the stage runs: this module and the regions/models code it imports (decoders, baselines,
# exports, metrics, the net's inference), not the rest of regions/ (panels, synthetic data).
STAGE_CODE = ("regionflow.tasks.extract",)
HEADLINE = ("AP", "OIS", "ODS", "boundary_px_F", "boundary_F", "sweep_ODS_F", "covering", "VI")


def extract_one(
    sample_id: str,
    *,
    store: Store,
    config: ExtractConfig,
    writer: ExportWriter,
    stage: str,
    config_fp: str,
) -> list[dict]:
    """Regions of one image, its exports and metric rows, then its record (last)."""
    one_thread_kernels()
    image = read_array(store, sample_id, "image")
    skeleton = None if config.predictor in BASELINES else writer.read_skeleton(sample_id)
    decode = partial(
        predicted_regions, image, skeleton, predictor=config.predictor, decoder=config.decoder
    )
    labels = decode(threshold=config.threshold)
    writer.write_documents(
        sample_id, export_documents(image, labels, config.exports, file_name=f"{sample_id}.png")
    )
    gt = read_array(store, sample_id, "labels") if has_array(store, sample_id, "labels") else None
    rows = metrics.extraction_rows(
        labels,
        gt,
        image=sample_id,
        regions_at=None if skeleton is None else (lambda t: decode(threshold=t)),
        thresholds=config.thresholds,
        pixel_tolerance=config.tolerance_px,
    )
    rec.write_record(store, stage, sample_id, {"config": config_fp, "metrics": rows})
    return rows


def predict_skeletons(
    store: Store,
    sample_ids: list[str],
    config: ExtractConfig,
    checkpoint: str | None,
    writer: ExportWriter,
) -> None:
    """The skeleton map of each image: the model's prediction, or the ground-truth target."""
    if config.predictor in BASELINES:
        return
    if config.predictor == "ground_truth":
        for sid in sample_ids:
            writer.write_skeleton(sid, read_array(store, sid, "skeleton"))
        return
    from tqdm.auto import tqdm

    from regionflow.models.config import InferenceConfig
    from regionflow.models.device import resolve_device
    from regionflow.models.inference import predict_skeleton
    from regionflow.models.weights import load_generator
    from regionflow.storage.model_zoo import read_model

    device = resolve_device("auto")
    net = load_generator(read_model(checkpoint), device=device)  # None: the shipped model
    inference = InferenceConfig(
        short_side=config.short_side, tta=config.tta, cpu_amp=config.cpu_amp
    )
    for sid in tqdm(sample_ids, desc="predict", unit="image"):
        image = read_array(store, sid, "image")
        writer.write_skeleton(sid, predict_skeleton(net, image, config=inference, device=device))


def run_predictor(
    store: Store,
    ids: list[str],
    cfg: ExtractConfig,
    upstream: str,
    checkpoint: str | None,
    dask_address: str | None,
) -> tuple[str, list[dict], int]:
    """Every image of `ids` through one predictor: (export name, metric rows, images computed)."""
    uses_model = cfg.predictor == "model"
    config_fp = fingerprint(
        {
            "config": cfg,
            "upstream": upstream if uses_model else "",
            "checkpoint": (checkpoint or model_identity(None)) if uses_model else None,
            "code": stage_code(*STAGE_CODE),
        }
    )
    export_id = export_name(cfg.split, cfg.predictor, config_fp)
    stage, writer = f"extract-{export_id}", ExportWriter(store, export_id)
    todo = rec.pending({sid: {"config": config_fp} for sid in ids}, rec.read_records(store, stage))
    stage_logger("extract").info(
        "extract %s: %d images, %d to process", export_id, len(ids), len(todo)
    )
    predict_skeletons(store, todo, cfg, checkpoint, writer)
    progress = StageProgress(
        f"extract-progress-{cfg.predictor.replace('_', '-')}",  # one bar per predictor
        f"images extracted ({cfg.predictor})",
    )
    with dask_client(dask_address) as client:
        map_units(
            client,
            extract_one,
            todo,
            desc=f"extract {cfg.predictor}",
            on_result=progress,
            store=store,
            config=cfg,
            writer=writer,
            stage=stage,
            config_fp=config_fp,
        )
    done = rec.read_records(store, stage)
    return export_id, [row for sid in ids for row in done[sid]["metrics"]], len(todo)


@task(name="extract-regions")
def extract_regions(
    store_url: str,
    config: dict,
    upstream: str,
    checkpoint: str | None = None,
    sample_ids: list[str] | None = None,
    dask_address: str | None = None,
) -> dict:
    """Regions for every image of a split (or of `sample_ids`): exports, metrics where ground
    truth exists, and a report comparing the predictor with `config["compare"]`."""
    store, cfg = Store(store_url), ExtractConfig.from_dict(config)
    ids = split_ids(store, cfg.split, only=sample_ids)[: cfg.max_images]
    run = partial(
        run_predictor,
        store,
        ids,
        upstream=upstream,
        checkpoint=checkpoint,
        dask_address=dask_address,
    )
    export_id, rows, computed = run(cfg)
    scores = metrics.summarize(rows) if rows else {}
    comparison = {cfg.predictor: scores}
    for other in cfg.compare:
        other_cfg = ExtractConfig(**{**config, "predictor": other, "compare": (), "exports": ()})
        other_rows = run(other_cfg)[1]
        comparison[other] = metrics.summarize(other_rows) if other_rows else {}
    title = f"Regions of {cfg.split} ({cfg.predictor}, {cfg.decoder} decoder)"
    writer = ExportWriter(store, export_id)
    report = write_report(
        store,
        export_id,
        rows,
        scores,
        image_ids=ids,
        writer=writer,
        title=title,
        comparison=comparison,
        **metrics.report_figures(rows),
    )
    publish_markdown("extract-report", report["artifact"], "region extraction report")
    headline = {
        name: {k: round(v, 5) for k, v in s.items() if k in HEADLINE}
        for name, s in comparison.items()
    }
    return {
        "images": len(ids),
        "computed": computed,
        "reused": len(ids) - computed,
        "scores": headline.pop(cfg.predictor),
        "compared": headline,
        "exports": writer.url(),
        "report": report["report"],
        "metrics": report["metrics"],
        "fingerprint": fingerprint({"export": export_id, "rows": rows}),
    }

"""Extract: images → skeleton maps (model or ground truth) → regions → exports, metrics, report.

Classical baselines (felzenszwalb, slic, watershed) go straight from image to regions; running them
through the same exports and metrics puts "ours vs classical" side by side in one report.
"""

from __future__ import annotations

import numpy as np
from prefect import task

from regions.baselines import felzenszwalb_regions, slic_regions, watershed_regions
from regions.coco import coco_annotations, coco_document
from regions.decode import decode_full, decode_simple, flat_colour
from regions.metrics import (
    boundary_counts,
    boundary_scores,
    image_metrics,
    region_size_histogram,
    summarize,
)
from regions.region_table import region_table
from regions.svg import svg_document
from storage import records as rec
from storage.exports import ExportWriter
from storage.fingerprints import code_fingerprint, fingerprint
from storage.manifest import read_manifest
from storage.model_zoo import model_identity
from storage.reports import write_report
from storage.samples import has_array, read_array
from storage.store import Store
from tasks.cluster import dask_client, map_units
from tasks.config import BASELINES, ExtractConfig
from tasks.stage import StageProgress, one_thread_kernels, stage_logger

BASELINE_FUNCTIONS = {
    "felzenszwalb": felzenszwalb_regions,
    "slic": slic_regions,
    "watershed": watershed_regions,
}
HEADLINE = ("AP", "OIS", "ODS", "boundary_px_F", "boundary_F", "sweep_ODS_F", "covering", "VI")


def regions_of(
    config: ExtractConfig,
    image: np.ndarray,
    skeleton: np.ndarray | None,
    threshold: int | None = None,
) -> np.ndarray:
    if config.predictor in BASELINES:
        return BASELINE_FUNCTIONS[config.predictor](image)
    threshold = config.threshold if threshold is None else threshold
    options = {} if threshold is None else {"threshold": threshold}
    if config.decoder == "simple":
        return decode_simple(skeleton, **options)
    return decode_full(skeleton, image, **options)


def threshold_sweep(config: ExtractConfig, image, skeleton, gt_labels) -> dict:
    """Boundary counts at each decoder threshold: the raw material of boundary ODS/OIS."""
    row = {}
    for t in config.thresholds:
        counts = boundary_counts(gt_labels, regions_of(config, image, skeleton, t))
        row.update({f"sweep_{t}_{key}": value for key, value in counts.items()})
    return row


def size_histogram(labels: np.ndarray, prefix: str) -> dict[str, int]:
    """Region areas counted in power-of-two bins, as `<prefix>_area_2^k` columns."""
    return {f"{prefix}_area_2^{k}": int(n) for k, n in enumerate(region_size_histogram(labels))}


def write_exports(
    writer: ExportWriter, sample_id: str, formats, image: np.ndarray, labels: np.ndarray
) -> None:
    if "labels" in formats:
        writer.write_labels(sample_id, labels)
    if "flat" in formats:
        writer.write_image(sample_id, "flat.png", flat_colour(image, labels))
    if "regions" in formats:
        writer.write_table(sample_id, "regions.parquet", region_table(labels, image))
    if "coco" in formats:
        h, w = labels.shape
        images = [{"id": 1, "file_name": f"{sample_id}.png", "height": h, "width": w}]
        writer.write_json(
            sample_id, "coco.json", coco_document(images, coco_annotations(labels, image_id=1))
        )
    if "svg" in formats:
        writer.write(sample_id, "regions.svg", svg_document(labels, image).encode())


def extract_one(
    sample_id: str,
    *,
    store: Store,
    config: ExtractConfig,
    writer: ExportWriter,
    stage: str,
    config_fp: str,
) -> dict:
    """Regions of one image, its exports and metric counts, then its record (last)."""
    one_thread_kernels()
    image = read_array(store, sample_id, "image")
    skeleton = (
        None if config.predictor in BASELINES else writer.read_image(sample_id, "skeleton.png", 0)
    )
    labels = regions_of(config, image, skeleton)
    write_exports(writer, sample_id, config.exports, image, labels)
    row: dict = {"id": sample_id, "n_regions": int(labels.max()), **size_histogram(labels, "pred")}
    if has_array(store, sample_id, "labels"):
        gt_labels = read_array(store, sample_id, "labels")
        row.update(image_metrics(gt_labels, labels, pixel_tolerance=config.tolerance_px))
        row.update(size_histogram(gt_labels, "gt"))
        if skeleton is not None:
            row.update(threshold_sweep(config, image, skeleton, gt_labels))
    rec.write_record(store, stage, sample_id, {"config": config_fp, "metrics": row})
    return row


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
            writer.write_image(sid, "skeleton.png", read_array(store, sid, "skeleton"))
        return
    from tqdm.auto import tqdm

    from models.config import InferenceConfig
    from models.device import resolve_device
    from models.inference import predict_skeleton
    from models.weights import load_generator
    from storage.model_zoo import read_model

    device = resolve_device("auto")
    net = load_generator(read_model(checkpoint), device=device)  # None: the shipped model
    inference = InferenceConfig(short_side=config.short_side, tta=config.tta)
    for sid in tqdm(sample_ids, desc="predict", unit="image"):
        image = read_array(store, sid, "image")
        writer.write_image(
            sid, "skeleton.png", predict_skeleton(net, image, config=inference, device=device)
        )


def run_predictor(
    store: Store,
    ids: list[str],
    cfg: ExtractConfig,
    upstream: str,
    checkpoint: str | None,
    dask_address: str | None,
) -> tuple[str, list[dict], int]:
    """Every image of `ids` through one predictor: (export id, per-image rows, images computed)."""
    uses_model = cfg.predictor == "model"
    config_fp = fingerprint(
        {
            "config": cfg,
            "upstream": upstream if uses_model else "",
            "checkpoint": (checkpoint or model_identity(None)) if uses_model else None,
            "code": code_fingerprint("regions", "models"),
        }
    )
    export_id = f"{cfg.split}-{cfg.predictor.replace('_', '-')}-{config_fp[:12]}"
    stage, writer = f"extract-{export_id}", ExportWriter(store, export_id)
    todo = rec.pending({sid: {"config": config_fp} for sid in ids}, rec.read_records(store, stage))
    stage_logger("extract").info(
        "extract %s: %d images, %d to process", export_id, len(ids), len(todo)
    )
    predict_skeletons(store, todo, cfg, checkpoint, writer)
    with dask_client(dask_address) as client:
        map_units(
            client,
            extract_one,
            todo,
            desc=f"extract {cfg.predictor}",
            on_result=StageProgress(
                f"extract-progress-{cfg.predictor.replace('_', '-')}",  # one bar per predictor
                f"images extracted ({cfg.predictor})",
            ),
            store=store,
            config=cfg,
            writer=writer,
            stage=stage,
            config_fp=config_fp,
        )
    done = rec.read_records(store, stage)
    return export_id, [done[sid]["metrics"] for sid in ids], len(todo)


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
    store, cfg = Store(store_url), ExtractConfig(**config)
    wanted = set(sample_ids) if sample_ids is not None else None
    ids = [
        r["id"]
        for r in read_manifest(store)
        if r["split"] == cfg.split and r["status"] == "ok" and (wanted is None or r["id"] in wanted)
    ][: cfg.max_images]
    export_id, rows, computed = run_predictor(store, ids, cfg, upstream, checkpoint, dask_address)
    scores = (
        summarize([r for r in rows if "n_pixels" in r])
        if any("n_pixels" in r for r in rows)
        else {}
    )
    comparison = {cfg.predictor: scores}
    for other in cfg.compare:
        other_cfg = ExtractConfig(**{**config, "predictor": other, "compare": (), "exports": ()})
        _, other_rows = run_predictor(store, ids, other_cfg, upstream, checkpoint, dask_address)[:2]
        scored = [r for r in other_rows if "n_pixels" in r]
        comparison[other] = summarize(scored) if scored else {}
    sweep = threshold_scores(rows, cfg.thresholds)
    scores.update(sweep.pop("scores", {}))
    title = f"Regions of {cfg.split} ({cfg.predictor}, {cfg.decoder} decoder)"
    report = write_report(
        store,
        export_id,
        rows,
        scores,
        writer=ExportWriter(store, export_id),
        title=title,
        comparison=comparison,
        threshold_curve=sweep.get("curve"),
        size_histograms=size_histograms(rows),
    )
    publish_report(report["artifact"])
    return {
        "images": len(ids),
        "computed": computed,
        "reused": len(ids) - computed,
        "scores": {k: round(v, 5) for k, v in scores.items() if k in HEADLINE},
        "compared": {
            name: {k: round(v, 5) for k, v in s.items() if k in HEADLINE}
            for name, s in comparison.items()
            if name != cfg.predictor
        },
        "exports": ExportWriter(store, export_id).url(),
        "report": report["report"],
        "metrics": report["metrics"],
        "fingerprint": fingerprint({"export": export_id, "rows": rows}),
    }


def threshold_scores(rows: list[dict], thresholds) -> dict:
    """Boundary ODS/OIS over the decoder-threshold sweep, and pooled F per threshold."""
    long_rows = [
        {
            "image": i,
            "threshold": t,
            **{k: row[f"sweep_{t}_{k}"] for k in ("matched_pred", "n_pred", "matched_gt", "n_gt")},
        }
        for i, row in enumerate(rows)
        for t in thresholds
        if f"sweep_{t}_n_pred" in row
    ]
    if not long_rows:
        return {}
    scores = {f"sweep_{k}": v for k, v in boundary_scores(long_rows).items()}
    curve = {
        t: boundary_scores([r for r in long_rows if r["threshold"] == t])["ODS_F"]
        for t in thresholds
    }
    return {"scores": scores, "curve": curve}


def size_histograms(rows: list[dict]) -> dict[str, list[int]]:
    """Region-size histograms summed over images, predicted and (where known) ground truth."""
    out = {}
    for prefix in ("pred", "gt"):
        keys = (
            sorted(
                (k for k in rows[0] if k.startswith(f"{prefix}_area_2^")),
                key=lambda k: int(k.rsplit("^", 1)[1]),
            )
            if rows
            else []
        )
        if keys:
            out[prefix] = [int(sum(r.get(k, 0) for r in rows)) for k in keys]
    return out


def publish_report(markdown: str) -> None:
    """The report, plots and preview embedded, as a Prefect markdown artifact (skipped outside a
    Prefect run)."""
    from prefect.artifacts import create_markdown_artifact
    from prefect.context import TaskRunContext

    if TaskRunContext.get() is not None:
        create_markdown_artifact(
            markdown=markdown, key="extract-report", description="region extraction report"
        )

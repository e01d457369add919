"""Extract: images → skeleton maps (model or ground truth) → regions → exports, metrics, report."""

from __future__ import annotations

import numpy as np
from prefect import task

from regions.coco import coco_annotations, coco_document
from regions.decode import decode_full, decode_simple, flat_colour
from regions.region_table import region_table
from regions.svg import svg_document
from regions.metrics import image_metrics, summarize
from storage import records as rec
from storage.exports import ExportWriter
from storage.fingerprints import code_fingerprint, fingerprint
from storage.manifest import read_manifest
from storage.reports import write_report
from storage.samples import has_array, read_array
from storage.store import Store
from tasks.cluster import dask_client, map_units
from tasks.config import ExtractConfig
from tasks.stage import StageProgress, one_thread_kernels, stage_logger


def decode(config: ExtractConfig, skeleton: np.ndarray, image: np.ndarray) -> np.ndarray:
    if config.decoder == "simple":
        return decode_simple(skeleton)
    if config.decoder == "full":
        return decode_full(skeleton, image)
    raise ValueError(f"decoder: expected 'simple' or 'full', got {config.decoder!r}")


def extract_one(sample_id: str, *, store: Store, config: ExtractConfig, writer: ExportWriter, stage: str, config_fp: str) -> dict:
    """Decode one image's skeleton map, write its exports, score it, then record it (last)."""
    one_thread_kernels()
    image = read_array(store, sample_id, "image")
    skeleton = writer.read_image(sample_id, "skeleton.png", 0)
    labels = decode(config, skeleton, image)
    if "labels" in config.exports:
        writer.write_labels(sample_id, labels)
    if "flat" in config.exports:
        writer.write_image(sample_id, "flat.png", flat_colour(image, labels))
    if "regions" in config.exports:
        writer.write_table(sample_id, "regions.parquet", region_table(labels, image))
    if "coco" in config.exports:
        h, w = labels.shape
        images = [{"id": 1, "file_name": f"{sample_id}.png", "height": h, "width": w}]
        writer.write_json(sample_id, "coco.json", coco_document(images, coco_annotations(labels, image_id=1)))
    if "svg" in config.exports:
        writer.write(sample_id, "regions.svg", svg_document(labels, image).encode())
    row: dict = {"id": sample_id, "n_regions": int(labels.max())}
    if has_array(store, sample_id, "labels"):
        row.update(image_metrics(read_array(store, sample_id, "labels"), labels))
    rec.write_record(store, stage, sample_id, {"config": config_fp, "metrics": row})
    return row


def predict_skeletons(store: Store, sample_ids: list[str], config: ExtractConfig, checkpoint: str | None, writer: ExportWriter) -> None:
    """The skeleton map of each image: the model's prediction, or the ground-truth target."""
    if config.predictor == "ground_truth":
        for sid in sample_ids:
            writer.write_image(sid, "skeleton.png", read_array(store, sid, "skeleton"))
        return
    if config.predictor != "model":
        raise ValueError(f"predictor: expected 'model' or 'ground_truth', got {config.predictor!r}")
    if not checkpoint:
        raise ValueError("checkpoint: the model predictor needs a trained checkpoint")
    from tqdm.auto import tqdm

    from models.config import InferenceConfig
    from models.device import resolve_device
    from models.inference import predict_skeleton
    from models.weights import load_generator
    from storage.checkpoints import read_checkpoint

    device = resolve_device("auto")
    net = load_generator(read_checkpoint(checkpoint), device=device)
    inference = InferenceConfig(short_side=config.short_side, tta=config.tta)
    for sid in tqdm(sample_ids, desc="predict", unit="image"):
        writer.write_image(sid, "skeleton.png", predict_skeleton(net, read_array(store, sid, "image"), config=inference, device=device))


@task(name="extract-regions")
def extract_regions(
    store_url: str,
    config: dict,
    upstream: str,
    checkpoint: str | None = None,
    sample_ids: list[str] | None = None,
    dask_address: str | None = None,
) -> dict:
    """Regions for every image of a split (or of `sample_ids`), with exports and, where ground
    truth exists, metrics."""
    store, cfg, log = Store(store_url), ExtractConfig(**config), stage_logger("extract")
    wanted = set(sample_ids) if sample_ids is not None else None
    ids = [
        r["id"]
        for r in read_manifest(store)
        if r["split"] == cfg.split and r["status"] == "ok" and (wanted is None or r["id"] in wanted)
    ][: cfg.max_images]
    config_fp = fingerprint({"config": cfg, "upstream": upstream, "checkpoint": checkpoint, "code": code_fingerprint("regions", "models")})
    export_id = f"{cfg.split}-{config_fp[:12]}"
    stage, writer = f"extract-{export_id}", ExportWriter(store, export_id)
    todo = rec.pending({sid: {"config": config_fp} for sid in ids}, rec.read_records(store, stage))
    log.info("extract: %d images, %d to process", len(ids), len(todo))
    predict_skeletons(store, todo, cfg, checkpoint, writer)
    with dask_client(dask_address) as client:
        map_units(client, extract_one, todo, desc="extract", on_result=StageProgress("extract-progress", "images extracted"),
                  store=store, config=cfg, writer=writer, stage=stage, config_fp=config_fp)
    done = rec.read_records(store, stage)
    rows = [done[sid]["metrics"] for sid in ids]
    scored = [r for r in rows if "n_pixels" in r]
    scores = summarize(scored) if scored else {}
    title = f"Regions of {cfg.split} ({cfg.predictor}, {cfg.decoder} decoder)"
    report = write_report(store, export_id, rows, scores, writer=writer, title=title)
    publish_report(report["markdown"])
    headline = ("AP", "OIS", "ODS", "boundary_F", "covering", "VI")
    return {
        "images": len(ids),
        "computed": len(todo),
        "reused": len(ids) - len(todo),
        "scores": {k: round(v, 5) for k, v in scores.items() if k in headline},
        "exports": writer.url(),
        "report": report["report"],
        "metrics": report["metrics"],
        "fingerprint": fingerprint({"export": export_id, "rows": rows}),
    }


def publish_report(markdown: str) -> None:
    """The report as a Prefect markdown artifact (skipped outside a Prefect run)."""
    from prefect.artifacts import create_markdown_artifact
    from prefect.context import TaskRunContext

    if TaskRunContext.get() is not None:
        create_markdown_artifact(markdown=markdown, key="extract-report", description="region extraction report")

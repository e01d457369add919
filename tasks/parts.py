"""Parts stages: ingest COCO instances, train Mask R-CNN, evaluate with COCOeval, predict/export.

Long because the four parts stages share their configs, fingerprints and dataset reading; the
natural split, if it grows, is one module per stage.

Each task reads through storage, calls models/ or regions/, writes through storage and returns a
small reference. Stage configs are frozen pydantic models with defaults in code (house rule 4).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from prefect import task

from regionflow.models.config import FrozenConfig
from regionflow.models.parts import (
    PartsSample,
    PartsTrainConfig,
    fit_parts,
    load_parts_model,
    overlay,
    predict,
    run_identity,
    runtime_for,
)
from regionflow.regions.danbooregion.labels import region_labels
from regionflow.regions.parts.coco_instances import (
    category_classes,
    check_document,
    decode_mask,
    results_for_image,
    validate_image,
)
from regionflow.regions.parts.parts_eval import coco_evaluate, snap_to_regions
from regionflow.regions.parts.parts_synth import PART_CLASSES, synthetic_parts
from regionflow.storage.checkpoints import read_checkpoint
from regionflow.storage.fingerprints import fingerprint
from regionflow.storage.images import read_image_file
from regionflow.storage.parts import (
    image_shape,
    prediction_done,
    read_coco_source,
    read_dataset,
    read_dataset_image,
    write_coco_source,
    write_dataset,
    write_evaluation,
    write_prediction,
)
from regionflow.storage.runs import Run
from regionflow.storage.store import Store
from regionflow.tasks.stage import stage_code, stage_logger

STAGE_CODE = (
    "regionflow.models.parts",
    "regionflow.regions.parts.parts_eval",
    "regionflow.regions.parts.coco_instances",
)
SPLITS = ("train", "val")


class PartsIngestConfig(FrozenConfig):
    """source: "synthetic" (the built-in characters) or a COCO JSON file (images beside it, or
    in `images`). dataset: the name in the store (default: synthetic-<style> or the file stem).
    Images without a "split" go to val with probability val_fraction (stable per file name)."""

    source: str = "synthetic"
    images: str | None = None
    dataset: str | None = None
    classes: tuple[str, ...] = PART_CLASSES
    val_fraction: float = 0.2
    # synthetic source only
    style: str = "A"
    n_train: int = 48
    n_val: int = 16
    size: int = 128
    seed: int = 0

    def name(self) -> str:
        if self.dataset:
            return self.dataset
        if self.source == "synthetic":
            return f"synthetic-{self.style.lower()}"
        return Path(self.source).stem


class PartsEvalConfig(FrozenConfig):
    """Which split to score; snapping regions: "colour" (flat-colour components of the image:
    what a perfect region model finds on flat art) or "model" (the region model's skeleton,
    decoded; `region_checkpoint` or the shipped model); min_inside: the snapping vote."""

    split: str = "val"
    score_threshold: float = 0.05
    snap: bool = True
    regions: str = "colour"
    region_checkpoint: str | None = None
    min_inside: float = 0.5


class PartsPredictConfig(PartsEvalConfig):
    overlay_threshold: float = 0.5
    exports: tuple[str, ...] = ("results", "labels", "overlay")


class PartsConfig(FrozenConfig):
    """The `parts` flow's stages (each one's defaults in its own config) and how many train
    images to use (0: all)."""

    ingest: PartsIngestConfig = PartsIngestConfig()
    train: PartsTrainConfig = PartsTrainConfig()
    evaluate: PartsEvalConfig = PartsEvalConfig()
    max_images: int = 0


def config_dict(config: FrozenConfig) -> dict[str, Any]:
    """JSON-ready (tuples as lists): what the flows pass and the fingerprints hash."""
    return config.to_json_dict()


def _split_of(entry: dict, val_fraction: float) -> str:
    if entry.get("split") in SPLITS:
        return entry["split"]
    digest = hashlib.sha256(str(entry.get("file_name", entry["id"])).encode()).digest()
    return "val" if int.from_bytes(digest[:4], "big") / 2**32 < val_fraction else "train"


def locate_parts_source(store: Store, config: PartsIngestConfig) -> tuple[Path, str | None]:
    """The COCO file to ingest; the synthetic source is generated and written as COCO first."""
    if config.source != "synthetic":
        return Path(config.source), config.images
    folder = (
        Path(tempfile.gettempdir()) / "regionflow-parts" / fingerprint(config_dict(config))[:16]
    )
    if not (folder / "annotations.json").is_file():
        document, images = synthetic_parts(
            style=config.style,
            n_train=config.n_train,
            n_val=config.n_val,
            size=config.size,
            seed=config.seed,
        )
        write_coco_source(folder, document, images)
    return folder / "annotations.json", str(folder / "images")


@task(name="parts-ingest")
def ingest_parts(store_url: str, config: dict, source_fingerprint: str) -> dict:
    """Validate a COCO instance dataset and write the ok images (quarantine the rest)."""
    store, cfg, log = Store(store_url), PartsIngestConfig.from_dict(config), stage_logger("parts")
    annotations, images_folder = locate_parts_source(store, cfg)
    document, files = read_coco_source(annotations, images_folder)
    check_document(document)
    to_class = category_classes(document["categories"], cfg.classes)
    by_image: dict[int, list] = {}
    for annotation in document["annotations"]:
        by_image.setdefault(int(annotation.get("image_id", -1)), []).append(annotation)
    known = {int(e["id"]) for e in document["images"]}
    orphans = sorted(set(by_image) - known)
    ok_entries, ok_instances, ok_bytes, manifest = [], [], {}, []
    for entry in document["images"]:
        image_id = int(entry["id"])
        data = files.get(image_id)
        found, reason = validate_image(
            entry, by_image.get(image_id, []), shape=image_shape(data), category_to_class=to_class
        )
        split = _split_of(entry, cfg.val_fraction)
        manifest.append(
            {
                "id": image_id,
                "file_name": str(entry.get("file_name")),
                "split": split,
                "status": "quarantined" if reason else "ok",
                "reason": reason or "",
                "n_instances": len(found),
                "sha256": hashlib.sha256(data).hexdigest() if data else "",
            }
        )
        if reason:
            log.warning("parts ingest: quarantined image %s: %s", image_id, reason)
            continue
        shape = image_shape(data)
        ok_entries.append(
            {
                "id": image_id,
                "file_name": f"{image_id}.png",
                "source_file": entry.get("file_name"),
                "height": shape[0],
                "width": shape[1],
                "split": split,
            }
        )
        ok_instances.append(found)
        ok_bytes[image_id] = data
    from regionflow.regions.parts.coco_instances import instances_document

    out = instances_document(ok_entries, ok_instances, cfg.classes)
    written = write_dataset(store, cfg.name(), out, ok_bytes, manifest)
    log.info(
        "parts ingest: %s: %d ok, %d quarantined",
        cfg.name(),
        written["images"],
        written["quarantined"],
    )
    return {
        "dataset": cfg.name(),
        "ingested": written["images"],
        "quarantined": written["quarantined"],
        "orphan_annotations": len(orphans),
        "fingerprint": written["sha256"],
    }


def load_samples(store: Store, dataset: str, split: str, limit: int = 0) -> list[PartsSample]:
    """A split's images and instances as PartsSamples (first `limit` images when > 0)."""
    document = read_dataset(store, dataset)
    by_image: dict[int, list] = {}
    for annotation in document["annotations"]:
        by_image.setdefault(annotation["image_id"], []).append(annotation)
    entries = [e for e in document["images"] if e["split"] == split]
    if limit > 0:
        entries = entries[:limit]
    samples = []
    for entry in entries:
        image = read_dataset_image(store, dataset, entry["id"])
        annotations = by_image.get(entry["id"], [])
        h, w = image.shape[:2]
        masks = (
            np.stack([decode_mask(a["segmentation"], h, w) for a in annotations])
            if annotations
            else np.zeros((0, h, w), bool)
        )
        classes = np.array([a["category_id"] - 1 for a in annotations], np.int64)
        samples.append(PartsSample(image=image, masks=masks, classes=classes))
    return samples


@task(name="parts-train")
def train_parts(
    store_url: str, config: dict, datasets: list[str], upstream: str, max_images: int = 0
) -> dict:
    """Train (or resume) Mask R-CNN on the train split of `datasets` (first `max_images` of
    each when > 0); `config["init"]` names a parts checkpoint to transfer from."""
    store, cfg, log = Store(store_url), PartsTrainConfig.from_dict(config), stage_logger("parts")
    code = stage_code(*STAGE_CODE)
    identity = {
        "train": run_identity(cfg),
        "datasets": datasets,
        "max_images": max_images,
        "code": code,
    }
    run = Run(
        store,
        {"train": cfg.to_dict(), "datasets": datasets, "code": code},
        upstream,
        name="parts",
        identity=identity,
    )
    checkpoints = run.checkpoints(keep_last=cfg.keep_last)
    run.start(resumed_step=max(checkpoints.steps(), default=0))
    samples = [s for name in datasets for s in load_samples(store, name, "train", max_images)]
    log.info("parts train: run %s on %d images, %d steps", run.id, len(samples), cfg.steps)
    init = read_checkpoint(cfg.init)["model"] if cfg.init else None

    def on_step(step: int, metrics: dict, preview) -> None:
        run.log_metrics(step, metrics)
        if preview is not None:
            run.write_preview(step, preview)
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            run.flush_metrics()

    _, step = fit_parts(cfg, samples, checkpoints=checkpoints, init_weights=init, on_step=on_step)
    run.flush_metrics()
    return {
        "run": run.id,
        "steps": step,
        "images": len(samples),
        "checkpoint": str(checkpoints.path(max(checkpoints.steps()))),
        "fingerprint": fingerprint({"run": run.id, "step": step}),
    }


class RegionSource:
    """Region label maps for snapping: flat-colour components, or the region model's."""

    def __init__(self, kind: str, checkpoint: str | None = None):
        if kind not in ("colour", "model"):
            raise ValueError(f"regions: expected 'colour' or 'model', got {kind!r}")
        self.kind, self.net = kind, None
        if kind == "model":
            from regionflow.models.unet import RegionUNet
            from regionflow.storage.model_zoo import read_model

            self.net = RegionUNet()
            self.net.load_state_dict(read_model(checkpoint)["model"])
            self.net.eval()

    def __call__(self, image: np.ndarray) -> np.ndarray:
        if self.net is None:
            return region_labels(image).astype(np.int64)
        from regionflow.models.inference import predict_skeleton
        from regionflow.regions.danbooregion.decode import decode_full

        return decode_full(predict_skeleton(self.net, image, device="cpu"), image).astype(np.int64)


def predict_images(
    model, images: list[np.ndarray], cfg: PartsEvalConfig, runtime, regions: RegionSource | None
):
    """Per image: raw predictions and, when `regions` is given, the snapped masks too."""
    outputs = predict(model, images, runtime=runtime, score_threshold=cfg.score_threshold)
    for image, out in zip(images, outputs, strict=True):
        if regions is not None:
            out["snapped"] = snap_to_regions(
                out["masks"], regions(image), min_inside=cfg.min_inside
            )
    return outputs


def _report(title: str, rows: list[dict], summary: dict) -> str:
    lines = [f"# {title}", "", "```", json.dumps(summary, indent=2), "```", "",
             "| masks | IoU type | class | AP | AP50 | AP75 | n_gt | n_det |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        ap = ["nan" if r[k] != r[k] else f"{100 * r[k]:.1f}" for k in ("AP", "AP50", "AP75")]
        lines.append(
            f"| {r['masks']} | {r['iou_type']} | {r['class']} | {' | '.join(ap)} | {r['n_gt']} | {r['n_det']} |"
        )
    return "\n".join(lines) + "\n"


@task(name="parts-evaluate")
def evaluate_parts(
    store_url: str, config: dict, checkpoint: str, dataset: str, upstream: str
) -> dict:
    """COCOeval (bbox, segm; overall and per class) of a checkpoint on a dataset split, with
    and without region snapping; metrics.parquet + report.md under reports/."""
    store, cfg, log = Store(store_url), PartsEvalConfig.from_dict(config), stage_logger("parts")
    state = read_checkpoint(checkpoint)
    train_cfg = PartsTrainConfig.from_dict(state["config"])
    runtime = runtime_for(train_cfg.replace(device="auto"))
    model, train_cfg = load_parts_model(state, runtime)
    document = read_dataset(store, dataset)
    entries = [e for e in document["images"] if e["split"] == cfg.split]
    if not entries:
        raise ValueError(f"split: dataset {dataset!r} has no {cfg.split!r} images")
    ids = {e["id"] for e in entries}
    truth = {
        **document,
        "images": entries,
        "annotations": [a for a in document["annotations"] if a["image_id"] in ids],
    }
    images = [read_dataset_image(store, dataset, e["id"]) for e in entries]
    regions = RegionSource(cfg.regions, cfg.region_checkpoint) if cfg.snap else None
    outputs = predict_images(model, images, cfg, runtime, regions)
    rows, all_results = [], {}
    for masks_key in ("masks", "snapped") if cfg.snap else ("masks",):
        results = [
            r
            for e, out in zip(entries, outputs, strict=True)
            for r in results_for_image(e["id"], out[masks_key], out["classes"], out["scores"])
        ]
        label = "raw" if masks_key == "masks" else "snapped"
        rows += [
            row | {"masks": label}
            for row in coco_evaluate(truth, results, classes=train_cfg.classes)
        ]
        all_results[label] = results
    evaluation = f"parts-{fingerprint({'checkpoint': checkpoint, 'upstream': upstream, 'dataset': dataset, 'config': config_dict(cfg)})[:12]}"
    headline = {
        f"{r['masks']}_{r['iou_type']}_{k}": r[k]
        for r in rows
        if r["class"] == "all"
        for k in ("AP", "AP50", "AP75")
    }
    summary = {
        "dataset": dataset,
        "split": cfg.split,
        "images": len(entries),
        "checkpoint": checkpoint,
        **headline,
    }
    report = write_evaluation(
        store,
        evaluation,
        rows,
        all_results.get("raw", []),
        summary,
        _report(f"Parts evaluation: {dataset} ({cfg.split})", rows, summary),
    )
    log.info(
        "parts evaluate: segm AP %.3f (snapped %s)",
        headline["raw_segm_AP"],
        headline.get("snapped_segm_AP"),
    )
    return {
        "evaluation": evaluation,
        "report": report,
        **headline,
        "fingerprint": fingerprint(summary),
    }


def class_label_maps(
    masks: np.ndarray, classes: np.ndarray, names: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """One uint16 label map per class: 0 = none, k = the class's k-th instance by score."""
    h, w = masks.shape[1:] if masks.ndim == 3 else (0, 0)
    maps = {}
    for index, name in enumerate(names):
        labels = np.zeros((h, w), np.uint16)
        for k, mask in enumerate(masks[classes == index][::-1]):  # best-scoring painted last
            labels[mask] = len(masks[classes == index]) - k
        maps[name] = labels
    return maps


@task(name="parts-predict")
def predict_parts(store_url: str, config: dict, checkpoint: str, inputs: list[str]) -> dict:
    """Per input image: COCO results JSON, a label PNG per class, an overlay; images already
    exported with the same checkpoint and config are skipped (resumable)."""
    store, cfg, log = Store(store_url), PartsPredictConfig.from_dict(config), stage_logger("parts")
    state = read_checkpoint(checkpoint)
    runtime = runtime_for(PartsTrainConfig.from_dict(state["config"]).replace(device="auto"))
    model, train_cfg = load_parts_model(state, runtime)
    export = f"parts-{fingerprint({'checkpoint': checkpoint, 'config': config_dict(cfg)})[:12]}"
    regions = RegionSource(cfg.regions, cfg.region_checkpoint) if cfg.snap else None
    done = skipped = 0
    for number, path in enumerate(inputs, start=1):
        name = Path(path).stem
        if prediction_done(store, export, name):
            skipped += 1
            continue
        image = read_image_file(path)
        out = predict_images(model, [image], cfg, runtime, regions)[0]
        masks = out["snapped"] if cfg.snap else out["masks"]
        results = results_for_image(number, masks, out["classes"], out["scores"])
        keep = out["scores"] >= cfg.overlay_threshold
        write_prediction(
            store,
            export,
            name,
            results,
            class_label_maps(masks, out["classes"], train_cfg.classes),
            overlay(image, masks[keep], out["classes"][keep]),
        )
        done += 1
    log.info("parts predict: %d images exported, %d already done", done, skipped)
    return {
        "export": export,
        "computed": done,
        "reused": skipped,
        "folder": store.url_of("exports", export),
    }

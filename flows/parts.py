"""Character parts: ingest COCO instances → train Mask R-CNN → evaluate (COCOeval); predict.

`parts` chains the stages like the region pipeline: each is a cached stage task (unchanged
inputs + config + code → Cached), training resumes from its last checkpoint, prediction skips
images already exported. `regionflow parts ingest|train|evaluate|predict` runs one stage.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from prefect import flow

from flows.stages import _run_stage
from models.parts import PartsTrainConfig
from storage.parts import coco_source_fingerprint, dataset_fingerprint
from storage.store import Store
from tasks.parts import (
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
def parts_ingest_flow(store: str, config: dict | None = None) -> dict:
    """Validate a COCO instance dataset (or generate the built-in one) into the store."""
    cfg = config_dict(PartsIngestConfig(**(config or {})))
    source = "synthetic"
    if cfg["source"] != "synthetic":
        source = coco_source_fingerprint(cfg["source"], cfg["images"])
    return _run_stage(ingest_parts, Store(store), config=cfg, source_fingerprint=source)


@flow(name="parts-train-stage", log_prints=True)
def parts_train_flow(
    store: str, datasets: list[str], upstream: str, config: dict | None = None, max_images: int = 0
) -> dict:
    """Train (or resume) Mask R-CNN on the train split of `datasets`."""
    cfg = PartsTrainConfig.from_dict(config or {}).to_dict()
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
    store: str, checkpoint: str, dataset: str, upstream: str, config: dict | None = None
) -> dict:
    """COCOeval bbox/segm AP (overall, per class), raw and region-snapped masks."""
    cfg = config_dict(PartsEvalConfig(**(config or {})))
    return _run_stage(
        evaluate_parts,
        Store(store),
        config=cfg,
        checkpoint=checkpoint,
        dataset=dataset,
        upstream=upstream,
    )


@flow(name="parts", log_prints=True)
def parts(store: str, config: dict | None = None) -> dict:
    """Character parts on one store: ingest COCO instances → train Mask R-CNN → COCOeval.

    Args:
        store: the store: a folder (created if missing) or an fsspec URL.
        config: overrides of the defaults in code, nested by stage: {"ingest": PartsIngestConfig
            fields (source: "synthetic" or a COCO JSON file), "train": PartsTrainConfig fields
            (steps, init = a parts checkpoint for transfer, ...), "evaluate": PartsEvalConfig
            fields, "max_images": first N train images}; {} runs the defaults.
    """
    config = config or {}
    ingest = parts_ingest_flow(store, config.get("ingest"))
    train = parts_train_flow(
        store,
        [ingest["dataset"]],
        ingest["fingerprint"],
        config.get("train"),
        config.get("max_images", 0),
    )
    evaluate = parts_evaluate_flow(
        store,
        train["checkpoint"],
        ingest["dataset"],
        f"{ingest['fingerprint']}:{train['fingerprint']}",
        config.get("evaluate"),
    )
    return {"ingest": ingest, "train": train, "evaluate": evaluate}


@flow(name="parts-predict", log_prints=True)
def parts_predict(
    store: str, inputs: list[str], checkpoint: str, config: dict | None = None
) -> dict:
    """Per image: COCO results JSON, a label PNG per class, an overlay (snapped by default).

    Args:
        store: where exports/<export>/<image>/ are written: a folder or an fsspec URL.
        inputs: image files, folders or globs.
        checkpoint: a parts checkpoint (.pt) from `regionflow parts train`.
        config: PartsPredictConfig overrides, e.g. {"snap": false} or {"regions": "model"}.
    """
    from storage.parts import expand_image_paths

    cfg = config_dict(PartsPredictConfig(**(config or {})))
    files = expand_image_paths(inputs)
    return _run_stage(predict_parts, Store(store), config=cfg, checkpoint=checkpoint, inputs=files)


def add_parts_parsers(subparsers) -> None:
    """`regionflow parts ingest|train|evaluate|predict`; sets `handler`."""
    from flows.cli import _store_arg

    top = subparsers.add_parser("parts", help="character-part instance segmentation (Mask R-CNN)")
    sub = top.add_subparsers(dest="parts_command", metavar="STEP", required=True)

    ingest = sub.add_parser("ingest", help="COCO instances (or the built-in synthetic set) → store")
    ingest.add_argument(
        "source", nargs="?", default="synthetic", help="COCO JSON file, or 'synthetic'"
    )
    ingest.add_argument(
        "--images", help="folder the COCO file_names are relative to (default: beside the JSON)"
    )
    ingest.add_argument(
        "--dataset", help="name in the store (default synthetic-<style> or the file stem)"
    )
    ingest.add_argument("--classes", help="comma-separated class list (default the eight parts)")
    ingest.add_argument("--style", choices=["A", "B"], default="A", help="synthetic drawing style")
    ingest.add_argument("--n-train", type=int, default=48)
    ingest.add_argument("--n-val", type=int, default=16)
    ingest.add_argument("--size", type=int, default=128)

    train = sub.add_parser("train", help="train Mask R-CNN on datasets' train split (resumes)")
    train.add_argument("--dataset", action="append", required=True, help="repeat for several")
    train.add_argument("--steps", type=int)
    train.add_argument("--init", help="parts checkpoint to start from (transfer learning)")
    train.add_argument("--max-images", type=int, default=0, help="first N train images per dataset")
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=JSON",
        help="any PartsTrainConfig field",
    )

    evaluate = sub.add_parser("evaluate", help="COCOeval AP of a checkpoint, raw and snapped")
    evaluate.add_argument("--checkpoint", required=True)
    evaluate.add_argument("--dataset", required=True)
    evaluate.add_argument("--split", default="val")
    evaluate.add_argument("--regions", choices=["colour", "model"], default="colour")
    evaluate.add_argument("--no-snap", action="store_true")

    pred = sub.add_parser(
        "predict", help="images → COCO results JSON, label PNG per class, overlay"
    )
    pred.add_argument("images", nargs="+", help="image files, folders or globs")
    pred.add_argument("--checkpoint", required=True)
    pred.add_argument("--regions", choices=["colour", "model"], default="colour")
    pred.add_argument("--no-snap", action="store_true")
    for parser in (ingest, train, evaluate, pred):
        _store_arg(parser)
    top.set_defaults(handler=cmd_parts)


def cmd_parts(args: argparse.Namespace) -> int:
    step = args.parts_command
    if step == "ingest":
        config: dict[str, Any] = {"source": args.source, "images": args.images, "dataset": args.dataset,
                                  "style": args.style, "n_train": args.n_train, "n_val": args.n_val, "size": args.size}  # fmt: skip
        if args.classes:
            config["classes"] = [c.strip() for c in args.classes.split(",")]
        result = parts_ingest_flow(args.store, config)
    elif step == "train":
        config = {}
        for item in args.set:
            key, _, value = item.partition("=")
            config[key] = json.loads(value)
        if args.steps is not None:
            config["steps"] = args.steps
        if args.init:
            config["init"] = args.init
        store = Store(args.store)
        upstream = ":".join(dataset_fingerprint(store, d) for d in args.dataset)
        result = parts_train_flow(args.store, args.dataset, upstream, config, args.max_images)
    elif step == "evaluate":
        config = {"split": args.split, "regions": args.regions, "snap": not args.no_snap}
        result = parts_evaluate_flow(
            args.store, args.checkpoint, args.dataset, args.checkpoint, config
        )
    else:
        config = {"regions": args.regions, "snap": not args.no_snap}
        result = parts_predict(args.store, args.images, args.checkpoint, config)
    json.dump(result, sys.stdout, indent=2, default=str)
    print()
    return 0

"""`regionflow parts ingest | train | evaluate | predict`: one stage of the character-parts
flows (flows/parts.py) at a time; prints the stage's result as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from regionflow.flows.cli.common import add_set_option, add_store_option


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
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
    add_set_option(train, "any PartsTrainConfig field, e.g. --set lr=0.001")

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
    for parser, handler in (
        (ingest, cmd_parts_ingest),
        (train, cmd_parts_train),
        (evaluate, cmd_parts_evaluate),
        (pred, cmd_parts_predict),
    ):
        add_store_option(parser)
        parser.set_defaults(handler=handler)


def cmd_parts_ingest(args: argparse.Namespace) -> int:
    from regionflow.flows.parts import parts_ingest_flow
    from regionflow.tasks.parts import PartsIngestConfig

    config: dict[str, Any] = {"source": args.source, "images": args.images, "dataset": args.dataset,
                              "style": args.style, "n_train": args.n_train, "n_val": args.n_val, "size": args.size}  # fmt: skip
    if args.classes:
        config["classes"] = [c.strip() for c in args.classes.split(",")]
    return _print_result(parts_ingest_flow(args.store, PartsIngestConfig(**config)))


def cmd_parts_train(args: argparse.Namespace) -> int:
    from regionflow.flows.parts import datasets_upstream, parts_train_flow
    from regionflow.tasks.config import parse_override
    from regionflow.tasks.parts import PartsTrainConfig

    config: dict[str, Any] = {}
    for item in args.overrides:
        config.update(parse_override(item, "lr=0.001"))
    if args.steps is not None:
        config["steps"] = args.steps
    if args.init:
        config["init"] = args.init
    train = PartsTrainConfig(**config)  # a bad --set fails before any flow starts
    upstream = datasets_upstream(args.store, args.dataset)
    return _print_result(
        parts_train_flow(args.store, args.dataset, upstream, train, args.max_images)
    )


def cmd_parts_evaluate(args: argparse.Namespace) -> int:
    from regionflow.flows.parts import parts_evaluate_flow
    from regionflow.tasks.parts import PartsEvalConfig

    config = PartsEvalConfig(split=args.split, regions=args.regions, snap=not args.no_snap)
    return _print_result(
        parts_evaluate_flow(args.store, args.checkpoint, args.dataset, args.checkpoint, config)
    )


def cmd_parts_predict(args: argparse.Namespace) -> int:
    from regionflow.flows.parts import parts_predict
    from regionflow.tasks.parts import PartsPredictConfig

    config = PartsPredictConfig(regions=args.regions, snap=not args.no_snap)
    return _print_result(parts_predict(args.store, args.images, args.checkpoint, config))


def _print_result(result: dict) -> int:
    json.dump(result, sys.stdout, indent=2, default=str)
    print()
    return 0

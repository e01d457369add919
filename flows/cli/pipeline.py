"""`regionflow demo | run | config | ingest | extract | evaluate`: the region pipeline, its
stages one at a time, and scoring region maps against ground truth."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from regionflow.flows.cli.common import (
    add_export_options,
    add_lock_option,
    add_output_options,
    add_set_option,
    add_store_option,
    add_verbose_option,
    export_overrides,
)


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser(
        "demo", help="run the full pipeline on the built-in synthetic dataset"
    )
    add_store_option(demo)
    add_lock_option(demo)
    demo.set_defaults(handler=cmd_demo)

    run = subparsers.add_parser(
        "run",
        help="run the pipeline (ingest → skeletonize → train → extract) with a config",
        description="Run the pipeline. Settings come from the defaults in code, then --config "
        "(a JSON file, nested by stage), then each --set SECTION.FIELD=VALUE.",
    )
    add_store_option(run)
    _add_config_options(run)
    run.add_argument(
        "--dask-address",
        help="an existing Dask scheduler (default: $DASK_SCHEDULER_ADDRESS or a local cluster)",
    )
    add_lock_option(run)
    run.set_defaults(handler=cmd_run)

    show = subparsers.add_parser("config", help="print the resolved pipeline config as JSON")
    _add_config_options(show)
    show.set_defaults(handler=cmd_config)

    ingest = subparsers.add_parser(
        "ingest", help="ingest a dataset into the store (folder, archive, URL)"
    )
    ingest.add_argument(
        "source", help="'synthetic', a folder, an archive (.zip, .zip.001, .tar.gz) or a URL"
    )
    add_store_option(ingest)
    ingest.add_argument(
        "--strict", action="store_true", help="exit non-zero when any sample is quarantined"
    )
    ingest.add_argument("--sha256", help="expected sha256 of a downloaded archive")
    ingest.add_argument("--dask-address")
    ingest.set_defaults(handler=cmd_ingest)

    extract = subparsers.add_parser(
        "extract",
        help="batch region export: images (files, folders, globs, URLs) → regions",
        description="Extract the regions of every input image with the shipped model or a "
        "trained checkpoint. Per image, "
        "OUT/exports/<export>/<image>/ gets skeleton.png, labels.png (16-bit), flat.png and the "
        "formats asked for; OUT/reports/<export>/report.md summarises the run.",
    )
    extract.add_argument("images", nargs="+", help="image files, folders, globs or URLs")
    extract.add_argument(
        "--checkpoint",
        default=None,
        help="a training checkpoint (.pt) or an imported one (default: the model shipped with "
        "regionflow, trained on synthetic illustrations: docs/model_card.md)",
    )
    extract.add_argument(
        "--tolerance-px",
        type=float,
        default=2.0,
        help="pixel tolerance of the report's boundary P/R/F where ground truth exists "
        "(default 2; the 0.0075 × diagonal scores are reported too)",
    )
    extract.add_argument("-o", "--output", required=True, help="output store (folder or URL)")
    add_verbose_option(extract)
    add_export_options(extract)
    extract.set_defaults(handler=cmd_extract)

    evaluate = subparsers.add_parser(
        "evaluate",
        help="score predicted region maps against ground truth (AP/OIS/ODS, F, covering, VI)",
    )
    evaluate.add_argument(
        "pred_dir",
        type=Path,
        help="predicted region maps (paired by the name before the first '.')",
    )
    evaluate.add_argument("gt_dir", type=Path, help="ground-truth region maps")
    add_output_options(
        evaluate, "./regionflow-eval", "where the report goes, a folder (default ./regionflow-eval)"
    )
    evaluate.add_argument(
        "--tolerance-px",
        type=float,
        default=2.0,
        help="pixel tolerance of boundary P/R/F (default 2, at the ground truth's size); the "
        "0.0075 × diagonal scores are reported beside it",
    )
    evaluate.set_defaults(handler=cmd_evaluate)


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, help='JSON file with stage settings, e.g. {"train": {"steps": 50}}'
    )
    add_set_option(
        parser, "override one field, e.g. --set train.steps=50 --set ingest.source=data/"
    )
    parser.add_argument(
        "--demo-defaults", action="store_true", help="start from the demo's small settings"
    )


def load_pipeline_config(args: argparse.Namespace):
    """Defaults in code (or the demo's), then --config, then each --set, then the run options."""
    from regionflow.tasks.config import PipelineConfig, apply_overrides

    config = PipelineConfig.demo() if args.demo_defaults else PipelineConfig()
    if args.config:
        try:
            data = json.loads(args.config.read_text())
        except (OSError, ValueError) as exc:
            raise SystemExit(f"--config {args.config}: {exc}") from None
        config = PipelineConfig.from_dict(data, base=config)
    config = apply_overrides(config, args.overrides)
    if getattr(args, "dask_address", None):
        config = config.replace(dask_address=args.dask_address)
    if getattr(args, "wait_for_lock", 0.0):
        config = config.replace(lock_wait=args.wait_for_lock)
    return config


def cmd_demo(args: argparse.Namespace) -> int:
    from regionflow.tasks.config import PipelineConfig

    return _run_pipeline(PipelineConfig.demo().replace(lock_wait=args.wait_for_lock), args.store)


def cmd_run(args: argparse.Namespace) -> int:
    return _run_pipeline(load_pipeline_config(args), args.store)


def cmd_config(args: argparse.Namespace) -> int:
    print(json.dumps(load_pipeline_config(args).to_dict(), indent=2))
    return 0


def _run_pipeline(config, store: str) -> int:
    from regionflow.flows.pipeline import pipeline

    start = time.perf_counter()
    result = pipeline(store, config)
    _print_summary(result, time.perf_counter() - start)
    return 0


def _print_summary(result: dict, seconds: float) -> None:
    print(f"\nregionflow: pipeline finished in {seconds:.1f} s")
    for stage, info in result.items():
        counts = ", ".join(
            f"{k}={v}"
            for k, v in info.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        )
        print(f"  {stage:<12} {info['state']:<10} {counts}")
    extract = result.get("extract", {})
    for key in ("report", "metrics", "exports", "scores"):
        if key in extract:
            value = extract[key]
            print(f"  {key:<12} {json.dumps(value) if isinstance(value, dict) else value}")


def cmd_ingest(args: argparse.Namespace) -> int:
    from regionflow.flows.stages import ingest_flow
    from regionflow.tasks.config import IngestConfig

    config = IngestConfig(source=args.source, strict=args.strict, sha256=args.sha256)
    try:
        result = ingest_flow(args.store, config, dask_address=args.dask_address)
    except RuntimeError as exc:
        if not args.strict:
            raise
        print(f"regionflow ingest: {exc}", file=sys.stderr)
        return 1
    print(
        f"\ningest: {result['samples']} samples — {result['ingested']} ingested, "
        f"{result['unchanged']} unchanged, {result['retired']} retired, {result['quarantined']} quarantined"
    )
    for sample_id, reason in result.get("quarantine", {}).items():
        print(f"  quarantined {sample_id}: {reason}")
    print(f"manifest: {result['manifest']}")
    print(f"report:   {result['report']}")
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from regionflow.flows.export import region_export
    from regionflow.tasks.config import ExtractConfig

    # The fields given are the ones set; the others are the model's own decoding (region_export).
    config = ExtractConfig(**export_overrides(args), tolerance_px=args.tolerance_px)
    result = region_export(
        args.images,
        args.checkpoint,
        args.output,
        config,
        dask_address=args.dask_address,
        lock_wait=args.wait_for_lock,
    )
    print(
        f"\nextract: {result['images']} images ({result['computed']} computed, {result['reused']} reused)"
    )
    print(f"exports: {result['exports']}")
    print(f"report:  {result['report']}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from regionflow.tasks.evaluate import evaluate_folders

    result = evaluate_folders(
        args.pred_dir, args.gt_dir, args.output, tolerance_px=args.tolerance_px
    )
    print(f"evaluate: {result['images']} image pairs")
    for key, value in result["scores"].items():
        print(f"  {key:<20} {value:.5f}")
    print(f"report: {result['report']}")
    return 0

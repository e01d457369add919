"""`regionflow`: the command line. The only reader of argv and the environment (besides storage)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from flows.options import add_export_options, add_lock_option, export_overrides

HELP = """\
regionflow turns illustrations and comics into regions (the flat areas an artist fills with one
bucket), and builds, trains and evaluates the model that finds them.

Start here:
  regionflow demo                      run the whole pipeline on the built-in synthetic dataset
  regionflow run --set train.steps=50  run the pipeline with your own settings
  regionflow ingest DanbooRegion2020.zip.001

Every command that touches the store takes --store DIR|URL (default: $REGIONFLOW_STORE, else
./regionflow-store). A store may be a folder or any fsspec URL (s3://bucket/x, memory://x).
"""


def _quiet_prefect() -> None:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "regionflow")
    # The embedded API server can take a while on a busy 2-core machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


def _store_arg(parser: argparse.ArgumentParser) -> None:
    from storage.store import default_store_url

    parser.add_argument(
        "--store",
        default=default_store_url(),
        help="where outputs go: a folder or fsspec URL (default: $REGIONFLOW_STORE or ./regionflow-store)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regionflow", description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the full pipeline on the built-in synthetic dataset")
    _store_arg(demo)
    add_lock_option(demo)

    run = sub.add_parser(
        "run",
        help="run the pipeline (ingest → skeletonize → train → extract) with a config",
        description="Run the pipeline. Settings come from the defaults in code, then --config "
        "(a JSON file, nested by stage), then each --set SECTION.FIELD=VALUE.",
    )
    _store_arg(run)
    run.add_argument(
        "--config", type=Path, help='JSON file with stage settings, e.g. {"train": {"steps": 50}}'
    )
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override one field, e.g. --set train.steps=50 --set ingest.source=data/",
    )
    run.add_argument(
        "--demo-defaults", action="store_true", help="start from the demo's small settings"
    )
    run.add_argument(
        "--dask-address",
        help="an existing Dask scheduler (default: $DASK_SCHEDULER_ADDRESS or a local cluster)",
    )
    add_lock_option(run)

    show = sub.add_parser("config", help="print the resolved pipeline config as JSON")
    show.add_argument("--config", type=Path)
    show.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE")
    show.add_argument("--demo-defaults", action="store_true")

    ingest = sub.add_parser("ingest", help="ingest a dataset into the store (folder, archive, URL)")
    ingest.add_argument(
        "source", help="'synthetic', a folder, an archive (.zip, .zip.001, .tar.gz) or a URL"
    )
    _store_arg(ingest)
    ingest.add_argument(
        "--strict", action="store_true", help="exit non-zero when any sample is quarantined"
    )
    ingest.add_argument("--sha256", help="expected sha256 of a downloaded archive")
    ingest.add_argument("--dask-address")

    skel = sub.add_parser("skeletonize", help="one region map → its skeleton target (PNG)")
    skel.add_argument("region", type=Path, help="a region map (one colour per region)")
    skel.add_argument(
        "-o", "--output", type=Path, required=True, help="skeleton map to write (PNG)"
    )
    skel.add_argument("--normal", type=Path, help="also write the normal map here")
    skel.add_argument("--markers", type=Path, help="also write the watershed markers here")
    skel.add_argument(
        "--rounds", type=int, default=512, help="Jacobi rounds (default 512, as the original)"
    )
    skel.add_argument("--method", choices=["jacobi", "harmonic"], default="jacobi")
    skel.add_argument("--seed", type=int, default=0)
    skel.add_argument("--threshold", type=int, default=200, help="marker threshold (default 200)")

    extract = sub.add_parser(
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
    add_export_options(extract)

    vis = sub.add_parser(
        "visualize", help="fill each region of a region map with the image's median colour"
    )
    vis.add_argument("image", type=Path)
    vis.add_argument(
        "region", type=Path, help="region map (one colour per region) or 16-bit label PNG"
    )
    vis.add_argument("-o", "--output", type=Path, required=True)

    ev = sub.add_parser(
        "evaluate",
        help="score predicted region maps against ground truth (AP/OIS/ODS, F, covering, VI)",
    )
    ev.add_argument(
        "pred_dir",
        type=Path,
        help="predicted region maps (paired by the name before the first '.')",
    )
    ev.add_argument("gt_dir", type=Path, help="ground-truth region maps")
    ev.add_argument(
        "--store",
        "-o",
        "--output",
        dest="output",
        default="./regionflow-eval",
        help="where the report goes, a folder (default ./regionflow-eval); -o/--output are other "
        "names for it",
    )
    ev.add_argument(
        "--verbose", action="store_true", help="also print Prefect's temporary-server lines"
    )
    ev.add_argument(
        "--tolerance-px",
        type=float,
        default=2.0,
        help="pixel tolerance of boundary P/R/F (default 2, at the ground truth's size); the "
        "0.0075 × diagonal scores are reported beside it",
    )

    imp = sub.add_parser(
        "import-weights",
        help="convert the original Keras weights (HDF5) into a regionflow checkpoint",
    )
    imp.add_argument("weights", type=Path, help="e.g. DanbooRegion2020UNet.net")
    imp.add_argument(
        "-o", "--output", type=Path, required=True, help="checkpoint file to write (.pt)"
    )

    from flows.comics import add_comics_parsers
    from flows.parts import add_parts_parsers
    from flows.serve import add_serve_parser

    add_comics_parsers(sub)
    add_parts_parsers(sub)
    add_serve_parser(sub)
    return parser


def load_pipeline_config(args: argparse.Namespace):
    from tasks.config import PipelineConfig, apply_overrides

    config = PipelineConfig.demo() if getattr(args, "demo_defaults", False) else PipelineConfig()
    if getattr(args, "config", None):
        try:
            data = json.loads(args.config.read_text())
        except (OSError, ValueError) as exc:
            raise SystemExit(f"--config {args.config}: {exc}") from None
        config = PipelineConfig.from_dict(data, base=config)
    config = apply_overrides(config, args.overrides)
    from dataclasses import replace

    if getattr(args, "dask_address", None):
        config = replace(config, dask_address=args.dask_address)
    if getattr(args, "wait_for_lock", 0.0):
        config = replace(config, lock_wait=args.wait_for_lock)
    return config


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
    for label, key in (
        ("report", "report"),
        ("metrics", "metrics"),
        ("exports", "exports"),
        ("scores", "scores"),
    ):
        if key in extract:
            value = extract[key]
            print(f"  {label:<12} {json.dumps(value) if isinstance(value, dict) else value}")


def cmd_run(config, store: str) -> int:
    from flows.pipeline import pipeline

    start = time.perf_counter()
    result = pipeline(store, config.to_dict())
    _print_summary(result, time.perf_counter() - start)
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from flows.stages import ingest_flow

    config = {"source": args.source, "strict": args.strict, "sha256": args.sha256}
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


def cmd_skeletonize(args: argparse.Namespace) -> int:
    import cv2
    import numpy as np

    from regions.skeleton import (
        normal_map,
        region_edges,
        region_skeleton,
        skeleton_field,
        watershed_markers,
    )
    from storage.images import read_image_file, write_image_file

    region = read_image_file(args.region, cv2.IMREAD_UNCHANGED)
    if region.ndim == 2:
        region = cv2.cvtColor(region, cv2.COLOR_GRAY2BGR)
    if region.dtype != np.uint8:
        region = (region // 257).astype(np.uint8)
    edges = region_edges(region)
    height = skeleton_field(
        edges, region_skeleton(edges), rounds=args.rounds, seed=args.seed, method=args.method
    )
    print(f"skeleton: {write_image_file(args.output, height)}")
    if args.normal:
        print(f"normal:   {write_image_file(args.normal, normal_map(height))}")
    if args.markers:
        markers = watershed_markers(height, threshold=args.threshold).astype(np.uint8) * 255
        print(f"markers:  {write_image_file(args.markers, markers)}")
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from flows.export import region_export

    config = export_overrides(args)
    config["tolerance_px"] = args.tolerance_px
    result = region_export(
        args.images,
        None if args.checkpoint is None else str(args.checkpoint),
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


def cmd_visualize(args: argparse.Namespace) -> int:
    import cv2
    import numpy as np

    from regions.decode import flat_colour
    from regions.labels import region_labels
    from storage.images import read_image_file, write_image_file

    image = read_image_file(args.image)
    region = read_image_file(args.region, cv2.IMREAD_UNCHANGED)
    labels = region.astype(np.int64) if region.ndim == 2 else region_labels(region).astype(np.int64)
    if labels.shape != image.shape[:2]:
        labels = cv2.resize(
            labels.astype(np.int32), image.shape[1::-1], interpolation=cv2.INTER_NEAREST
        )
    print(
        f"flat: {write_image_file(args.output, flat_colour(image, labels))} ({len(np.unique(labels))} regions)"
    )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from flows.comics import quiet_temporary_server
    from tasks.evaluate import evaluate_folders

    quiet_temporary_server(args.verbose)
    result = evaluate_folders(
        args.pred_dir, args.gt_dir, args.output, tolerance_px=args.tolerance_px
    )
    print(f"evaluate: {result['images']} image pairs")
    for key, value in result["scores"].items():
        print(f"  {key:<20} {value:.5f}")
    print(f"report: {result['report']}")
    return 0


def cmd_import_weights(args: argparse.Namespace) -> int:
    from models.unet import RegionUNet
    from models.weights import import_keras_weights
    from storage.checkpoints import write_generator_checkpoint

    net = import_keras_weights(args.weights, RegionUNet())
    print(
        f"checkpoint: {write_generator_checkpoint(args.output, net.state_dict(), source=str(args.weights))}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    from storage.locks import StoreLocked

    _quiet_prefect()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "demo":
            from dataclasses import replace

            from tasks.config import PipelineConfig

            return cmd_run(replace(PipelineConfig.demo(), lock_wait=args.wait_for_lock), args.store)
        if args.command == "run":
            return cmd_run(load_pipeline_config(args), args.store)
        if args.command == "config":
            print(json.dumps(load_pipeline_config(args).to_dict(), indent=2))
            return 0
        if args.command == "ingest":
            return cmd_ingest(args)
        if args.command == "skeletonize":
            return cmd_skeletonize(args)
        if args.command == "extract":
            return cmd_extract(args)
        if args.command == "visualize":
            return cmd_visualize(args)
        if args.command == "evaluate":
            return cmd_evaluate(args)
        if args.command == "import-weights":
            return cmd_import_weights(args)
        if args.command in ("cuts", "panels", "parts"):
            return args.handler(args)
        if args.command == "serve":
            from flows.serve import cmd_serve

            return cmd_serve(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"regionflow {args.command}: {exc}", file=sys.stderr)
        return 2
    except StoreLocked as exc:
        print(f"regionflow {args.command}: {exc}", file=sys.stderr)
        return 3
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())

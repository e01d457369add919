"""Command-line options shared by several `regionflow` commands."""

from __future__ import annotations

import argparse


def add_lock_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait-for-lock",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="if another run is using the store, wait this long for it (default: exit at once)",
    )


def add_export_options(parser: argparse.ArgumentParser, *, when: str = "") -> None:
    """How regions are extracted and exported (`when` prefixes each help, e.g. "with --checkpoint: ")."""
    parser.add_argument(
        "--decoder",
        choices=["simple", "full"],
        default=None,
        help=f"{when}full: the original's post-processing + watershed on the image; simple: "
        "watershed on the skeleton's normal map (default: the model's own — the shipped model's "
        "recorded decoder, full for other checkpoints)",
    )
    parser.add_argument(
        "--threshold",
        type=int,
        default=None,
        help=f"{when}marker threshold of the decoder (default: simple 100, full 135; the "
        "shipped model's own with the shipped model)",
    )
    parser.add_argument(
        "--short-side",
        type=int,
        default=1024,
        help=f"{when}working resolution of the net (default 1024; 0 = the image's own size)",
    )
    parser.add_argument(
        "--tta",
        type=int,
        choices=[1, 4, 8],
        default=1,
        help=f"{when}dihedral test-time augmentation",
    )
    parser.add_argument(
        "--formats",
        default="labels,flat,regions",
        help=f"{when}comma list of labels, flat, regions (Parquet table), coco, svg "
        "(default labels,flat,regions)",
    )
    parser.add_argument(
        "--dask-address", help="an existing Dask scheduler (default: a local cluster)"
    )
    add_lock_option(parser)


def export_overrides(args: argparse.Namespace) -> dict:
    """ExtractConfig overrides from the options above."""
    return {
        **({} if args.decoder is None else {"decoder": args.decoder}),
        **({} if args.threshold is None else {"threshold": args.threshold}),
        "short_side": args.short_side or None,
        "tta": args.tta,
        "exports": [f.strip() for f in args.formats.split(",") if f.strip()],
    }

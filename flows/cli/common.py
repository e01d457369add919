"""What several `regionflow` commands share: options, and keeping Prefect's own output quiet."""

from __future__ import annotations

import argparse
import logging
import os

from regionflow.flows.store import default_store_url


def quiet_prefect() -> None:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "regionflow")
    # The embedded API server can take a while on a busy 2-core machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


class _TemporaryServerLines(logging.Filter):
    """Drops Prefect's "Starting/Stopping temporary server on ..." lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "temporary server" not in str(record.msg)


def quiet_temporary_server(verbose: bool = False) -> None:
    """Hide the embedded Prefect server's start and stop lines unless ``verbose``.

    They come from the ``prefect`` logger itself (not a child), so a filter there drops just
    them; flow and task logs are untouched.
    """
    logger = logging.getLogger("prefect")
    for f in [f for f in logger.filters if isinstance(f, _TemporaryServerLines)]:
        logger.removeFilter(f)
    if not verbose:
        logger.addFilter(_TemporaryServerLines())


def add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        default=default_store_url(),
        help="where outputs go: a folder or fsspec URL (default: $REGIONFLOW_STORE or ./regionflow-store)",
    )
    add_verbose_option(parser)


def add_verbose_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verbose", action="store_true", help="also print Prefect's temporary-server lines"
    )


def add_output_options(parser: argparse.ArgumentParser, default: str, help: str) -> None:
    """--store (also -o, --output) into `args.output`, and --verbose for Prefect's own lines."""
    parser.add_argument(
        "--store",
        "-o",
        "--output",
        dest="output",
        default=default,
        help=f"{help}; -o/--output are other names for it",
    )
    add_verbose_option(parser)


def add_set_option(parser: argparse.ArgumentParser, help: str) -> None:
    """Repeatable `--set FIELD=VALUE` into `args.overrides` (parsed by `tasks.config.parse_override`)."""
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE", help=help
    )


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
        choices=["simple", "full", "colour"],
        default=None,
        help=f"{when}colour: watershed on the image from the skeleton's markers; full: the "
        "original's post-processing + watershed on the image; simple: watershed on the "
        "skeleton's normal map (default: the model's own — the shipped model's recorded "
        "decoder, full for other checkpoints)",
    )
    parser.add_argument(
        "--threshold",
        type=int,
        default=None,
        help=f"{when}marker threshold of the decoder (default: simple 100, full 135, colour "
        "120; the shipped model's own with the shipped model)",
    )
    parser.add_argument(
        "--short-side",
        type=int,
        default=None,
        help=f"{when}working resolution of the net, short side in px (default: the model's own "
        "— 1536 for the shipped model, 1024 for other checkpoints; 0 = the image's own size)",
    )
    parser.add_argument(
        "--float32",
        action="store_true",
        help=f"{when}run the net in float32 even on a CPU with native bf16 (AMX/AVX512-BF16), "
        "where bf16 is the default: about 2x slower there, bit-for-bit repeatable elsewhere",
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
        **({} if args.short_side is None else {"short_side": args.short_side or None}),
        **({"cpu_amp": False} if args.float32 else {}),
        "tta": args.tta,
        "exports": [f.strip() for f in args.formats.split(",") if f.strip()],
    }

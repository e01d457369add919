"""`regionflow serve`: the pipeline, dataset-refresh and region-export deployments, served by
this process (flows/serve.py)."""

from __future__ import annotations

import argparse

from regionflow.flows.serve import DEFAULT_NAME, DEFAULT_REFRESH_CRON, serve_all
from regionflow.flows.store import default_store_url


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the pipeline, dataset-refresh (cron) and region-export deployments from this process",
        description="Register the pipeline, dataset-refresh and region-export deployments with the "
        "Prefect server at $PREFECT_API_URL and run their flow runs here until Ctrl-C. "
        "Start runs with e.g. `prefect deployment run region-export/serve "
        "--param inputs='[\"pages/\"]' --param checkpoint=model.pt`.",
    )
    parser.add_argument(
        "--store",
        default=default_store_url(),
        help="the store every deployment uses by default (default: $REGIONFLOW_STORE or ./regionflow-store)",
    )
    parser.add_argument(
        "--cron",
        default=DEFAULT_REFRESH_CRON,
        help=f"dataset-refresh schedule, cron syntax in UTC (default {DEFAULT_REFRESH_CRON!r})",
    )
    parser.add_argument(
        "--name",
        default=DEFAULT_NAME,
        help=f"deployment name under each flow (default {DEFAULT_NAME!r}: region-export/{DEFAULT_NAME}, ...)",
    )
    parser.add_argument("--limit", type=int, default=None, help="at most this many runs at once")
    parser.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    serve_all(args.store, refresh_cron=args.cron, name=args.name, limit=args.limit)
    return 0

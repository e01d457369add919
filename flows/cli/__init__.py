"""`regionflow`: the command line. The only reader of argv and the environment (besides storage).

One module per command group adds its subcommands (`add_parsers`) and gives each one its
`handler`; `main` parses argv and calls it. No command computes anything itself: a handler
starts a flow or calls a task, then prints where the results went.
"""

from __future__ import annotations

import argparse
import sys

from regionflow.flows.cli import comics, files, parts, pipeline, serve
from regionflow.flows.cli.common import quiet_prefect, quiet_temporary_server
from regionflow.flows.store import StoreLocked

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

COMMAND_GROUPS = (pipeline, files, comics, parts, serve)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regionflow", description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.add_parsers(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    quiet_prefect()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    # Prefect's temporary-server lines only with --verbose, for every command that has it.
    quiet_temporary_server(getattr(args, "verbose", False))
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"regionflow {args.command}: {exc}", file=sys.stderr)
        return 2
    except StoreLocked as exc:
        print(f"regionflow {args.command}: {exc}", file=sys.stderr)
        return 3

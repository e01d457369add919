"""Comics: webtoon episodes → cuts, comic pages → panels; optionally regions of every crop.

`regionflow cuts` and `regionflow panels` are defined here (`add_comics_parsers`, `cmd_cuts`,
`cmd_panels`); `flows/cli.py` wires them in.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import PurePosixPath

from prefect import flow

from flows.export import region_export
from flows.options import add_export_options, export_overrides
from storage.locks import StoreLock
from storage.store import Store
from tasks.comics import ComicsConfig, split_episode, split_pages, stage_crops


@flow(name="webtoon-cuts", log_prints=True)
def webtoon_cuts(
    episode: str,
    output: str,
    config: dict | None = None,
    checkpoint: str | None = None,
    export_config: dict | None = None,
    dask_address: str | None = None,
    lock_wait: float = 0.0,
) -> dict:
    """Link an episode's numbered slices, find its cuts, write `<output>/cuts/<episode>/`.

    `config` overrides ComicsConfig fields. With `checkpoint`, every cut also goes through
    `region_export` into the same store (`export_config` overrides ExtractConfig fields).
    """
    cfg = ComicsConfig.from_dict(config).to_dict()
    with StoreLock(Store(output), wait=lock_wait, purpose="webtoon-cuts"):
        result = split_episode(output, episode, cfg)
        if checkpoint and result["crops"]:
            crops = {
                f"{result['episode']}-{PurePosixPath(f).stem}": p
                for f, p in result["crops"].items()
            }
            result["regions"] = export_crops(output, crops, checkpoint, export_config, dask_address)
    return result


@flow(name="comic-panels", log_prints=True)
def comic_panels(
    pages: list[str],
    output: str,
    config: dict | None = None,
    checkpoint: str | None = None,
    export_config: dict | None = None,
    dask_address: str | None = None,
    lock_wait: float = 0.0,
) -> dict:
    """Find the panels of every page in reading order, write `<output>/panels/<page path>/`,
    the index `<output>/panels/index.csv` and kumiko's `<output>/panels/panels.json`; with
    `checkpoint`, regions of every panel too."""
    cfg = ComicsConfig.from_dict(config).to_dict()
    with StoreLock(Store(output), wait=lock_wait, purpose="comic-panels"):
        result = split_pages(output, pages, cfg)
        # Unique flat names for the export folder: the page's output folder, `/` → `--`.
        crops = {
            f"{info['folder'].replace('/', '--')}-{PurePosixPath(c).stem}": c
            for info in result["pages"].values()
            for c in info["crops"]
        }
        if checkpoint and crops:
            result["regions"] = export_crops(output, crops, checkpoint, export_config, dask_address)
    return result


def export_crops(
    output: str,
    crops: dict[str, str],
    checkpoint: str,
    export_config: dict | None,
    dask_address: str | None,
) -> dict:
    """Crops (unique name → path in the store) through `region_export`; where each one's went."""
    staged = stage_crops(output, crops)
    exported = region_export(
        [staged["folder"]], checkpoint, output, export_config, dask_address=dask_address
    )
    # region_export names a plain folder's images `images-<file stem>`.
    return {
        **exported,
        "crops": {path: f"{exported['exports']}/images-{name}" for name, path in crops.items()},
    }


# command line ---------------------------------------------------------------------------------
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


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    from storage.store import default_store_url

    parser.add_argument(
        "--store",
        "-o",
        "--output",
        dest="output",
        default=default_store_url(),
        help="output store, a folder or fsspec URL (default: $REGIONFLOW_STORE or "
        "./regionflow-store); -o/--output are other names for it",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="also print Prefect's temporary-server lines"
    )
    parser.add_argument(
        "--checkpoint",
        help="also extract the regions of every crop with this model (as `regionflow extract`)",
    )
    add_export_options(parser, when="with --checkpoint: ")


def add_comics_parsers(subparsers) -> None:
    """Add `cuts` and `panels` to the `regionflow` subcommands; each sets `handler`."""
    cuts = subparsers.add_parser(
        "cuts",
        help="webtoon episode (folder of numbered slices) → cuts: crops, JSON, debug overlay",
        description="Link an episode's slices in numeric order (1, 2, ..., 10), find the cuts "
        "between gutters and write STORE/cuts/<episode>/: 001.png, 002.png, ... (top to bottom), "
        "cuts.json (boxes x,y,w,h in strip pixels, kind, confidence, strip size) and overlay.png. "
        "An episode already done with the same slices and options is skipped.",
    )
    cuts.add_argument(
        "episode", help="folder of image slices, e.g. ep12/ holding 1.jpg, 2.jpg, ..."
    )
    cuts.add_argument(
        "--width-policy",
        choices=["scale", "pad"],
        help="slices of another width: rescale keeping the aspect ratio (scale, default) or centre them on white (pad)",
    )
    cuts.add_argument(
        "--fragments",
        choices=["merge", "separate"],
        help="small blocks (bubbles between cuts): merge into the nearest cut (default) or keep as cuts of kind fragment",
    )
    cuts.add_argument(
        "--mode",
        choices=["ours", "seed", "seed-rough"],
        help="detector: ours (default), or the seed's exact-colour gutters (seed-rough) plus its Canny/Hough trim (seed)",
    )
    _export_arguments(cuts)
    cuts.set_defaults(handler=cmd_cuts)

    panels = subparsers.add_parser(
        "panels",
        help="comic pages → panels in reading order: crops, kumiko JSON, debug overlays",
        description="Find the panels of every page and write STORE/panels/<page path>/ (the "
        "page's path relative to the working directory, file name included): 01.png, 02.png, "
        "... in reading order, panels.json (kumiko: filename = the page's path as given, size, "
        "panels [[x,y,w,h], ...], polygons of slanted panels) and overlay.png; "
        "STORE/panels/index.csv maps every input to its outputs and STORE/panels/panels.json "
        "lists every page. Pages already done are skipped.",
    )
    panels.add_argument("pages", nargs="+", help="page files, folders or globs")
    panels.add_argument("--rtl", action="store_true", help="read right to left (manga)")
    _export_arguments(panels)
    panels.set_defaults(handler=cmd_panels)


def _print_regions(result: dict) -> None:
    regions = result.get("regions")
    if not regions:
        return
    if regions.get("state") == "Cached":
        print(f"regions: {regions['images']} crops, unchanged since the last export (cached)")
    else:
        counts = f"{regions['computed']} computed, {regions['reused']} reused"
        print(f"regions: {regions['images']} crops ({counts})")
    print(f"exports: {regions['exports']}")


def cmd_cuts(args: argparse.Namespace) -> int:
    from storage.comics import list_slices

    options = {"width_policy": args.width_policy, "fragments": args.fragments, "mode": args.mode}
    config = {k: v for k, v in options.items() if v is not None}
    ComicsConfig.from_dict(config)  # bad options fail before any flow starts
    list_slices(args.episode)
    quiet_temporary_server(args.verbose)
    result = webtoon_cuts(
        str(args.episode),
        args.output,
        config,
        args.checkpoint,
        export_overrides(args),
        args.dask_address,
        args.wait_for_lock,
    )
    width, height = result["size"]
    state = "computed" if result["computed"] else "unchanged, skipped"
    print(
        f"\ncuts: {result['episode']}: {result['cuts']} cuts in a {width}x{height} strip ({state})"
    )
    print(f"json:    {result['json']}")
    print(f"overlay: {', '.join(result['overlays'])}")
    _print_regions(result)
    return 0


def cmd_panels(args: argparse.Namespace) -> int:
    from storage.comics import list_pages

    config = {"direction": "rtl"} if args.rtl else {}
    list_pages(args.pages)
    quiet_temporary_server(args.verbose)
    result = comic_panels(
        [str(p) for p in args.pages],
        args.output,
        config,
        args.checkpoint,
        export_overrides(args),
        args.dask_address,
        args.wait_for_lock,
    )
    pages = result["pages"]
    print(
        f"\npanels: {len(pages)} pages, {sum(len(p['panels']) for p in pages.values())} panels "
        f"({result['computed']} computed, {result['reused']} unchanged)"
    )
    for given, info in pages.items():
        print(f"  {given}  →  {info['folder']}/  ({len(info['panels'])} panels)")
    print(f"json:  {result['json']}")
    print(f"index: {result['index']}")
    _print_regions(result)
    return 0

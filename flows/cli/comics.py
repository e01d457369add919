"""`regionflow cuts | panels`: webtoon episodes → cuts, comic pages → panels (flows/comics.py)."""

from __future__ import annotations

import argparse

from regionflow.flows.cli.common import (
    add_export_options,
    add_output_options,
    add_set_option,
    export_overrides,
)
from regionflow.flows.store import default_store_url

_ANY_OPTION = "any detector option of ComicsConfig (docs/comics.md)"


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
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
    add_set_option(cuts, f"{_ANY_OPTION}, e.g. --set min_cut_height=300")
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
    add_set_option(panels, f"{_ANY_OPTION}, e.g. --set deskew=false --set gutter_fraction=0.9")
    _export_arguments(panels)
    panels.set_defaults(handler=cmd_panels)


def _config(options: dict, overrides: list[str]) -> dict:
    """`options` with each `--set FIELD=VALUE`, checked (a bad one fails before any flow)."""
    from regionflow.tasks.comics import ComicsConfig
    from regionflow.tasks.config import parse_override

    config = {k: v for k, v in options.items() if v is not None}
    for item in overrides:
        config.update(parse_override(item, "deskew=false"))
    ComicsConfig.from_dict(config)
    return config


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    add_output_options(
        parser,
        default_store_url(),
        "output store, a folder or fsspec URL (default: $REGIONFLOW_STORE or ./regionflow-store)",
    )
    parser.add_argument(
        "--checkpoint",
        help="also extract the regions of every crop with this model (as `regionflow extract`)",
    )
    add_export_options(parser, when="with --checkpoint: ")


def _run(comics_flow, inputs, config: dict, args: argparse.Namespace) -> dict:
    """`comics_flow(inputs, ...)` with the store, checkpoint and export options of `args`."""
    from regionflow.tasks.comics import ComicsConfig
    from regionflow.tasks.config import ExtractConfig

    return comics_flow(
        inputs,
        args.output,
        ComicsConfig(**config),
        args.checkpoint,
        ExtractConfig(**export_overrides(args)),  # fields left out: the model's own decoding
        args.dask_address,
        args.wait_for_lock,
    )


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
    from regionflow.flows.comics import check_episode, webtoon_cuts

    options = {"width_policy": args.width_policy, "fragments": args.fragments, "mode": args.mode}
    config = _config(options, args.overrides)
    check_episode(args.episode)
    result = _run(webtoon_cuts, str(args.episode), config, args)
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
    from regionflow.flows.comics import check_pages, comic_panels

    config = _config({"direction": "rtl" if args.rtl else None}, args.overrides)
    check_pages(args.pages)
    result = _run(comic_panels, [str(p) for p in args.pages], config, args)
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

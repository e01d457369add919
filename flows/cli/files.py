"""`regionflow skeletonize | visualize | import-weights`: one file in, one file out, no store."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    skel = subparsers.add_parser("skeletonize", help="one region map → its skeleton target (PNG)")
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
    skel.set_defaults(handler=cmd_skeletonize)

    vis = subparsers.add_parser(
        "visualize", help="fill each region of a region map with the image's median colour"
    )
    vis.add_argument("image", type=Path)
    vis.add_argument(
        "region", type=Path, help="region map (one colour per region) or 16-bit label PNG"
    )
    vis.add_argument("-o", "--output", type=Path, required=True)
    vis.set_defaults(handler=cmd_visualize)

    imp = subparsers.add_parser(
        "import-weights",
        help="convert the original Keras weights (HDF5) into a regionflow checkpoint",
    )
    imp.add_argument("weights", type=Path, help="e.g. DanbooRegion2020UNet.net")
    imp.add_argument(
        "-o", "--output", type=Path, required=True, help="checkpoint file to write (.pt)"
    )
    imp.set_defaults(handler=cmd_import_weights)


def cmd_skeletonize(args: argparse.Namespace) -> int:
    from regionflow.tasks.files import skeletonize_file

    written = skeletonize_file(
        args.region,
        args.output,
        normal=args.normal,
        markers=args.markers,
        rounds=args.rounds,
        method=args.method,
        seed=args.seed,
        threshold=args.threshold,
    )
    for what, path in written.items():
        print(f"{what + ':':<9} {path}")
    return 0


def cmd_visualize(args: argparse.Namespace) -> int:
    from regionflow.tasks.files import flat_colour_file

    path, regions = flat_colour_file(args.image, args.region, args.output)
    print(f"flat: {path} ({regions} regions)")
    return 0


def cmd_import_weights(args: argparse.Namespace) -> int:
    from regionflow.tasks.files import import_weights_file

    print(f"checkpoint: {import_weights_file(args.weights, args.output)}")
    return 0

"""Skeletonize over Dask: 2 workers vs 1 on the same maps (target ≥ 1.8×).

    python benchmarks/skeleton_dask.py [--maps 32] [--size 768] [--rounds 512] [--store both]

Region maps come from the built-in synthetic generator, written to a `memory://` store and to a
folder store (what users run with) in turn; the stage
unit (read labels → target → write skeleton → record) runs on a local Dask cluster with 1 and then
2 worker threads. Outputs of both runs are compared.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid

import numpy as np

from regionflow.regions.danbooregion.labels import region_labels
from regionflow.regions.synthetic.cartoons import synthetic_sample
from regionflow.storage.fingerprints import fingerprint
from regionflow.storage.samples import read_array, write_array
from regionflow.storage.store import Store
from regionflow.tasks.cluster import dask_client, map_units
from regionflow.tasks.config import SkeletonConfig
from regionflow.tasks.skeletonize import skeletonize_one


def make_store(root: str, n: int, size: int) -> tuple[Store, list[str]]:
    store = Store(root)
    ids = []
    for i in range(n):
        _, region = synthetic_sample(i, height=size, width=size)
        write_array(store, f"train-{i}", "labels", region_labels(region))
        ids.append(f"train-{i}")
    return store, ids


def run(store: Store, ids: list[str], workers: int, config: SkeletonConfig) -> float:
    with dask_client(None, workers=workers) as client:
        # warm-up: JIT and cluster start are not what we compare
        map_units(
            client,
            skeletonize_one,
            [(ids[0], "warm")],
            desc="warm-up",
            progress=False,
            store=store,
            config=config,
            config_fp="warm",
        )
        start = time.perf_counter()
        map_units(
            client,
            skeletonize_one,
            [(sid, "x") for sid in ids],
            desc=f"{workers} worker(s)",
            store=store,
            config=config,
            config_fp=fingerprint(workers),
        )
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--maps", type=int, default=32)
    parser.add_argument("--size", type=int, default=768)
    parser.add_argument("--rounds", type=int, default=512)
    parser.add_argument(
        "--store", choices=["memory://", "folder", "both"], default="both", help="store kind"
    )
    args = parser.parse_args()
    config = SkeletonConfig(rounds=args.rounds)
    print(f"{args.maps} maps of {args.size}x{args.size}, {args.rounds} rounds")
    with tempfile.TemporaryDirectory() as folder:
        roots = {"memory://": f"memory://bench-{uuid.uuid4().hex}", "folder": folder}
        for kind in ["memory://", "folder"] if args.store == "both" else [args.store]:
            store, ids = make_store(roots[kind], args.maps, args.size)
            one = run(store, ids, 1, config)
            first = {sid: read_array(store, sid, "skeleton") for sid in ids}
            two = run(store, ids, 2, config)
            same = all(
                np.array_equal(first[sid], read_array(store, sid, "skeleton")) for sid in ids
            )
            print(f"{kind} store")
            print(f"  1 worker : {one:6.2f} s  ({one / args.maps * 1000:.0f} ms/map)")
            print(f"  2 workers: {two:6.2f} s  ({two / args.maps * 1000:.0f} ms/map)")
            print(f"  speed-up : {one / two:.2f}x (target >= 1.8x); outputs identical: {same}")


if __name__ == "__main__":
    main()

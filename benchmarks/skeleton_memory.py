"""Peak memory of the skeleton target on a large map, beyond the input map itself.

Builds a SIZE×SIZE synthetic region map (jittered-grid Voronoi cells, 16 repeated colours,
BGR uint8), saves it, then in a fresh process loads it, warms the kernels up on a tiny map and
runs `skeleton_target` stage by stage (edges → skeleton → field). Reports, per stage and in
all, the tracemalloc peak (numpy and Python allocations) and the growth of the process's peak
RSS (ru_maxrss) over its RSS with the map loaded, both against the map's float32 size
(SIZE²·4 bytes; 256 MB at 8000²). Target: ≤ ~3× that float32 size beyond the input.

    python benchmarks/skeleton_memory.py                      # 8000², jacobi, 512 rounds
    python benchmarks/skeleton_memory.py --size 2000 --method harmonic
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

MB = 1024 * 1024


def voronoi_map(size: int, cell: int, seed: int = 0) -> np.ndarray:
    """Jittered-grid Voronoi cells coloured from a 16-colour palette, built in row bands."""
    rng = np.random.default_rng(seed)
    grid = -(-size // cell) + 2  # one spare cell around the map
    jitter = rng.random((grid, grid, 2)) * cell
    seeds = (np.indices((grid, grid)).transpose(1, 2, 0) - 1) * cell + jitter
    palette = rng.integers(0, 256, (16, 3), dtype=np.uint8)
    colour_of = rng.integers(0, 16, (grid, grid))
    out = np.empty((size, size, 3), np.uint8)
    xs = np.arange(size)
    gx = xs // cell + 1
    for y0 in range(0, size, 256):
        ys = np.arange(y0, min(y0 + 256, size))
        gy = ys // cell + 1
        best = np.full((ys.size, size), np.inf, np.float32)
        owner = np.zeros((ys.size, size, 2), np.int32)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                cy, cx = (gy + dy)[:, None], (gx + dx)[None, :]
                sy, sx = seeds[cy, cx, 0], seeds[cy, cx, 1]
                d = ((ys[:, None] - sy) ** 2 + (xs[None, :] - sx) ** 2).astype(np.float32)
                closer = d < best
                best[closer] = d[closer]
                owner[..., 0][closer] = np.broadcast_to(cy, closer.shape)[closer]
                owner[..., 1][closer] = np.broadcast_to(cx, closer.shape)[closer]
        out[y0 : y0 + ys.size] = palette[colour_of[owner[..., 0], owner[..., 1]]]
    return out


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def child(map_path: str, method: str, rounds: int) -> None:
    import cv2
    import numba

    from regionflow.regions.danbooregion.skeleton import (
        region_edges,
        region_skeleton,
        skeleton_field,
    )

    cv2.setNumThreads(1)
    numba.set_num_threads(1)
    region = np.load(map_path)
    tiny = region[:64, :64]
    skeleton_field(region_edges(tiny), region_skeleton(region_edges(tiny)), rounds=2)
    base_rss = rss_bytes()
    base_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    base_traced = tracemalloc.get_traced_memory()[0]
    stages = {}
    t0 = time.perf_counter()
    edges = region_edges(region)
    stages["edges"] = tracemalloc.get_traced_memory()[1] - base_traced
    tracemalloc.reset_peak()
    skeleton = region_skeleton(edges)
    stages["skeleton"] = tracemalloc.get_traced_memory()[1] - base_traced
    tracemalloc.reset_peak()
    field = skeleton_field(edges, skeleton, rounds=rounds, method=method)
    stages["field"] = tracemalloc.get_traced_memory()[1] - base_traced
    seconds = time.perf_counter() - t0
    tracemalloc.stop()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert field.shape == region.shape[:2]
    print(
        json.dumps(
            {
                "stages_traced": stages,
                "traced_peak": max(stages.values()),
                "rss_growth": max(0, maxrss - max(base_rss, base_maxrss)),
                "base_rss": base_rss,
                "seconds": seconds,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=8000)
    parser.add_argument("--cell", type=int, default=48, help="mean Voronoi cell spacing, px")
    parser.add_argument("--method", choices=("jacobi", "harmonic"), default="jacobi")
    parser.add_argument("--rounds", type=int, default=512)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.method, args.rounds)
        return

    float_size = args.size * args.size * 4
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "map.npy"
        region = voronoi_map(args.size, args.cell)
        np.save(path, region)
        input_size = region.nbytes
        del region
        command = [sys.executable, __file__, "--child", str(path), "--method", args.method]
        command += ["--rounds", str(args.rounds), "--size", str(args.size)]
        result = subprocess.run(command, capture_output=True, text=True, check=True)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(
        f"map {args.size}x{args.size} BGR uint8 ({input_size / MB:.0f} MB input), "
        f"method {args.method}, {args.rounds} rounds, {report['seconds']:.1f} s"
    )
    print(f"float32 map size: {float_size / MB:.0f} MB")
    for stage, peak in report["stages_traced"].items():
        print(f"  traced peak during {stage:8s}: {peak / MB:7.0f} MB = {peak / float_size:.2f}x")
    for name in ("traced_peak", "rss_growth"):
        value = report[name]
        print(
            f"{name:12s} beyond input: {value / MB:7.0f} MB = {value / float_size:.2f}x float32 size"
        )
    print("target: <= ~3x float32 size")


if __name__ == "__main__":
    main()

"""Skeleton target speed: the original Jacobi loop vs `regions.danbooregion.skeleton`, on one core.

The reference is the loop as DanbooRegion writes it: `cv2.filter2D` with the 5-point cross,
then boolean-mask clamping ``h[skeleton] = 255; h[edges] = 0``, `rounds` times, from the same
noise. Ours is `skeleton_field(method="jacobi")` (fused, temporally blocked numba kernel) and
`harmonic_field` (converged sparse solve). Both run with OpenCV and numba on one thread; the
kernel's first-call JIT/cache load is done before timing. Prints wall and CPU seconds (CPU is
steadier on a shared machine), the speed-up and the max |ours - reference| in grey levels.

    python benchmarks/skeleton.py                 # 512 rounds on illustration/X.region.png
    python benchmarks/skeleton.py --rounds 64 --repeat 1 --no-harmonic
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numba
import numpy as np

from regionflow.regions.danbooregion.skeleton import (
    harmonic_field,
    region_edges,
    region_skeleton,
    skeleton_field,
)

SAMPLE = Path(__file__).parents[1] / "tests/fixtures/danbooregion/illustration/X.region.png"
CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.float32) / 5


def reference_field(edges: np.ndarray, skeleton: np.ndarray, rounds: int, seed: int) -> np.ndarray:
    edge_mask, skeleton_mask = edges > 0, skeleton > 0
    h = np.random.default_rng(seed).random(edges.shape, dtype=np.float32) * np.float32(255)
    for _ in range(rounds):
        h = cv2.filter2D(h, cv2.CV_32F, CROSS)
        h[skeleton_mask] = 255
        h[edge_mask] = 0
    return h.clip(0, 255).astype(np.uint8)


def timed(fn, repeat: int):
    """Best wall and best CPU seconds over `repeat` runs, and the last result."""
    wall, cpu, result = [], [], None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3, help="runs per method; best is kept")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-harmonic", action="store_true")
    args = parser.parse_args()

    cv2.setNumThreads(1)
    numba.set_num_threads(1)
    region = cv2.imdecode(np.fromfile(SAMPLE, np.uint8), cv2.IMREAD_UNCHANGED)
    edges = region_edges(region)
    skeleton = region_skeleton(edges)
    h, w = edges.shape
    print(f"map {w}x{h}, {args.rounds} rounds, one thread (OpenCV {cv2.__version__})")

    skeleton_field(edges[:64, :64], skeleton[:64, :64], rounds=2)  # JIT / cache load
    ref_wall, ref_cpu, reference = timed(
        lambda: reference_field(edges, skeleton, args.rounds, args.seed), args.repeat
    )
    our_wall, our_cpu, ours = timed(
        lambda: skeleton_field(edges, skeleton, rounds=args.rounds, seed=args.seed), args.repeat
    )
    diff = np.abs(ours.astype(np.int16) - reference)
    print(f"reference  filter2D + masks : {ref_wall:7.3f} s wall  {ref_cpu:7.3f} s cpu")
    print(f"ours       fused jacobi     : {our_wall:7.3f} s wall  {our_cpu:7.3f} s cpu")
    print(
        f"speed-up                    : {ref_wall / our_wall:7.1f}x wall  {ref_cpu / our_cpu:5.1f}x cpu"
    )
    print(
        f"max |ours - reference|      : {int(diff.max())} grey levels ({int((diff > 0).sum())} pixels differ)"
    )
    if not args.no_harmonic:
        har_wall, har_cpu, (field, residual) = timed(lambda: harmonic_field(edges, skeleton), 1)
        gap = np.abs(field.astype(np.uint8).astype(np.int16) - reference).mean()
        print(f"harmonic   sparse solve     : {har_wall:7.3f} s wall  {har_cpu:7.3f} s cpu")
        print(
            f"harmonic residual           : {residual:.2e} grey levels (max |u - mean of 4 nbrs|)"
        )
        print(f"mean |harmonic - jacobi|    : {gap:.2f} grey levels ({args.rounds} rounds)")


if __name__ == "__main__":
    main()

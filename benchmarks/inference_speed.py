"""Seconds per image of the default model, decoder included, on a 1024-short-side illustration.

Times `regionflow extract`'s per-image work (the net at a working resolution, TTA 1, then the
decoder): the shipped decoding (colour decoder, net at short side 1536), the same at 1024
(`--short-side 1024`, the fast setting) and v1's (simple decoder at 1024), each in float32 and,
where the CPU runs bf16 natively (AMX / AVX512-BF16, the default there), in bf16; beside them, the
original's inference recipe on the same machine and image (net at short side 2048, 8 dihedral
variants, full decoder) as the reference, and prints the ratio. Also reports how much the bf16
path changes the regions (boundary F at 2 px of bf16 against the float32 result).

    python benchmarks/inference_speed.py [--image PATH] [--repeat 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from regionflow.models.config import InferenceConfig  # noqa: E402
from regionflow.models.device import cpu_has_fast_bf16  # noqa: E402
from regionflow.models.inference import predict_skeleton  # noqa: E402
from regionflow.models.weights import load_generator  # noqa: E402
from regionflow.regions.danbooregion.extraction import predicted_regions  # noqa: E402
from regionflow.regions.danbooregion.metrics import boundary_counts  # noqa: E402
from regionflow.storage.model_zoo import read_default_model  # noqa: E402

DEFAULT_IMAGE = ROOT / "tests" / "fixtures" / "danbooregion" / "metric_samples" / "1.input.png"


def run_once(net, image, config: InferenceConfig, decoder: str) -> tuple[float, float, np.ndarray]:
    t0 = time.perf_counter()
    skeleton = predict_skeleton(net, image, config=config)
    t1 = time.perf_counter()
    name, threshold = decoder.split("@")
    labels = predicted_regions(
        image, skeleton, predictor="model", decoder=name, threshold=int(threshold)
    )
    return t1 - t0, time.perf_counter() - t1, labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", default=str(DEFAULT_IMAGE))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)

    image = cv2.imread(args.image, cv2.IMREAD_COLOR)
    if image is None:
        parser.error(f"--image: cannot read {args.image}")
    short = min(image.shape[:2])
    image = cv2.resize(image, None, fx=1024 / short, fy=1024 / short, interpolation=cv2.INTER_AREA)
    net = load_generator(read_default_model())
    print(
        f"image {image.shape[1]}×{image.shape[0]}, {args.threads} threads, bf16 native: {cpu_has_fast_bf16()}"
    )

    precisions = ["float32"] + (["bf16"] if cpu_has_fast_bf16() else [])
    settings = [  # (what, decoder@threshold, short side)
        ("shipped", "colour@120", 1536),
        ("fast (--short-side 1024)", "colour@120", 1024),
        ("v1's", "simple@120", 1024),
    ]
    results = {}
    print("| decoding | precision | net s | decoder s | total s/image |")
    print("|---|---|---|---|---|")
    for what, decoder, short_side in settings:
        for precision in precisions:
            config = InferenceConfig(short_side=short_side, tta=1, cpu_amp=precision == "bf16")
            run_once(net, image, config, decoder)  # warm-up
            times = [run_once(net, image, config, decoder) for _ in range(args.repeat)]
            net_s = statistics.median(t[0] for t in times)
            dec_s = statistics.median(t[1] for t in times)
            results[(what, precision)] = (net_s + dec_s, times[-1][2])
            print(
                f"| {what}: {decoder}, short side {short_side} | {precision} | {net_s:.2f} | "
                f"{dec_s:.2f} | **{net_s + dec_s:.2f}** |"
            )

    if "bf16" in precisions:
        for what, *_ in settings:
            c = boundary_counts(
                results[(what, "float32")][1], results[(what, "bf16")][1], tolerance_px=2
            )
            p, r = c["matched_pred"] / c["n_pred"], c["matched_gt"] / c["n_gt"]
            print(f"bf16 vs float32 regions ({what}): boundary F@2px {2 * p * r / (p + r):.4f}")

    if not args.skip_reference:
        reference = InferenceConfig(short_side=2048, tta=8, tile=1024, overlap=128)
        net_s, dec_s, _ = run_once(net, image, reference, "full")
        ours = min(results.values(), key=lambda v: v[0])[0]
        print(
            f"\nreference (the original's recipe: short side 2048, TTA 8, full decoder, float32): "
            f"{net_s + dec_s:.1f} s/image; ours {ours:.2f} s → {(net_s + dec_s) / ours:.1f}× faster"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Training throughput of the DanbooRegion recipe: images/s and seconds per step.

Measures one full training step (generator + critic forward/backward + both Adam steps) with
data loading excluded (one pre-made batch on the device) and included (CropDataset + DataLoader
with the full augmentation on synthetic pages), at batch 4 and, on CUDA, at the largest batch
that fits. Steps are queued as training queues them (one host-device sync at the end of the
timed run), and on CUDA `nvidia-smi` samples how busy the GPU was meanwhile. Reference: the
original reports 1.6–2.0 s/step (0.5–0.6 it/s) at batch 4, 512² on a GTX 980M; the target on an
H100 is ≥ 50× that with the GPU ≥ 85 % busy.

    python benchmarks/train_throughput.py                      # the recipe: 512² crops
    python benchmarks/train_throughput.py --crop 128 --steps 3  # a quick CPU check
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time

import cv2
import numpy as np
import torch

from regionflow.models.config import TrainConfig
from regionflow.models.data import CropDataset, make_loader
from regionflow.models.device import resolve_runtime
from regionflow.models.train import build_state, queue_step

REFERENCE_S_PER_STEP = (1.6, 2.0)  # GTX 980M, batch 4, 512² (REFERENCE §1.4)


def synthetic_page(sample_id: int, short_side: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """A flat-colour page with rectangles and a crude skeleton-like target (picklable)."""
    rng = np.random.default_rng(sample_id)
    h, w = short_side, int(short_side * 1.4)
    page = np.full((h, w, 3), 255, np.uint8)
    for _ in range(60):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        dx, dy = (int(v) for v in rng.integers(h // 20, h // 4, 2))
        cv2.rectangle(
            page, (x, y), (x + dx, y + dy), tuple(int(c) for c in rng.integers(0, 256, 3)), -1
        )
    edges = cv2.Canny(page, 10, 20)
    skeleton = cv2.distanceTransform(255 - edges, cv2.DIST_L2, 3)
    skeleton = np.clip(skeleton * (255.0 / max(1.0, float(skeleton.max()))), 0, 255).astype(
        np.uint8
    )
    return page, skeleton


class SyntheticReader:
    def __init__(self, short_side: int) -> None:
        self.short_side = short_side

    def __call__(self, sample_id: int) -> tuple[np.ndarray, np.ndarray]:
        return synthetic_page(sample_id, self.short_side)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class GpuBusy:
    """Mean `nvidia-smi` utilisation (% of time a kernel ran) while the block runs; None on CPU
    or without nvidia-smi. Sampled every 100 ms by a child process, stopped by PID."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.samples: list[float] = []
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> GpuBusy:
        if self.device.type == "cuda" and shutil.which("nvidia-smi"):
            index = (
                self.device.index if self.device.index is not None else torch.cuda.current_device()
            )
            self.process = subprocess.Popen(
                [
                    "nvidia-smi",
                    f"--id={index}",
                    "--query-gpu=utilization.gpu",
                    "--format=csv,noheader,nounits",
                    "--loop-ms=100",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        return self

    def __exit__(self, *exc) -> None:
        if self.process is None:
            return
        self.process.terminate()
        out, _ = self.process.communicate(timeout=10)
        self.samples = [float(line) for line in out.split() if line.strip().isdigit()]

    @property
    def mean(self) -> float | None:
        return sum(self.samples) / len(self.samples) if self.samples else None


def time_steps(config, runtime, batches, *, warmup: int, steps: int) -> dict[str, float | None]:
    """Throughput over `steps` steps after `warmup`, from an iterator of uint8 batches.

    Steps are queued the way training queues them (`queue_step`: no host-device sync per
    step); the clock stops after one sync at the end, so the numbers are the device's
    sustained rate, data loading included when `batches` is a DataLoader.
    """
    torch.manual_seed(0)
    state = build_state(config, runtime)
    iterator = iter(batches)
    for _ in range(warmup):
        images, skeletons = next(iterator)
        queue_step(state, images, skeletons, config=config, runtime=runtime)
    _sync(runtime.device)
    waited = 0.0
    with GpuBusy(runtime.device) as busy:
        started = time.perf_counter()
        for _ in range(steps):
            before = time.perf_counter()
            images, skeletons = next(iterator)
            waited += time.perf_counter() - before
            queue_step(state, images, skeletons, config=config, runtime=runtime)
        _sync(runtime.device)
        wall = time.perf_counter() - started
    return {
        "s_per_step": wall / steps,
        "images_per_s": config.batch_size * steps / wall,
        "data_wait_s": waited / steps,
        "gpu_busy": busy.mean,
    }


def fixed_batches(config, runtime):
    g = torch.Generator().manual_seed(0)
    shape = (config.batch_size, 3, config.crop, config.crop)
    images = torch.randint(0, 256, shape, dtype=torch.uint8, generator=g).to(runtime.device)
    skeletons = torch.randint(
        0, 256, (config.batch_size, 1, config.crop, config.crop), dtype=torch.uint8, generator=g
    )
    skeletons = skeletons.to(runtime.device)
    while True:
        yield images, skeletons


def loader_batches(config, runtime, total_steps: int):
    reader = SyntheticReader(short_side=max(64, config.crop * 2))
    dataset = CropDataset.from_config(list(range(16)), reader, config)
    return make_loader(
        dataset,
        start_step=0,
        stop_step=total_steps,
        num_workers=config.num_workers,
        pin_memory=runtime.device.type == "cuda",
    )


def largest_batch(config, runtime, start: int, limit: int) -> int:
    """Double the batch from `start` until a step runs out of CUDA memory."""
    fits = start
    batch = start * 2
    while batch <= limit:
        try:
            trial = config.replace(batch_size=batch)
            time_steps(trial, runtime, fixed_batches(trial, runtime), warmup=1, steps=1)
            fits = batch
            batch *= 2
        except torch.OutOfMemoryError:
            break
        finally:
            torch.cuda.empty_cache()
    return fits


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--crop", type=int, default=512)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--loss", default="danbooregion")
    parser.add_argument("--num-workers", type=int, default=4)
    parser.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads (0 = torch default)"
    )
    parser.add_argument("--no-amp", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--max-batch", type=int, default=256, help="search limit on CUDA")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    config = TrainConfig(
        loss=args.loss,
        crop=args.crop,
        batch_size=args.batch,
        device=args.device,
        amp=not args.no_amp,
        compile=args.compile,
        num_workers=args.num_workers,
    )
    runtime = resolve_runtime(
        config.device, amp=config.amp, channels_last=config.channels_last, compile=config.compile
    )
    info = runtime.to_dict()
    print(
        f"device: {info['device_name']} ({info['device']}), amp={info['amp_dtype']}, "
        f"channels_last={info['channels_last']}, torch {info['torch']}, threads {torch.get_num_threads()}"
    )
    print(f"loss {config.loss}, crop {config.crop}, steps {args.steps} after {args.warmup} warm-up")

    batches = [config.batch_size]
    if runtime.device.type == "cuda":
        batches.append(largest_batch(config, runtime, config.batch_size, args.max_batch))
    for batch in dict.fromkeys(batches):
        trial = config.replace(batch_size=batch)
        excluded = time_steps(
            trial, runtime, fixed_batches(trial, runtime), warmup=args.warmup, steps=args.steps
        )
        included = time_steps(
            trial,
            runtime,
            loader_batches(trial, runtime, args.warmup + args.steps),
            warmup=args.warmup,
            steps=args.steps,
        )
        for label, r in (("data excluded", excluded), ("data included", included)):
            busy = "n/a" if r["gpu_busy"] is None else f"{r['gpu_busy']:.0f} %"
            line = (
                f"batch {batch:4d} {label}: {r['s_per_step']:.4f} s/step, "
                f"{1 / r['s_per_step']:.2f} it/s, {r['images_per_s']:.2f} images/s, "
                f"data wait {r['data_wait_s']:.4f} s/step, GPU busy {busy}"
            )
            if batch == 4 and config.crop == 512:
                # The original: 1.6–2.0 s/step = 0.5–0.6 it/s at batch 4 (REFERENCE §1.4).
                slow, fast = REFERENCE_S_PER_STEP
                line += f" | vs original {slow / r['s_per_step']:.1f}–{fast / r['s_per_step']:.1f}×"
            print(line)


if __name__ == "__main__":
    main()

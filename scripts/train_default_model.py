"""Train regionflow's default region model on CPU from synthetic illustrations only.

The recipe behind `models/weights/default.pt` (see docs/model_card.md):

* data: `regions.synthetic.illustration` pictures (character-like, cel-shaded, lined) plus a quarter of
  `regions.synthetic.cartoons` shape pictures, each with its DanbooRegion skeleton target (512 Jacobi
  rounds), generated once by seed into `<run>/data/` (resumable: finished samples are kept);
* the exact DanbooRegion U-Net (7,862,529 parameters), L1 on the target, Adam with step decay,
  random crops at the data's own scale (`train.zoom`) with the original flips and photometric
  augmentation;
* checkpoints every `--checkpoint-every` steps under `<run>/checkpoints/`; re-running the same
  command resumes from the newest one;
* every `--eval-every` steps the model is scored on the real DanbooRegion pairs we hold (boundary
  F at 2 px through the full decoder) and on held-out synthetic pictures; the rows go to
  `<run>/curve.csv`. The real pairs are only measured, never trained on or used to pick anything.

Usage (about 85 minutes on the 2-core project VM, an Intel Xeon with AMX bf16):
    python scripts/train_default_model.py --run runs/default-model
    python scripts/train_default_model.py --run runs/default-model --export models/weights/default.pt
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED = 2026
VAL_SEEDS = range(10_000, 10_006)
THRESHOLDS = {"full": (95, 115, 135, 155, 175), "simple": (80, 100, 120, 140, 160)}


def _sample_size(rng: np.random.Generator) -> tuple[int, int]:
    short = int(rng.integers(640, 897))
    long = int(short * rng.uniform(1.0, 1.45))
    return (long, short) if rng.random() < 0.7 else (short, long)


def make_sample(index: int) -> tuple[np.ndarray, np.ndarray]:
    """Sample `index` of the training set: (image BGR uint8, skeleton target uint8)."""
    from regionflow.regions.danbooregion.skeleton import skeleton_target
    from regionflow.regions.synthetic.cartoons import synthetic_sample
    from regionflow.regions.synthetic.illustration import illustration_sample

    rng = np.random.default_rng((SEED, index))
    if index % 4 == 3:  # a quarter of plain shape pictures keeps the model general
        image, region_map = synthetic_sample(SEED * 100_003 + index, height=512, width=512)
    else:
        h, w = _sample_size(rng)
        image, region_map = illustration_sample(SEED * 100_003 + index, height=h, width=w)
    return image, skeleton_target(region_map, seed=index)


def _write_sample(args: tuple[int, str]) -> int:
    import cv2

    cv2.setNumThreads(1)
    index, folder = args
    path = Path(folder) / f"{index:05d}.npz"
    if not path.exists():
        image, skeleton = make_sample(index)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, image=image, skeleton=skeleton)
        tmp.replace(path)
    return index


def build_data(folder: Path, count: int, workers: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    from tqdm import tqdm

    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(i, str(folder)) for i in range(count)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for _ in tqdm(pool.imap_unordered(_write_sample, jobs), total=count, desc="data"):
            pass
    data = {}
    for i in range(count):
        with np.load(folder / f"{i:05d}.npz") as z:
            data[i] = (z["image"], z["skeleton"])
    return data


class _Reader:
    def __init__(self, data):
        self.data = data

    def __call__(self, sample_id):
        return self.data[sample_id]


def _val_pairs():
    import cv2

    from regionflow.regions.synthetic.illustration import illustration_scene

    for seed in VAL_SEEDS:
        scene = illustration_scene(seed, height=896, width=640)
        yield f"synthetic-{seed}", scene.image, scene.labels.astype(np.int32)
    del cv2


def make_eval(run: Path, fixtures: Path | None):
    from benchmarks.real_images import load_real_pairs, score_model

    real = load_real_pairs(fixtures) if fixtures else []
    synthetic = list(_val_pairs())
    curve = run / "curve.csv"
    started = time.time()

    def evaluate(net, step: int) -> dict[str, float]:
        row: dict[str, float] = {"step": step, "minutes": round((time.time() - started) / 60, 1)}
        for name, pairs in (("real", real), ("synthetic", synthetic)):
            if not pairs:
                continue
            scores = score_model(net, pairs)
            for key, value in scores.items():
                row[f"{name}_{key}"] = round(value, 4)
        new = not curve.exists()
        with curve.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)
        print(f"\n[eval step {step}] {row}", flush=True)
        return {k: float(v) for k, v in row.items() if k != "step"}

    return evaluate


def choose_decoding(checkpoint) -> tuple[str, int, dict[str, float]]:
    """The decoder and marker threshold with the best boundary F at 2 px on held-out *synthetic*
    pictures (the real pairs play no part in any choice)."""
    from benchmarks.real_images import TOLERANCE_PX, decode, model_skeleton, pooled_prf
    from regionflow.models.weights import load_generator
    from regionflow.regions.danbooregion.metrics import boundary_counts

    net = load_generator(checkpoint)
    pairs = [(image, gt, model_skeleton(net, image)) for _, image, gt in _val_pairs()]
    scores = {}
    for decoder, thresholds in THRESHOLDS.items():
        for threshold in thresholds:
            counts = [
                boundary_counts(
                    gt, decode(sk, image, decoder, threshold), tolerance_px=TOLERANCE_PX
                )
                for image, gt, sk in pairs
            ]
            scores[f"{decoder}@{threshold}"] = round(pooled_prf(counts)["F"], 4)
    best = max(scores, key=scores.get)
    decoder, threshold = best.split("@")
    return decoder, int(threshold), scores


def plot_curve(curve: Path, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    table = pd.read_csv(curve).drop_duplicates("step", keep="last").sort_values("step")
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=120)
    for column, label in (
        ("real_colour_F", "real pairs (5), colour decoder"),
        ("real_simple_F", "real pairs (5), simple decoder"),
        ("synthetic_colour_F", "synthetic val (6), colour decoder"),
    ):
        if column in table:
            ax.plot(table["step"], table[column], marker="o", label=label)
    ax.axhline(0.604, color="grey", linestyle=":", label="felzenszwalb, 3 metric samples")
    ax.set_xlabel("training step (batch 8, 256² crops)")
    ax.set_ylabel("boundary F at 2 px")
    ax.set_ylim(0.4, 0.9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    print(f"wrote {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", default="runs/default-model", help="run folder (resumable)")
    parser.add_argument("--samples", type=int, default=800)
    parser.add_argument("--steps", type=int, default=5500)
    parser.add_argument("--milestones", default="4300,5100")
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--checkpoint-every", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2, help="processes for data generation")
    parser.add_argument(
        "--low-contrast",
        type=float,
        default=0.0,
        help="probability of a contrast-squeezed crop (train.low_contrast; 0: v1's recipe)",
    )
    parser.add_argument(
        "--zoom", default="0.8,1.25", help="crop short side range relative to the picture's own"
    )
    parser.add_argument(
        "--init",
        default="default",
        help="weights to start from: 'default' (the shipped model: fine-tuning, the v2 recipe), "
        "a checkpoint path, or 'none' (from scratch, the v1 recipe)",
    )
    parser.add_argument(
        "--fixtures",
        default=str(ROOT.parent / "shared" / "fixtures" / "danbooregion"),
        help="real DanbooRegion pairs to measure on (evaluation only); '' to skip",
    )
    parser.add_argument(
        "--export", help="write the newest checkpoint's generator here (fp16) and exit"
    )
    parser.add_argument(
        "--decoding",
        help="with --export: record this decoding, DECODER@THRESHOLD@SHORT_SIDE (e.g. "
        "colour@120@1536, the shipped model's), instead of synthetic val's best at short side 1024",
    )
    parser.add_argument("--plot", help="plot <run>/curve.csv (F@2px against steps) here and exit")
    args = parser.parse_args(argv)
    run = Path(args.run)

    import torch

    from regionflow.models.config import TrainConfig
    from regionflow.models.data import CropDataset
    from regionflow.models.train import fit
    from regionflow.storage.checkpoints import CheckpointStore
    from regionflow.storage.model_zoo import read_model

    if args.plot:
        plot_curve(run / "curve.csv", Path(args.plot))
        return 0
    checkpoints = CheckpointStore(run / "checkpoints", keep_last=2)
    if args.export:
        from regionflow.storage.model_zoo import export_weights

        latest = checkpoints.latest()
        if latest is None:
            parser.error(f"--export: no checkpoint under {run / 'checkpoints'}")
        decoder, threshold, scores = choose_decoding(latest)
        short_side = None  # extract's default (1024)
        if args.decoding:
            decoder, threshold, short_side = args.decoding.split("@")
            threshold, short_side = int(threshold), int(short_side)
        recipe = vars(args) | {"decoder_F_on_synthetic_val": scores}
        path = export_weights(
            latest,
            args.export,
            recipe=recipe,
            decoder=decoder,
            threshold=threshold,
            short_side=short_side,
        )
        print(
            f"wrote {path} ({decoder} decoder @ {threshold}, short side {short_side}; "
            f"synthetic val F@2px {scores})"
        )
        return 0

    torch.manual_seed(0)
    data = build_data(run / "data", args.samples, args.workers)
    milestones = tuple(int(m) for m in args.milestones.split(",") if m)
    config = TrainConfig(
        loss="l1",
        init=None if args.init == "none" else args.init,
        steps=args.steps,
        batch_size=args.batch,
        crop=args.crop,
        lr=args.lr,
        lr_milestones=milestones,
        zoom=tuple(float(z) for z in args.zoom.split(",")),
        low_contrast=args.low_contrast,
        checkpoint_every=args.checkpoint_every,
        keep_last=2,
        preview_every=0,
        val_every=args.eval_every,
        log_every=25,
        seed=SEED,
        device="cpu",
        cpu_amp=True,  # bf16 + channels_last where the CPU has native bf16 (≈4× faster here)
        num_workers=0,
    )
    (run / "config.json").write_text(config.to_json())
    dataset = CropDataset.from_config(sorted(data), _Reader(data), config)
    fixtures = Path(args.fixtures) if args.fixtures else None
    evaluate = make_eval(run, fixtures if fixtures and fixtures.exists() else None)
    init = None if config.init is None else read_model(config.init)["model"]
    state = fit(config, dataset, checkpoints=checkpoints, val_fn=evaluate, init_weights=init)
    print(f"finished at step {state.step}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Region quality on every real DanbooRegion pair we hold, side by side (evaluation only).

Pairs: the three metric samples (`metric_samples/N.input.png` + `N.ground_truth.png`, with the
released model's `N.estimation.png`), `illustration/X` and the skeleton figure (`input.jpg` +
`region.png`). These pictures are never trained on and never used to choose anything.

Predictors, all scored against the same ground truth in one run:
* `regionflow` — the shipped default model through `regionflow extract`'s path (the net at the
  model's working resolution, TTA 1, bf16 where the CPU has it, the model's own decoder);
* `felzenszwalb` — the classical baseline with our defaults;
* `ground_truth` — the round trip GT → skeleton target → decoder (the representation's ceiling);
* `released` — the original authors' estimations, where the repository ships them.

Scores: boundary precision / recall / F with a 2 px tolerance at the ground truth's size and
one-to-one matching (counts pooled over images), the BSDS-style 0.0075·diagonal F beside it, and
the paper's AP / OIS / ODS.

`--variants` prints instead one table of decodings of the same model (decoder × working
resolution) on the metric samples, all five pairs and the synthetic val pictures, side by side:
the table docs/model_card.md's "Decoding" section comes from.

    python benchmarks/real_images.py [--fixtures ../shared/fixtures/danbooregion] [--checkpoint C]
    python benchmarks/real_images.py --variants
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from regionflow.regions.danbooregion.labels import region_labels  # noqa: E402
from regionflow.regions.danbooregion.metrics import (  # noqa: E402
    boundary_counts,
    danbooregion_counts,
    danbooregion_scores,
)

TOLERANCE_PX = 2.0
DEFAULT_FIXTURES = ROOT.parent / "shared" / "fixtures" / "danbooregion"


def load_real_pairs(fixtures: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """[(name, image (H, W, 3) uint8 BGR at the GT's size, GT labels (H, W) int32)]."""
    fixtures = Path(fixtures)
    found = [
        (f"metric-{i}", f"metric_samples/{i}.input.png", f"metric_samples/{i}.ground_truth.png")
        for i in (1, 2, 3)
    ]
    found += [
        ("illustration-X", "illustration/X.image.png", "illustration/X.region.png"),
        ("skeleton-figure", "skeleton_figures/input.jpg", "skeleton_figures/region.png"),
    ]
    pairs = []
    for name, image_path, gt_path in found:
        if not (fixtures / image_path).exists() or not (fixtures / gt_path).exists():
            continue
        image = cv2.imread(str(fixtures / image_path), cv2.IMREAD_COLOR)
        gt = region_labels(cv2.imread(str(fixtures / gt_path), cv2.IMREAD_COLOR)).astype(np.int32)
        if image.shape[:2] != gt.shape:
            image = cv2.resize(image, gt.shape[::-1], interpolation=cv2.INTER_AREA)
        pairs.append((name, image, gt))
    return pairs


def pooled_prf(counts: list[dict]) -> dict[str, float]:
    total = {k: sum(c[k] for c in counts) for k in ("matched_pred", "n_pred", "matched_gt", "n_gt")}
    p = total["matched_pred"] / max(1, total["n_pred"])
    r = total["matched_gt"] / max(1, total["n_gt"])
    return {"P": p, "R": r, "F": 0.0 if p + r == 0 else 2 * p * r / (p + r)}


def model_skeleton(
    net, image: np.ndarray, *, short_side: int | None = None, cpu_amp: bool = False
) -> np.ndarray:
    """The region model's skeleton map of `image` (returned at the image's size), TTA 1, the net
    run with the short side at `short_side` px (None: the image's own)."""
    from regionflow.models.config import InferenceConfig
    from regionflow.models.inference import predict_skeleton

    config = InferenceConfig(short_side=short_side, tta=1, cpu_amp=cpu_amp)
    return predict_skeleton(net, image, config=config)


def decode(skeleton: np.ndarray, image: np.ndarray, decoder: str, threshold: int | None = None):
    from regionflow.regions.danbooregion.extraction import predicted_regions

    return predicted_regions(
        image, skeleton, predictor="model", decoder=decoder, threshold=threshold
    )


def model_regions(
    net,
    image: np.ndarray,
    *,
    decoder: str = "full",
    threshold: int | None = None,
    short_side: int | None = None,
    cpu_amp: bool = False,
):
    """Regions of `image` by the region model `net`, as `regionflow extract` computes them."""
    skeleton = model_skeleton(net, image, short_side=short_side, cpu_amp=cpu_amp)
    return decode(skeleton, image, decoder, threshold)


def score_model(net, pairs, *, scale: float = 1.5) -> dict[str, float]:
    """Pooled boundary P/R/F at 2 px of `net` on `pairs`, the net at `scale` × each picture's
    short side (bf16 where native), through the colour and simple decoders at threshold 120."""
    counts: dict[str, list] = {"colour": [], "simple": []}
    for _, image, gt in pairs:
        short = round(scale * min(image.shape[:2]))
        skeleton = model_skeleton(net, image, short_side=short, cpu_amp=True)
        for decoder, found in counts.items():
            labels = decode(skeleton, image, decoder, 120)
            found.append(boundary_counts(gt, labels, tolerance_px=TOLERANCE_PX))
    out: dict[str, float] = {}
    for decoder, found in counts.items():
        for key, value in pooled_prf(found).items():
            out[f"{decoder}_{key}"] = value
    return out


def _released(fixtures: Path, name: str, shape) -> np.ndarray | None:
    if not name.startswith("metric-"):
        return None
    path = fixtures / f"metric_samples/{name.split('-')[1]}.estimation.png"
    if not path.exists():
        return None
    labels = region_labels(cv2.imread(str(path), cv2.IMREAD_COLOR)).astype(np.int32)
    return cv2.resize(labels, shape[::-1], interpolation=cv2.INTER_NEAREST)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="region quality on the real DanbooRegion pairs")
    parser.add_argument("--fixtures", default=str(DEFAULT_FIXTURES))
    parser.add_argument("--checkpoint", default=None, help="default: the shipped model")
    parser.add_argument(
        "--figure", default=None, help="write a failure picture (boundaries vs ground truth) here"
    )
    parser.add_argument(
        "--decoder",
        default=None,
        choices=["full", "simple", "colour"],
        help="default: the model's own",
    )
    parser.add_argument(
        "--threshold", type=int, default=None, help="default: the shipped model's own"
    )
    parser.add_argument(
        "--short-side", type=int, default=None, help="default: the shipped model's own (0: as is)"
    )
    parser.add_argument("--float32", action="store_true", help="no bf16 even where the CPU has it")
    parser.add_argument(
        "--variants", action="store_true", help="compare decodings of the model (see above)"
    )
    args = parser.parse_args(argv)

    from regionflow.models.weights import load_generator
    from regionflow.regions.danbooregion.baselines import felzenszwalb_regions
    from regionflow.regions.danbooregion.decode import decode_simple
    from regionflow.regions.danbooregion.skeleton import skeleton_target
    from regionflow.storage.model_zoo import default_decoding, read_model

    fixtures = Path(args.fixtures)
    pairs = load_real_pairs(fixtures)
    if not pairs:
        parser.error(f"--fixtures: no real pairs under {fixtures}")
    net = load_generator(read_model(args.checkpoint))
    shipped = (
        default_decoding() if args.checkpoint is None else {"decoder": "full", "short_side": 1024}
    )
    decoder = args.decoder or shipped["decoder"]
    threshold = args.threshold or (
        shipped.get("threshold") if decoder == shipped["decoder"] else None
    )
    short_side = (
        shipped.get("short_side", 1024) if args.short_side is None else (args.short_side or None)
    )
    inference = {"short_side": short_side, "cpu_amp": not args.float32}
    if args.variants:
        print_variants(net, pairs, cpu_amp=not args.float32)
        return 0

    rows: dict[str, dict[str, list]] = {}
    seconds: dict[str, float] = {}

    def add(predictor, name, gt, labels, image_sh):
        r = rows.setdefault(predictor, {"px": [], "diag": [], "dr": [], "names": []})
        r["px"].append(boundary_counts(gt, labels, tolerance_px=TOLERANCE_PX))
        r["diag"].append(boundary_counts(gt, labels))
        r["dr"].extend({**c, "image": name} for c in danbooregion_counts(gt, labels))
        r["names"].append(name)

    for name, image, gt in pairs:
        t = time.perf_counter()
        ours = model_regions(net, image, decoder=decoder, threshold=threshold, **inference)
        seconds["regionflow"] = seconds.get("regionflow", 0) + time.perf_counter() - t
        add("regionflow", name, gt, ours, image.shape)
        t = time.perf_counter()
        felz = felzenszwalb_regions(image)
        seconds["felzenszwalb"] = seconds.get("felzenszwalb", 0) + time.perf_counter() - t
        add("felzenszwalb", name, gt, felz, image.shape)
        add("ground_truth", name, gt, decode_simple(skeleton_target(gt_map(gt))), image.shape)
        released = _released(fixtures, name, gt.shape)
        if released is not None:
            add("released", name, gt, released, image.shape)

    metric_names = [n for n, _, _ in pairs if n.startswith("metric-")]
    print(
        f"real pairs: {[n for n, _, _ in pairs]}; decoder {decoder}, threshold {threshold}, "
        f"short side {short_side}, bf16 where native: {not args.float32}"
    )
    for subset, keep in (("3 metric samples", set(metric_names)), ("all real pairs", None)):
        print(f"\n## {subset}")
        print("| predictor | P@2px | R@2px | F@2px | F@0.0075diag | AP | OIS | ODS | s/image |")
        print("|---|---|---|---|---|---|---|---|---|")
        for predictor, r in rows.items():
            idx = [i for i, n in enumerate(r["names"]) if keep is None or n in keep]
            if keep is not None and len(idx) < len(keep):
                continue
            px = pooled_prf([r["px"][i] for i in idx])
            diag = pooled_prf([r["diag"][i] for i in idx])
            dr = danbooregion_scores([c for c in r["dr"] if keep is None or c["image"] in keep])
            per = seconds.get(predictor)
            per_s = f"{per / len(pairs):.2f}" if per is not None else "—"
            print(
                f"| {predictor} | {px['P']:.3f} | {px['R']:.3f} | **{px['F']:.3f}** | "
                f"{diag['F']:.3f} | {dr['AP']:.4f} | {dr['OIS']:.4f} | {dr['ODS']:.4f} | {per_s} |"
            )
    if args.figure:
        worst = min(  # the worst of the metric samples: a typical picture, not the figure
            (i for i, n in enumerate(rows["regionflow"]["names"]) if n in metric_names),
            key=lambda i: pooled_prf([rows["regionflow"]["px"][i]])["F"],
        )
        name, image, gt = pairs[worst]
        ours = model_regions(net, image, decoder=decoder, threshold=threshold, **inference)
        write_failure_figure(Path(args.figure), image, gt, ours)
        print(f"failure picture ({name}): {args.figure}")
    print("\nper image F@2px:")
    for predictor, r in rows.items():
        cells = ", ".join(
            f"{n} {pooled_prf([c])['F']:.3f}" for n, c in zip(r["names"], r["px"], strict=True)
        )
        print(f"  {predictor}: {cells}")
    return 0


# (decoder, threshold, short side as a multiple of the picture's own): the shipped model's
# decodings worth comparing — v1's, the colour decoder, the original's full inference at 2×.
VARIANTS = (
    ("simple", 120, 1.0),
    ("colour", 120, 1.0),
    ("simple", 120, 1.5),
    ("colour", 120, 1.5),
    ("colour", 140, 1.5),
    ("full", 135, 2.0),
    ("full", 100, 2.0),
)


def print_variants(net, pairs, *, cpu_amp: bool) -> None:
    """One row per decoding in `VARIANTS`: pooled P/R/F at 2 px on the metric samples, on all
    real pairs and on the synthetic val pictures (scripts/train_default_model.py's)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from train_default_model import _val_pairs

    sets = {
        "3 metric samples": [p for p in pairs if p[0].startswith("metric-")],
        "all real pairs": pairs,
        "synthetic val": list(_val_pairs()),
    }
    head = " | ".join(f"{name} P / R / F" for name in sets)
    print(f"| decoder | short side | {head} |\n|---|---|" + "---|" * len(sets))
    skeletons: dict = {}
    for decoder, threshold, scale in VARIANTS:
        cells = []
        for subset in sets.values():
            counts = []
            for name, image, gt in subset:
                short = round(scale * min(image.shape[:2]))
                if (name, short) not in skeletons:
                    skeletons[name, short] = model_skeleton(
                        net, image, short_side=short, cpu_amp=cpu_amp
                    )
                labels = decode(skeletons[name, short], image, decoder, threshold)
                counts.append(boundary_counts(gt, labels, tolerance_px=TOLERANCE_PX))
            s = pooled_prf(counts)
            cells.append(f"{s['P']:.3f} / {s['R']:.3f} / **{s['F']:.3f}**")
        print(f"| {decoder}@{threshold} | {scale:g}× | " + " | ".join(cells) + " |", flush=True)


def write_failure_figure(path: Path, image: np.ndarray, gt: np.ndarray, pred: np.ndarray) -> None:
    """Image | boundaries: found (dark: ours within 2 px of the ground truth's), missed (green:
    ground truth with none of ours near), spurious (magenta: ours with no ground truth near)."""
    from regionflow.regions.danbooregion.metrics import boundary_map

    g, p = boundary_map(gt), boundary_map(pred)
    near_g = cv2.dilate(g.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    near_p = cv2.dilate(p.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    overlay = (image * 0.35 + 165).astype(np.uint8)
    overlay[g & ~near_p] = (0, 170, 0)  # missed
    overlay[p & ~near_g] = (200, 0, 200)  # spurious
    overlay[p & near_g] = (40, 40, 40)  # found
    both = np.concatenate([image, overlay], axis=1)
    scale = 1800 / both.shape[1]
    both = cv2.resize(both, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), both, [cv2.IMWRITE_JPEG_QUALITY, 85])


def gt_map(labels: np.ndarray) -> np.ndarray:
    """A region map (H, W, 3) uint8 whose regions are `labels` (unique colour per label)."""
    lab = labels.astype(np.int64)
    return np.stack([lab & 255, (lab >> 8) & 255, (lab >> 16) & 255], axis=-1).astype(np.uint8)


if __name__ == "__main__":
    raise SystemExit(main())

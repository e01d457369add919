"""How far are our synthetic pictures from real illustrations? Statistics side by side + a grid.

Compares the real DanbooRegion pairs we hold (evaluation only: they are measured here, never
used to fit anything) with the two built-in generators at a real picture's scale:
`regions.synthetic.cartoons` (random shapes) and `regions.synthetic.illustration` (character-like, cel-shaded).

Per set: regions per Mpx, median region area, share of regions < 64 px and > 10,000 px, a
line-art share proxy (pixels ≥ 40 grey levels darker than their 9×9 median), mean saturation and
brightness, share of near-white pixels. Writes `docs/images/synthetic_vs_real.jpg` (real pictures
on the top row, illustration-style below, shape-style at the bottom).

    python benchmarks/synthetic_gap.py [--fixtures ../shared/fixtures/danbooregion] [--n 6]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.real_images import DEFAULT_FIXTURES, load_real_pairs  # noqa: E402
from regionflow.regions.synthetic.cartoons import synthetic_scene  # noqa: E402
from regionflow.regions.synthetic.illustration import illustration_scene  # noqa: E402


def picture_stats(image: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    area = np.bincount(labels.ravel())[1:]
    area = area[area > 0]
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    dark = (cv2.medianBlur(grey, 9).astype(np.int16) - grey) >= 40
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    return {
        "regions_per_Mpx": area.size / (labels.size / 1e6),
        "median_area": float(np.median(area)),
        "small_share": float((area < 64).mean()),
        "large_share": float((area > 10_000).mean()),
        "line_share": float(dark.mean()),
        "saturation": float(hsv[..., 1].mean() / 255),
        "brightness": float(hsv[..., 2].mean() / 255),
        "near_white": float((image.min(axis=2) > 230).mean()),
    }


def _tile(image: np.ndarray, height: int = 300) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.resize(image, (round(w * height / h), height), interpolation=cv2.INTER_AREA)


def _row(images: list[np.ndarray], width: int) -> np.ndarray:
    row = np.concatenate([_tile(i) for i in images], axis=1)[:, :width]
    if row.shape[1] < width:
        row = np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0)), constant_values=255)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="synthetic vs real picture statistics")
    parser.add_argument("--fixtures", default=str(DEFAULT_FIXTURES))
    parser.add_argument("--n", type=int, default=6, help="synthetic pictures per generator")
    parser.add_argument("--grid", default=str(ROOT / "docs" / "images" / "synthetic_vs_real.jpg"))
    args = parser.parse_args(argv)

    real = [(image, gt) for _, image, gt in load_real_pairs(Path(args.fixtures))]
    sets = {
        "real (DanbooRegion)": real,
        "illustration style": [
            (s.image, s.labels)
            for s in (illustration_scene(i, height=1280, width=1024) for i in range(args.n))
        ],
        "shape style": [
            (s.image, s.labels)
            for s in (synthetic_scene(i, height=1280, width=1024) for i in range(args.n))
        ],
    }
    keys = list(picture_stats(*sets["shape style"][0]))
    print("| set | n | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 2) + "|")
    for name, pairs in sets.items():
        stats = [picture_stats(image, labels.astype(np.int64)) for image, labels in pairs]
        cells = []
        for k in keys:
            v = np.array([s[k] for s in stats])
            fmt = "{:.0f}" if k in ("regions_per_Mpx", "median_area") else "{:.3f}"
            cells.append(
                f"{fmt.format(np.median(v))} ({fmt.format(v.min())}–{fmt.format(v.max())})"
            )
        print(f"| {name} | {len(pairs)} | " + " | ".join(cells) + " |")

    if real:
        width = sum(_tile(i).shape[1] for i, _ in real[:4])
        rows = [_row([i for i, _ in pairs[:4]], width) for pairs in sets.values()]
        Path(args.grid).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(args.grid, np.concatenate(rows, axis=0), [cv2.IMWRITE_JPEG_QUALITY, 85])
        print(f"\ngrid: {args.grid} (rows: {', '.join(sets)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Panel / cut detection on synthetic comics: ours against the seed, side by side.

Generates a seeded synthetic set (``regions.comics.comic_synth``: webtoon strips and comic pages with
white, black, tinted and gradient gutters, frameless panels, speech bubbles, JPEG) and prints
precision, recall, F1 at IoU ≥ 0.5, reading-order accuracy, mean IoU and time per image for:

strips
  ours (fragments separate: panels scored, fragments ignored), ours (fragments merged into the
  nearest cut: every box scored), seed-rough (the seed's exact gutter rule), and seed (rough +
  the seed's Canny/Hough final stage: very slow on OpenCV 5, so run on the first
  ``--seed-final`` strips only and reported next to ours on the same strips).
pages
  ours (``detect_panels``, 2-D) and seed-rough run on the page as if it were a strip: the seed
  has no page detector, and its cutter only yields horizontal bands.
page categories (issue 14)
  F1 per failure category of real manga pages (``regions.comics.comic_synth.synth_manga_page``: grid,
  slanted gutters, bleed, insets, frame-line-only splits, art and bubbles across gutters, dark
  panels on black, frameless panels, staggered layouts no straight gutter crosses), ours next
  to the old rule (``regions.comics.panels_legacy.detect_panels_legacy``), each on the page as
  rendered and as scanned (``regions.comics.scanned.scanned_page``: tilted up to 1.5°, tinted
  grainy paper, binding shadow, page number, slight blur, a dark scanner border on 40 % of
  pages), then the detector's CPU seconds per page at 1100×1600 (``time.process_time``, one
  OpenCV thread: wall time on a shared machine measures the neighbours).

``--baseline REV`` adds ``detect_panels`` as it was at a git revision, on the same pages
(before/after columns). ``--scales 1.4,1.8`` scores the category pages enlarged too (a scan at
a higher resolution), F1 over all categories and CPU seconds per page at each size.

Usage: ``python benchmarks/panels.py [--strips 100] [--pages 100] [--per-category 30]
[--seed 0] [--seed-final 10] [--baseline REV] [--scales 1.4,1.8]``
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2

from regionflow.regions.comics.comic_synth import (
    PAGE_CATEGORIES,
    synth_manga_page,
    synth_page,
    synth_strip,
)
from regionflow.regions.comics.cuts import detect_cuts
from regionflow.regions.comics.panel_eval import panel_counts, panel_scores
from regionflow.regions.comics.panels import detect_panels
from regionflow.regions.comics.panels_legacy import detect_panels_legacy
from regionflow.regions.comics.scanned import scanned_page


def _baseline(revision: str) -> Callable:
    """``detect_panels`` from ``regions/comics/panels.py`` as it was at git ``revision`` (its
    imports resolve against the current tree), to score before and after on the same pages."""
    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(
        ["git", "show", f"{revision}:regions/comics/panels.py"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="panels-baseline-")) / "panels_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("panels_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["panels_baseline"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.detect_panels


def _run(name: str, samples, detect: Callable) -> dict:
    counts, elapsed = [], 0.0
    for sample in samples:
        start = time.process_time()
        found = detect(sample)
        elapsed += time.process_time() - start
        counts.append(panel_counts(found, sample.panels))
    scores = panel_scores(counts)
    scores["name"] = name
    scores["seconds"] = elapsed / max(1, len(samples))
    return scores


def _print(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    print(
        f"  {'detector':<34} {'F1':>6} {'prec':>6} {'recall':>6} {'order':>6} {'IoU':>6} {'s/img':>7}"
    )
    for r in rows:
        print(
            f"  {r['name']:<34} {r['f1']:6.3f} {r['precision']:6.3f} {r['recall']:6.3f} "
            f"{r['reading_order']:6.3f} {r['mean_iou']:6.3f} {r['seconds']:7.3f}"
        )


def _categories(n: int, seed: int, baseline: Callable | None = None) -> None:
    """F1 per category, ours against the old rule (and ``baseline``, an earlier revision of
    ours), as rendered and as scanned (tilted, tinted, shadowed, numbered, soft, scanner border:
    :func:`scanned_page`), and CPU seconds per 1100×1600 page."""
    if n <= 0:
        return
    print(f"page categories: {n} pages each (half RTL), seeds {seed}..{seed + n - 1}")
    print(
        f"  {'category':<13} {'panels':>6} {'F1 ours':>8} {'F1 old':>7} {'P ours':>7} "
        f"{'R ours':>7} {'P old':>6} {'R old':>6} {'order':>6} {'scan ours':>9} {'scan old':>8}"
        + (f" {'F1 base':>8} {'scan base':>9}" if baseline else "")
    )
    detectors = (("ours", detect_panels), ("old", detect_panels_legacy))
    if baseline:
        detectors += (("base", baseline),)
    totals: dict[str, list] = {
        f"{name}{suffix}": [] for name, _ in detectors for suffix in ("", " scanned")
    }
    for category in PAGE_CATEGORIES:
        pages = [
            synth_manga_page(seed + i, category, direction="rtl" if i % 2 else "ltr")
            for i in range(n)
        ]
        scans = [scanned_page(p, seed + i) for i, p in enumerate(pages)]
        rows = {}
        for suffix, sample in (("", pages), (" scanned", scans)):
            for name, detect in detectors:
                counts = [
                    panel_counts(detect(p.image, direction=p.direction), p.panels) for p in sample
                ]
                totals[name + suffix] += counts
                rows[name + suffix] = panel_scores(counts)
        o, d = rows["ours"], rows["old"]
        print(
            f"  {category:<13} {sum(len(p.panels) for p in pages):>6} {o['f1']:8.3f} "
            f"{d['f1']:7.3f} {o['precision']:7.3f} {o['recall']:7.3f} {d['precision']:6.3f} "
            f"{d['recall']:6.3f} {o['reading_order']:6.3f} {rows['ours scanned']['f1']:9.3f} "
            f"{rows['old scanned']['f1']:8.3f}"
            + (f" {rows['base']['f1']:8.3f} {rows['base scanned']['f1']:9.3f}" if baseline else "")
        )
    o, d = panel_scores(totals["ours"]), panel_scores(totals["old"])
    os_, ds = panel_scores(totals["ours scanned"]), panel_scores(totals["old scanned"])
    print(
        f"  {'all':<13} {'':>6} {o['f1']:8.3f} {d['f1']:7.3f} {o['precision']:7.3f} "
        f"{o['recall']:7.3f} {d['precision']:6.3f} {d['recall']:6.3f} {o['reading_order']:6.3f} "
        f"{os_['f1']:9.3f} {ds['f1']:8.3f}"
        + (
            f" {panel_scores(totals['base'])['f1']:8.3f}"
            f" {panel_scores(totals['base scanned'])['f1']:9.3f}"
            if baseline
            else ""
        )
    )
    print(
        f"  scanned, all: ours P {os_['precision']:.3f} R {os_['recall']:.3f} order "
        f"{os_['reading_order']:.3f}; old P {ds['precision']:.3f} R {ds['recall']:.3f}"
    )
    if baseline:
        for suffix in ("", " scanned"):
            b = panel_scores(totals["base" + suffix])
            print(
                f"  base{suffix or ' clean'}, all: P {b['precision']:.3f} R {b['recall']:.3f} "
                f"order {b['reading_order']:.3f}"
            )
    big = [
        synth_manga_page(
            seed + i, PAGE_CATEGORIES[i % len(PAGE_CATEGORIES)], width=1100, height=1600
        )
        for i in range(max(6, n // 3))
    ]
    for name, detect in detectors:
        start = time.process_time()
        for p in big:
            detect(p.image, direction=p.direction)
        per_page = (time.process_time() - start) / len(big)
        print(f"  detector CPU s/page at 1100x1600 ({len(big)} pages), {name}: {per_page:.3f}")


def _resolutions(n: int, seed: int, scales: list[float], baseline: Callable | None) -> None:
    """F1 over all categories with each page enlarged ``scale`` × (bicubic, as a scan at a higher
    resolution: 600 px wide → 840 px at 1.4), as rendered and as scanned, boxes scored in the
    page's own pixels; and CPU seconds per page at each size."""
    if n <= 0 or not scales:
        return
    detectors = [("ours", detect_panels), ("old", detect_panels_legacy)]
    if baseline:
        detectors.append(("base", baseline))
    print(
        f"\nresolution: {n} pages per category enlarged, F1 over all categories (clean / scanned)"
    )
    print(f"  {'scale':<6} " + " ".join(f"{name:>18} {'s/page':>6}" for name, _ in detectors))
    for scale in scales:
        cells = []
        for _, detect in detectors:
            counts: dict[str, list] = {"clean": [], "scanned": []}
            elapsed, pages = 0.0, 0
            for category in PAGE_CATEGORIES:
                for i in range(n):
                    comic = synth_manga_page(
                        seed + i, category, direction="rtl" if i % 2 else "ltr"
                    )
                    for kind, shown in (
                        ("clean", comic),
                        ("scanned", scanned_page(comic, seed + i)),
                    ):
                        image = cv2.resize(
                            shown.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC
                        )
                        start = time.process_time()
                        found = detect(image, direction=shown.direction)
                        elapsed += time.process_time() - start
                        pages += 1
                        boxes = [[v / scale for v in p.box] for p in found]
                        counts[kind].append(panel_counts(boxes, shown.panels))
            f1 = [panel_scores(counts[k])["f1"] for k in ("clean", "scanned")]
            cells.append(f"{f1[0]:8.3f} / {f1[1]:.3f} {elapsed / pages:6.3f}")
        print(f"  {scale:<6g} " + " ".join(cells), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strips", type=int, default=100)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--per-category", type=int, default=30, help="pages per category")
    parser.add_argument("--seed", type=int, default=0, help="first generator seed")
    parser.add_argument("--seed-final", type=int, default=10, help="strips for the slow seed mode")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also score detect_panels as regions/comics/panels.py was at this git revision",
    )
    parser.add_argument(
        "--scales",
        default="",
        help="comma-separated enlargements of the category pages to score too (e.g. 1.4,1.8)",
    )
    args = parser.parse_args()
    cv2.setNumThreads(1)  # comparable per-image times on a shared machine

    baseline = _baseline(args.baseline) if args.baseline else None
    _categories(args.per_category, args.seed, baseline)
    scales = [float(v) for v in args.scales.split(",") if v.strip()]
    _resolutions(args.per_category, args.seed, scales, baseline)
    if not args.strips and not args.pages:
        return
    strips = [synth_strip(args.seed + i) for i in range(args.strips)]
    pages = [
        synth_page(args.seed + i, direction="rtl" if i % 2 else "ltr") for i in range(args.pages)
    ]
    n_kinds = {
        k: sum(s.gutter == k for s in strips) for k in ("white", "black", "tinted", "gradient")
    }
    n_jpeg = sum(s.jpeg_quality is not None for s in strips)
    print(
        f"{len(strips)} strips ({sum(len(s.panels) for s in strips)} panels, gutters {n_kinds}, "
        f"{n_jpeg} JPEG) and {len(pages)} pages ({sum(len(p.panels) for p in pages)} panels, "
        f"half RTL), seeds {args.seed}..{args.seed + max(args.strips, args.pages) - 1}"
    )

    def ours_panels_only(s):
        return [c for c in detect_cuts(s.image, fragments="separate") if c.kind == "panel"]

    strip_rows = [
        _run("ours (fragments separate)", strips, ours_panels_only),
        _run("ours (fragments merged)", strips, lambda s: detect_cuts(s.image, fragments="merge")),
        _run("seed-rough", strips, lambda s: detect_cuts(s.image, mode="seed-rough")),
    ]
    subset = strips[: args.seed_final]
    if subset:
        strip_rows += [
            _run(f"ours (separate), first {len(subset)}", subset, ours_panels_only),
            _run(
                f"seed (rough+Hough), first {len(subset)}",
                subset,
                lambda s: detect_cuts(s.image, mode="seed"),
            ),
        ]
    _print("strips", strip_rows)

    page_rows = [
        _run(
            "ours (detect_panels)", pages, lambda p: detect_panels(p.image, direction=p.direction)
        ),
        _run(
            "seed-rough (page as a strip)", pages, lambda p: detect_cuts(p.image, mode="seed-rough")
        ),
    ]
    _print("pages", page_rows)

    ours, seed = strip_rows[0], strip_rows[2]
    print(
        f"\nstrips: F1 ours {ours['f1']:.3f} vs seed-rough {seed['f1']:.3f} "
        f"(+{ours['f1'] - seed['f1']:.3f}); time ours/seed-rough "
        f"{ours['seconds'] / max(seed['seconds'], 1e-9):.2f}x"
    )
    print(
        f"pages:  F1 ours {page_rows[0]['f1']:.3f} vs seed-rough {page_rows[1]['f1']:.3f} "
        f"(+{page_rows[0]['f1'] - page_rows[1]['f1']:.3f}); time ours/seed-rough "
        f"{page_rows[0]['seconds'] / max(page_rows[1]['seconds'], 1e-9):.2f}x"
    )


if __name__ == "__main__":
    main()

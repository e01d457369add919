"""Evaluate a folder of predicted region maps against a folder of ground-truth region maps."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from regionflow.regions.danbooregion import metrics
from regionflow.regions.danbooregion.labels import region_labels, resize_labels
from regionflow.storage.images import read_image_file
from regionflow.storage.layout import IMAGE_SUFFIXES, natural_key
from regionflow.storage.reports import write_report
from regionflow.storage.store import Store


def pair_key(path: Path) -> str:
    """`1.estimation.png` and `1.ground_truth.png` pair on `1`."""
    return path.name.split(".", 1)[0]


def pair_files(pred_dir: Path, gt_dir: Path) -> list[tuple[str, Path, Path]]:
    def index(folder: Path) -> dict[str, Path]:
        if not folder.is_dir():
            raise ValueError(f"{folder}: not a folder")
        return {
            pair_key(p): p
            for p in folder.iterdir()
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        }

    preds, gts = index(pred_dir), index(gt_dir)
    common = sorted(set(preds) & set(gts), key=natural_key)
    if not common:
        raise ValueError(
            f"no file in {pred_dir} pairs with one in {gt_dir} (pairing on the name before the first '.')"
        )
    return [(key, preds[key], gts[key]) for key in common]


def evaluate_pair(
    gt_map: np.ndarray, pred_map: np.ndarray, *, image: str, tolerance_px: float = 2.0
) -> list[dict]:
    """Every metric row of one pair; the DanbooRegion counts on the maps as given (sizes may
    differ), the others after resizing the prediction to the ground truth's size (nearest)."""
    gt_labels = region_labels(gt_map)
    pred_labels = region_labels(pred_map)
    rows = [metrics.extracted_row(pred_labels, image=image)]
    rows += metrics.image_metrics(
        gt_labels,
        resize_labels(pred_labels, gt_labels.shape),
        image=image,
        scales=(),
        pixel_tolerance=tolerance_px,
    )
    rows += metrics.metric_rows(
        image, "danbooregion", metrics.danbooregion_counts(gt_map, pred_map)
    )
    return rows


def evaluate_folders(
    pred_dir: Path, gt_dir: Path, output: str, *, tolerance_px: float = 2.0
) -> dict:
    """Score every pair, write metrics.parquet / summary.json / report.md under `output`."""
    pairs = pair_files(Path(pred_dir), Path(gt_dir))
    rows = []
    for key, pred, gt in pairs:
        gt_map = read_image_file(gt, cv2.IMREAD_COLOR)
        pred_map = read_image_file(pred, cv2.IMREAD_COLOR)
        rows += evaluate_pair(gt_map, pred_map, image=key, tolerance_px=tolerance_px)
    scores = metrics.summarize(rows)
    report = write_report(
        Store(output),
        "evaluate",
        rows,
        scores,
        image_ids=[key for key, _, _ in pairs],
        writer=None,
        title=f"Evaluation of {pred_dir} against {gt_dir}",
        **metrics.report_figures(rows),
    )
    return {"images": len(pairs), "scores": scores, **{k: report[k] for k in ("report", "metrics")}}

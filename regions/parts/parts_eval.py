"""Instance masks: region snapping and COCO evaluation (pycocotools' COCOeval).

Snapping: a colourist fills the artist's regions, not a network's blurry 28×28 mask upsampled.
`snap_to_regions` replaces each predicted mask by the union of the regions (a label map, e.g.
what `regions.danbooregion.decode` extracts) of which more than `min_inside` of the area lies inside it.
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

__all__ = ["coco_evaluate", "snap_to_regions"]

IOU_TYPES = ("bbox", "segm")
_SUMMARY = {"AP": 0, "AP50": 1, "AP75": 2, "APs": 3, "APm": 4, "APl": 5, "AR100": 8}


def snap_to_regions(
    masks: np.ndarray, regions: np.ndarray, *, min_inside: float = 0.5
) -> np.ndarray:
    """Snap instance masks to regions.

    Parameters
    ----------
    masks : (N, H, W) bool
        Predicted instance masks.
    regions : (H, W) integer labels
        Region label map (0 = no region: those pixels keep the mask's own value).
    min_inside : float in [0, 1)
        A region joins a mask when more than this fraction of its pixels lie inside the mask;
        a region with less leaves it.

    Returns
    -------
    (N, H, W) bool, a new array. Masks are snapped independently (two may claim one region
    when both hold more than `min_inside` of it, possible only below 0.5).
    """
    masks = np.asarray(masks)
    regions = np.asarray(regions)
    if masks.ndim != 3 or masks.dtype != bool:
        raise ValueError(f"masks: expected (N, H, W) bool, got {masks.shape} {masks.dtype}")
    if regions.shape != masks.shape[1:] or not np.issubdtype(regions.dtype, np.integer):
        raise ValueError(
            f"regions: expected {masks.shape[1:]} integer labels, got {regions.shape} {regions.dtype}"
        )
    if not 0.0 <= min_inside < 1.0:
        raise ValueError(f"min_inside: expected [0, 1), got {min_inside}")
    if regions.size and regions.min() < 0:
        raise ValueError("regions: labels must be >= 0")
    flat = regions.ravel().astype(np.int64)
    n_labels = int(flat.max()) + 1 if flat.size else 1
    sizes = np.bincount(flat, minlength=n_labels)
    unlabelled = flat == 0
    snapped = np.empty_like(masks)
    for k, mask in enumerate(masks):
        inside = np.bincount(flat, weights=mask.ravel(), minlength=n_labels)
        joins = inside > min_inside * sizes
        joins[0] = False
        out = joins[flat]
        out[unlabelled] = mask.ravel()[unlabelled]
        snapped[k] = out.reshape(mask.shape)
    return snapped


def _quiet(call, *args):
    with contextlib.redirect_stdout(io.StringIO()):
        return call(*args)


def coco_evaluate(
    ground_truth: Mapping[str, Any],
    results: Sequence[Mapping[str, Any]],
    *,
    classes: Sequence[str],
    iou_types: Sequence[str] = IOU_TYPES,
) -> list[dict[str, Any]]:
    """COCOeval of `results` against `ground_truth` (COCO documents, category ids 1..K).

    Returns rows {iou_type, class ("all" or a class name), AP, AP50, AP75, (all-class rows
    also APs, APm, APl, AR100), n_gt, n_det}; AP values in [0, 1], NaN where a class has no
    ground truth. Per-class AP is COCO's precision averaged over IoU 0.50:0.95 and recall, area
    "all", 100 detections, exactly as `COCOeval.summarize` averages it over all classes.
    """
    for iou_type in iou_types:
        if iou_type not in IOU_TYPES:
            raise ValueError(f"iou_types: expected a subset of {IOU_TYPES}, got {iou_type!r}")
    gt = COCO()
    gt.dataset = copy.deepcopy(dict(ground_truth))
    _quiet(gt.createIndex)
    category_ids = [i + 1 for i in range(len(classes))]
    n_gt = {c: len(gt.getAnnIds(catIds=[c], iscrowd=False)) for c in category_ids}
    n_det = {c: sum(1 for r in results if int(r["category_id"]) == c) for c in category_ids}
    rows: list[dict[str, Any]] = []
    for iou_type in iou_types:
        if not results:
            rows.append(
                {
                    "iou_type": iou_type,
                    "class": "all",
                    **dict.fromkeys(_SUMMARY, 0.0),
                    "n_gt": sum(n_gt.values()),
                    "n_det": 0,
                }
            )
            for c, name in zip(category_ids, classes, strict=True):
                rows.append(
                    {
                        "iou_type": iou_type,
                        "class": name,
                        "AP": 0.0 if n_gt[c] else float("nan"),
                        "AP50": 0.0 if n_gt[c] else float("nan"),
                        "AP75": 0.0 if n_gt[c] else float("nan"),
                        "n_gt": n_gt[c],
                        "n_det": 0,
                    }
                )
            continue
        detections = _quiet(gt.loadRes, copy.deepcopy(list(results)))
        evaluator = COCOeval(gt, detections, iou_type)
        evaluator.params.catIds = category_ids
        _quiet(evaluator.evaluate)
        _quiet(evaluator.accumulate)
        _quiet(evaluator.summarize)
        stats = evaluator.stats
        row = {"iou_type": iou_type, "class": "all"}
        row |= {name: max(float(stats[i]), 0.0) for name, i in _SUMMARY.items()}
        rows.append(row | {"n_gt": sum(n_gt.values()), "n_det": len(results)})
        # precision: [T iou thresholds, R recall points, K classes, A areas, M max dets]
        precision = evaluator.eval["precision"]
        thresholds = list(np.round(evaluator.params.iouThrs, 2))
        for k, (c, name) in enumerate(zip(category_ids, classes, strict=True)):
            per_class = {"iou_type": iou_type, "class": name}
            for label, sel in (
                ("AP", slice(None)),
                ("AP50", thresholds.index(0.5)),
                ("AP75", thresholds.index(0.75)),
            ):
                values = precision[sel, :, k, 0, -1]
                values = values[values > -1]
                per_class[label] = float(values.mean()) if values.size else float("nan")
            rows.append(per_class | {"n_gt": n_gt[c], "n_det": n_det[c]})
    return rows

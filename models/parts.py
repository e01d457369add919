"""Character parts: torchvision Mask R-CNN with a light backbone, its training and prediction.

Long because the Mask R-CNN model, its training steps and its prediction share one config and
checkpoint format (as models/train.py does for the region model).

Model = config + backbone (a small GroupNorm ResNet-style body, built without pretrained weights)
→ FPN → torchvision's RPN, RoI heads and mask head, sized down for 128–256 px crops. Nothing is
downloaded: every torchvision constructor gets its modules passed in.

Training reuses the region trainer's machinery: `models.device` (runtime, seeding, RNG states),
`storage.checkpoints.CheckpointStore`-compatible checkpoints (anything with save/latest), the
`run_identity` idea (config minus what may change on resume). A step's batch and flips are a
function of (seed, step) only, and the optimiser, RNG states and step are checkpointed, so a
resumed run continues exactly where it stopped. `init` (a parts checkpoint) starts a fresh run
from another run's weights: transfer learning, as the webtoon seed did between titles.

Checkpoint dict: format, step, model, optimizer, rng, config (PartsTrainConfig dict), runtime.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import torch
from pydantic import model_validator
from torch import nn

from regionflow.models.config import FrozenConfig, require
from regionflow.models.device import (
    Runtime,
    prepare_module,
    resolve_runtime,
    rng_state,
    seed_everything,
    set_rng_state,
)
from regionflow.models.train import Checkpoints
from regionflow.models.vision import import_torchvision
from regionflow.regions.parts.parts_synth import PART_CLASSES

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "regionflow-parts/1"
RESUMABLE_CHANGES = frozenset(
    {"steps", "checkpoint_every", "keep_last", "preview_every", "log_every", "device", "threads"}
)

OnStep = Callable[[int, dict[str, float], np.ndarray | None], None]


class PartsTrainConfig(FrozenConfig):
    """Mask R-CNN training for character parts.

    classes : the part classes (index i = COCO category id i + 1); the seed's eight by default.
    image_size : images are resized so that both sides equal it (torchvision's transform).
    width : channels of the backbone's first stage (doubling per stage); fpn_channels: FPN width.
    steps, batch_size, lr (SGD, momentum), warmup steps (linear), then constant until 80% of the
        steps and ×0.1 after.
    init : None (from scratch) or a parts checkpoint to start from (transfer learning).
    threads : torch CPU threads (0 = torch's default).
    """

    classes: tuple[str, ...] = PART_CLASSES
    image_size: int = 128
    width: int = 16
    fpn_channels: int = 64
    steps: int = 300
    batch_size: int = 2
    lr: float = 0.02
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup: int = 20
    hflip: bool = True
    seed: int = 0
    init: str | None = None
    checkpoint_every: int = 50
    keep_last: int = 2
    preview_every: int = 0
    log_every: int = 10
    device: str = "auto"
    deterministic: bool = False
    threads: int = 0

    @model_validator(mode="after")
    def _check_values(self) -> Self:
        require("classes", bool(self.classes), "at least one class")
        for name in ("image_size", "width", "fpn_channels", "steps", "batch_size", "lr"):
            require(name, getattr(self, name) > 0, f"must be > 0, got {getattr(self, name)!r}")
        require("image_size", self.image_size >= 64, f"must be >= 64, got {self.image_size}")
        require(
            "width, fpn_channels",
            self.width % 8 == 0 and self.fpn_channels % 8 == 0,
            "must be multiples of 8 (GroupNorm groups)",
        )
        require(
            "checkpoint_every, keep_last",
            self.checkpoint_every >= 1 and self.keep_last >= 1,
            "must be >= 1",
        )
        return self

    def lr_at(self, step: int) -> float:
        """Learning rate of 0-based step `step`."""
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        return self.lr * (0.1 if step >= int(0.8 * self.steps) else 1.0)


def run_identity(config: PartsTrainConfig) -> dict[str, Any]:
    """The fields that determine a run's weights: all but RESUMABLE_CHANGES."""
    return {k: v for k, v in config.to_dict().items() if k not in RESUMABLE_CHANGES}


def _stage(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, 2, 1, bias=False),
        nn.GroupNorm(8, cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
        nn.GroupNorm(8, cout),
        nn.ReLU(inplace=True),
    )


class PartsBackbone(nn.Module):
    """Stem (stride 2) + four stride-2 stages (4, 8, 16, 32) → FPN with a max-pool level."""

    def __init__(self, width: int, fpn_channels: int):
        super().__init__()
        tv = import_torchvision()
        widths = [width, width * 2, width * 4, width * 8]
        self.stem = _stage(3, width)
        self.stages = nn.ModuleList(
            _stage(cin, cout) for cin, cout in zip([width, *widths[:-1]], widths, strict=True)
        )
        fpn = tv.ops.feature_pyramid_network
        self.fpn = fpn.FeaturePyramidNetwork(
            widths, fpn_channels, extra_blocks=fpn.LastLevelMaxPool()
        )
        self.out_channels = fpn_channels

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        features = OrderedDict()
        x = self.stem(x)
        for i, stage in enumerate(self.stages):
            x = stage(x)
            features[str(i)] = x
        return self.fpn(features)


def build_parts_model(config: PartsTrainConfig) -> nn.Module:
    """torchvision MaskRCNN for `config.classes` (+ background), randomly initialised."""
    tv = import_torchvision()
    detection = tv.models.detection
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor

    c = config.fpn_channels
    n = len(config.classes) + 1
    scale = config.image_size / 128
    sizes = tuple((int(round(s * scale)),) for s in (8, 16, 32, 64, 128))
    levels = ["0", "1", "2", "3"]
    return detection.MaskRCNN(
        PartsBackbone(config.width, c),
        num_classes=None,
        min_size=config.image_size,
        max_size=config.image_size,
        rpn_anchor_generator=AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes)),
        rpn_pre_nms_top_n_train=600,
        rpn_post_nms_top_n_train=300,
        rpn_pre_nms_top_n_test=300,
        rpn_post_nms_top_n_test=150,
        box_roi_pool=tv.ops.MultiScaleRoIAlign(levels, 7, 2),
        box_head=TwoMLPHead(c * 49, 256),
        box_predictor=FastRCNNPredictor(256, n),
        box_batch_size_per_image=64,
        box_detections_per_img=30,
        mask_roi_pool=tv.ops.MultiScaleRoIAlign(levels, 14, 2),
        mask_head=MaskRCNNHeads(c, (c, c), 1),
        mask_predictor=MaskRCNNPredictor(c, c, n),
    )


@dataclass
class PartsSample:
    """One training image: (H, W, 3) uint8 BGR and its instances: masks (N, H, W) bool,
    class indices (N,) int64 into the class list."""

    image: np.ndarray
    masks: np.ndarray
    classes: np.ndarray


def to_tensors(sample: PartsSample, *, flip: bool = False) -> tuple[torch.Tensor, dict]:
    """RGB float image (3, H, W) in [0, 1] and torchvision's target dict (labels = class + 1)."""
    image, masks = sample.image, sample.masks
    if flip:
        image, masks = image[:, ::-1], masks[:, :, ::-1]
    x = torch.from_numpy(np.ascontiguousarray(image[..., ::-1].transpose(2, 0, 1))).float() / 255
    masks = np.ascontiguousarray(masks)
    keep = masks.reshape(len(masks), -1).any(axis=1)
    masks = masks[keep]
    boxes = np.zeros((len(masks), 4), np.float32)
    for i, mask in enumerate(masks):
        ys, xs = np.nonzero(mask)
        boxes[i] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    target = {
        "boxes": torch.from_numpy(boxes),
        "labels": torch.from_numpy(sample.classes[keep].astype(np.int64) + 1),
        "masks": torch.from_numpy(masks.astype(np.uint8)),
    }
    return x, target


def batch_for_step(
    samples: Sequence[PartsSample], step: int, config: PartsTrainConfig
) -> tuple[list[torch.Tensor], list[dict]]:
    """The batch of 0-based step `step`: a function of (seed, step) alone, so resumes repeat it."""
    if not samples:
        raise ValueError("samples: no training images")
    rng = np.random.default_rng([config.seed, step])
    picks = rng.choice(len(samples), config.batch_size, replace=len(samples) < config.batch_size)
    flips = rng.random(config.batch_size) < 0.5
    pairs = [
        to_tensors(samples[i], flip=bool(f) and config.hflip)
        for i, f in zip(picks, flips, strict=True)
    ]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def checkpoint_dict(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    step: int,
    config: PartsTrainConfig,
    runtime: Runtime,
) -> dict[str, Any]:
    return {
        "format": CHECKPOINT_FORMAT,
        "step": step,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "rng": rng_state(),
        "config": config.to_dict() | {"classes": list(config.classes)},
        "runtime": runtime.to_dict(),
    }


def transfer_weights(model: nn.Module, source: dict[str, torch.Tensor]) -> list[str]:
    """Load `source` weights where names and shapes match; returns the names left at their
    initialisation (the class-specific predictors when the class lists differ)."""
    own = model.state_dict()
    usable = {k: v for k, v in source.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(usable, strict=False)
    return sorted(set(own) - set(usable))


def overlay(image: np.ndarray, masks: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 BGR with each mask tinted by its class colour (a preview)."""
    out = image.astype(np.float32).copy()
    for mask, c in zip(masks, classes, strict=True):
        colour = np.array(CLASS_COLOURS[int(c) % len(CLASS_COLOURS)], np.float32)
        out[mask] = 0.45 * out[mask] + 0.55 * colour
    return out.clip(0, 255).astype(np.uint8)


CLASS_COLOURS = (
    (0, 200, 255),
    (255, 255, 255),
    (255, 80, 0),
    (160, 60, 0),
    (200, 0, 200),
    (0, 160, 0),
    (0, 0, 255),
    (90, 90, 90),
)


@torch.inference_mode()
def predict(
    model: nn.Module,
    images: Sequence[np.ndarray],
    *,
    runtime: Runtime,
    score_threshold: float = 0.05,
    mask_threshold: float = 0.5,
) -> list[dict[str, np.ndarray]]:
    """Per image (H, W, 3) uint8 BGR: masks (N, H, W) bool, classes (N,) int (index into the
    class list), scores (N,) float, sorted by decreasing score."""
    was_training = model.training
    model.eval()
    outputs = []
    try:
        for image in images:
            x = torch.from_numpy(np.ascontiguousarray(image[..., ::-1].transpose(2, 0, 1)))
            x = x.float().div_(255).to(runtime.device)
            out = model([x])[0]
            keep = out["scores"] >= score_threshold
            outputs.append(
                {
                    "masks": (out["masks"][keep, 0] > mask_threshold).cpu().numpy(),
                    "classes": (out["labels"][keep] - 1).cpu().numpy().astype(np.int64),
                    "scores": out["scores"][keep].float().cpu().numpy(),
                }
            )
    finally:
        model.train(was_training)
    return outputs


def runtime_for(config: PartsTrainConfig) -> Runtime:
    """Float32 on CUDA when present, else CPU (detection losses are not autocast-safe here)."""
    if config.threads:
        torch.set_num_threads(config.threads)
    return resolve_runtime(
        config.device, amp=False, channels_last=False, deterministic=config.deterministic
    )


def load_parts_model(
    checkpoint: dict[str, Any], runtime: Runtime
) -> tuple[nn.Module, PartsTrainConfig]:
    """A parts checkpoint → (model on the runtime's device, its config)."""
    if checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"checkpoint: not a parts checkpoint (format {checkpoint.get('format')!r})"
        )
    config = PartsTrainConfig.from_dict(checkpoint["config"])
    model = build_parts_model(config)
    model.load_state_dict(checkpoint["model"])
    return prepare_module(model, runtime), config


def fit_parts(
    config: PartsTrainConfig,
    samples: Sequence[PartsSample],
    *,
    checkpoints: Checkpoints,
    init_weights: dict[str, torch.Tensor] | None = None,
    on_step: OnStep | None = None,
) -> tuple[nn.Module, int]:
    """Train `config.steps` steps, resuming from `checkpoints.latest()`; returns (model, step).

    `init_weights` (a parts model state dict) starts a fresh run from those weights (transfer);
    a run resuming from its own checkpoint ignores it.
    """
    runtime = runtime_for(config)
    seed_everything(config.seed)
    model = prepare_module(build_parts_model(config), runtime)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(
        params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )
    step = 0
    checkpoint = checkpoints.latest()
    if checkpoint is not None:
        if checkpoint.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"checkpoint: unknown format {checkpoint.get('format')!r}")
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        set_rng_state(checkpoint["rng"])
        step = int(checkpoint["step"])
        log.info("parts: resumed from step %d", step)
    elif init_weights is not None:
        fresh = transfer_weights(model, init_weights)
        log.info("parts: transfer from given weights; %d tensors left fresh", len(fresh))
    model.train()
    while step < config.steps:
        started = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = config.lr_at(step)
        images, targets = batch_for_step(samples, step, config)
        images = [x.to(runtime.device) for x in images]
        targets = [{k: v.to(runtime.device) for k, v in t.items()} for t in targets]
        losses = model(images, targets)
        total = sum(losses.values())
        if not torch.isfinite(total.detach()):
            raise FloatingPointError(
                f"parts: loss is {float(total.detach())} at step {step}; lower lr"
            )
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(params, 10.0)
        optimizer.step()
        step += 1
        metrics = {k: float(v.detach()) for k, v in losses.items()}
        metrics |= {"loss": float(total.detach()), "lr": config.lr_at(step - 1)}
        metrics["step_time_s"] = time.perf_counter() - started
        preview = None
        if config.preview_every and step % config.preview_every == 0:
            sample = samples[0]
            found = predict(model, [sample.image], runtime=runtime, score_threshold=0.5)[0]
            preview = np.concatenate(
                [
                    overlay(sample.image, sample.masks, sample.classes),
                    overlay(sample.image, found["masks"], found["classes"]),
                ],
                axis=1,
            )
        if step % config.checkpoint_every == 0 or step == config.steps:
            checkpoints.save(step, checkpoint_dict(model, optimizer, step, config, runtime))
        if on_step is not None:
            on_step(step, metrics, preview)
    return model, step

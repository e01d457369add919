"""Training: `train_step`, `train_steps`, `evaluate`, `fit` (torchvision-references style).

Long because the step, evaluation, checkpoint state and resume must agree on one checkpoint
dict; kept together, exact resume stays checkable in one place.

`fit(config, dataset, checkpoints=...)` resolves the runtime once, builds generator, critic and
optimisers, resumes from `checkpoints.latest()` when there is one, and runs the remaining steps.

One step (REFERENCE §1.4): fake = G(image); the generator and critic gradients are both taken
against the same pre-step weights and the same batch, then both Adam optimisers step — the
simultaneous update of the original TF graph.

Checkpoint dict (what `checkpoints.save(step, state)` receives; `format` = CHECKPOINT_FORMAT):
    step, model, critic (None for loss "l1"), opt_g, opt_d, scaler, rng (python, numpy, torch,
    cuda), data (next_step, seed, batch_size, crop, augment), config (TrainConfig dict),
    runtime (device, amp dtype, torch version, …).
Everything in it loads with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from tqdm import tqdm

from regionflow.models.config import TrainConfig
from regionflow.models.critic import Critic
from regionflow.models.data import CropDataset, make_loader
from regionflow.models.device import (
    Runtime,
    maybe_compile,
    prepare_module,
    resolve_runtime,
    rng_state,
    seed_everything,
    set_rng_state,
)
from regionflow.models.losses import critic_danbooregion, generator_loss, l1
from regionflow.models.unet import RegionUNet

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "regionflow-train/1"
# Fields that may change between a run and its resumption without changing what is trained:
# how far to go, how often to report or save, and where it runs. Everything else determines the
# weights, so it names the run (`run_identity`); raising `steps` continues the same run.
RESUMABLE_CHANGES = frozenset(
    {
        "steps",
        "checkpoint_every",
        "keep_last",
        "preview_every",
        "val_every",
        "log_every",
        "num_workers",
        "device",
        "compile",
    }
)


def run_identity(config: TrainConfig) -> dict[str, Any]:
    """The config fields that determine a run's weights: all but RESUMABLE_CHANGES."""
    return {k: v for k, v in config.to_dict().items() if k not in RESUMABLE_CHANGES}


OnStep = Callable[[int, dict[str, float], np.ndarray | None], None]
ValFn = Callable[[RegionUNet, int], dict[str, float]]


class Checkpoints(Protocol):
    def save(self, step: int, state: dict[str, Any]) -> Any: ...

    def latest(self) -> dict[str, Any] | None: ...


@dataclass
class TrainState:
    """Everything that changes during training. `step` = steps completed = next step index."""

    net: RegionUNet
    critic: Critic | None
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer | None
    scaler: torch.amp.GradScaler
    step: int = 0


def build_state(config: TrainConfig, runtime: Runtime) -> TrainState:
    """Fresh Glorot-initialised generator (+ critic unless loss is "l1") and their Adams, on the
    runtime's device. Seed torch first for a reproducible initialisation."""
    net = prepare_module(RegionUNet(), runtime)
    opt_g = torch.optim.Adam(net.parameters(), lr=config.lr, betas=config.adam_betas)
    critic = opt_d = None
    if config.uses_critic:
        critic = prepare_module(Critic(), runtime)
        opt_d = torch.optim.Adam(critic.parameters(), lr=config.critic_lr, betas=config.adam_betas)
    scaler = torch.amp.GradScaler(runtime.device.type, enabled=runtime.grad_scaling)
    return TrainState(net=net, critic=critic, opt_g=opt_g, opt_d=opt_d, scaler=scaler)


def checkpoint_dict(
    state: TrainState, config: TrainConfig, runtime: Runtime, dataset: CropDataset | None = None
) -> dict[str, Any]:
    """The checkpoint of `state` after `state.step` steps (see the module docstring)."""
    data = {"next_step": state.step}
    if dataset is not None:
        data |= {
            "seed": dataset.seed,
            "batch_size": dataset.batch_size,
            "crop": dataset.crop,
            "augment": dataset.augment,
            "n_samples": len(dataset.sample_ids),
        }
    return {
        "format": CHECKPOINT_FORMAT,
        "step": state.step,
        "model": state.net.state_dict(),
        "critic": None if state.critic is None else state.critic.state_dict(),
        "opt_g": state.opt_g.state_dict(),
        "opt_d": None if state.opt_d is None else state.opt_d.state_dict(),
        "scaler": state.scaler.state_dict(),
        "rng": rng_state(),
        "data": data,
        "config": config.to_dict(),
        "runtime": runtime.to_dict(),
    }


def restore_state(state: TrainState, checkpoint: dict[str, Any], config: TrainConfig) -> None:
    """Load a checkpoint into `state` in place, including the global RNG states."""
    if checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"checkpoint: unknown format {checkpoint.get('format')!r}")
    saved = checkpoint["config"]
    changed = sorted(
        k for k, v in config.to_dict().items() if k in saved and _plain(saved[k]) != _plain(v)
    )
    if changed:
        risky = [k for k in changed if k not in RESUMABLE_CHANGES]
        (log.warning if risky else log.info)(
            "resuming step %d with changed config fields %s", checkpoint["step"], changed
        )
    if (checkpoint["critic"] is None) != (state.critic is None):
        raise ValueError("checkpoint: critic presence differs from config.loss; cannot resume")
    state.net.load_state_dict(checkpoint["model"])
    state.opt_g.load_state_dict(checkpoint["opt_g"])
    if state.critic is not None:
        state.critic.load_state_dict(checkpoint["critic"])
        state.opt_d.load_state_dict(checkpoint["opt_d"])  # type: ignore[union-attr]
    state.scaler.load_state_dict(checkpoint["scaler"])
    set_rng_state(checkpoint["rng"])
    state.step = int(checkpoint["step"])


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def to_model_space(
    images: torch.Tensor, skeletons: torch.Tensor, runtime: Runtime
) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 batches → (BGR/255 input, 1 − skeleton/255 target), float32 on the device."""
    device = runtime.device
    non_blocking = device.type == "cuda"
    x = images.to(device, non_blocking=non_blocking).float().div_(255.0)
    y = 1.0 - skeletons.to(device, non_blocking=non_blocking).float().div_(255.0)
    return x.contiguous(memory_format=runtime.memory_format), y.contiguous(
        memory_format=runtime.memory_format
    )


def preview_image(image: torch.Tensor, skeleton: torch.Tensor, fake: torch.Tensor) -> np.ndarray:
    """input | target | prediction of one sample as an (H, 3W, 3) uint8 BGR image.

    image (3, H, W) uint8, skeleton (1, H, W) uint8, fake (1, H, W) float in net space."""
    page = image.permute(1, 2, 0).cpu().numpy()
    target = skeleton[0].cpu().numpy()
    predicted = ((1.0 - fake[0].detach().float()).clamp(0, 1) * 255.0 + 0.5).byte().cpu().numpy()
    grey = [np.repeat(m[..., None], 3, axis=2) for m in (target, predicted)]
    return np.ascontiguousarray(np.concatenate([page, *grey], axis=1))


def train_step(
    state: TrainState,
    images: torch.Tensor,
    skeletons: torch.Tensor,
    *,
    config: TrainConfig,
    runtime: Runtime,
    generator: torch.nn.Module | None = None,
) -> tuple[dict[str, float], torch.Tensor]:
    """One simultaneous generator + critic update on a uint8 batch. Returns (metrics, fake).

    `generator` is the module to call (e.g. the torch.compile'd `state.net`); default state.net.
    Waits for the device to read the metrics; `queue_step` is the same without waiting.
    """
    metrics, fake = queue_step(
        state, images, skeletons, config=config, runtime=runtime, generator=generator
    )
    return {k: float(v) for k, v in metrics.items()}, fake


def set_learning_rates(state: TrainState, config: TrainConfig) -> None:
    """Apply the step-decay schedule for the step about to run (`state.step`, 0-based)."""
    factor = config.lr_factor(state.step)
    for optimizer, base in ((state.opt_g, config.lr), (state.opt_d, config.critic_lr)):
        if optimizer is not None:
            for group in optimizer.param_groups:
                group["lr"] = base * factor


def queue_step(
    state: TrainState,
    images: torch.Tensor,
    skeletons: torch.Tensor,
    *,
    config: TrainConfig,
    runtime: Runtime,
    generator: torch.nn.Module | None = None,
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """`train_step` with the metrics left on the device as 0-d tensors (no host sync)."""
    generator = generator or state.net
    set_learning_rates(state, config)
    x, real = to_model_space(images, skeletons, runtime)
    scaler = state.scaler
    with runtime.autocast():
        fake = generator(x)
    metrics: dict[str, torch.Tensor] = {}

    critic = state.critic
    if critic is not None:
        # Generator gradients only: the critic is a fixed function inside the generator loss.
        critic.requires_grad_(False)
    try:
        with runtime.autocast():
            loss_g, parts = generator_loss(
                config.loss,
                critic,
                fake,
                real,
                adv_weight=config.adv_weight,
                l1_weight=config.l1_weight,
            )
    finally:
        if critic is not None:
            critic.requires_grad_(True)
    metrics |= parts
    metrics["loss_g"] = loss_g.detach()
    state.opt_g.zero_grad(set_to_none=True)
    scaler.scale(loss_g).backward()

    if critic is not None:
        with runtime.autocast():
            loss_d, parts = critic_danbooregion(critic, fake, real, gp_weight=config.gp_weight)
        metrics |= parts
        metrics["loss_d"] = loss_d.detach()
        state.opt_d.zero_grad(set_to_none=True)  # type: ignore[union-attr]
        scaler.scale(loss_d).backward()

    scaler.step(state.opt_g)
    if state.opt_d is not None:
        scaler.step(state.opt_d)
    scaler.update()
    state.step += 1
    if "l1" not in metrics:
        metrics["l1"] = l1(fake.detach(), real)
    return {k: v.detach().float() for k, v in metrics.items()}, fake.detach()


@torch.inference_mode()
def evaluate(
    net: torch.nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], *, runtime: Runtime
) -> dict[str, float]:
    """Mean L1 between prediction and target (net space) over uint8 (images, skeletons)
    batches, weighted by pixels. Returns {"val_l1": …, "val_images": …}."""
    was_training = net.training
    net.eval()
    total = 0.0
    pixels = 0
    images_seen = 0
    try:
        for images, skeletons in batches:
            x, real = to_model_space(images, skeletons, runtime)
            with runtime.autocast():
                fake = net(x)
            total += float((fake.float() - real).abs().sum())
            pixels += real.numel()
            images_seen += real.shape[0]
    finally:
        net.train(was_training)
    if pixels == 0:
        raise ValueError("batches: no validation data")
    return {"val_l1": total / pixels, "val_images": float(images_seen)}


class _MetricsWindow:
    """Steps whose metrics are still on the device; read back together, one sync per window.

    A step's wall time is only known once the device has finished it, so each step of a
    window is given the window's mean: `step_time_s` (the window's wall time less the data
    waits: compute, and any preview, validation or checkpoint in it) and `images_per_s`.
    `data_time_s` is the host's own wait for that step's batch.
    """

    def __init__(self, on_step: OnStep | None, bar: tqdm, size: int) -> None:
        self.on_step, self.bar, self.size = on_step, bar, size
        self.pending: list[tuple[int, dict[str, torch.Tensor], dict, Any, int, float]] = []
        self.opened = time.perf_counter()

    def add(self, step, metrics, extra, preview, images, data_time) -> None:
        self.pending.append((step, metrics, extra, preview, images, data_time))
        self.bar.update(1)

    @property
    def full(self) -> bool:
        return len(self.pending) >= self.size

    def flush(self) -> None:
        if not self.pending:
            return
        names = [list(metrics) for _, metrics, *_ in self.pending]
        values = torch.stack([v for _, metrics, *_ in self.pending for v in metrics.values()])
        values = values.tolist()  # the one host-device sync of the window
        wall = time.perf_counter() - self.opened
        data = sum(entry[5] for entry in self.pending)
        images = sum(entry[4] for entry in self.pending)
        step_time = max(wall - data, 0.0) / len(self.pending)
        offset = 0
        for keys, (step, _, extra, preview, _, data_time) in zip(names, self.pending, strict=True):
            row = dict(zip(keys, values[offset : offset + len(keys)], strict=True))
            offset += len(keys)
            row |= {
                "data_time_s": data_time,
                "step_time_s": step_time,
                "images_per_s": images / max(wall, 1e-9),
                **extra,
            }
            if self.on_step is not None:
                self.on_step(step, row, preview)
        self.bar.set_postfix(
            {k: f"{row[k]:.4g}" for k in ("loss_g", "loss_d", "l1") if k in row}, refresh=False
        )
        self.pending.clear()
        self.opened = time.perf_counter()


def train_steps(
    state: TrainState,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    *,
    config: TrainConfig,
    runtime: Runtime,
    checkpoints: Checkpoints | None = None,
    dataset: CropDataset | None = None,
    on_step: OnStep | None = None,
    val_fn: ValFn | None = None,
    progress: bool = True,
) -> TrainState:
    """Run one step per batch until the batches or `config.steps` run out.

    After step s (1-based count of completed steps): `on_step(s, metrics, preview)` with a
    preview every `preview_every` steps (else None); `val_fn(net, s)` every `val_every` steps,
    its metrics merged into that step's; a checkpoint every `checkpoint_every` steps and at the
    last step, saved before `on_step` so a callback that stops the process never loses it.
    `on_step` is called in step order, in batches of up to `log_every` steps (see
    `_MetricsWindow`): the host reads the device's numbers once per batch.
    """
    generator = maybe_compile(state.net, runtime)
    state.net.train()
    bar = tqdm(
        total=config.steps,
        initial=state.step,
        disable=not progress,
        unit="step",
        dynamic_ncols=True,
    )
    window = _MetricsWindow(on_step, bar, config.log_every)
    try:
        waited_since = time.perf_counter()
        for images, skeletons in batches:
            if state.step >= config.steps:
                break
            started = time.perf_counter()
            metrics, fake = queue_step(
                state, images, skeletons, config=config, runtime=runtime, generator=generator
            )
            step = state.step
            preview = None
            if config.preview_every and step % config.preview_every == 0:
                preview = preview_image(images[0], skeletons[0], fake[0])
            extra = {"lr": config.lr * config.lr_factor(step - 1)}
            validated = val_fn is not None and config.val_every and step % config.val_every == 0
            if validated:
                extra |= val_fn(state.net, step)
                state.net.train()
            window.add(step, metrics, extra, preview, images.shape[0], started - waited_since)
            checkpoint = checkpoints is not None and (
                step % config.checkpoint_every == 0 or step == config.steps
            )
            if checkpoint:
                checkpoints.save(step, checkpoint_dict(state, config, runtime, dataset))
            if checkpoint or validated or preview is not None or window.full:
                window.flush()  # the host waited (or would soon) anyway: report what is known
            waited_since = time.perf_counter()
        window.flush()
    finally:
        bar.close()
    return state


def fit(
    config: TrainConfig,
    dataset: CropDataset,
    *,
    checkpoints: Checkpoints,
    on_step: OnStep | None = None,
    val_fn: ValFn | None = None,
    progress: bool = True,
    init_weights: dict[str, torch.Tensor] | None = None,
) -> TrainState:
    """Train `config.steps` steps on `dataset`, resuming from `checkpoints.latest()`.

    `init_weights` (a generator state dict, e.g. the shipped model's) starts a fresh run from
    those weights instead of the Glorot initialisation (fine-tuning); a run that resumes from its
    own checkpoint ignores it.

    `dataset` must agree with the config on crop, batch size, seed and augmentation (build it with
    `CropDataset.from_config`). Returns the final state (weights on the runtime's device).
    """
    for name in ("crop", "batch_size", "seed", "augment"):
        if getattr(dataset, name) != getattr(config, name):
            raise ValueError(
                f"dataset: {name}={getattr(dataset, name)!r} but config.{name}={getattr(config, name)!r}"
            )
    if config.uses_critic and config.crop % 64:
        raise ValueError(f"config: the critic needs crop to be a multiple of 64, got {config.crop}")
    runtime = resolve_runtime(
        config.device,
        amp=config.amp,
        amp_dtype=config.amp_dtype,
        channels_last=config.channels_last,
        compile=config.compile,
        deterministic=config.deterministic,
        cpu_amp=config.cpu_amp,
    )
    seed_everything(config.seed)
    state = build_state(config, runtime)
    checkpoint = checkpoints.latest()
    if checkpoint is not None:
        restore_state(state, checkpoint, config)
        log.info("resumed from step %d", state.step)
    elif init_weights is not None:
        state.net.load_state_dict(init_weights)
        log.info("starting from the given generator weights (fine-tuning)")
    if state.step >= config.steps:
        return state
    loader = make_loader(
        dataset,
        start_step=state.step,
        stop_step=config.steps,
        num_workers=config.num_workers,
        pin_memory=runtime.device.type == "cuda",
    )
    return train_steps(
        state,
        loader,
        config=config,
        runtime=runtime,
        checkpoints=checkpoints,
        dataset=dataset,
        on_step=on_step,
        val_fn=val_fn,
        progress=progress,
    )

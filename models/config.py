"""Frozen, typed configs for training and inference, with defaults = the DanbooRegion recipe.

Configs round-trip through plain dicts (JSON): the resolved config is saved in every checkpoint
and next to a run's outputs, and the CLI / prefect.yaml only override fields.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields
from typing import Any, Literal, Self

LOSSES = ("danbooregion", "l1", "l1+gan")
TARGETS = ("jacobi", "harmonic")
AMP_DTYPES = ("bfloat16", "float16")


class _DictConfig:
    """Plain-dict and JSON (de)serialisation shared by the config dataclasses."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"data: unknown {cls.__name__} field(s) {unknown}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Self:
        return cls.from_dict(json.loads(text))

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name}: must be > 0, got {value!r}")


@dataclass(frozen=True)
class TrainConfig(_DictConfig):
    """Training hyper-parameters and runtime switches.

    Defaults are the original recipe (REFERENCE §1.4): batch 4, 512² crops, Adam lr 1e-5 for
    generator and critic, 50,000 steps, feature-matching + WGAN-GP loss ("danbooregion").

    loss : "danbooregion" (critic feature matching + 0.01·adversarial, no pixel loss),
        "l1" (pixel L1 only, no critic), or "l1+gan" (`l1_weight`·L1 + the danbooregion loss).
    crop : side of the square training crop; a multiple of 32. The augmentation's resize ranges
        scale with crop/512 (see `models.augment`).
    device : "auto" (CUDA if available, else CPU), "cpu", "cuda", "cuda:1", ...
    log_every : losses are read back from the device once per this many steps (and at every
        preview, validation and checkpoint step), so the GPU is not stalled every step; the
        metrics of every step still reach the callback, in order.
    amp : bf16 autocast (`amp_dtype`) on CUDA; on CPU only with `cpu_amp`.
    cpu_amp : bf16 autocast + channels_last on CPUs with native bf16 (AMX / AVX512-BF16), ≈4×
        faster training there; ignored (float32) on other CPUs.
    deterministic : torch deterministic algorithms (exact resume; slower on CUDA).
    target : which skeleton target the data holds ("jacobi" = the original 512 damped Jacobi
        rounds, "harmonic" = the converged field); recorded for provenance only.
    min_quality : optional annotation-quality threshold; samples scoring lower are excluded by the
        caller when it lists sample ids (the manifest owns the scores).
    lr_milestones, lr_gamma : step decay — the learning rates are multiplied by `lr_gamma` at each
        milestone step (a function of the step only, so resuming keeps the schedule). () = constant,
        as the original.
    zoom : optional (low, high) range of the page's short side after rescaling, as a fraction of
        its stored short side (e.g. (0.8, 1.25) keeps the data's own scale); None = the original's
        absolute short-side ranges scaled by crop/512 (see `models.augment`).
    low_contrast : probability of squeezing a crop's contrast towards a random grey level (not in
        the original; 0 = off): teaches boundaries a few grey levels apart (`models.augment`).
    init : the generator weights a fresh run starts from: "default" (the model shipped with
        regionflow: fine-tuning), a checkpoint path, or "none" / None (Glorot initialisation, as
        the original). Resuming a run's own checkpoint takes precedence.
    """

    loss: Literal["danbooregion", "l1", "l1+gan"] = "danbooregion"
    steps: int = 50_000
    batch_size: int = 4
    crop: int = 512
    lr: float = 1e-5
    critic_lr: float = 1e-5
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adv_weight: float = 0.01
    gp_weight: float = 10.0
    l1_weight: float = 1.0
    checkpoint_every: int = 200
    keep_last: int = 3
    preview_every: int = 10
    val_every: int = 1000
    log_every: int = 10
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    amp_dtype: Literal["bfloat16", "float16"] = "bfloat16"
    cpu_amp: bool = False
    compile: bool = False
    channels_last: bool = True
    deterministic: bool = False
    num_workers: int = 2
    augment: bool = True
    target: Literal["jacobi", "harmonic"] = "jacobi"
    min_quality: float | None = None
    lr_milestones: tuple[int, ...] = ()
    lr_gamma: float = 0.3
    zoom: tuple[float, float] | None = None
    low_contrast: float = 0.0
    init: str | None = "default"

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss: expected one of {LOSSES}, got {self.loss!r}")
        if self.target not in TARGETS:
            raise ValueError(f"target: expected one of {TARGETS}, got {self.target!r}")
        if self.amp_dtype not in AMP_DTYPES:
            raise ValueError(f"amp_dtype: expected one of {AMP_DTYPES}, got {self.amp_dtype!r}")
        for name in ("steps", "batch_size", "crop", "checkpoint_every", "keep_last", "log_every"):
            _positive(name, getattr(self, name))
        for name in ("preview_every", "val_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be >= 0 (0 = never), got {getattr(self, name)}")
        for name in ("lr", "critic_lr"):
            _positive(name, getattr(self, name))
        if self.crop % 32:
            raise ValueError(
                f"crop: must be a multiple of 32 (the U-Net pools 5 times), got {self.crop}"
            )
        if not 0.0 <= self.low_contrast <= 1.0:
            raise ValueError(f"low_contrast: a probability in [0, 1], got {self.low_contrast!r}")
        if self.num_workers < 0:
            raise ValueError(f"num_workers: must be >= 0, got {self.num_workers}")
        # JSON turns tuples into lists; normalise so from_dict(to_dict(c)) == c.
        object.__setattr__(self, "adam_betas", tuple(float(b) for b in self.adam_betas))
        if len(self.adam_betas) != 2:
            raise ValueError(f"adam_betas: expected two floats, got {self.adam_betas!r}")
        object.__setattr__(self, "lr_milestones", tuple(int(m) for m in self.lr_milestones))
        if any(m <= 0 for m in self.lr_milestones) or list(self.lr_milestones) != sorted(
            self.lr_milestones
        ):
            raise ValueError(
                f"lr_milestones: expected increasing positive steps, got {self.lr_milestones!r}"
            )
        _positive("lr_gamma", self.lr_gamma)
        if self.zoom is not None:
            object.__setattr__(self, "zoom", tuple(float(z) for z in self.zoom))
            if len(self.zoom) != 2 or not 0 < self.zoom[0] <= self.zoom[1]:
                raise ValueError(
                    f"zoom: expected (low, high) with 0 < low <= high, got {self.zoom!r}"
                )

    def lr_factor(self, step: int) -> float:
        """Learning-rate multiplier for (0-based) `step` under the step-decay schedule."""
        return self.lr_gamma ** sum(1 for m in self.lr_milestones if step >= m)

    @property
    def uses_critic(self) -> bool:
        return self.loss != "l1"


@dataclass(frozen=True)
class InferenceConfig(_DictConfig):
    """How a page is run through the generator.

    short_side : the page is resized so its short side is this many pixels before the net runs
        (None = keep the input size). Default 1024: DanbooRegion images are normalised to short
        side ≈1024 and training crops come from resizes to 520–1024, so this is in the training
        distribution and 4× cheaper than the original's 2048 (which followed a 2× SR step).
    tile, overlap : square tile side and overlap in pixels, multiples of 32; tiles are blended with
        cosine ramps over the overlap, so peak memory depends on `tile` and `batch`, not the page.
    tta : 1 (none), 4 (flips) or 8 (flips and transposes: the dihedral group) test-time variants.
    batch : tiles per forward pass.
    amp : bf16 autocast on CUDA; on CPU only with `cpu_amp` and a CPU with native bf16.
    cpu_amp : bf16 autocast on CPUs with native bf16 (AMX / AVX512-BF16); float32 elsewhere.
    """

    short_side: int | None = 1024
    tile: int = 1024
    overlap: int = 128
    tta: Literal[1, 4, 8] = 1
    batch: int = 4
    amp: bool = True
    cpu_amp: bool = False

    def __post_init__(self) -> None:
        if self.short_side is not None:
            _positive("short_side", self.short_side)
        _positive("tile", self.tile)
        _positive("batch", self.batch)
        if self.tile % 32:
            raise ValueError(f"tile: must be a multiple of 32, got {self.tile}")
        if self.overlap < 0 or self.overlap % 32 or self.overlap >= self.tile:
            raise ValueError(
                f"overlap: must be a multiple of 32 in [0, tile), got {self.overlap} (tile {self.tile})"
            )
        if self.tta not in (1, 4, 8):
            raise ValueError(f"tta: expected 1, 4 or 8, got {self.tta!r}")

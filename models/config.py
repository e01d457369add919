"""Frozen, typed configs for training and inference, with defaults = the DanbooRegion recipe.

`FrozenConfig` is the one base of every config in regionflow (these, the stage configs in
`tasks.config`, the comics and parts configs): a frozen pydantic model whose fields are the only
source of defaults, whose types and validators check values, and whose errors name the field.
Configs round-trip through plain dicts (JSON): the resolved config is saved in every checkpoint
and next to a run's outputs, and the CLI / prefect.yaml only override fields.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

LOSSES = ("danbooregion", "l1", "l1+gan")
TARGETS = ("jacobi", "harmonic")
AMP_DTYPES = ("bfloat16", "float16")

Positive = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
NonNegative = Annotated[int, Field(ge=0)]


class ConfigError(ValueError):
    """A config value or field name is wrong; the message names the field (dotted for nested)."""


class FrozenConfig(BaseModel):
    """Base of all configs: frozen, unknown fields forbidden, plain-dict and JSON (de)serialisation.

    `to_dict` keeps tuples (the dict checkpoints store and run identities hash); `to_json` and
    JSON-ready dicts turn them into lists, and validation turns lists back into tuples, so
    `from_dict(to_dict(c)) == c` also after a JSON round trip. A string given for a tuple field
    (`--set extract.exports=labels,svg`) is split at commas.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(describe(exc, type(self))) from None

    @model_validator(mode="before")
    @classmethod
    def _split_tuple_strings(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for name, info in cls.model_fields.items():
            if isinstance(out.get(name), str) and _is_tuple_without_str(info.annotation):
                out[name] = tuple(v.strip() for v in out[name].split(",") if v.strip())
        return out

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples as lists)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Self:
        if data is not None and not isinstance(data, dict):
            raise ConfigError(f"config: expected a mapping, got {type(data).__name__}")
        return cls(**(data or {}))

    @classmethod
    def of(cls, config: Self | dict[str, Any] | None) -> Self:
        """`config` itself when it is already one (what a flow parameter is after Prefect
        validated it), else validated from a (partial) dict; None: the defaults."""
        return config if isinstance(config, cls) else cls.from_dict(config)

    def to_json(self) -> str:
        return json.dumps(self.to_json_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Self:
        return cls.from_dict(json.loads(text))

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes`, validated (unlike pydantic's `model_copy`). The fields set stay
        set and the changed ones join them (`model_fields_set`: what the user gave, which
        `region_export` and `PipelineConfig` read); the others keep their defaults."""
        return type(self)(**{**{n: getattr(self, n) for n in self.model_fields_set}, **changes})


def _is_tuple_without_str(annotation: Any) -> bool:
    if typing.get_origin(annotation) is tuple:
        return True
    if typing.get_origin(annotation) in (types.UnionType, typing.Union):
        args = typing.get_args(annotation)
        strings = any(a is str or typing.get_origin(a) is Literal for a in args)
        return not strings and any(typing.get_origin(a) is tuple for a in args)
    return False


_KINDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "true/false",
    "string": "a string",
    "tuple": "a list",
    "list": "a list",
    "dict": "a mapping",
    "model": "a mapping",
}


def describe(exc: ValidationError, model: type[BaseModel]) -> str:
    """One line per error, each starting with the dotted field name (pydantic's own wording
    otherwise): `train.steps: expected an integer, got 'many'`."""
    lines = []
    for error in exc.errors():
        loc = ".".join(str(p) for p in error["loc"])
        kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
        prefix = kind.split("_")[0]
        if kind == "extra_forbidden":
            known = ", ".join(sorted(_model_at(model, error["loc"][:-1]).model_fields))
            lines.append(f"{loc}: unknown config field (known: {known})")
        elif kind == "value_error":
            message, parts = str(ctx.get("error", error["msg"])), [str(p) for p in error["loc"]]
            if parts and message.startswith(f"{parts[-1]}:"):
                parts = parts[:-1]  # a field validator whose message names its field
            lines.append(".".join([*parts, message]))
        elif kind == "literal_error":
            lines.append(f"{loc}: expected one of {ctx.get('expected')}, got {value!r}")
        elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
            lines.append(
                f"{loc}: {error['msg'].replace('Input should be', 'must be')}, got {value!r}"
            )
        elif prefix in _KINDS and kind.endswith(("_type", "_parsing", "_fraction")):
            lines.append(f"{loc}: expected {_KINDS[prefix]}, got {value!r}")
        else:
            lines.append(f"{loc or model.__name__}: {error['msg']}, got {value!r}")
    return "; ".join(lines)


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel]:
    for part in loc:
        annotation = (
            model.model_fields[str(part)].annotation if str(part) in model.model_fields else None
        )
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    return model


def require(name: str, ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(f"{name}: {message}")


class TrainConfig(FrozenConfig):
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
    steps: Positive = 50_000
    batch_size: Positive = 4
    crop: Positive = 512
    lr: PositiveFloat = 1e-5
    critic_lr: PositiveFloat = 1e-5
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adv_weight: float = 0.01
    gp_weight: float = 10.0
    l1_weight: float = 1.0
    checkpoint_every: Positive = 200
    keep_last: Positive = 3
    preview_every: NonNegative = 10  # 0 = never
    val_every: NonNegative = 1000  # 0 = never
    log_every: Positive = 10
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    amp_dtype: Literal["bfloat16", "float16"] = "bfloat16"
    cpu_amp: bool = False
    compile: bool = False
    channels_last: bool = True
    deterministic: bool = False
    num_workers: NonNegative = 2
    augment: bool = True
    target: Literal["jacobi", "harmonic"] = "jacobi"
    min_quality: float | None = None
    lr_milestones: tuple[int, ...] = ()
    lr_gamma: PositiveFloat = 0.3
    zoom: tuple[float, float] | None = None
    low_contrast: float = 0.0
    init: str | None = "default"

    @model_validator(mode="after")
    def _check_values(self) -> Self:
        require(
            "crop",
            self.crop % 32 == 0,
            f"must be a multiple of 32 (the U-Net pools 5 times), got {self.crop}",
        )
        require(
            "low_contrast",
            0.0 <= self.low_contrast <= 1.0,
            f"a probability in [0, 1], got {self.low_contrast!r}",
        )
        require(
            "lr_milestones",
            all(m > 0 for m in self.lr_milestones)
            and list(self.lr_milestones) == sorted(self.lr_milestones),
            f"expected increasing positive steps, got {self.lr_milestones!r}",
        )
        require(
            "zoom",
            self.zoom is None or 0 < self.zoom[0] <= self.zoom[1],
            f"expected (low, high) with 0 < low <= high, got {self.zoom!r}",
        )
        return self

    def lr_factor(self, step: int) -> float:
        """Learning-rate multiplier for (0-based) `step` under the step-decay schedule."""
        return self.lr_gamma ** sum(1 for m in self.lr_milestones if step >= m)

    @property
    def uses_critic(self) -> bool:
        return self.loss != "l1"


class InferenceConfig(FrozenConfig):
    """How a page is run through the generator.

    short_side : the page is resized so its short side is this many pixels before the net runs
        (None = keep the input size). Default 1024: DanbooRegion images are normalised to short
        side ≈1024 and training crops come from resizes to 520–1024, so this is in the training
        distribution and 4× cheaper than the original's 2048 (which followed a 2× SR step).
    tile, overlap : square tile side and overlap in pixels, multiples of 32; tiles are blended with
        cosine ramps over the overlap, so peak memory depends on `tile` and `batch`, not the page.
        A page of at most `tile`² × `batch` pixels (after padding) runs whole, in one pass: the
        same memory as one batch of tiles, no seams, no repeated overlaps.
    tta : 1 (none), 4 (flips) or 8 (flips and transposes: the dihedral group) test-time variants.
    batch : tiles per forward pass.
    amp : bf16 autocast on CUDA; on CPU only with `cpu_amp` and a CPU with native bf16.
    cpu_amp : bf16 autocast on CPUs with native bf16 (AMX / AVX512-BF16); float32 elsewhere.
    """

    short_side: Positive | None = 1024
    tile: Positive = 1024
    overlap: int = 128
    tta: Literal[1, 4, 8] = 1
    batch: Positive = 4
    amp: bool = True
    cpu_amp: bool = False

    @model_validator(mode="after")
    def _check_values(self) -> Self:
        require("tile", self.tile % 32 == 0, f"must be a multiple of 32, got {self.tile}")
        require(
            "overlap",
            0 <= self.overlap < self.tile and self.overlap % 32 == 0,
            f"must be a multiple of 32 in [0, tile), got {self.overlap} (tile {self.tile})",
        )
        return self

"""Stage configs: frozen, typed, defaults in code. CLI flags and prefect.yaml only override fields.

`PipelineConfig.from_dict` accepts nested dicts (JSON config files) and dotted overrides
(`train.steps=50`); unknown fields are an error that names the field.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field, model_validator

from regionflow.models.config import (
    TARGETS,
    ConfigError,
    FrozenConfig,
    NonNegative,
    Positive,
    TrainConfig,
)

EXPORT_FORMATS = ("labels", "flat", "regions", "coco", "svg")
BASELINES = ("felzenszwalb", "slic", "watershed")
PREDICTORS = ("model", "ground_truth", *BASELINES)
DECODERS = (
    "simple",
    "full",
    "colour",
)  # regions.danbooregion.decode.DECODERS (a test ties the two)
Predictor = Literal["model", "ground_truth", "felzenszwalb", "slic", "watershed"]
ExportFormat = Literal["labels", "flat", "regions", "coco", "svg"]


class IngestConfig(FrozenConfig):
    """Where samples come from and what counts as a valid one."""

    source: str = "synthetic"  # "synthetic", a folder, an archive, a URL (http, s3://, memory://…)
    synthetic_seed: int = 0
    synthetic_train: int = 24
    synthetic_val: int = 6
    synthetic_test: int = 2
    synthetic_height: int = 256
    synthetic_width: int = 256
    max_pixels: int = 100_000_000  # decompression-bomb guard
    max_size_mismatch: NonNegative = 2  # image vs region map, in pixels, before quarantine
    sha256: str | None = None  # expected sha256 of a downloaded archive
    strict: bool = False  # fail the run when any sample is quarantined


class SkeletonConfig(FrozenConfig):
    """The DanbooRegion skeleton target (REFERENCE §1.2)."""

    rounds: Positive = 512
    method: Literal["jacobi", "harmonic"] = (
        "jacobi"  # "jacobi" (the original, 512 damped rounds) or "harmonic" (converged)
    )
    seed: int = 0  # noise seed; each sample mixes in its id
    splits: tuple[str, ...] = ("train", "val")


class ExtractConfig(FrozenConfig):
    """Regions from images: which samples, which predictor, which decoder, what to export."""

    split: str = "val"
    # "model" (the trained checkpoint), "ground_truth" (GT → skeleton → decoder: the ceiling of the
    # representation), or a classical baseline: "felzenszwalb", "slic", "watershed"
    predictor: Predictor = "model"
    # "full" (the original's post-processing), "simple" (watershed on the skeleton's normal map) or
    # "colour" (simple's markers, watershed on the picture; the shipped model's own)
    decoder: Literal["simple", "full", "colour"] = "full"
    # Marker threshold of the decoder; None = its default (simple 100, full 135), or the shipped
    # model's own (chosen on synthetic val, models/zoo/default.json) when extracting with it.
    threshold: int | None = None
    # Working resolution of the net (short side, px; None = the image's own). The shipped model
    # records its own (models/zoo/default.json), which `region_export` uses instead.
    short_side: int | None = 1024
    tta: Literal[1, 4, 8] = 1  # dihedral test-time augmentation: 1, 4 or 8
    # bf16 autocast on CPUs with native bf16 (AMX / AVX512-BF16; ≈2× faster there), float32
    # elsewhere; on CUDA bf16 always (InferenceConfig.amp)
    cpu_amp: bool = True
    exports: tuple[ExportFormat, ...] = ("labels", "flat", "regions")  # also: "coco", "svg"
    max_images: int | None = None
    compare: tuple[Predictor, ...] = ()  # more predictors scored on the same images, side by side
    # Decoder thresholds for boundary ODS/OIS (BSDS-style sweep); () = only the decoder's own.
    # Each threshold decodes and matches once more per image.
    thresholds: tuple[int, ...] = ()
    # Boundary P/R/F is reported twice: at 0.0075 × the diagonal (BSDS) and at this many pixels.
    tolerance_px: float = Field(default=2.0, ge=0)


class PipelineConfig(FrozenConfig):
    """All four stages plus where the Dask work runs."""

    ingest: IngestConfig = IngestConfig()
    skeleton: SkeletonConfig = SkeletonConfig()
    train: TrainConfig = TrainConfig()
    extract: ExtractConfig = ExtractConfig()
    dask_address: str | None = (
        None  # None: $DASK_SCHEDULER_ADDRESS, else a local cluster sized to the machine
    )
    lock_wait: float = 0.0  # seconds to wait for another run on the same store (0: exit at once)

    @classmethod
    def demo(cls) -> PipelineConfig:
        """Sized so the whole pipeline runs in minutes on 2 CPU cores."""
        return cls(
            train=TrainConfig(
                loss="l1",
                steps=100,
                batch_size=4,
                crop=256,
                lr=1e-4,
                checkpoint_every=25,
                preview_every=25,
                num_workers=0,
                keep_last=2,
                cpu_amp=True,  # bf16 where the CPU has it natively; float32 elsewhere
            ),
            extract=ExtractConfig(
                # The shipped model's best decoding on synthetic val pictures, which is what the
                # demo's data are (on real pictures it decodes with "colour": docs/model_card.md).
                decoder="simple",
                threshold=120,
                short_side=None,  # the synthetic val pictures at their own size
                compare=("ground_truth", *BASELINES),
                thresholds=(60, 80, 100, 120, 140, 160, 180),
            ),
        )

    @model_validator(mode="before")
    @classmethod
    def _one_target(cls, data: Any) -> Any:
        """`skeleton.method` and `train.target` are one choice (see `one_target`): the same check
        for `from_dict`, `PipelineConfig(...)` and a flow parameter Prefect validates."""
        return one_target(data) if isinstance(data, dict) else data

    @classmethod
    def from_dict(
        cls, data: dict[str, Any] | None, *, base: PipelineConfig | None = None
    ) -> PipelineConfig:
        """`base` (default: the defaults) with the fields in `data` (nested by stage) replaced.

        The skeleton stage computes the target training learns, so `skeleton.method` and
        `train.target` are one choice: the one `data` gives sets the other; both given and
        different is an error naming both (never a silent overwrite).
        """
        data = data or {}
        if not isinstance(data, dict):
            raise ConfigError(f"config: expected a mapping, got {type(data).__name__}")
        data = one_target(data)  # before `base` fills both fields
        return cls(**data) if base is None else cls(**_merge(base.to_dict(), data))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (tuples as lists): what `regionflow config` prints."""
        return self.to_json_dict()


def _merge(base: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """`base` with `data` laid over it; sections (dicts in both) merge field by field."""
    out = dict(base)
    for key, value in data.items():
        current = out.get(key)
        both = isinstance(current, dict) and isinstance(value, dict)
        out[key] = _merge(current, value) if both else value
    return out


def one_target(data: dict[str, Any]) -> dict[str, Any]:
    """`data` (a PipelineConfig's fields: dicts or configs per stage) with the one of
    `skeleton.method` / `train.target` it gives copied to the other; both given and different
    is a ConfigError naming both. A stage given as a config gives the fields it was given
    (`model_fields_set`); a value that is no target is left for the field's own check."""
    method = _given(data.get("skeleton"), "method")
    target = _given(data.get("train"), "target")
    if method and target:
        if method[0] != target[0]:
            raise ConfigError(
                f"skeleton.method={method[0]!r} conflicts with train.target={target[0]!r}: the "
                "skeleton stage computes the target training learns; give one of them (the other "
                "follows) or the same value to both"
            )
        return data
    if method:
        return {**data, "train": _with(data.get("train"), "target", method[0])}
    if target:
        return {**data, "skeleton": _with(data.get("skeleton"), "method", target[0])}
    return data


def _given(section: Any, name: str) -> tuple[str] | None:
    """(value,) when `section` (a dict or a config) gives the target field `name`, else None."""
    if isinstance(section, FrozenConfig):
        value = getattr(section, name) if name in section.model_fields_set else None
    else:
        value = section.get(name) if isinstance(section, dict) else None
    return (value,) if value in TARGETS else None


def _with(section: Any, name: str, value: str) -> Any:
    """`section` (a dict, a config or None) with `name` = `value`; anything else is left for
    the section's own check."""
    if isinstance(section, FrozenConfig):
        return section.replace(**{name: value})
    if isinstance(section, dict):
        return {**section, name: value}
    return {name: value} if section is None else section


def to_dict(config: FrozenConfig) -> dict[str, Any]:
    """A JSON-ready dict of a (nested) config."""
    return config.to_json_dict()


def apply_overrides(config: PipelineConfig, overrides: list[str]) -> PipelineConfig:
    """Apply `section.field=value` strings (see `parse_override`); the model's field types
    coerce and check each value (errors name the field)."""
    for item in overrides:
        config = PipelineConfig.from_dict(parse_override(item, "train.steps=50"), base=config)
    return config


def parse_override(item: str, example: str = "field=value") -> dict[str, Any]:
    """`field=value` or `section.field=value` as a (nested) dict; the value is parsed as JSON
    when it parses (50, false, [1, 2]), else taken as a string."""
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {item!r}: expected FIELD=VALUE, e.g. {example}")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    nested: Any = value
    for part in reversed(key.split(".")):
        nested = {part: nested}
    return nested

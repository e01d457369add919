"""Stage configs: frozen, typed, defaults in code. CLI flags and prefect.yaml only override fields.

`PipelineConfig.from_dict` accepts nested dicts (JSON config files) and dotted overrides
(`train.steps=50`); unknown fields are an error that names the field.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from regionflow.models.config import TrainConfig

T = TypeVar("T")
EXPORT_FORMATS = ("labels", "flat", "regions", "coco", "svg")
BASELINES = ("felzenszwalb", "slic", "watershed")
PREDICTORS = ("model", "ground_truth", *BASELINES)
DECODERS = (
    "simple",
    "full",
    "colour",
)  # regions.danbooregion.decode.DECODERS (a test ties the two)


@dataclass(frozen=True)
class IngestConfig:
    """Where samples come from and what counts as a valid one."""

    source: str = "synthetic"  # "synthetic", a folder, an archive, a URL (http, s3://, memory://…)
    synthetic_seed: int = 0
    synthetic_train: int = 24
    synthetic_val: int = 6
    synthetic_test: int = 2
    synthetic_height: int = 256
    synthetic_width: int = 256
    max_pixels: int = 100_000_000  # decompression-bomb guard
    max_size_mismatch: int = 2  # image vs region map, in pixels, before quarantine
    sha256: str | None = None  # expected sha256 of a downloaded archive
    strict: bool = False  # fail the run when any sample is quarantined


@dataclass(frozen=True)
class SkeletonConfig:
    """The DanbooRegion skeleton target (REFERENCE §1.2)."""

    rounds: int = 512
    method: str = "jacobi"  # "jacobi" (the original, 512 damped rounds) or "harmonic" (converged)
    seed: int = 0  # noise seed; each sample mixes in its id
    splits: tuple[str, ...] = ("train", "val")

    def __post_init__(self) -> None:
        if self.method not in ("jacobi", "harmonic"):
            raise ValueError(f"method: expected 'jacobi' or 'harmonic', got {self.method!r}")
        if self.rounds < 1:
            raise ValueError(f"rounds: must be >= 1, got {self.rounds}")


@dataclass(frozen=True)
class ExtractConfig:
    """Regions from images: which samples, which predictor, which decoder, what to export."""

    split: str = "val"
    # "model" (the trained checkpoint), "ground_truth" (GT → skeleton → decoder: the ceiling of the
    # representation), or a classical baseline: "felzenszwalb", "slic", "watershed"
    predictor: str = "model"
    # "full" (the original's post-processing), "simple" (watershed on the skeleton's normal map) or
    # "colour" (simple's markers, watershed on the picture; the shipped model's own)
    decoder: str = "full"
    # Marker threshold of the decoder; None = its default (simple 100, full 135), or the shipped
    # model's own (chosen on synthetic val, models/zoo/default.json) when extracting with it.
    threshold: int | None = None
    # Working resolution of the net (short side, px; None = the image's own). The shipped model
    # records its own (models/zoo/default.json), which `region_export` uses instead.
    short_side: int | None = 1024
    tta: int = 1  # dihedral test-time augmentation: 1, 4 or 8
    # bf16 autocast on CPUs with native bf16 (AMX / AVX512-BF16; ≈2× faster there), float32
    # elsewhere; on CUDA bf16 always (InferenceConfig.amp)
    cpu_amp: bool = True
    exports: tuple[str, ...] = ("labels", "flat", "regions")  # also: "coco", "svg"
    max_images: int | None = None
    compare: tuple[str, ...] = ()  # more predictors scored on the same images, side by side
    # Decoder thresholds for boundary ODS/OIS (BSDS-style sweep); () = only the decoder's own.
    # Each threshold decodes and matches once more per image.
    thresholds: tuple[int, ...] = ()
    # Boundary P/R/F is reported twice: at 0.0075 × the diagonal (BSDS) and at this many pixels.
    tolerance_px: float = 2.0

    def __post_init__(self) -> None:
        if not self.tolerance_px >= 0:
            raise ValueError(f"tolerance_px: must be >= 0, got {self.tolerance_px!r}")
        for name, value, allowed in (
            ("predictor", self.predictor, PREDICTORS),
            ("decoder", self.decoder, DECODERS),
            ("tta", self.tta, (1, 4, 8)),
        ):
            if value not in allowed:
                raise ValueError(f"{name}: expected one of {allowed}, got {value!r}")
        if set(self.compare) - set(PREDICTORS):
            raise ValueError(
                f"compare: unknown predictors {sorted(set(self.compare) - set(PREDICTORS))}"
            )
        unknown = set(self.exports) - set(EXPORT_FORMATS)
        if unknown:
            raise ValueError(
                f"exports: unknown formats {sorted(unknown)} (known: {', '.join(EXPORT_FORMATS)})"
            )


@dataclass(frozen=True)
class PipelineConfig:
    """All four stages plus where the Dask work runs."""

    ingest: IngestConfig = field(default_factory=IngestConfig)
    skeleton: SkeletonConfig = field(default_factory=SkeletonConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
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

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], *, base: PipelineConfig | None = None
    ) -> PipelineConfig:
        """`base` (default: the defaults) with the fields in `data` replaced.

        The skeleton stage computes the target training learns, so `skeleton.method` and
        `train.target` are one choice: the one `data` gives sets the other; both given and
        different is an error naming both (never a silent overwrite).
        """
        return _one_target(replace_fields(base or cls(), data), data)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


def _one_target(config: PipelineConfig, data: dict[str, Any]) -> PipelineConfig:
    method = config.skeleton.method
    target = config.train.target
    gave_method = "method" in (data.get("skeleton") or {})
    gave_target = "target" in (data.get("train") or {})
    if method == target:
        return config
    if gave_method and gave_target:
        raise ValueError(
            f"skeleton.method={method!r} conflicts with train.target={target!r}: the skeleton "
            "stage computes the target training learns; give one of them (the other follows) "
            "or the same value to both"
        )
    if gave_method:
        return dataclasses.replace(config, train=dataclasses.replace(config.train, target=method))
    return dataclasses.replace(config, skeleton=dataclasses.replace(config.skeleton, method=target))


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (nested) config dataclass."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def replace_fields(config: T, data: dict[str, Any], *, prefix: str = "") -> T:
    """`config` with the fields in `data` replaced; nested dataclasses take nested dicts."""
    if not isinstance(data, dict):
        raise ValueError(f"{prefix or 'config'}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(config)}
    hints = typing.get_type_hints(type(config))
    changes = {}
    for name, value in data.items():
        where = f"{prefix}{name}"
        if name not in fields:
            raise ValueError(f"{where}: unknown config field (known: {', '.join(sorted(fields))})")
        current = getattr(config, name)
        if dataclasses.is_dataclass(current):
            changes[name] = replace_fields(current, value, prefix=f"{where}.")
        else:
            changes[name] = _coerce(value, hints[name], where)
    return dataclasses.replace(config, **changes)


def apply_overrides(config: T, overrides: list[str]) -> T:
    """Apply `section.field=value` strings (values parsed as JSON when they parse)."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"override {item!r}: expected FIELD=VALUE, e.g. train.steps=50")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        nested: dict[str, Any] = value
        for part in reversed(key.split(".")):
            nested = {part: nested}
        config = replace_fields(config, nested)
    return config


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError(errors[0] if errors else f"{where}: bad value {value!r}")
    if origin is tuple:
        if isinstance(value, str):
            value = [v for v in value.split(",") if v]
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where}: expected a list, got {value!r}")
        return tuple(_coerce(v, args[0], where) for v in value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ValueError(f"{where}: expected true/false, got {value!r}")
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError(f"{where}: expected an integer, got {value!r}")
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{where}: expected an integer, got {value!r}") from None
    if hint is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: expected a number, got {value!r}") from None
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"{where}: expected a string, got {value!r}")
        return value
    return value

"""Device, dtype, compile and seed decisions, resolved once at the edge (house rule 5).

Everything downstream receives a `Runtime` and never asks torch what hardware it is on.
"""

from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

_AMP_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """ "auto" → "cuda" when a CUDA device is available, else "cpu"; anything else as given."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device: not a torch device: {device!r}") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {device!r} requested but CUDA is not available")
    return resolved


@dataclass(frozen=True)
class Runtime:
    """Resolved execution settings. `amp_dtype` is None when running in float32."""

    device: torch.device
    amp_dtype: torch.dtype | None = None
    channels_last: bool = False
    compile: bool = False
    deterministic: bool = False

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    @property
    def grad_scaling(self) -> bool:
        # bf16 has float32's exponent range: only float16 needs loss scaling.
        return self.amp_dtype == torch.float16

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": str(self.device),
            "amp_dtype": None
            if self.amp_dtype is None
            else str(self.amp_dtype).removeprefix("torch."),
            "channels_last": self.channels_last,
            "compile": self.compile,
            "deterministic": self.deterministic,
            "torch": str(torch.__version__),
            "device_name": torch.cuda.get_device_name(self.device)
            if self.device.type == "cuda"
            else "cpu",
        }


def cpu_has_fast_bf16() -> bool:
    """Whether oneDNN runs bf16 convolutions natively on this CPU (AMX or AVX512-BF16)."""
    try:
        return bool(
            torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
        )
    except (AttributeError, RuntimeError):
        return False


def resolve_runtime(
    device: str | torch.device = "auto",
    *,
    amp: bool = True,
    amp_dtype: str = "bfloat16",
    channels_last: bool = True,
    compile: bool = False,
    deterministic: bool = False,
    cpu_amp: bool = False,
) -> Runtime:
    """Decide once how to run. Mixed precision and channels_last apply on CUDA; bf16 falls back to
    float16 on GPUs without it. On CPU they apply only with `cpu_amp` and a CPU with native bf16
    (AMX / AVX512-BF16, `cpu_has_fast_bf16`): there bf16 + channels_last trains this U-Net ≈4×
    faster than float32; elsewhere they would be slower, so CPU stays float32."""
    resolved = resolve_device(device)
    if amp_dtype not in _AMP_DTYPES:
        raise ValueError(f"amp_dtype: expected one of {sorted(_AMP_DTYPES)}, got {amp_dtype!r}")
    on_cuda = resolved.type == "cuda"
    fast_cpu = resolved.type == "cpu" and amp and cpu_amp and cpu_has_fast_bf16()
    dtype = None
    if amp and on_cuda:
        dtype = _AMP_DTYPES[amp_dtype]
        if dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
            dtype = torch.float16
    elif fast_cpu:
        dtype = torch.bfloat16
    runtime = Runtime(
        device=resolved,
        amp_dtype=dtype,
        channels_last=channels_last and (on_cuda or fast_cpu),
        compile=compile,
        deterministic=deterministic,
    )
    set_deterministic(deterministic)
    if on_cuda and not deterministic:
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return runtime


def set_deterministic(enabled: bool = True) -> None:
    """Deterministic kernels (bitwise-reproducible runs and resumes) or the fastest ones.

    On CUDA a few kernels used here (nearest-upsample backward) have no deterministic version:
    torch warns instead of failing (`warn_only`), so CUDA runs are reproducible only up to those.
    """
    if enabled:
        # cuBLAS needs this before its first handle is created to be deterministic.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(enabled, warn_only=True)
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = False


def prepare_module(module: nn.Module, runtime: Runtime) -> nn.Module:
    """Move to the device and memory format (in place). Returns the same module."""
    return module.to(device=runtime.device, memory_format=runtime.memory_format)


def maybe_compile(module: nn.Module, runtime: Runtime) -> nn.Module:
    """torch.compile(module) when the runtime asks for it; the original keeps the weights (save
    `module.state_dict()` from the uncompiled one, whose keys have no `_orig_mod.` prefix)."""
    if not runtime.compile:
        return module
    return torch.compile(module)  # type: ignore[return-value]


def seed_everything(seed: int) -> None:
    """Seed python, numpy's legacy global RNG and torch (CPU and every CUDA device)."""
    random.seed(seed)
    # The legacy global RNG is the one third-party code (and old augmentation) draws from.
    np.random.seed(seed % 2**32)  # noqa: NPY002
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Every global RNG state, in types `torch.load(weights_only=True)` accepts."""
    np_state = np.random.get_state(legacy=False)  # noqa: NPY002
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "bit_generator": np_state["bit_generator"],
            "key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state()` captured (CUDA states only where devices exist)."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np_state = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        {
            "bit_generator": np_state["bit_generator"],
            "state": {"key": np_state["key"].numpy().astype(np.uint32), "pos": np_state["pos"]},
            "has_gauss": np_state["has_gauss"],
            "gauss": np_state["gauss"],
        }
    )
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        cuda_states = state["cuda"][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(cuda_states)

import io
import random

import numpy as np
import pytest
import torch

from regionflow.models.device import (
    resolve_device,
    resolve_runtime,
    rng_state,
    seed_everything,
    set_deterministic,
    set_rng_state,
)


@pytest.fixture
def restore_determinism():
    before = torch.are_deterministic_algorithms_enabled()
    yield
    set_deterministic(before)


def _draws():
    return random.random(), float(np.random.random())  # noqa: NPY002, float(torch.rand(1))


def test_auto_is_cpu_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="device"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu-ish")


def test_cpu_runtime_is_float32_and_contiguous(restore_determinism):
    runtime = resolve_runtime("cpu", amp=True, channels_last=True)
    assert runtime.amp_dtype is None and not runtime.channels_last and not runtime.grad_scaling
    assert runtime.to_dict()["device"] == "cpu"
    with runtime.autocast():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


def test_deterministic_switch(restore_determinism):
    set_deterministic(True)
    assert torch.are_deterministic_algorithms_enabled()
    set_deterministic(False)
    assert not torch.are_deterministic_algorithms_enabled()


def test_seed_everything_is_reproducible():
    seed_everything(7)
    first = _draws()
    seed_everything(7)
    assert _draws() == first


def test_rng_state_round_trips_through_weights_only_load():
    seed_everything(3)
    _draws()
    buffer = io.BytesIO()
    torch.save(rng_state(), buffer)
    expected = _draws()
    _draws()
    buffer.seek(0)
    set_rng_state(torch.load(buffer, weights_only=True))
    assert _draws() == expected


@pytest.mark.gpu
def test_cuda_runtime_uses_bf16_and_channels_last(restore_determinism):
    runtime = resolve_runtime("auto")
    assert runtime.device.type == "cuda"
    assert runtime.amp_dtype in (torch.bfloat16, torch.float16) and runtime.channels_last
    with runtime.autocast():
        y = torch.ones(8, 8, device=runtime.device) @ torch.ones(8, 8, device=runtime.device)
    assert y.dtype == runtime.amp_dtype

"""Torch tests run single-threaded: on a small shared CI box, OpenMP threads contending for the
same cores make convolutions many times slower than one thread, and timings erratic."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="package")
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

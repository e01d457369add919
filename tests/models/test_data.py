import functools
import pickle

import numpy as np
import pytest
import torch

from regionflow.models.config import TrainConfig
from regionflow.models.data import CropDataset, StepBatchSampler, make_loader


def read_synthetic(sample_id, *, size=(80, 100)):
    """A picklable stand-in for the storage layer's reader."""
    rng = np.random.default_rng(int(sample_id))
    image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    skeleton = rng.integers(0, 256, size, dtype=np.uint8)
    return image, skeleton


class CountingReader:
    def __init__(self):
        self.calls = []

    def __call__(self, sample_id):
        self.calls.append(sample_id)
        return read_synthetic(sample_id)


def _dataset(**kwargs):
    args = {"crop": 64, "batch_size": 3, "seed": 1}
    args.update(kwargs)
    return CropDataset(list(range(5)), functools.partial(read_synthetic, size=(80, 100)), **args)


def test_items_are_uint8_tensors_and_reproducible():
    ds = _dataset()
    image, skeleton = ds[(4, 2)]
    assert image.shape == (3, 64, 64) and skeleton.shape == (1, 64, 64)
    assert image.dtype == skeleton.dtype == torch.uint8
    again = _dataset()[(4, 2)]
    assert torch.equal(image, again[0]) and torch.equal(skeleton, again[1])
    assert not torch.equal(skeleton, ds[(4, 1)][1])
    assert not torch.equal(skeleton, _dataset(seed=2)[(4, 2)][1])


def test_every_sample_once_per_epoch():
    ds = _dataset(batch_size=2)
    ids = [ds.sample_id(step, i) for step in range(5) for i in range(2)]  # 10 items = 2 epochs
    assert sorted(ids[:5]) == sorted(ids[5:]) == list(range(5))
    assert ids[:5] != ids[5:]  # a fresh permutation per epoch


def test_lazy_and_picklable():
    reader = CountingReader()
    ds = CropDataset(["a", "b"], reader, crop=32, batch_size=1)
    assert reader.calls == []
    clone = pickle.loads(pickle.dumps(_dataset()))
    assert torch.equal(clone[(0, 0)][1], _dataset()[(0, 0)][1])
    with pytest.raises(IndexError):
        ds[(0, 1)]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="sample_ids"):
        CropDataset([], read_synthetic, crop=32, batch_size=1)
    with pytest.raises(ValueError, match="read_sample"):
        CropDataset([1], None, crop=32, batch_size=1)  # type: ignore[arg-type]


def test_from_config():
    config = TrainConfig(crop=64, batch_size=2, seed=9, augment=False)
    ds = CropDataset.from_config([1, 2], read_synthetic, config)
    assert (ds.crop, ds.batch_size, ds.seed, ds.augment) == (64, 2, 9, False)


def test_sampler_yields_the_steps_pairs():
    sampler = StepBatchSampler(2, 4, 2)
    assert list(sampler) == [[(2, 0), (2, 1)], [(3, 0), (3, 1)]]
    assert len(sampler) == 2
    with pytest.raises(ValueError, match="start_step"):
        StepBatchSampler(5, 4, 2)


def test_loader_is_independent_of_workers_and_resumable():
    ds = _dataset(crop=32, batch_size=2)
    serial = list(make_loader(ds, start_step=0, stop_step=4, num_workers=0))
    parallel = list(make_loader(ds, start_step=0, stop_step=4, num_workers=2))
    resumed = list(make_loader(ds, start_step=2, stop_step=4, num_workers=0))
    assert len(serial) == len(parallel) == 4 and len(resumed) == 2
    for (a_img, a_sk), (b_img, b_sk) in zip(serial, parallel, strict=True):
        assert a_img.shape == (2, 3, 32, 32)
        assert torch.equal(a_img, b_img) and torch.equal(a_sk, b_sk)
    for (a_img, a_sk), (b_img, b_sk) in zip(serial[2:], resumed, strict=True):
        assert torch.equal(a_img, b_img) and torch.equal(a_sk, b_sk)

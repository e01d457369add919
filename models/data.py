"""Random training crops as a torch Dataset, reproducible per (seed, step, index in batch).

The dataset is indexed by `(step, index)` pairs, not by sample: `StepBatchSampler` yields the
pairs of each step, so the data of step k does not depend on how many workers there are or on
whether the run was resumed — resuming at step k just starts the sampler at k.

Which sample a pair uses: the global item number `step·batch_size + index` walks through a fresh
seeded permutation of the sample ids every epoch (each sample once per epoch). Its augmentation
draws from `np.random.default_rng((seed, step, index))`.

`read_sample(sample_id) -> (image (H, W, 3) uint8 BGR, skeleton (H, W) uint8)` is supplied by the
storage layer. The dataset never calls it at construction and keeps no handle, so with a
picklable `read_sample` (a top-level function or a `functools.partial` of one) it can be sent to
DataLoader workers, each of which opens the store itself.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from regionflow.models.augment import augment_pair

ReadSample = Callable[[Any], tuple[np.ndarray, np.ndarray]]


class CropDataset(Dataset):
    """(step, index) → (image (3, crop, crop) uint8 BGR tensor, skeleton (1, crop, crop) uint8).

    Tensors stay uint8 (4× less to move and pin); the training step converts them on the device:
    input = image/255, target = 1 − skeleton/255.
    """

    def __init__(
        self,
        sample_ids: Sequence[Hashable],
        read_sample: ReadSample,
        *,
        crop: int,
        batch_size: int,
        seed: int = 0,
        augment: bool = True,
        zoom: tuple[float, float] | None = None,
        low_contrast: float = 0.0,
    ) -> None:
        if len(sample_ids) == 0:
            raise ValueError("sample_ids: no samples to train on")
        if not callable(read_sample):
            raise ValueError("read_sample: must be callable")
        if crop <= 0 or batch_size <= 0:
            raise ValueError(f"crop, batch_size: must be > 0, got {crop}, {batch_size}")
        self.sample_ids = tuple(sample_ids)
        self.read_sample = read_sample
        self.crop = crop
        self.batch_size = batch_size
        self.seed = seed
        self.augment = augment
        self.zoom = zoom
        self.low_contrast = low_contrast

    @classmethod
    def from_config(cls, sample_ids: Sequence[Hashable], read_sample: ReadSample, config: Any):
        """Build from a `TrainConfig` (crop, batch_size, seed, augment)."""
        return cls(
            sample_ids,
            read_sample,
            crop=config.crop,
            batch_size=config.batch_size,
            seed=config.seed,
            augment=config.augment,
            zoom=config.zoom,
            low_contrast=config.low_contrast,
        )

    def __len__(self) -> int:
        # Map-style datasets need a length; items are addressed by (step, index), not position.
        return len(self.sample_ids)

    def sample_id(self, step: int, index: int) -> Hashable:
        """The sample that (step, index) crops from."""
        item = step * self.batch_size + index
        epoch, position = divmod(item, len(self.sample_ids))
        order = np.random.default_rng((self.seed, 0x5EED, epoch)).permutation(len(self.sample_ids))
        return self.sample_ids[int(order[position])]

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        step, index = key
        if step < 0 or not 0 <= index < self.batch_size:
            raise IndexError(f"key: (step, index) out of range: {key}")
        image, skeleton = self.read_sample(self.sample_id(step, index))
        rng = np.random.default_rng((self.seed, step, index))
        image, skeleton = augment_pair(
            np.asarray(image),
            np.asarray(skeleton),
            crop=self.crop,
            rng=rng,
            augment=self.augment,
            zoom=self.zoom,
            low_contrast=self.low_contrast,
        )
        return (
            torch.from_numpy(image).permute(2, 0, 1).contiguous(),
            torch.from_numpy(skeleton)[None].contiguous(),
        )


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Yields [(step, 0), …, (step, batch_size − 1)] for step in [start_step, stop_step)."""

    def __init__(self, start_step: int, stop_step: int, batch_size: int) -> None:
        if not 0 <= start_step <= stop_step:
            raise ValueError(
                f"start_step: need 0 <= start_step <= stop_step, got {start_step}, {stop_step}"
            )
        self.start_step = start_step
        self.stop_step = stop_step
        self.batch_size = batch_size

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start_step, self.stop_step):
            yield [(step, index) for index in range(self.batch_size)]

    def __len__(self) -> int:
        return self.stop_step - self.start_step


def _worker_init(_worker_id: int) -> None:
    # Workers are processes: one thread each, or N workers × M cores oversubscribe the CPU.
    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def make_loader(
    dataset: CropDataset,
    *,
    start_step: int,
    stop_step: int,
    num_workers: int = 0,
    pin_memory: bool = False,
    prefetch_factor: int = 4,
) -> DataLoader:
    """A DataLoader yielding one (images, skeletons) batch per step in [start_step, stop_step),
    in step order, identical for any `num_workers`."""
    sampler = StepBatchSampler(start_step, stop_step, dataset.batch_size)
    extra: dict[str, Any] = {}
    if num_workers > 0:
        # Spawned, not forked: the caller is a multi-threaded process (Prefect's API client, Dask,
        # OpenCV pools), and a fork of one can die or hang in the child.
        extra = {
            "prefetch_factor": prefetch_factor,
            "worker_init_fn": _worker_init,
            "multiprocessing_context": "spawn",
            "persistent_workers": False,
        }
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=num_workers,
        pin_memory=pin_memory,
        **extra,
    )

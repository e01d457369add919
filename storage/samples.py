"""Per-sample arrays in `<store>/samples.zarr`: `<sample_id>/{image, labels, skeleton}`.

image: (H, W, 3) uint8, BGR as OpenCV decodes it; labels: (H, W) uint32 connected components;
skeleton: (H, W) uint8 target. One writer per sample, one write call per array.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np
import zarr

from regionflow.storage.store import Store

SAMPLES = "samples.zarr"
CHUNK = 512


_OPEN_LOCK = threading.Lock()


@lru_cache(maxsize=8)
def _group(url: str) -> zarr.Group:
    zarr_store = Store(url).open_zarr_store(SAMPLES)
    try:
        return zarr.open_group(store=zarr_store, mode="a")
    except zarr.errors.ContainsGroupError:  # another process created it between check and create
        return zarr.open_group(store=zarr_store, mode="r+")


def samples_group(store: Store) -> zarr.Group:
    # Two threads creating the group of a fresh store at once can read a half-written root
    # zarr.json; open (and create) it under a lock, once per process. Other processes: above.
    with _OPEN_LOCK:
        return _group(store.url)


def write_array(store: Store, sample_id: str, name: str, array: np.ndarray) -> None:
    """Write one whole array of a sample (replacing any previous one)."""
    array = np.ascontiguousarray(array)
    chunks = (CHUNK, CHUNK, *array.shape[2:])[: array.ndim]
    group = samples_group(store)
    target = group.create_array(
        f"{sample_id}/{name}",
        shape=array.shape,
        dtype=array.dtype,
        chunks=tuple(min(c, s) if s else 1 for c, s in zip(chunks, array.shape, strict=True)),
        overwrite=True,
    )
    target[...] = array


def read_array(
    store: Store, sample_id: str, name: str, window: tuple[slice, slice] | None = None
) -> np.ndarray:
    """Read a sample's array, or only `window` = (rows, cols) of it."""
    array = samples_group(store)[f"{sample_id}/{name}"]
    if window is None:
        return array[...]
    return array[window]


def has_array(store: Store, sample_id: str, name: str) -> bool:
    return store.exists(SAMPLES, sample_id, name, "zarr.json")


def array_shape(store: Store, sample_id: str, name: str) -> tuple[int, ...]:
    return tuple(samples_group(store)[f"{sample_id}/{name}"].shape)


def remove_sample(store: Store, sample_id: str) -> None:
    store.remove(SAMPLES, sample_id, recursive=True)


def read_training_pair(store_url: str, sample_id: str) -> tuple[np.ndarray, np.ndarray]:
    """(image, skeleton) of a sample; top-level so DataLoader workers can pickle a partial of it."""
    store = Store(store_url)
    return read_array(store, sample_id, "image"), read_array(store, sample_id, "skeleton")

"""Parallel equals serial: the skeletonize stage over a 2-thread Dask cluster against the serial
function, on awkward label maps (1×1, 2×2, one region, thin strips, odd shapes)."""

import uuid

import numpy as np
import pytest

from regionflow.regions.danbooregion.skeleton import skeleton_target
from regionflow.storage.manifest import manifest_row, write_manifest
from regionflow.storage.records import read_records
from regionflow.storage.samples import read_array, write_array
from regionflow.storage.store import Store
from regionflow.tasks.config import SkeletonConfig, to_dict
from regionflow.tasks.skeletonize import sample_seed, skeletonize_samples


def awkward_maps():
    rng = np.random.default_rng(7)
    strips = np.repeat(np.arange(1, 41, dtype=np.uint32)[:, None], 300, axis=1)  # 1-px regions
    blocks = (rng.integers(0, 4, size=(12, 16)).repeat(9, 0).repeat(7, 1) + 1).astype(np.uint32)
    return {
        "one-pixel": np.ones((1, 1), np.uint32),
        "two-by-two": np.array([[1, 2], [3, 4]], np.uint32),
        "one-region": np.ones((33, 47), np.uint32),
        "strips": strips,
        "tall-thin": np.ones((500, 3), np.uint32),
        "blocks": blocks,
        "noise": rng.integers(1, 3, size=(64, 96)).astype(np.uint32),
    }


@pytest.mark.parametrize("method", ["jacobi", "harmonic"])
def test_parallel_equals_serial(method):
    store = Store(f"memory://parallel-{uuid.uuid4().hex}")
    maps = awkward_maps()
    rows = []
    for sid, labels in maps.items():
        write_array(store, f"train-{sid}", "labels", labels)
        rows.append(
            manifest_row(
                id=f"train-{sid}", split="train", region_source="x", input_sha256=sid, status="ok"
            )
        )
    write_manifest(store, rows)
    config = SkeletonConfig(rounds=40, method=method, seed=3)

    result = skeletonize_samples.fn(store.url, to_dict(config), upstream="u")
    assert result["computed"] == len(maps)
    assert set(read_records(store, "skeleton")) == {f"train-{sid}" for sid in maps}
    for sid, labels in maps.items():
        serial = skeleton_target(
            labels, rounds=40, seed=sample_seed(3, f"train-{sid}"), method=method
        )
        np.testing.assert_array_equal(
            read_array(store, f"train-{sid}", "skeleton"), serial, err_msg=sid
        )

    again = skeletonize_samples.fn(store.url, to_dict(config), upstream="u")
    assert again["computed"] == 0 and again["reused"] == len(maps)

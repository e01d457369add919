"""Sample records and the stage cache key on the code a stage runs: editing regions/comics/panels.py
recomputes no skeleton; editing the skeleton kernel recomputes every one."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import numpy as np
import pytest

import regionflow.storage.fingerprints as fingerprints
from regionflow.storage.manifest import manifest_row, write_manifest
from regionflow.storage.samples import write_array
from regionflow.storage.store import Store
from regionflow.tasks.config import SkeletonConfig, to_dict
from regionflow.tasks.skeletonize import skeletonize_samples
from regionflow.tasks.stage import StageCode
from tests.storage.test_fingerprints import copy_of_project

N = 3


@pytest.fixture
def labelled_store():
    store = Store(f"memory://stage-code-{uuid.uuid4().hex}")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(N):
        labels = (rng.integers(0, 3, size=(6, 8)).repeat(4, 0).repeat(4, 1) + 1).astype(np.uint32)
        write_array(store, f"train-{i}", "labels", labels)
        rows.append(
            manifest_row(
                id=f"train-{i}", split="train", region_source="x", input_sha256=str(i), status="ok"
            )
        )
    write_manifest(store, rows)
    return store


def run_skeletonize(store: Store, monkeypatch, root) -> dict:
    """The skeleton stage as it runs from the sources under `root`."""
    monkeypatch.setattr(fingerprints, "project_root", lambda: root)
    config = to_dict(SkeletonConfig(rounds=8))
    return skeletonize_samples.fn(store.url, config, upstream="u")


def test_editing_panels_recomputes_no_skeleton(labelled_store, monkeypatch, tmp_path):
    first = run_skeletonize(labelled_store, monkeypatch, copy_of_project(tmp_path / "a"))
    assert first["computed"] == N
    panels_fixed = copy_of_project(
        tmp_path / "b", ("regions/comics/panels.py", "\n# a typo fixed\n")
    )
    again = run_skeletonize(labelled_store, monkeypatch, panels_fixed)
    assert again["computed"] == 0 and again["reused"] == N
    assert again["fingerprint"] == first["fingerprint"]  # the next stage's cache holds too


def test_editing_the_skeleton_kernel_recomputes_every_skeleton(
    labelled_store, monkeypatch, tmp_path
):
    first = run_skeletonize(labelled_store, monkeypatch, copy_of_project(tmp_path / "a"))
    assert first["computed"] == N
    kernel_changed = copy_of_project(
        tmp_path / "c",
        ("regions/danbooregion/_skeleton_kernels.py", "\nSTEP = 2  # a changed kernel\n"),
    )
    again = run_skeletonize(labelled_store, monkeypatch, kernel_changed)
    assert again["computed"] == N
    assert again["fingerprint"] != first["fingerprint"]


def test_the_stage_cache_key_follows_the_same_code(monkeypatch, tmp_path):
    ctx = SimpleNamespace(task=SimpleNamespace(fn=skeletonize_samples.fn))

    def key(root):
        monkeypatch.setattr(fingerprints, "project_root", lambda: root)
        return StageCode().compute_key(task_ctx=ctx, inputs={}, flow_parameters={})

    base = key(copy_of_project(tmp_path / "a"))
    assert base is not None
    assert key(copy_of_project(tmp_path / "b", ("regions/comics/panels.py", "\n#\n"))) == base
    kernel = ("regions/danbooregion/_skeleton_kernels.py", "\n#\n")
    assert key(copy_of_project(tmp_path / "c", kernel)) != base

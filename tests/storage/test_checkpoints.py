import logging

import pytest
import torch

from regionflow.storage.checkpoints import CheckpointStore


def _state(step):
    return {"step": step, "weights": torch.full((4,), float(step)), "meta": {"name": "x"}}


def test_empty_store_has_no_latest(tmp_path):
    store = CheckpointStore(tmp_path / "ckpt")
    assert (tmp_path / "ckpt").is_dir()
    assert store.latest() is None and store.steps() == []


def test_save_names_and_latest(tmp_path):
    store = CheckpointStore(tmp_path, keep_last=5)
    path = store.save(7, _state(7))
    assert path.name == "step-00000007.pt"
    store.save(12, _state(12))
    latest = store.latest()
    assert latest["step"] == 12 and torch.equal(latest["weights"], torch.full((4,), 12.0))
    assert store.load(7)["meta"] == {"name": "x"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-00000007.pt", "step-00000012.pt"]


def test_keeps_only_the_last_k(tmp_path):
    store = CheckpointStore(tmp_path, keep_last=2)
    for step in (1, 2, 3, 10):
        store.save(step, _state(step))
    assert store.steps() == [3, 10]


def test_truncated_latest_is_skipped(tmp_path, caplog):
    store = CheckpointStore(tmp_path, keep_last=3)
    store.save(10, _state(10))
    path = store.save(20, _state(20))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING):
        assert store.latest()["step"] == 10
    assert "step-00000020.pt" in caplog.text
    path.write_bytes(b"")
    assert store.latest()["step"] == 10


def test_all_corrupt_gives_none(tmp_path):
    store = CheckpointStore(tmp_path)
    store.save(1, _state(1)).write_bytes(b"not a checkpoint")
    assert store.latest() is None


def test_stale_temporaries_are_removed_and_never_loaded(tmp_path):
    (tmp_path / ".tmp-step-abc.pt").write_bytes(b"half a checkpoint")
    store = CheckpointStore(tmp_path)
    assert list(tmp_path.iterdir()) == []
    store.save(3, _state(3))
    assert [p.name for p in tmp_path.iterdir()] == ["step-00000003.pt"]


def test_a_failed_save_leaves_nothing_behind(tmp_path):
    store = CheckpointStore(tmp_path)
    store.save(1, _state(1))
    with pytest.raises(Exception):  # noqa: B017 - whatever pickle raises for a lambda
        store.save(2, {"bad": lambda: None})
    assert [p.name for p in tmp_path.iterdir()] == ["step-00000001.pt"]


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="keep_last"):
        CheckpointStore(tmp_path, keep_last=0)
    with pytest.raises(ValueError, match="step"):
        CheckpointStore(tmp_path).save(-1, {})

"""One storage contract, run against every backend (local folder, memory://)."""

import uuid

import numpy as np
import pytest

from regionflow.storage import records
from regionflow.storage.manifest import manifest_row, read_manifest, write_manifest
from regionflow.storage.samples import has_array, read_array, remove_sample, write_array
from regionflow.storage.store import LocalStore, Store


@pytest.fixture(params=["local", "memory"])
def store(request, tmp_path):
    if request.param == "local":
        return Store(tmp_path / "store")
    return Store(f"memory://contract-{uuid.uuid4().hex}")


def test_bytes_round_trip_and_listing(store):
    store.write_bytes(b"abc", "a", "b.bin")
    store.write_json({"x": 1}, "a", "c.json")
    assert store.read_bytes("a", "b.bin") == b"abc"
    assert store.read_json("a", "c.json") == {"x": 1}
    assert store.listdir("a") == ["b.bin", "c.json"]
    assert list(store.walk_files()) == ["a/b.bin", "a/c.json"]
    assert store.listdir("missing") == []
    store.write_bytes(b"new", "a", "b.bin")
    assert store.read_bytes("a", "b.bin") == b"new"
    store.remove("a", recursive=True)
    assert not store.exists("a", "b.bin")


def test_atomic_write_leaves_no_temporaries(store):
    for i in range(5):
        store.write_bytes(bytes([i]) * 100, "f.bin")
    assert store.listdir() == ["f.bin"]


def test_store_pickles_as_its_url(store):
    import pickle

    again = pickle.loads(pickle.dumps(store))
    assert again.url == store.url
    store.write_bytes(b"x", "p")
    assert again.read_bytes("p") == b"x"


@pytest.mark.parametrize(
    "dtype,shape", [(np.uint8, (37, 600, 3)), (np.uint32, (700, 5)), (np.uint8, (1, 1))]
)
def test_sample_arrays_round_trip(store, dtype, shape):
    rng = np.random.default_rng(0)
    array = rng.integers(0, 200, size=shape).astype(dtype)
    write_array(store, "train-1", "image", array)
    assert has_array(store, "train-1", "image")
    np.testing.assert_array_equal(read_array(store, "train-1", "image"), array)
    np.testing.assert_array_equal(
        read_array(store, "train-1", "image", (slice(0, 1), slice(2, 4))), array[0:1, 2:4]
    )
    zeros = np.zeros_like(array)  # all-fill chunks are not written: reading must still work
    write_array(store, "train-1", "image", zeros)
    np.testing.assert_array_equal(read_array(store, "train-1", "image"), zeros)
    remove_sample(store, "train-1")
    assert not has_array(store, "train-1", "image")


def test_records_and_pending(store):
    records.write_record(store, "stage", "a", {"input": "1", "config": "c"})
    records.write_record(store, "stage", "b", {"input": "2", "config": "old"})
    done = records.read_records(store, "stage")
    assert set(done) == {"a", "b"}
    wanted = {
        "a": {"input": "1", "config": "c"},
        "b": {"input": "2", "config": "c"},
        "c": {"input": "3", "config": "c"},
    }
    assert records.pending(wanted, done) == ["b", "c"]
    records.remove_record(store, "stage", "a")
    assert set(records.read_records(store, "stage")) == {"b"}
    with pytest.raises(ValueError, match="sample_id"):
        records.write_record(store, "stage", "../x", {})


def test_manifest_round_trip(store):
    assert read_manifest(store) == []
    rows = [
        manifest_row(id="train-10", split="train", status="ok", height=4, width=5, flags=["x"]),
        manifest_row(id="train-2", split="train", status="quarantined", reason="truncated PNG"),
    ]
    write_manifest(store, rows)
    back = read_manifest(store)
    assert [r["id"] for r in back] == ["train-2", "train-10"]
    assert back[1]["flags"] == ["x"] and back[0]["reason"] == "truncated PNG"
    with pytest.raises(ValueError, match="fields"):
        manifest_row(id="x", colour="red")


def test_the_backend_follows_the_url(tmp_path):
    from regionflow.storage.store import FsspecStore

    assert isinstance(Store(tmp_path / "a"), LocalStore)
    assert isinstance(Store(f"file://{tmp_path}/b"), LocalStore)
    assert isinstance(Store(f"memory://{uuid.uuid4().hex}"), FsspecStore)
    with pytest.raises(ValueError, match="empty"):
        Store("")


def test_exclusive_create_lets_one_writer_win(store):
    assert store.create_exclusive(b"first", "locks", "x.lock")
    assert not store.create_exclusive(b"second", "locks", "x.lock")
    assert store.read_bytes("locks", "x.lock") == b"first"
    store.discard("locks", "x.lock")
    store.discard("locks", "x.lock")  # a second discarder finds nothing, and that is fine
    assert not store.exists("locks", "x.lock")
    assert store.listdir("locks") == []
    assert store.create_exclusive(b"again", "locks", "x.lock")


def test_local_dir_is_a_writable_folder_that_a_new_store_starts_without(
    store, monkeypatch, tmp_path
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    folder = store.local_dir("sources")
    assert folder == store.local_dir("sources")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "f").write_bytes(b"x")
    store.write_bytes(b"payload", "crops", "c.png")
    link = tmp_path / "view.png"
    store.link_or_copy(link, "crops", "c.png")
    assert link.read_bytes() == b"payload"
    if not isinstance(store, LocalStore):
        store.remove(recursive=True)  # wiped and re-created at the same URL: a cold cache
        assert Store(store.url).local_dir("sources") != folder


def test_zarr_store_round_trip(store):
    import zarr

    group = zarr.open_group(store.open_zarr_store("z"), mode="w")
    group.create_array("a", data=np.arange(6, dtype=np.uint8).reshape(2, 3))
    again = zarr.open_group(store.open_zarr_store("z"), mode="r")
    np.testing.assert_array_equal(again["a"][:], np.arange(6).reshape(2, 3))

"""Stage results for object stores live outside the store: a re-created store must start cold."""

import uuid

from regionflow.storage.store import Store
from regionflow.tasks.stage import result_storage


def test_a_wiped_object_store_gets_a_fresh_result_cache():
    store = Store(f"memory://cache-{uuid.uuid4().hex}")
    first = result_storage(store)
    assert result_storage(store) == first
    store.remove(recursive=True)  # the user empties the store
    assert result_storage(Store(store.url)) != first


def test_local_stores_keep_results_inside(tmp_path):
    store = Store(tmp_path / "s")
    assert result_storage(store) == tmp_path / "s" / "cache" / "prefect"

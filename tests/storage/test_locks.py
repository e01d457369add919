"""The store lock: exclusive across processes, re-entrant within one, stale locks taken over."""

import json
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from regionflow.storage.locks import StoreLock, StoreLocked
from regionflow.storage.store import Store

HOLD = textwrap.dedent(
    """
    import sys, time
    from regionflow.storage.locks import StoreLock
    from regionflow.storage.store import Store
    with StoreLock(Store(sys.argv[1]), purpose="holder"):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def hold_in_subprocess(store_path, seconds):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(store_path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_process_is_refused_with_a_clear_message(tmp_path):
    store = Store(tmp_path / "store")
    holder = hold_in_subprocess(tmp_path / "store", 30)
    try:
        with pytest.raises(StoreLocked) as refused:
            StoreLock(store).acquire()
        message = str(refused.value)
        assert (
            f"pid {holder.pid}" in message
            and "(holder)" in message
            and "--wait-for-lock" in message
        )
    finally:
        holder.kill()
        holder.wait()


def test_waiting_takes_the_lock_when_the_holder_finishes(tmp_path):
    store = Store(tmp_path / "store")
    holder = hold_in_subprocess(tmp_path / "store", 1.5)
    start = time.monotonic()
    with StoreLock(store, wait=30):
        waited = time.monotonic() - start
        assert holder.wait(timeout=10) == 0
    assert 0.5 < waited < 30
    assert not store.exists("locks", "pipeline.lock")


def test_a_killed_holder_leaves_a_stale_lock_that_is_taken_over(tmp_path):
    store = Store(tmp_path / "store")
    holder = hold_in_subprocess(tmp_path / "store", 60)
    holder.kill()  # SIGKILL: no cleanup, the lock file stays
    holder.wait()
    assert store.exists("locks", "pipeline.lock")
    with StoreLock(store):
        assert json.loads(store.read_bytes("locks", "pipeline.lock"))["pid"] != holder.pid


@pytest.mark.parametrize("backend", ["local", "memory"])
def test_reentrant_in_one_process_and_released(tmp_path, backend):
    store = (
        Store(tmp_path / "s") if backend == "local" else Store(f"memory://lock-{uuid.uuid4().hex}")
    )
    with StoreLock(store), StoreLock(store):
        assert store.exists("locks", "pipeline.lock")
    assert not store.exists("locks", "pipeline.lock")


def test_old_heartbeat_is_stale_even_from_another_host(tmp_path):
    store = Store(tmp_path / "s")
    record = {
        "token": "x",
        "pid": 1,
        "host": "elsewhere",
        "since": 0,
        "heartbeat": time.time() - 3600,
    }
    store.write_bytes(json.dumps(record).encode(), "locks", "pipeline.lock")
    with StoreLock(store, stale_after=60):
        pass
    fresh = {**record, "heartbeat": time.time()}
    store.write_bytes(json.dumps(fresh).encode(), "locks", "pipeline.lock")
    with pytest.raises(StoreLocked, match="elsewhere"):
        StoreLock(store, stale_after=60).acquire()

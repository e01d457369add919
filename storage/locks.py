"""A store-wide lock: one pipeline run writes to a store at a time.

The lock is a small JSON file `<store>/locks/<name>.lock` (owner pid, host, start time, a
heartbeat). Local disks take it with an exclusive create (O_EXCL), so two processes can never
both hold it; object stores get a write-then-read-back check, which is best effort (S3 offers no
exclusive create through fsspec). A lock whose heartbeat is older than `stale_after` seconds, or
whose owner process is gone from this host, is stale and is taken over.

The lock is re-entrant within a process, so a flow that runs sub-flows on the same store does
not wait for itself.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass

from regionflow.storage.processes import pid_alive
from regionflow.storage.store import Store

LOCKS = "locks"


class StoreLocked(RuntimeError):
    """The store is in use by another run."""


@dataclass
class _Held:
    token: str
    count: int
    stop: threading.Event
    heartbeat: threading.Thread


_held: dict[tuple[str, str], _Held] = {}
_held_guard = threading.Lock()


class StoreLock:
    """`with StoreLock(store, wait=60):` — hold the store's lock, waiting up to `wait` seconds."""

    def __init__(
        self,
        store: Store,
        name: str = "pipeline",
        *,
        wait: float = 0.0,
        stale_after: float = 600.0,
        heartbeat: float = 10.0,
        purpose: str = "",
    ):
        if wait < 0 or stale_after <= 0 or heartbeat <= 0:
            raise ValueError("wait, stale_after, heartbeat: must be >= 0, > 0 and > 0")
        self.store, self.name, self.wait = store, name, wait
        self.stale_after, self.heartbeat, self.purpose = stale_after, heartbeat, purpose
        self.parts = (LOCKS, f"{name}.lock")
        self.key = (store.url, name)

    # -- reading ---------------------------------------------------------------------------
    def owner(self) -> dict | None:
        try:
            return json.loads(self.store.read_bytes(*self.parts))
        except (FileNotFoundError, ValueError):
            return None

    def is_stale(self, owner: dict) -> bool:
        if time.time() - owner.get("heartbeat", 0) > self.stale_after:
            return True
        return owner.get("host") == socket.gethostname() and not pid_alive(
            int(owner.get("pid", -1))
        )

    # -- taking ----------------------------------------------------------------------------
    def _record(self, token: str) -> bytes:
        now = time.time()
        return json.dumps(
            {
                "token": token,
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": now,
                "heartbeat": now,
                "purpose": self.purpose,
            }
        ).encode()

    def _try_take(self, token: str) -> bool:
        return self.store.create_exclusive(self._record(token), *self.parts)

    def _break_stale(self) -> None:
        owner = self.owner()
        if owner is not None and self.is_stale(owner):
            self.store.discard(*self.parts)

    def acquire(self) -> None:
        with _held_guard:
            held = _held.get(self.key)
            if held is not None:
                held.count += 1
                return
        token = uuid.uuid4().hex
        deadline = time.monotonic() + self.wait
        while True:
            self._break_stale()
            if self._try_take(token):
                break
            if time.monotonic() >= deadline:
                raise StoreLocked(self.describe_owner())
            time.sleep(min(1.0, max(0.05, self.wait / 20)))
        stop = threading.Event()
        beat = threading.Thread(
            target=self._beat, args=(token, stop), daemon=True, name=f"lock-{self.name}"
        )
        with _held_guard:
            _held[self.key] = _Held(token, 1, stop, beat)
        beat.start()

    def release(self) -> None:
        with _held_guard:
            held = _held.get(self.key)
            if held is None:
                return
            held.count -= 1
            if held.count:
                return
            del _held[self.key]
        held.stop.set()
        held.heartbeat.join(timeout=5)
        if (self.owner() or {}).get("token") == held.token:
            self.store.remove(*self.parts)

    def _beat(self, token: str, stop: threading.Event) -> None:
        while not stop.wait(self.heartbeat):
            owner = self.owner()
            if not owner or owner.get("token") != token:
                return  # taken over as stale: nothing to refresh
            owner["heartbeat"] = time.time()
            self.store.write_bytes(json.dumps(owner).encode(), *self.parts)

    def describe_owner(self) -> str:
        owner = self.owner() or {}
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(owner.get("since", 0)))
        what = f" ({owner['purpose']})" if owner.get("purpose") else ""
        return (
            f"store {self.store.url} is in use by another run{what}: pid {owner.get('pid')} on "
            f"{owner.get('host')} since {since}. Wait for it (--wait-for-lock SECONDS), or, if that "
            f"process is gone, remove {self.store.url_of(*self.parts)}; a lock without a heartbeat "
            f"for {self.stale_after:.0f} s is taken over automatically."
        )

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

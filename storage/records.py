"""Per-sample completion records: written last, so a record means the sample's outputs are whole.

A stage recomputes exactly the samples whose record is missing or does not match the current
input and config fingerprints. Zarr skips all-fill chunks, so "the array exists" is never the
done test; the record is.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from regionflow.storage.store import Store

RECORDS = "records"


def _name(sample_id: str) -> str:
    if not sample_id or "/" in sample_id or sample_id.startswith("."):
        raise ValueError(f"sample_id: {sample_id!r} cannot name a record file")
    return f"{sample_id}.json"


def write_record(store: Store, stage: str, sample_id: str, record: dict[str, Any]) -> None:
    """Mark `sample_id` complete for `stage`. Call only after every output is written."""
    store.write_json(record, RECORDS, stage, _name(sample_id))


def read_records(store: Store, stage: str) -> dict[str, dict[str, Any]]:
    """All complete samples of `stage`: sample id → record. Unreadable records count as absent."""
    names = [n for n in store.listdir(RECORDS, stage) if n.endswith(".json")]

    def load(name: str) -> tuple[str, dict[str, Any] | None]:
        try:
            return name[: -len(".json")], json.loads(store.read_bytes(RECORDS, stage, name))
        except (OSError, ValueError):
            return name[: -len(".json")], None

    with ThreadPoolExecutor(max_workers=8) as pool:
        loaded = list(pool.map(load, names))
    return {sid: rec for sid, rec in loaded if rec is not None}


def remove_record(store: Store, stage: str, sample_id: str) -> None:
    store.remove(RECORDS, stage, _name(sample_id))


def pending(wanted: dict[str, dict[str, Any]], done: dict[str, dict[str, Any]]) -> list[str]:
    """Ids in `wanted` (id → expected record fields) whose record is missing or differs."""
    todo = []
    for sid, expected in wanted.items():
        record = done.get(sid)
        if record is None or any(record.get(k) != v for k, v in expected.items()):
            todo.append(sid)
    return todo


def remove_sample_records(store: Store, sample_id: str) -> None:
    """Forget a sample in every stage (it was retired from its source)."""
    for stage in store.listdir(RECORDS):
        remove_record(store, stage, sample_id)

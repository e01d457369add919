"""`<store>/manifest.parquet`: one row per sample, ingested or quarantined."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from regionflow.storage.store import Store

MANIFEST = "manifest.parquet"

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("split", pa.string()),
        ("image_source", pa.string()),
        ("region_source", pa.string()),
        ("input_sha256", pa.string()),
        ("height", pa.int32()),
        ("width", pa.int32()),
        ("n_regions", pa.int32()),
        ("status", pa.string()),  # ok | quarantined
        ("reason", pa.string()),
        ("flags", pa.list_(pa.string())),
        ("small_region_area", pa.float32()),
        ("regions_per_megapixel", pa.float32()),
        ("largest_region_share", pa.float32()),
        ("unfinished", pa.float32()),
    ]
)
COLUMNS = [f.name for f in SCHEMA]


def manifest_row(**fields: Any) -> dict[str, Any]:
    """A full manifest row: missing fields are null, unknown fields are an error."""
    unknown = set(fields) - set(COLUMNS)
    if unknown:
        raise ValueError(f"fields: not manifest columns: {sorted(unknown)}")
    row = dict.fromkeys(COLUMNS)
    row["flags"] = []
    row.update(fields)
    return row


def write_manifest(store: Store, rows: list[dict[str, Any]]) -> str:
    """Replace the manifest with `rows` (sorted by split, id), atomically."""
    rows = sorted(rows, key=lambda r: (r["split"], _natural(r["id"])))
    table = pa.Table.from_pylist([manifest_row(**r) for r in rows], schema=SCHEMA)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return store.write_bytes(sink.getvalue(), MANIFEST)


def read_manifest(store: Store) -> list[dict[str, Any]]:
    """The manifest's rows; empty when there is none yet."""
    if not store.exists(MANIFEST):
        return []
    return pq.read_table(io.BytesIO(store.read_bytes(MANIFEST))).to_pylist()


def split_ids(store: Store, split: str, *, only: list[str] | None = None) -> list[str]:
    """The ok (not quarantined) samples of `split`, in manifest order; only those in `only`
    when it is given."""
    wanted = None if only is None else set(only)
    return [
        r["id"]
        for r in read_manifest(store)
        if r["split"] == split and r["status"] == "ok" and (wanted is None or r["id"] in wanted)
    ]


def _natural(sample_id: str) -> tuple:
    head, _, tail = sample_id.rpartition("-")
    return (head, int(tail)) if tail.isdigit() else (sample_id, -1)

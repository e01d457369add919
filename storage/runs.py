"""Training runs: `<store>/runs/<run>/` with config.json, checkpoints/, metrics.parquet, previews/."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from regionflow.storage.fingerprints import fingerprint
from regionflow.storage.store import Store

RUNS = "runs"


class Run:
    """One training run's folder. Its id = name + fingerprint of (identity, training data).

    `config` is saved as config.json (the config of the latest start); `identity` (default: the
    config) is what names the run — the caller leaves out what may change on resume (e.g. the
    number of steps), so that a longer run continues in the same folder.
    """

    def __init__(
        self,
        store: Store,
        config: dict[str, Any],
        upstream: str,
        *,
        name: str = "unet",
        identity: dict[str, Any] | None = None,
    ):
        self.store = store
        named_by = config if identity is None else identity
        self.id = f"{name}-{fingerprint({'config': named_by, 'data': upstream})[:12]}"
        self.config = config
        self._metrics: list[dict[str, Any]] = []

    def path(self, *parts: str) -> str:
        return self.store.path(RUNS, self.id, *parts)

    def checkpoint_dir(self) -> Path:
        """Checkpoints need local atomic renames: object stores keep them in a local cache."""
        return self.store.local_dir(RUNS, self.id, "checkpoints")

    def checkpoints(self, *, keep_last: int):
        from regionflow.storage.checkpoints import CheckpointStore

        return CheckpointStore(self.checkpoint_dir(), keep_last=keep_last)

    def start(self, resumed_step: int) -> None:
        """Write config.json; keep the metrics of steps up to the resumed one."""
        self.store.write_json(self.config, RUNS, self.id, "config.json")
        self._metrics = [m for m in self.read_metrics() if m["step"] <= resumed_step]

    def log_metrics(self, step: int, metrics: dict[str, float]) -> None:
        self._metrics.append({"step": step, **{k: float(v) for k, v in metrics.items()}})

    def flush_metrics(self) -> None:
        if not self._metrics:
            return
        table = pa.Table.from_pylist(self._metrics)
        sink = io.BytesIO()
        pq.write_table(table, sink)
        self.store.write_bytes(sink.getvalue(), RUNS, self.id, "metrics.parquet")

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.store.exists(RUNS, self.id, "metrics.parquet"):
            return []
        return pq.read_table(
            io.BytesIO(self.store.read_bytes(RUNS, self.id, "metrics.parquet"))
        ).to_pylist()

    def write_preview(self, step: int, image: np.ndarray) -> str:
        ok, data = cv2.imencode(".png", image)
        if not ok:
            raise ValueError("image: could not encode the preview as PNG")
        self.store.write_bytes(data.tobytes(), RUNS, self.id, "previews", f"step-{step:08d}.png")
        return self.store.url_of(RUNS, self.id, "previews", f"step-{step:08d}.png")

"""Atomic training checkpoints in a local directory: `step-XXXXXXXX.pt`, newest K kept.

A checkpoint is written with `storage.atomic.atomic_open` (a temporary file in the same
directory, fsync'd, renamed over its final name with `os.replace`, the directory entry fsync'd),
so a crash or SIGKILL at any moment leaves either the previous set of checkpoints or the new one,
never a half-written file under a `step-*.pt` name. `latest()` still skips files that fail to load (a disk that lied
about fsync, a copy truncated by hand) and falls back to the next newest.

One writer per directory: temporaries left by a killed writer are removed when a store opens.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import torch

from regionflow.storage.atomic import atomic_open, is_temporary

log = logging.getLogger(__name__)

_NAME = re.compile(r"^step-(\d{8,})\.pt$")
_LEGACY_TEMP_PREFIX = ".tmp-step-"  # temporaries of versions before storage.atomic


class CheckpointStore:
    """Training checkpoints under `directory` (created if missing).

    save(step, state) → Path; latest() → dict | None; steps() → sorted steps on disk;
    load(step) → dict. Loading uses `torch.load(weights_only=True, map_location="cpu")`: the
    state must hold only tensors and plain Python containers/scalars.
    """

    def __init__(self, directory: str | os.PathLike[str], *, keep_last: int = 3) -> None:
        if keep_last < 1:
            raise ValueError(f"keep_last: must be >= 1, got {keep_last}")
        self.directory = Path(directory)
        self.keep_last = keep_last
        self.directory.mkdir(parents=True, exist_ok=True)
        for stale in self.directory.iterdir():
            if is_temporary(stale.name) or stale.name.startswith(_LEGACY_TEMP_PREFIX):
                stale.unlink(missing_ok=True)

    def path(self, step: int) -> Path:
        return self.directory / f"step-{step:08d}.pt"

    def steps(self) -> list[int]:
        """Steps with a checkpoint file, ascending (whether or not the file loads)."""
        found = []
        for entry in self.directory.iterdir():
            match = _NAME.match(entry.name)
            if match:
                found.append(int(match.group(1)))
        return sorted(found)

    def save(self, step: int, state: dict[str, Any]) -> Path:
        """Write `state` atomically as step `step`, then delete all but the newest keep_last."""
        if step < 0:
            raise ValueError(f"step: must be >= 0, got {step}")
        final = _atomic_torch_save(state, self.path(step))
        self._prune()
        return final

    def load(self, step: int) -> dict[str, Any]:
        return torch.load(self.path(step), map_location="cpu", weights_only=True)

    def latest(self) -> dict[str, Any] | None:
        """The newest checkpoint that loads, or None; unreadable ones are logged and skipped."""
        for step in reversed(self.steps()):
            try:
                return self.load(step)
            except Exception as error:  # truncated/corrupt: any unpickling error
                log.warning("skipping unreadable checkpoint %s: %s", self.path(step), error)
        return None

    def _prune(self) -> None:
        for step in self.steps()[: -self.keep_last]:
            self.path(step).unlink(missing_ok=True)


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """One checkpoint file (as `CheckpointStore.save` writes it), loaded on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint: {path} does not exist")
    return torch.load(path, map_location="cpu", weights_only=True)


def _atomic_torch_save(state: dict[str, Any], final: Path) -> Path:
    """torch.save through `storage.atomic.atomic_open` (temporary file, fsync, rename)."""
    with atomic_open(final) as handle:
        torch.save(state, handle)
    return final


def write_generator_checkpoint(
    path: str | os.PathLike[str], model_state: dict[str, Any], *, source: str
) -> Path:
    """A generator-only checkpoint (e.g. imported weights) that `extract --checkpoint` loads."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return _atomic_torch_save(
        {"format": "regionflow-generator/1", "model": model_state, "source": source}, path
    )

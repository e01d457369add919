"""What every stage task shares: how it is cached, and where Prefect keeps its results."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect.cache_policies import CachePolicy, Inputs, TaskSource

from regionflow.storage.fingerprints import source_fingerprint
from regionflow.storage.store import Store

# The packages whose imports a stage's code key follows (see `stage_code`).
ALGORITHM_PACKAGES = ("regionflow.regions", "regionflow.models")


def stage_code(*modules: str) -> str:
    """The fingerprint of the code a stage runs: `modules` (a task module, or the models modules
    a training run executes) and every `regions`/`models` module they import, transitively.

    Sample records and the stage's Prefect cache both key on it, so editing a module a stage
    does not import (regions/comics/panels.py for the skeleton stage) recomputes nothing there, while
    editing one it does (regions/danbooregion/_skeleton_kernels.py) recomputes every sample. Storage and
    orchestration modules are not followed: how results are stored does not change them.
    See `storage.fingerprints.source_fingerprint` for why import closures and not versions.
    """
    return source_fingerprint(*modules, follow=ALGORITHM_PACKAGES)


@dataclass
class StageCode(CachePolicy):
    """Prefect cache policy: `stage_code(*STAGE_CODE)` of the task's module (no key if the
    module declares no STAGE_CODE), so a stage's cached result expires with the code it runs."""

    def compute_key(
        self,
        task_ctx: Any,
        inputs: dict[str, Any] | None,
        flow_parameters: dict[str, Any] | None,
        **kwargs: Any,
    ) -> str | None:
        if not task_ctx:
            return None
        modules = getattr(sys.modules.get(task_ctx.task.fn.__module__), "STAGE_CODE", None)
        return stage_code(*modules) if modules else None


# A stage's key: its inputs (store, config, upstream fingerprint), its own source and the code it
# runs (StageCode). Where the Dask work runs never changes the result, so it is not in the key.
STAGE_CACHE = Inputs(exclude=["dask_address"]) + TaskSource() + StageCode()


def result_storage(store: Store) -> Path:
    """Prefect's persisted stage results: under the store on disk; for object stores in a local
    cache keyed by the store's URL *and* identity, so a wiped and re-created store starts cold."""
    return store.local_dir("cache", "prefect")


def stage_options(store: Store) -> dict:
    """`Task.with_options` arguments that make a stage cached and persisted for `store`."""
    return {
        "cache_policy": STAGE_CACHE,
        "persist_result": True,
        "result_storage": result_storage(store),
    }


def worker_logger(name: str) -> logging.Logger:
    """Plain logging: Prefect's run logger does not exist on Dask workers."""
    return logging.getLogger(f"regionflow.{name}")


def stage_logger(name: str) -> logging.Logger:
    """The Prefect run logger inside a run (logs reach the UI), plain logging outside one."""
    from prefect import get_run_logger
    from prefect.context import TaskRunContext

    if TaskRunContext.get() is None:
        return worker_logger(name)
    return get_run_logger()  # type: ignore[return-value]


def one_thread_kernels() -> None:
    """Inside Dask workers: one OpenCV/numba thread per task, the cluster does the parallelism."""
    import cv2

    cv2.setNumThreads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")


class StageProgress:
    """A Prefect progress artifact for a stage (a no-op outside a Prefect run)."""

    def __init__(self, key: str, description: str):
        from prefect.artifacts import create_progress_artifact
        from prefect.context import TaskRunContext

        self.artifact_id = None
        if TaskRunContext.get() is not None:  # outside a run the terminal progress bar remains
            self.artifact_id = create_progress_artifact(
                progress=0.0, key=key, description=description
            )

    def __call__(self, done: int, total: int) -> None:
        if self.artifact_id is None:
            return
        from prefect.artifacts import update_progress_artifact

        # Nothing to do (every unit up to date) is done, not stuck at 0 %.
        progress = 100.0 * done / total if total else 100.0
        update_progress_artifact(self.artifact_id, progress=progress)

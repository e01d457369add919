"""The Dask side of a stage: one client per stage run, one graph of per-sample units.

`DASK_SCHEDULER_ADDRESS` (or a stage's `dask_address`) connects to an existing cluster
(dask-jobqueue, Kubernetes and Coiled all hand out a scheduler address); otherwise a LocalCluster
sized to the machine runs inside this process.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from distributed import Client, LocalCluster, as_completed
from tqdm.auto import tqdm

log = logging.getLogger("regionflow.cluster")

ADDRESS_ENV = "DASK_SCHEDULER_ADDRESS"


def default_workers() -> int:
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


@contextlib.contextmanager
def dask_client(address: str | None = None, *, workers: int | None = None) -> Iterator[Client]:
    """A client on `address` (or `$DASK_SCHEDULER_ADDRESS`), else on a fresh LocalCluster.

    The local cluster uses threads: the kernels (numba, OpenCV, scikit-image) release the GIL,
    and threads share `memory://` stores with the caller.
    """
    address = address or os.environ.get(ADDRESS_ENV) or None
    if address:
        with Client(address, set_as_default=False) as client:
            # Workers elsewhere log to their own processes: forward ours to this one, where
            # Prefect picks them up ($PREFECT_LOGGING_EXTRA_LOGGERS=regionflow).
            client.forward_logging("regionflow", level=logging.INFO)
            yield client
        return
    n = workers or default_workers()
    for name in (
        "distributed",
        "distributed.scheduler",
        "distributed.worker",
        "distributed.core",
        "distributed.nanny",
    ):
        logging.getLogger(name).setLevel(
            logging.WARNING
        )  # one stage = one cluster: its chatter is noise
    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=n,
            processes=False,
            dashboard_address=":0",  # a free port: None still binds 8787, which may be taken
            silence_logs=logging.WARNING,
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client


def map_units(
    client: Client,
    unit: Callable[..., Any],
    items: Iterable[Any],
    *,
    desc: str,
    on_result: Callable[[int, int], None] | None = None,
    progress: bool = True,
    **kwargs: Any,
) -> list[Any]:
    """Run `unit(item, **kwargs)` for every item on the cluster; results in completion order.

    `on_result(done, total)` is called after each unit (progress artifacts). A failing unit
    raises after the others finished, so one bad sample never discards its neighbours' work.
    """
    items = list(items)
    if not items:
        if on_result is not None:
            on_result(0, 0)  # nothing to do: a progress bar shows it as done
        return []
    futures = client.map(unit, items, pure=False, **kwargs)
    results: list[Any] = []
    errors: list[BaseException] = []
    with tqdm(total=len(items), desc=desc, unit="sample", disable=not progress) as bar:
        for future in as_completed(futures, loop=client.loop):
            try:
                results.append(future.result())
            except Exception as exc:  # keep going: finished units keep their records
                errors.append(exc)
                log.error("%s: a unit failed: %s", desc, exc)
            bar.update(1)
            if on_result is not None:
                on_result(len(results) + len(errors), len(items))
    if errors:
        first = errors[0]
        raise RuntimeError(
            f"{desc}: {len(errors)} of {len(items)} units failed (finished ones are kept; re-run to retry); "
            f"first error: {type(first).__name__}: {first}"
        ) from first
    return results

"""Scale-out: the stages on an existing Dask cluster (a scheduler and two worker processes on
127.0.0.1, as dask-jobqueue, Kubernetes or Coiled hand out) equal the in-process run."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest
from distributed import Client

from regionflow.storage.manifest import read_manifest
from regionflow.storage.samples import read_array
from regionflow.storage.store import Store
from tests.integration.conftest import BIN, TINY_INGEST, TINY_SKELETON, child_env, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

UNITS = ("ingest_one", "skeletonize_one", "extract_one")
EXTRACT = {"predictor": "ground_truth", "split": "val", "exports": ["labels", "flat", "regions"]}


@pytest.fixture(scope="module")
def scheduler_address(processes):
    """`dask scheduler` + 2 × `dask worker --nthreads 1`: separate processes, so every unit and
    its arguments cross a pickle boundary (the store travels as its URL)."""
    address = f"tcp://127.0.0.1:{free_port()}"
    env = child_env(OMP_NUM_THREADS="1")
    port = address.rsplit(":", 1)[1]
    started = [
        processes.start(
            "dask-scheduler",
            # Its HTTP server would take :8787 even without a dashboard, and an in-process
            # LocalCluster started next to it warns (an error under -W error) when that is taken.
            [
                str(BIN / "dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                port,
                "--no-dashboard",
                "--dashboard-address",
                f"127.0.0.1:{free_port()}",
            ],
            env=env,
        )
    ]
    for n in (1, 2):
        started.append(
            processes.start(
                f"dask-worker-{n}",
                [
                    str(BIN / "dask"),
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    "--name",
                    f"worker-{n}",
                ],
                env=env,
            )
        )
    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for proc in reversed(started):
            processes.stop(proc)


def run_stages(store: str, address: str | None) -> dict:
    from regionflow.flows.stages import extract_flow, ingest_flow, skeletonize_flow

    ingest = ingest_flow(store, TINY_INGEST, dask_address=address)
    skeleton = skeletonize_flow(store, ingest["fingerprint"], TINY_SKELETON, dask_address=address)
    extract = extract_flow(store, skeleton["fingerprint"], EXTRACT, dask_address=address)
    return {"ingest": ingest, "skeletonize": skeleton, "extract": extract}


def test_stages_on_a_dask_cluster_equal_the_local_run(
    prefect_api, scheduler_address, tmp_path, monkeypatch
):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    local_store, remote_store = str(tmp_path / "local"), str(tmp_path / "remote")
    local = run_stages(local_store, None)
    remote = run_stages(remote_store, scheduler_address)

    with Client(scheduler_address) as client:
        executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
        prefixes = client.run_on_scheduler(
            lambda dask_scheduler: sorted(dask_scheduler.task_prefixes)
        )
    n_samples = sum(TINY_INGEST[f"synthetic_{s}"] for s in ("train", "val", "test"))
    n_annotated = TINY_INGEST["synthetic_train"] + TINY_INGEST["synthetic_val"]
    assert sum(executed.values()) == n_samples + n_annotated + TINY_INGEST["synthetic_val"]
    assert all(count > 0 for count in executed.values()), f"one worker did nothing: {executed}"
    assert set(UNITS) <= set(prefixes)

    for stage in ("ingest", "skeletonize"):
        assert remote[stage]["fingerprint"] == local[stage]["fingerprint"]
    assert remote["skeletonize"]["computed"] == n_annotated
    assert remote["extract"]["scores"] == local["extract"]["scores"]

    def rows(store):
        keep = ("id", "split", "status", "input_sha256", "height", "width", "n_regions")
        return sorted(tuple(r[k] for k in keep) for r in read_manifest(Store(store)))

    assert rows(remote_store) == rows(local_store)
    for sample_id, split, *_ in rows(local_store):
        names = (
            ("image",) if split == "test" else ("image", "labels", "skeleton")
        )  # test: unannotated
        for name in names:
            np.testing.assert_array_equal(
                read_array(Store(remote_store), sample_id, name),
                read_array(Store(local_store), sample_id, name),
            )

    local_export = tmp_path / "local" / "exports" / local["extract"]["exports"].rsplit("/", 1)[-1]
    remote_export = (
        tmp_path / "remote" / "exports" / remote["extract"]["exports"].rsplit("/", 1)[-1]
    )
    pages = sorted(p.name for p in local_export.iterdir() if p.is_dir())
    assert len(pages) == TINY_INGEST["synthetic_val"]
    assert sorted(p.name for p in remote_export.iterdir() if p.is_dir()) == pages
    for page in pages:
        ours = cv2.imread(str(remote_export / page / "labels.png"), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(
            ours, cv2.imread(str(local_export / page / "labels.png"), cv2.IMREAD_UNCHANGED)
        )
        pd.testing.assert_frame_equal(
            pd.read_parquet(remote_export / page / "regions.parquet"),
            pd.read_parquet(local_export / page / "regions.parquet"),
        )

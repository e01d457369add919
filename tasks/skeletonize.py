"""Skeletonize: region labels → the DanbooRegion skeleton target, per sample, over Dask."""

from __future__ import annotations

import zlib

from prefect import task

from regionflow.regions.danbooregion.skeleton import skeleton_target
from regionflow.storage import records as rec
from regionflow.storage.fingerprints import fingerprint
from regionflow.storage.manifest import read_manifest
from regionflow.storage.samples import read_array, write_array
from regionflow.storage.store import Store
from regionflow.tasks.cluster import dask_client, map_units
from regionflow.tasks.config import SkeletonConfig
from regionflow.tasks.stage import StageProgress, one_thread_kernels, stage_code, stage_logger

STAGE = "skeleton"
# The code a skeleton target depends on: this module (sample_seed) and what it imports from
# regions/ (regions.danbooregion.skeleton and its kernels; not regions.comics.panels and the rest).
STAGE_CODE = ("regionflow.tasks.skeletonize",)


def sample_seed(seed: int, sample_id: str) -> int:
    """The noise seed of one sample: stable across runs, machines and worker counts."""
    return (seed * 1_000_003 + zlib.crc32(sample_id.encode())) % 2**32


def skeletonize_one(
    item: tuple[str, str], *, store: Store, config: SkeletonConfig, config_fp: str
) -> str:
    """Read labels, compute the target, write it, then the record. `item` = (id, input sha)."""
    sample_id, input_sha = item
    one_thread_kernels()
    labels = read_array(store, sample_id, "labels")
    skeleton = skeleton_target(
        labels, rounds=config.rounds, seed=sample_seed(config.seed, sample_id), method=config.method
    )
    write_array(store, sample_id, "skeleton", skeleton)
    rec.write_record(store, STAGE, sample_id, {"input": input_sha, "config": config_fp})
    return sample_id


def skeleton_inputs(store: Store, config: SkeletonConfig) -> dict[str, str]:
    """Samples that need a target: ok, annotated, in the configured splits → their input sha."""
    return {
        r["id"]: r["input_sha256"]
        for r in read_manifest(store)
        if r["status"] == "ok" and r["region_source"] and r["split"] in config.splits
    }


@task(name="skeletonize-samples")
def skeletonize_samples(
    store_url: str, config: dict, upstream: str, dask_address: str | None = None
) -> dict:
    """Compute the skeleton target of every sample whose completion record is missing or stale."""
    store, cfg, log = Store(store_url), SkeletonConfig.from_dict(config), stage_logger(STAGE)
    inputs = skeleton_inputs(store, cfg)
    config_fp = fingerprint({"config": cfg, "code": stage_code(*STAGE_CODE)})
    todo = rec.pending(
        {sid: {"input": sha, "config": config_fp} for sid, sha in inputs.items()},
        rec.read_records(store, STAGE),
    )
    log.info("skeletonize: %d samples, %d to compute", len(inputs), len(todo))
    with dask_client(dask_address) as client:
        computed = map_units(
            client,
            skeletonize_one,
            [(sid, inputs[sid]) for sid in todo],
            desc="skeletonize",
            on_result=StageProgress("skeletonize-progress", "skeleton targets computed"),
            store=store,
            config=cfg,
            config_fp=config_fp,
        )
    return {
        "samples": len(inputs),
        "computed": len(computed),
        "reused": len(inputs) - len(computed),
        "computed_ids": sorted(computed),
        "fingerprint": fingerprint({"inputs": sorted(inputs.items()), "config": config_fp}),
    }

"""Ingest: raw files → validated images and region labels in Zarr, and the manifest."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from prefect import task

from regionflow.regions.danbooregion.annotation import (
    AnnotationError,
    check_max_size_mismatch,
    fit_region_map,
)
from regionflow.regions.danbooregion.labels import region_labels
from regionflow.storage import records as rec
from regionflow.storage.fingerprints import fingerprint
from regionflow.storage.layout import SampleFiles
from regionflow.storage.manifest import MANIFEST, manifest_row, write_manifest
from regionflow.storage.reports import write_ingest_report
from regionflow.storage.samples import remove_sample, write_array
from regionflow.storage.sources import open_source
from regionflow.storage.store import Store
from regionflow.storage.validation import (
    MAX_PIXELS,
    ValidatedSample,
    ValidationError,
    decode_pair,
)
from regionflow.tasks.cluster import dask_client, map_units
from regionflow.tasks.config import IngestConfig
from regionflow.tasks.stage import StageProgress, one_thread_kernels, stage_code, stage_logger

STAGE = "ingest"
# The code a sample's arrays and manifest row depend on: this module and what it imports from
# regions/ (annotation, labels, quality), and the byte-level validation at the storage edge, which decides
# what a file's pixels are (stage_code follows regions/ and models/ only, so it is named here).
STAGE_CODE = (
    "regionflow.tasks.ingest",
    "regionflow.storage.validation",
    "regionflow.storage.image_headers",
)


def sample_config_fingerprint(config: IngestConfig) -> str:
    """Only the fields that change a sample's outputs."""
    return fingerprint(
        {
            "max_pixels": config.max_pixels,
            "max_size_mismatch": config.max_size_mismatch,
            "code": stage_code(*STAGE_CODE),
        }
    )


def validate_pair(
    image_bytes: bytes | bytearray | memoryview,
    region_bytes: bytes | bytearray | memoryview | None,
    *,
    max_pixels: int = MAX_PIXELS,
    max_size_mismatch: int = 2,
    image_name: str | None = None,
    region_name: str | None = None,
) -> ValidatedSample:
    """An image and its region map (or an image alone) checked for ingest: decoded at the
    storage edge (`storage.validation.decode_pair`), the map fitted to the image
    (`regions.danbooregion.annotation.fit_region_map`: flag `size_mismatch_aligned`).

    Raises `ValidationError` with the quarantine reason: a file fails `decode_image` (reason
    prefixed "image: " or "region map: "), sizes differ by more than `max_size_mismatch`, or
    the region map has a single colour.
    """
    check_max_size_mismatch(max_size_mismatch)
    sample = decode_pair(
        image_bytes,
        region_bytes,
        max_pixels=max_pixels,
        image_name=image_name,
        region_name=region_name,
    )
    if sample.region_map is None:
        return sample
    try:
        region_map, flags = fit_region_map(
            sample.region_map, sample.image.shape[:2], max_size_mismatch=max_size_mismatch
        )
    except AnnotationError as exc:
        raise ValidationError(exc.reason) from exc
    return replace(sample, region_map=region_map, flags=sample.flags + flags)


def ingest_one(item: tuple[SampleFiles, str], *, store: Store, config: IngestConfig) -> dict:
    """Validate one sample, write its arrays, and record it (last). Returns its manifest row.

    `item` is (the sample's files, the sha256 of their bytes).
    """
    from regionflow.regions.danbooregion.quality import annotation_quality

    sample, input_sha = item
    one_thread_kernels()
    row = manifest_row(
        id=sample.id,
        split=sample.split,
        image_source=str(sample.image),
        region_source=str(sample.region) if sample.region else None,
        input_sha256=input_sha,
        status="ok",
    )
    try:
        if sample.duplicate_of:
            raise ValidationError(
                f"duplicate sample id: {sample.image.name} is another file for {sample.duplicate_of}"
            )
        checked = validate_pair(
            sample.image_bytes(),
            sample.region_bytes(),
            max_pixels=config.max_pixels,
            max_size_mismatch=config.max_size_mismatch,
            image_name=sample.image.name,
            region_name=sample.region.name if sample.region else None,
        )
    except (ValidationError, OSError) as exc:
        row.update(status="quarantined", reason=str(exc))
        remove_sample(store, sample.id)
    else:
        height, width = checked.image.shape[:2]
        row.update(height=height, width=width, flags=list(checked.flags))
        write_array(store, sample.id, "image", checked.image)
        if checked.region_map is not None:
            labels = region_labels(checked.region_map)
            write_array(store, sample.id, "labels", labels)
            row.update(n_regions=int(labels.max()), **annotation_quality(checked.image, labels))
    record = {
        "input": input_sha,
        "config": sample_config_fingerprint(config),
        "source": config.source,
        "row": row,
    }
    rec.write_record(store, STAGE, sample.id, record)
    return row


@task(name="ingest-samples")
def ingest_samples(
    store_url: str, config: dict, source_fingerprint: str, dask_address: str | None = None
) -> dict:
    """Ingest new and changed samples, retire deleted ones, write the manifest."""
    store, cfg, log = Store(store_url), IngestConfig.from_dict(config), stage_logger(STAGE)
    _, samples = open_source(store, cfg, synthetic_samples)
    by_id = {s.id: s for s in samples}
    if len(by_id) != len(samples):
        raise ValueError("source: two files map to the same sample id")
    digests = {s.id: s.digest() for s in samples}
    config_fp = sample_config_fingerprint(cfg)
    done = rec.read_records(store, STAGE)
    todo = rec.pending({sid: {"input": d, "config": config_fp} for sid, d in digests.items()}, done)
    # Only this source's samples retire: a store may also hold other sources (batch exports).
    retired = sorted(
        sid for sid, r in done.items() if r.get("source") == cfg.source and sid not in by_id
    )
    for sid in retired:
        remove_sample(store, sid)
        rec.remove_sample_records(store, sid)
    log.info("ingest: %d samples, %d to process, %d retired", len(samples), len(todo), len(retired))
    with dask_client(dask_address) as client:
        fresh = map_units(
            client,
            ingest_one,
            [(by_id[sid], digests[sid]) for sid in todo],
            desc="ingest",
            on_result=StageProgress("ingest-progress", "samples ingested"),
            store=store,
            config=cfg,
        )
    kept = {sid: r["row"] for sid, r in done.items() if sid not in retired and sid not in todo}
    rows = kept | {r["id"]: r for r in fresh}
    write_manifest(store, list(rows.values()))
    quarantined = {
        sid: rows[sid]["reason"] for sid in by_id if rows[sid]["status"] == "quarantined"
    }
    for sid, reason in quarantined.items():
        log.warning("quarantined %s: %s", sid, reason)
    summary = {
        "samples": len(by_id),
        "ingested": sum(r["status"] == "ok" for r in fresh),  # new or changed, and valid
        "processed": len(fresh),
        "unchanged": len(by_id) - len(fresh),
        "retired": len(retired),
        "quarantined": len(quarantined),
        "quarantine": quarantined,
        "manifest": store.url_of(MANIFEST),
        "changed_ids": sorted(todo) + retired,
        "ids": sorted(sid for sid in by_id if rows[sid]["status"] == "ok"),
        "fingerprint": fingerprint(
            sorted((sid, rows[sid]["input_sha256"], rows[sid]["status"]) for sid in by_id)
        ),
    }
    report = write_ingest_report(store, [rows[sid] for sid in by_id], summary)
    publish_ingest(report["artifact"])  # the quality plot embedded
    if cfg.strict and quarantined:
        raise RuntimeError(
            f"ingest --strict: {len(quarantined)} samples quarantined: {quarantined}"
        )
    return {**summary, "report": report["report"]}


def publish_ingest(markdown: str) -> None:
    """The ingest report as a markdown artifact (inside a Prefect run only)."""
    from prefect.artifacts import create_markdown_artifact
    from prefect.context import TaskRunContext

    if TaskRunContext.get() is not None:
        create_markdown_artifact(
            markdown=markdown, key="ingest-report", description="ingest report"
        )


def synthetic_samples(params: dict) -> Iterator:
    """The built-in dataset (regions.synthetic.cartoons) for the generator settings `params`
    (seed, n_train, n_val, n_test, height, width: its own keywords), as storage writes it."""
    from regionflow.regions.synthetic.cartoons import synthetic_dataset

    return synthetic_dataset(**params)


@task(name="locate-source")
def locate_source(store_url: str, config: dict) -> dict:
    """Fetch or generate the source if needed; fingerprint its files (names, sizes, mtimes)."""
    store, cfg = Store(store_url), IngestConfig.from_dict(config)
    folder, samples = open_source(store, cfg, synthetic_samples)
    listing = []
    for s in samples:
        for path in (s.image, s.region):
            if path is not None:
                st = path.stat()
                listing.append((str(path), st.st_size, st.st_mtime_ns))
    return {"folder": str(folder), "samples": len(samples), "fingerprint": fingerprint(listing)}


@task(name="gather-inputs")
def gather_inputs(store_url: str, inputs: list[str]) -> dict:
    """Collect the images to export (files, folders, globs, URLs) into one source folder."""
    from regionflow.storage.sources import gather_images

    folder = gather_images(Store(store_url), inputs)
    return {"folder": str(folder)}

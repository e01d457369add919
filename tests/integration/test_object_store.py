"""The stages against object stores: an S3 API (moto's server on 127.0.0.1) and `memory://`.

The S3 endpoint reaches the store the way a user sets it: fsspec's config from the environment
(`FSSPEC_S3_ENDPOINT_URL=http://...`), plus the usual AWS credential variables.
"""

from __future__ import annotations

import uuid

import cv2
import fsspec
import fsspec.config
import numpy as np
import pytest

from regionflow.storage.manifest import read_manifest
from regionflow.storage.samples import read_array
from regionflow.storage.store import FsspecStore, Store
from tests.integration.conftest import TINY_INGEST, TINY_SKELETON

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXTRACT = {
    "predictor": "ground_truth",
    "split": "val",
    "exports": ["labels", "flat", "regions", "coco"],
}


@pytest.fixture(scope="module")
def s3_endpoint():
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def object_env(s3_endpoint, tmp_path_factory):
    """Fake AWS credentials, fsspec's S3 endpoint, and a private cache folder (the stage results
    and sources of non-local stores live in $XDG_CACHE_HOME)."""
    import s3fs

    with pytest.MonkeyPatch.context() as mp:
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("xdg-cache")),
        }.items():
            mp.setenv(key, value)
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            mp.delenv(key, raising=False)
        # fsspec reads FSSPEC_* once, at import; a user's shell has it set before that.
        mp.setitem(fsspec.config.conf, "s3", dict(fsspec.config.conf.get("s3", {})))
        fsspec.config.set_conf_env(fsspec.config.conf, {"FSSPEC_S3_ENDPOINT_URL": s3_endpoint})
        s3fs.S3FileSystem.clear_instance_cache()
        try:
            yield
        finally:
            s3fs.S3FileSystem.clear_instance_cache()


def run_stages(store: str) -> dict:
    from regionflow.flows.stages import extract_flow, ingest_flow, skeletonize_flow

    ingest = ingest_flow(store, TINY_INGEST)
    skeleton = skeletonize_flow(store, ingest["fingerprint"], TINY_SKELETON)
    extract = extract_flow(store, skeleton["fingerprint"], EXTRACT)
    return {"ingest": ingest, "skeletonize": skeleton, "extract": extract}


@pytest.fixture(scope="module")
def runs(prefect_api, object_env):
    bucket = f"regionflow-{uuid.uuid4().hex[:8]}"
    fsspec.filesystem("s3").mkdir(bucket)
    stores = {
        "s3": f"s3://{bucket}/store",
        "memory": f"memory://regionflow-{uuid.uuid4().hex[:8]}/store",
    }
    try:
        yield {kind: (url, run_stages(url)) for kind, url in stores.items()}
    finally:
        Store(stores["memory"]).remove(recursive=True)


@pytest.mark.parametrize("kind", ["s3", "memory"])
def test_stages_write_everything_into_the_object_store(runs, kind):
    url, result = runs[kind]
    store = Store(url)
    assert isinstance(store, FsspecStore)
    base = store.url  # memory://x/y is memory:///x/y once normalised
    assert [result[s]["state"] for s in ("ingest", "skeletonize", "extract")] == ["Completed"] * 3
    manifest = read_manifest(store)
    assert len(manifest) == sum(TINY_INGEST[f"synthetic_{s}"] for s in ("train", "val", "test"))
    assert all(r["status"] == "ok" for r in manifest)
    files = set(store.walk_files())
    assert "manifest.parquet" in files
    for row in manifest:
        names = ("image",) if row["split"] == "test" else ("image", "labels", "skeleton")
        for name in names:
            assert f"samples.zarr/{row['id']}/{name}/zarr.json" in files
        assert read_array(store, row["id"], "image").shape == (64, 96, 3)

    extract = result["extract"]
    assert extract["exports"].startswith(base + "/exports/") and extract["report"].startswith(
        base + "/reports/"
    )
    export = extract["exports"].removeprefix(base + "/")
    val = sorted(r["id"] for r in manifest if r["split"] == "val")
    assert extract["images"] == len(val) and set(extract["scores"]) >= {"AP", "OIS", "ODS"}
    for sample_id in val:
        for name in ("skeleton.png", "labels.png", "flat.png", "regions.parquet", "coco.json"):
            assert f"{export}/{sample_id}/{name}" in files
        labels = cv2.imdecode(
            np.frombuffer(store.read_bytes(export, sample_id, "labels.png"), np.uint8), -1
        )
        assert labels.dtype == np.uint16 and labels.shape == (64, 96) and labels.min() >= 1
    assert extract["report"].removeprefix(base + "/") in files


def test_s3_bucket_holds_the_objects(runs):
    """Seen from outside the pipeline: plain S3 keys in the bucket."""
    import boto3

    url, _ = runs["s3"]
    bucket, prefix = url.removeprefix("s3://").split("/", 1)
    endpoint = fsspec.config.conf["s3"]["endpoint_url"]
    listed = boto3.client("s3", endpoint_url=endpoint).list_objects_v2(
        Bucket=bucket, Prefix=f"{prefix}/"
    )
    keys = {obj["Key"] for obj in listed.get("Contents", [])}
    assert f"{prefix}/manifest.parquet" in keys
    assert any(k.startswith(f"{prefix}/samples.zarr/") for k in keys)
    assert any(k.endswith("/labels.png") and k.startswith(f"{prefix}/exports/") for k in keys)


def test_object_stores_give_the_same_regions(runs):
    (s3_url, s3), (mem_url, mem) = runs["s3"], runs["memory"]
    assert s3["skeletonize"]["fingerprint"] == mem["skeletonize"]["fingerprint"]
    assert s3["extract"]["scores"] == mem["extract"]["scores"]
    s3_store, mem_store = Store(s3_url), Store(mem_url)
    export = s3["extract"]["exports"].rsplit("/", 1)[-1]
    for row in read_manifest(s3_store):
        if row["split"] == "val":
            assert s3_store.read_bytes(
                "exports", export, row["id"], "labels.png"
            ) == mem_store.read_bytes("exports", export, row["id"], "labels.png")

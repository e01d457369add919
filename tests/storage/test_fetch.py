"""materialize(): local folders and archives, HTTP download with retry and Range resume, fsspec."""

from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
import threading
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import fsspec
import pytest

from regionflow.storage.fetch import (
    DOWNLOADS,
    RECORD_SUFFIX,
    ChecksumMismatch,
    FetchError,
    materialize,
)

FILES = {f"DanbooRegion2020/train/{i}.image.png": os.urandom(30_000) for i in range(4)}
FAST = {"progress": False, "backoff_s": 0.01, "timeout_s": 10}


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:  # stored: the size stays large
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".regionflow")
    }


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- a real HTTP server on 127.0.0.1 ---------------------------------------------------------


class FileServer:
    """Serves `files` by path with Range/If-Range support and scripted failures."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.etags: dict[str, str] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.drop_once: dict[str, int] = {}  # path → bytes to send before dropping (once)
        self.fail_status: dict[str, list[int]] = {}  # path → statuses to answer first
        self.ignore_range = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                server.requests.append((self.path, dict(self.headers)))
                path = self.path
                if server.fail_status.get(path):
                    status = server.fail_status[path].pop(0)
                    self.send_response(status)
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = server.files.get(path)
                if data is None:
                    self.send_error(404)
                    return
                etag = server.etags[path]
                start = 0
                m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
                if_range = self.headers.get("If-Range")
                if m and not server.ignore_range and (if_range is None or if_range == etag):
                    start = int(m[1])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.end_headers()
                cut = server.drop_once.pop(path, None)
                if cut is not None:
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return  # the connection closes with the body incomplete
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def put(self, path: str, data: bytes) -> str:
        self.files[path] = data
        self.etags[path] = f'"{sha(data)[:16]}"'
        return self.url(path)

    def url(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def gets(self, path: str) -> list[dict[str, str]]:
        return [h for p, h in self.requests if p == path]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()


@pytest.fixture
def server():
    srv = FileServer()
    try:
        yield srv
    finally:
        srv.stop()


# --- local sources ---------------------------------------------------------------------------


def test_local_folder_is_used_in_place(tmp_path):
    folder = tmp_path / "DanbooRegion2020"
    folder.mkdir()
    assert materialize(folder, tmp_path / "cache", progress=False) == folder
    assert not (tmp_path / "cache").exists()
    with pytest.raises(ValueError, match="sha256"):
        materialize(folder, tmp_path / "cache", sha256="0" * 64)


def test_local_archive_extracted_once(tmp_path):
    archive = tmp_path / "DanbooRegion2020.zip"
    archive.write_bytes(zip_bytes(FILES))
    out = materialize(archive, tmp_path / "cache", sha256=sha(archive.read_bytes()), progress=False)
    assert out == tmp_path / "cache" / "DanbooRegion2020"
    assert tree(out) == FILES
    marker = next(out.glob(".regionflow-extracted.json")).stat().st_mtime_ns
    assert materialize(archive, tmp_path / "cache", progress=False) == out
    assert next(out.glob(".regionflow-extracted.json")).stat().st_mtime_ns == marker


def test_local_multipart_first_part_and_checksum_of_the_whole(tmp_path):
    data = zip_bytes(FILES)
    third = len(data) // 3
    for i, chunk in enumerate([data[:third], data[third : 2 * third], data[2 * third :]]):
        (tmp_path / f"DanbooRegion2020.zip.{i + 1:03d}").write_bytes(chunk)
    first = tmp_path / "DanbooRegion2020.zip.001"
    with pytest.raises(ChecksumMismatch):
        materialize(first, tmp_path / "cache", sha256=sha(b"other"), progress=False)
    out = materialize(first, tmp_path / "cache", sha256=sha(data), progress=False)
    assert out.name == "DanbooRegion2020" and tree(out) == FILES


def test_local_single_file_becomes_a_folder(tmp_path):
    image = tmp_path / "page.png"
    image.write_bytes(b"\x89PNG not really")
    out = materialize(image, tmp_path / "cache", progress=False)
    assert tree(out) == {"page.png": image.read_bytes()}


def test_missing_local_source(tmp_path):
    with pytest.raises(FileNotFoundError):
        materialize(tmp_path / "nope.zip", tmp_path / "cache")


# --- HTTP ------------------------------------------------------------------------------------


@pytest.mark.integration
def test_interrupted_download_resumes_with_range(server, tmp_path):
    data = zip_bytes(FILES)
    url = server.put("/data/DanbooRegion2020.zip", data)
    cut = len(data) * 2 // 5
    server.drop_once["/data/DanbooRegion2020.zip"] = cut
    out = materialize(url, tmp_path / "cache", sha256=sha(data), **FAST)
    first, second = server.gets("/data/DanbooRegion2020.zip")
    assert "Range" not in first
    assert second["Range"] == f"bytes={cut}-"
    assert second["If-Range"] == server.etags["/data/DanbooRegion2020.zip"]
    download = tmp_path / "cache" / DOWNLOADS / "DanbooRegion2020.zip"
    assert sha(download.read_bytes()) == sha(data)
    assert tree(out) == FILES
    # a second call is answered from the record: no request at all
    assert materialize(url, tmp_path / "cache", sha256=sha(data), **FAST) == out
    assert len(server.requests) == 2


@pytest.mark.integration
def test_download_killed_midway_resumes_in_a_later_call(server, tmp_path):
    data = zip_bytes(FILES)
    url = server.put("/DanbooRegion2020.zip", data)
    server.drop_once["/DanbooRegion2020.zip"] = 50_000
    with pytest.raises(FetchError, match="giving up"):
        materialize(url, tmp_path / "cache", retries=0, **FAST)
    part = tmp_path / "cache" / DOWNLOADS / "DanbooRegion2020.zip.part"
    assert part.stat().st_size == 50_000
    assert not (tmp_path / "cache" / "DanbooRegion2020").exists()
    out = materialize(url, tmp_path / "cache", sha256=sha(data), **FAST)
    assert server.gets("/DanbooRegion2020.zip")[1]["Range"] == "bytes=50000-"
    assert tree(out) == FILES and not part.exists()


@pytest.mark.integration
def test_unrecorded_complete_file_is_confirmed_not_refetched(server, tmp_path):
    # A crash between the final rename and the record leaves a complete file without record.
    data = zip_bytes(FILES)
    url = server.put("/c.zip", data)
    materialize(url, tmp_path / "cache", **FAST)
    (tmp_path / "cache" / DOWNLOADS / f"c.zip{RECORD_SUFFIX}").unlink()
    out = materialize(url, tmp_path / "cache", sha256=sha(data), **FAST)
    assert server.gets("/c.zip")[1]["Range"] == f"bytes={len(data)}-"  # answered 416, no body
    assert tree(out) == FILES
    assert (tmp_path / "cache" / DOWNLOADS / f"c.zip{RECORD_SUFFIX}").is_file()


@pytest.mark.integration
def test_checksum_mismatch_keeps_nothing(server, tmp_path):
    url = server.put("/x.zip", zip_bytes(FILES))
    with pytest.raises(ChecksumMismatch, match="sha256"):
        materialize(url, tmp_path / "cache", sha256=sha(b"something else"), **FAST)
    assert sorted(p.name for p in (tmp_path / "cache" / DOWNLOADS).iterdir()) == [".lock"]


@pytest.mark.integration
def test_not_found_is_not_retried(server, tmp_path):
    with pytest.raises(FetchError, match="404"):
        materialize(server.url("/missing.zip"), tmp_path / "cache", **FAST)
    assert len(server.requests) == 1


@pytest.mark.integration
def test_server_errors_are_retried_with_backoff(server, tmp_path):
    data = zip_bytes(FILES)
    url = server.put("/flaky.zip", data)
    server.fail_status["/flaky.zip"] = [503, 500]
    out = materialize(url, tmp_path / "cache", sha256=sha(data), **FAST)
    assert tree(out) == FILES and len(server.requests) == 3
    server.fail_status["/flaky2.zip"] = [503] * 5
    server.put("/flaky2.zip", data)
    with pytest.raises(FetchError, match="giving up after 2 retries"):
        materialize(server.url("/flaky2.zip"), tmp_path / "cache2", retries=2, **FAST)
    assert len(server.gets("/flaky2.zip")) == 3


@pytest.mark.integration
def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    data = zip_bytes(FILES)
    url = server.put("/norange.zip", data)
    server.ignore_range = True
    server.drop_once["/norange.zip"] = 10_000
    out = materialize(url, tmp_path / "cache", sha256=sha(data), **FAST)
    assert server.gets("/norange.zip")[1]["Range"] == "bytes=10000-"  # asked, got a full 200
    assert tree(out) == FILES


@pytest.mark.integration
def test_changed_file_is_not_spliced(server, tmp_path):
    old = zip_bytes(FILES)
    url = server.put("/v.zip", old)
    server.drop_once["/v.zip"] = 20_000
    with pytest.raises(FetchError):
        materialize(url, tmp_path / "cache", retries=0, **FAST)
    new_files = {"new/readme.txt": b"version 2" * 5000}
    new = zip_bytes(new_files)
    server.put("/v.zip", new)  # new ETag: If-Range fails, the server sends the whole new file
    out = materialize(url, tmp_path / "cache", sha256=sha(new), **FAST)
    assert tree(out) == new_files


@pytest.mark.integration
def test_http_multipart_archive(server, tmp_path):
    data = zip_bytes(FILES)
    third = len(data) // 3
    for i, chunk in enumerate([data[:third], data[third : 2 * third], data[2 * third :]]):
        server.put(f"/d/DanbooRegion2020.zip.{i + 1:03d}", chunk)
    url = server.url("/d/DanbooRegion2020.zip.001")
    out = materialize(url, tmp_path / "cache", sha256=sha(data), **FAST)
    assert tree(out) == FILES
    assert [p for p, _ in server.requests][-1] == "/d/DanbooRegion2020.zip.004"  # the probe
    n = len(server.requests)
    assert materialize(url, tmp_path / "cache", sha256=sha(data), **FAST) == out
    assert len(server.requests) == n  # the parts list is recorded: no probing, no network


@pytest.mark.integration
def test_progress_bar(server, tmp_path, capsys):
    url = server.put("/bar.tar.gz", _tar_gz({"a.txt": b"a" * 1000}))
    materialize(url, tmp_path / "cache", progress=True, backoff_s=0.01)
    assert "bar.tar.gz" in capsys.readouterr().err
    record = tmp_path / "cache" / DOWNLOADS / f"bar.tar.gz{RECORD_SUFFIX}"
    assert record.is_file()


def _tar_gz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# --- fsspec ----------------------------------------------------------------------------------


@pytest.fixture
def memory_root():
    fs = fsspec.filesystem("memory")
    root = f"/regionflow-test-{uuid.uuid4().hex}"
    try:
        yield fs, root
    finally:
        if fs.exists(root):
            fs.rm(root, recursive=True)


def test_memory_archive_and_folder(memory_root, tmp_path):
    fs, root = memory_root
    data = zip_bytes(FILES)
    fs.pipe(f"{root}/DanbooRegion2020.zip", data)
    out = materialize(
        f"memory://{root}/DanbooRegion2020.zip",
        tmp_path / "cache",
        sha256=sha(data),
        progress=False,
    )
    assert tree(out) == FILES
    for name, blob in FILES.items():
        fs.pipe(f"{root}/tree/{name}", blob)
    folder = materialize(f"memory://{root}/tree", tmp_path / "cache", progress=False)
    assert folder == tmp_path / "cache" / "tree" and tree(folder) == FILES
    # unchanged listing: nothing copied again
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    assert materialize(f"memory://{root}/tree", tmp_path / "cache", progress=False) == folder
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == before
    # a changed remote file is picked up
    fs.pipe(f"{root}/tree/extra.txt", b"more")
    assert tree(
        materialize(f"memory://{root}/tree", tmp_path / "cache", progress=False)
    ) == FILES | {"extra.txt": b"more"}


def test_memory_multipart_and_file_url(memory_root, tmp_path):
    fs, root = memory_root
    data = zip_bytes(FILES)
    half = len(data) // 2
    fs.pipe(f"{root}/D.zip.001", data[:half])
    fs.pipe(f"{root}/D.zip.002", data[half:])
    out = materialize(
        f"memory://{root}/D.zip.001", tmp_path / "cache", sha256=sha(data), progress=False
    )
    assert tree(out) == FILES
    local = tmp_path / "src" / "pages.tar.gz"
    local.parent.mkdir()
    local.write_bytes(_tar_gz({"p/1.png": b"one", "p/2.png": b"two"}))
    out = materialize(local.as_uri(), tmp_path / "cache2", progress=False)
    assert out == tmp_path / "cache2" / "pages" and tree(out) == {
        "p/1.png": b"one",
        "p/2.png": b"two",
    }
    assert (tmp_path / "cache2" / DOWNLOADS / "pages.tar.gz").read_bytes() == local.read_bytes()


def test_argument_checks(tmp_path):
    with pytest.raises(ValueError, match="sha256"):
        materialize(tmp_path, tmp_path / "c", sha256="xyz")
    with pytest.raises(ValueError, match="retries"):
        materialize(tmp_path, tmp_path / "c", retries=-1)


@pytest.mark.integration
def test_same_name_from_another_url_is_fetched_anew(server, tmp_path):
    one, two = {"a.txt": b"one" * 9000}, {"b.txt": b"two" * 9000}
    url_one = server.put("/one/x.zip", zip_bytes(one))
    url_two = server.put("/two/x.zip", zip_bytes(two))
    assert tree(materialize(url_one, tmp_path / "cache", **FAST)) == one
    assert tree(materialize(url_two, tmp_path / "cache", **FAST)) == two
    assert "Range" not in server.gets("/two/x.zip")[0]

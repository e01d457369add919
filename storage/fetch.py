"""Source spec → local directory of raw files: folders, archives, HTTP(S) and fsspec URLs.

Long because folders, archives, resumable HTTP and fsspec URLs share one cache layout and one
download record (the thing that makes a second call free), which one module keeps consistent.

`materialize(source, cache_dir)` lays out `cache_dir` as

    downloads/<file>            complete, verified downloads or copies (+ `<file>.fetch.json`:
                                url, size, sha256 — the record that makes a second call free)
    downloads/<file>.part       an interrupted download, resumed with an HTTP Range request
    <stem>/                     the extracted archive (see `storage.archives`), or a folder
                                holding a single non-archive file, or a copied remote folder

HTTP uses only the standard library (urllib): retries with exponential backoff on connection
errors, timeouts, 408/429/5xx; a resumed download sends `Range` (and `If-Range` with the ETag or
Last-Modified seen before, so a changed file restarts from zero instead of being spliced).
A `sha256` given is checked on the complete file — for a multipart archive, on the concatenated
parts (the hash of the original whole archive).
"""

from __future__ import annotations

import contextlib
import email.utils
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from http.client import HTTPException
from pathlib import Path
from typing import Any

from regionflow.storage.archives import (
    ArchiveLimits,
    extract_archive,
    find_parts,
    is_archive,
    publish_directory,
    safe_relative_path,
    temporary_sibling,
)
from regionflow.storage.atomic import atomic_open, atomic_write_bytes

log = logging.getLogger(__name__)

DOWNLOADS = "downloads"
RECORD_SUFFIX = ".fetch.json"
COPY_MARKER = ".regionflow-copied.json"
_CHUNK = 1 << 20
_PART_RE = re.compile(r"^(?P<base>.+)\.(?P<num>\d{3,})$")
_ARCHIVE_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz2", ".txz", ".zip", ".tar")
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
_MAX_RETRY_AFTER_S = 60.0


class FetchError(RuntimeError):
    """A source could not be fetched (HTTP error, retries exhausted, unsafe remote path)."""


class ChecksumMismatch(FetchError):
    """The fetched bytes do not have the expected sha256."""


def materialize(
    source: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    progress: bool = True,
    retries: int = 5,
    backoff_s: float = 1.0,
    timeout_s: float = 60.0,
    limits: ArchiveLimits | None = None,
) -> Path:
    """The local directory holding `source`'s raw files, fetching and extracting as needed.

    Parameters
    ----------
    source : str or path
        A local folder (returned as is); a local archive, or the first part `x.zip.001` of a
        multipart one (extracted under `cache_dir`); an `http(s)://` URL (downloaded, then
        extracted if it is an archive; a `.001` URL fetches `.002`, … until one is missing);
        any other fsspec URL (`file://`, `memory://`, `s3://`, `gs://`, …): a file is copied
        and treated like a local one, a folder is copied as a whole.
    cache_dir : path
        Where downloads and extractions live (created).
    sha256 : str, optional
        Expected hex digest of the file (of the concatenated parts for a multipart archive).
    progress : bool
        Show tqdm progress bars for transfers.
    retries, backoff_s, timeout_s :
        HTTP: attempts after a failure without progress, first backoff (doubled each time),
        socket timeout.
    limits : ArchiveLimits, optional
        Extraction limits (defaults of `ArchiveLimits`).

    Returns
    -------
    Path of a local directory. Calling again with the same source does no transfer.
    """
    if sha256 is not None:
        if not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
            raise ValueError(f"sha256: expected 64 hex digits, got {sha256!r}")
        sha256 = sha256.lower()
    if retries < 0:
        raise ValueError(f"retries: must be >= 0, got {retries}")
    limits = ArchiveLimits() if limits is None else limits
    cache = Path(cache_dir).expanduser().absolute()
    text = os.fspath(source)
    scheme = urllib.parse.urlsplit(text).scheme if "://" in text else ""
    http = _Http(retries=retries, backoff_s=backoff_s, timeout_s=timeout_s, progress=progress)
    if scheme in ("http", "https"):
        parts = _fetch_http(text, cache / DOWNLOADS, sha256=sha256, http=http)
    elif scheme:
        return _materialize_fsspec(text, cache, sha256=sha256, progress=progress, limits=limits)
    else:
        local = Path(text).expanduser()
        if local.is_dir():
            if sha256 is not None:
                raise ValueError("sha256: only applies to a file or archive, not a folder")
            return local.absolute()
        if not local.exists():
            raise FileNotFoundError(local)
        parts = find_parts(local)
        if sha256 is not None:
            _verify_local(parts, sha256, cache / DOWNLOADS)
    return _unpack(parts, cache, limits)


# ---------------------------------------------------------------------------------------------
# Shared helpers


def _stem(name: str) -> str:
    m = _PART_RE.match(name)
    if m:
        name = m["base"]
    lower = name.lower()
    for suffix in _ARCHIVE_SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return Path(name).stem or name


def _unpack(parts: Sequence[Path], cache: Path, limits: ArchiveLimits) -> Path:
    dest = cache / _stem(parts[0].name)
    if is_archive(parts):
        report = extract_archive(parts, dest, limits=limits)
        for name, reason in report.refused:
            log.warning("%s: refused %s: %s", parts[0].name, name, reason)
        return dest
    if len(parts) != 1:
        raise FetchError(f"{parts[0].name}: numbered parts that are not a multipart archive")
    return _single_file_folder(parts[0], dest)


def _single_file_folder(path: Path, dest: Path) -> Path:
    """A folder holding just `path` (hard link, else copy), for a non-archive source file."""
    st = path.stat()
    identity = {"source": [path.name, st.st_size, st.st_mtime_ns]}
    if _read_json(dest / COPY_MARKER) == identity:
        return dest
    if dest.exists() and _read_json(dest / COPY_MARKER) is None and any(dest.iterdir()):
        raise FileExistsError(f"{dest} exists and was not written by materialize; remove it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(dest, "partial")
    tmp.mkdir()
    try:
        try:
            os.link(path, tmp / path.name)
        except OSError:
            shutil.copyfile(path, tmp / path.name)
        publish_directory(tmp, dest, COPY_MARKER, identity)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, json.dumps(data, indent=1).encode())


def _sha256_of(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def _verify_local(parts: Sequence[Path], sha256: str, records: Path) -> None:
    """Check a local file's sha256 once; a record keyed by path, size, mtime skips re-hashing."""
    identity = [[str(p.absolute()), p.stat().st_size, p.stat().st_mtime_ns] for p in parts]
    key = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]
    record = records / f"local-{key}{RECORD_SUFFIX}"
    saved = _read_json(record)
    if saved and saved.get("parts") == identity and saved.get("sha256") == sha256:
        return
    got = _sha256_of(parts)
    if got != sha256:
        raise ChecksumMismatch(f"{parts[0]}: sha256 {got}, expected {sha256}")
    records.mkdir(parents=True, exist_ok=True)
    _write_json(record, {"parts": identity, "sha256": got})


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One process at a time per downloads folder (two appending to one .part would corrupt)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _record_ok(dest: Path, source: str, sha256: str | None) -> bool:
    record = _read_json(dest.with_name(dest.name + RECORD_SUFFIX))
    if not record or record.get("source") != source or not dest.is_file():
        return False
    if dest.stat().st_size != record.get("size"):
        return False
    return sha256 is None or record.get("sha256") == sha256


def _bar(progress: bool, name: str, total: int | None, initial: int = 0):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=name,
        disable=not progress,
        leave=False,
    )


# ---------------------------------------------------------------------------------------------
# HTTP


class _Http:
    def __init__(self, *, retries: int, backoff_s: float, timeout_s: float, progress: bool):
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.progress = progress


class _NotFound(FetchError):
    pass


class _Retry(Exception):
    """A transient failure; `progressed` when bytes arrived first (the failure count restarts)."""

    def __init__(self, message: str, *, retry_after: float | None = None, progressed: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.progressed = progressed


def _filename(url: str) -> str:
    name = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
    name = name.replace("\\", "_").replace("\x00", "")
    return name if name not in ("", ".", "..") else "download"


def _fetch_http(url: str, downloads: Path, *, sha256: str | None, http: _Http) -> list[Path]:
    name = _filename(url)
    m = _PART_RE.match(name)
    if not m or int(m["num"]) != 1:
        path = downloads / name
        _download(url, path, sha256=sha256, http=http)
        return [path]
    # Multipart: fetch .001, .002, … until the server says the next one does not exist. The
    # list of parts is recorded, so a later call neither probes nor needs the network.
    width = len(m["num"])
    record_path = downloads / f"{m['base']}.parts{RECORD_SUFFIX}"
    record = _read_json(record_path)
    if record and record.get("source") == url:
        paths = [downloads / n for n in record["parts"]]
        if all(_record_ok(p, u, None) for p, u in zip(paths, record["urls"], strict=True)):
            if sha256 is not None:
                _verify_local(paths, sha256, downloads)
            return paths
    split = urllib.parse.urlsplit(url)
    paths, urls = [], []
    n = 1
    while True:
        part_url = urllib.parse.urlunsplit(
            split._replace(path=f"{split.path[:-width]}{n:0{width}d}")
        )
        path = downloads / f"{m['base']}.{n:0{width}d}"
        try:
            _download(part_url, path, sha256=None, http=http)
        except _NotFound:
            if n == 1:
                raise
            break
        paths.append(path)
        urls.append(part_url)
        n += 1
    if sha256 is not None:
        _verify_local(paths, sha256, downloads)
    _write_json(record_path, {"source": url, "parts": [p.name for p in paths], "urls": urls})
    return paths


def _download(url: str, dest: Path, *, sha256: str | None, http: _Http) -> None:
    """Download `url` to `dest`, resuming `dest.part`; idempotent through `dest.fetch.json`."""
    with _locked(dest.parent):
        if _record_ok(dest, url, sha256):
            return
        part = dest.with_name(dest.name + ".part")
        meta_path = dest.with_name(dest.name + ".part.json")
        record_path = dest.with_name(dest.name + RECORD_SUFFIX)
        meta = _read_json(meta_path) or {}
        if dest.exists():
            record = _read_json(record_path)
            if record is not None:
                # Recorded, yet not what is asked for now (another URL, another sha256, or
                # changed on disk): fetch again rather than build on it.
                dest.unlink()
                part.unlink(missing_ok=True)
            else:
                # Complete (renamed) but unrecorded, e.g. a crash right after the rename: let the
                # server confirm its length through a Range request instead of re-downloading.
                os.replace(dest, part)
            record_path.unlink(missing_ok=True)
            meta = {"url": url}
        elif meta.get("url") != url:
            meta = {"url": url}  # a .part of unknown origin cannot be resumed
            part.unlink(missing_ok=True)
        digest = _Digest()
        failures = 0
        while True:
            try:
                _attempt(url, part, meta, meta_path, digest, http)
                break
            except _Retry as exc:
                failures = 1 if exc.progressed else failures + 1
                if failures > http.retries:
                    raise FetchError(
                        f"{url}: giving up after {http.retries} retries: {exc}"
                    ) from exc
                delay = http.backoff_s * 2 ** (failures - 1)
                if exc.retry_after is not None:
                    delay = max(delay, min(exc.retry_after, _MAX_RETRY_AFTER_S))
                log.info("%s: %s; retrying in %.1f s", url, exc, delay)
                time.sleep(delay)
        got = digest.hexdigest(part)
        if sha256 is not None and got != sha256:
            part.unlink(missing_ok=True)
            meta_path.unlink(missing_ok=True)
            raise ChecksumMismatch(f"{url}: sha256 {got}, expected {sha256}")
        size = part.stat().st_size
        os.replace(part, dest)
        _write_json(
            record_path,
            {
                "source": url,
                "size": size,
                "sha256": got,
                "etag": meta.get("etag"),
                "last_modified": meta.get("last_modified"),
            },
        )
        meta_path.unlink(missing_ok=True)


class _Digest:
    """sha256 of the .part file, fed as bytes arrive; re-reads the prefix only when resuming."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._h = hashlib.sha256()
        self.count = 0

    def sync(self, part: Path, size: int) -> None:
        """Make the digest cover exactly the first `size` bytes of `part`."""
        if self.count == size:
            return
        self.reset()
        if size:
            with open(part, "rb") as f:
                while self.count < size and (chunk := f.read(min(_CHUNK, size - self.count))):
                    self.update(chunk)

    def update(self, data: bytes) -> None:
        self._h.update(data)
        self.count += len(data)

    def hexdigest(self, part: Path) -> str:
        self.sync(part, part.stat().st_size)
        return self._h.hexdigest()


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        try:
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """(first byte, total) from `bytes a-b/total` or `bytes */total`."""
    m = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", value or "")
    if not m:
        return None, None
    return (int(m[1]) if m[1] is not None else None), (int(m[2]) if m[2] != "*" else None)


def _attempt(
    url: str, part: Path, meta: dict[str, Any], meta_path: Path, digest: _Digest, http: _Http
) -> None:
    """One request; returns when `part` is complete, raises _Retry on a transient failure."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "regionflow-fetch/1", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        validator = meta.get("etag") or meta.get("last_modified")
        if validator:
            headers["If-Range"] = validator
    try:
        response = urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=http.timeout_s
        )
    except urllib.error.HTTPError as exc:
        with contextlib.closing(exc):
            if exc.code == 416 and offset:
                if _content_range(exc.headers.get("Content-Range"))[1] == offset:
                    return  # the part already holds every byte
                part.unlink()  # the file changed, or the part is longer than it: start over
                raise _Retry("range not satisfiable; restarting") from exc
            if exc.code in _RETRY_STATUS:
                raise _Retry(
                    f"HTTP {exc.code} {exc.reason}", retry_after=_retry_after(exc.headers)
                ) from exc
            if exc.code in (404, 410):
                raise _NotFound(f"{url}: HTTP {exc.code} {exc.reason}") from exc
            raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, HTTPException, OSError) as exc:
        raise _Retry(f"connection failed: {exc}") from exc

    with contextlib.closing(response):
        length_header = response.headers.get("Content-Length") or ""
        length = int(length_header) if length_header.isdigit() else None
        if response.status == 206:
            first, total = _content_range(response.headers.get("Content-Range"))
            if first != offset:
                part.unlink(missing_ok=True)
                raise _Retry(f"server sent a different range (from {first}, wanted {offset})")
            mode = "ab"
            digest.sync(part, offset)
            meta["etag"] = response.headers.get("ETag") or meta.get("etag")
            meta["last_modified"] = response.headers.get("Last-Modified") or meta.get(
                "last_modified"
            )
        else:
            # A fresh start: no Range sent, the server ignores Range, or If-Range saw a change.
            offset, mode, total = 0, "wb", length
            digest.reset()
            meta["etag"] = response.headers.get("ETag")
            meta["last_modified"] = response.headers.get("Last-Modified")
        if total is None and length is not None:
            total = offset + length
        meta["total"] = total
        _write_json(meta_path, meta)
        received = 0
        name = part.name[: -len(".part")]
        with open(part, mode) as out, _bar(http.progress, name, total, offset) as bar:
            try:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            except (HTTPException, OSError) as exc:
                raise _Retry(
                    f"connection dropped after {offset + received} bytes: {exc!r}",
                    progressed=received > 0,
                ) from exc
    size = offset + received
    if total is not None and size < total:
        raise _Retry(f"connection closed at {size} of {total} bytes", progressed=received > 0)
    if total is not None and size > total:
        part.unlink()
        raise _Retry(f"received {size} bytes, more than the {total} announced; restarting")


# ---------------------------------------------------------------------------------------------
# fsspec


def _materialize_fsspec(
    url: str, cache: Path, *, sha256: str | None, progress: bool, limits: ArchiveLimits
) -> Path:
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    path = path.rstrip("/") or path
    if fs.isdir(path):
        if sha256 is not None:
            raise ValueError("sha256: only applies to a file or archive, not a folder")
        return _copy_tree(fs, path, url, cache / (_basename(path) or "root"), progress)
    if not fs.exists(path):
        raise FileNotFoundError(url)
    name = _basename(path)
    downloads = cache / DOWNLOADS
    m = _PART_RE.match(name)
    if m:
        parent = path[: -len(name)]
        width = len(m["num"])
        siblings = sorted(
            p
            for p in fs.glob(f"{parent}{_glob_escape(m['base'])}.{'[0-9]' * width}")
            if _PART_RE.match(_basename(p))
        )
        remote = siblings or [path]
    else:
        remote = [path]
    local = []
    for rpath in remote:
        target = downloads / _basename(rpath)
        _copy_file(fs, rpath, target, source=fs.unstrip_protocol(rpath), progress=progress)
        local.append(target)
    parts = find_parts(local[0]) if m else local
    if sha256 is not None:
        _verify_local(parts, sha256, downloads)
    return _unpack(parts, cache, limits)


def _basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]])", r"[\1]", text)


def _version(info: dict[str, Any]) -> str | None:
    """Whatever the filesystem offers to tell one version of a file from another."""
    for key in (
        "ETag",
        "etag",
        "md5Hash",
        "generation",
        "mtime",
        "LastModified",
        "last_modified",
        "created",
    ):
        if info.get(key) is not None:
            return str(info[key])
    return None


def _copy_file(fs: Any, rpath: str, target: Path, *, source: str, progress: bool) -> None:
    info = fs.info(rpath)
    identity = {"source": source, "size": info.get("size"), "version": _version(info)}
    record_path = target.with_name(target.name + RECORD_SUFFIX)
    with _locked(target.parent):
        record = _read_json(record_path)
        if (
            record
            and {k: record.get(k) for k in identity} == identity
            and target.is_file()
            and target.stat().st_size == record.get("size")
        ):
            return
        digest = hashlib.sha256()
        size = 0
        with fs.open(rpath, "rb") as src, atomic_open(target) as out:
            with _bar(progress, target.name, info.get("size")) as bar:
                while chunk := src.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                    bar.update(len(chunk))
        _write_json(record_path, {**identity, "size": size, "sha256": digest.hexdigest()})


def _copy_tree(fs: Any, root: str, url: str, dest: Path, progress: bool) -> Path:
    """Copy a remote folder to `dest` as a whole (temporary folder, then rename)."""
    found = fs.find(root, detail=True)
    listing = []
    for rpath, info in sorted(found.items()):
        if info.get("type") == "directory":
            continue
        rel = rpath[len(root) :].lstrip("/") if rpath.startswith(root) else _basename(rpath)
        try:
            rel = safe_relative_path(rel)
        except ValueError as exc:
            raise FetchError(f"{url}: unsafe remote path: {exc}") from exc
        listing.append([rel, info.get("size"), _version(info), rpath])
    identity = {"source": url, "files": [row[:3] for row in listing]}
    if _read_json(dest / COPY_MARKER) == identity:
        return dest
    if dest.exists() and _read_json(dest / COPY_MARKER) is None and any(dest.iterdir()):
        raise FileExistsError(f"{dest} exists and was not written by materialize; remove it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(dest, "partial")
    tmp.mkdir()
    total = sum(row[1] or 0 for row in listing)
    try:
        with _bar(progress, dest.name, total) as bar:
            for rel, _, _, rpath in listing:
                if (tmp / rel).exists():  # two remote paths that name one local file
                    raise FileExistsError(f"{url}: {rel} listed twice")
                # Each file is fsync'd before the folder is published: the marker vouches for it.
                with fs.open(rpath, "rb") as src, atomic_open(tmp / rel) as out:
                    while chunk := src.read(_CHUNK):
                        out.write(chunk)
                        bar.update(len(chunk))
        publish_directory(tmp, dest, COPY_MARKER, identity)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest

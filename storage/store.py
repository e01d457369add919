"""The store: one root (a local folder or any fsspec URL) under which every stage reads and writes.

Everything that touches bytes goes through a `Store`, so the same pipeline runs against a local
disk, `memory://` (tests) or an object store (`s3://…`, `gs://…`). `Store(url)` returns one of
two implementations of the same interface — `LocalStore` (a folder) or `FsspecStore` (any other
fsspec filesystem) — and callers never ask which: what differs between backends (atomic writes,
exclusive create, a local folder for files that need a disk, zarr stores, links) is a method
here, checked for both by one contract test (tests/storage/test_store_contract.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shutil
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from regionflow.storage.atomic import atomic_write_bytes

DEFAULT_STORE = "./regionflow-store"
STORE_ENV = "REGIONFLOW_STORE"


def default_store_url() -> str:
    """The store used when none is given: `$REGIONFLOW_STORE`, else `./regionflow-store`."""
    return os.environ.get(STORE_ENV) or DEFAULT_STORE


class Store(ABC):
    """A store root and the filesystem that holds it.

    Paths given to methods are relative to the root and use `/`. `Store(url)` picks the
    implementation: `LocalStore` for a local path or `file://` URL, `FsspecStore` otherwise.
    """

    fs: fsspec.AbstractFileSystem
    root: str
    url: str

    def __new__(cls, url: str | os.PathLike[str] = "", *args: Any, **kwargs: Any):
        if cls is Store:
            cls = LocalStore if isinstance(_filesystem(url)[0], LocalFileSystem) else FsspecStore
        return super().__new__(cls)

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    def __reduce__(self):  # pickles as its URL: Dask workers reopen their own filesystem
        return (Store, (self.url,))

    # paths --------------------------------------------------------------------------------
    def path(self, *parts: str) -> str:
        """The filesystem path of `parts` under the root."""
        return posixpath.join(self.root, *parts) if parts else self.root

    @abstractmethod
    def url_of(self, *parts: str) -> str:
        """A URL (or local path) a user can open for `parts` under the root."""

    def local_path(self, *parts: str) -> Path:
        """A `Path` under a local store; object stores have none."""
        raise ValueError(f"store: {self.url} is not a local folder")

    @abstractmethod
    def local_dir(self, *parts: str) -> Path:
        """A local folder for files that need a disk (raw sources, checkpoints, Prefect results).

        On a local store it is `parts` under the root; an object store keeps it in a local cache
        keyed by the store's URL *and* identity, so a wiped and re-created store starts cold.
        """

    @property
    @abstractmethod
    def shared_between_processes(self) -> bool:
        """Whether another process opening the same URL sees this store (not so for memory://)."""

    # queries ------------------------------------------------------------------------------
    def exists(self, *parts: str) -> bool:
        return self.fs.exists(self.path(*parts))

    def listdir(self, *parts: str) -> list[str]:
        """Names (not paths) directly under `parts`; empty when it does not exist."""
        base = self.path(*parts)
        try:
            entries = self.fs.ls(base, detail=False)
        except FileNotFoundError:
            return []
        return sorted(posixpath.basename(e.rstrip("/")) for e in entries)

    def walk_files(self, *parts: str) -> Iterator[str]:
        """Every file under `parts`, as paths relative to `parts`."""
        base = self.path(*parts).rstrip("/")
        try:
            found = self.fs.find(base)
        except FileNotFoundError:
            return
        for p in sorted(found):
            yield posixpath.relpath(p, base)

    # bytes --------------------------------------------------------------------------------
    def read_bytes(self, *parts: str) -> bytes:
        return self.fs.cat_file(self.path(*parts))

    @abstractmethod
    def write_bytes(self, data: bytes, *parts: str) -> str:
        """Write `data` so that readers see either the old file or the whole new one."""

    @abstractmethod
    def create_exclusive(self, data: bytes, *parts: str) -> bool:
        """Create the file with `data` unless it exists; True when this call created it."""

    @abstractmethod
    def discard(self, *parts: str) -> None:
        """Remove a file that several processes may try to remove at once (a stale lock)."""

    @abstractmethod
    def link_or_copy(self, target: Path, *parts: str) -> None:
        """Make the local file `target` show the stored file `parts` (a link where possible)."""

    def read_json(self, *parts: str) -> Any:
        return json.loads(self.read_bytes(*parts))

    def write_json(self, obj: Any, *parts: str) -> str:
        return self.write_bytes(json.dumps(obj, indent=2, sort_keys=True).encode(), *parts)

    def remove(self, *parts: str, recursive: bool = False) -> None:
        path = self.path(*parts)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=recursive)

    def identity(self) -> str:
        """A random id written into the store on first use: tells a store from a re-created one
        at the same URL (caches kept outside the store key on it)."""
        try:
            return self.read_json("store.json")["id"]
        except (FileNotFoundError, KeyError, ValueError):
            self.write_json({"id": uuid.uuid4().hex}, "store.json")
            return self.read_json("store.json")["id"]

    @abstractmethod
    def open_zarr_store(self, *parts: str):
        """A zarr v3 store for the group at `parts`."""


def _filesystem(url: str | os.PathLike[str]) -> tuple[fsspec.AbstractFileSystem, str]:
    url = os.fspath(url)
    if not url:
        raise ValueError("url: the store location is empty")
    return fsspec.core.url_to_fs(url)


class LocalStore(Store):
    """A folder on a local disk: atomic writes by rename, exclusive create by O_EXCL."""

    def __init__(self, url: str | os.PathLike[str]):
        fs, root = _filesystem(url)
        self.fs = fs
        self.root = self.url = str(Path(root).resolve())

    def url_of(self, *parts: str) -> str:
        return str(Path(self.root, *parts))

    def local_path(self, *parts: str) -> Path:
        return Path(self.root, *parts)

    def local_dir(self, *parts: str) -> Path:
        return Path(self.root, *parts)

    @property
    def shared_between_processes(self) -> bool:
        return True

    def write_bytes(self, data: bytes, *parts: str) -> str:
        """`storage.atomic.atomic_write_bytes`: a temporary file unique to this writer, fsync,
        rename, the temporary removed on failure."""
        target = self.path(*parts)
        atomic_write_bytes(target, data)
        return target

    def create_exclusive(self, data: bytes, *parts: str) -> bool:
        path = self.local_path(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return True

    def discard(self, *parts: str) -> None:
        # Rename first, so that of two processes discarding the same file only one removes it.
        path = self.local_path(*parts)
        try:
            os.replace(path, path.with_name(f"{path.name}.stale-{uuid.uuid4().hex}"))
        except FileNotFoundError:
            return
        for leftover in path.parent.glob(f"{path.name}.stale-*"):
            leftover.unlink(missing_ok=True)

    def link_or_copy(self, target: Path, *parts: str) -> None:
        try:
            target.symlink_to(self.local_path(*parts))
        except OSError:
            shutil.copyfile(self.local_path(*parts), target)

    def open_zarr_store(self, *parts: str):
        from zarr.storage import LocalStore as ZarrLocalStore

        return ZarrLocalStore(self.path(*parts))


class FsspecStore(Store):
    """Any other fsspec filesystem (s3://, gs://, memory://): one PUT per write, which is
    atomic there; no exclusive create (best effort: write, then read back)."""

    def __init__(self, url: str | os.PathLike[str]):
        fs, root = _filesystem(url)
        self.fs = fs
        protocol = fs.protocol[0] if isinstance(fs.protocol, tuple) else fs.protocol
        self.root = root.rstrip("/")
        self.url = f"{protocol}://{self.root}"

    def url_of(self, *parts: str) -> str:
        return posixpath.join(self.url, *parts)

    def local_dir(self, *parts: str) -> Path:
        key = hashlib.sha256(f"{self.url}\n{self.identity()}".encode()).hexdigest()[:16]
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return base.joinpath("regionflow", "stores", key, *parts)

    @property
    def shared_between_processes(self) -> bool:
        return "memory" not in (
            self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        )

    def write_bytes(self, data: bytes, *parts: str) -> str:
        target = self.path(*parts)
        self.fs.makedirs(posixpath.dirname(target), exist_ok=True)
        self.fs.pipe_file(target, data)
        return target

    def create_exclusive(self, data: bytes, *parts: str) -> bool:
        if self.exists(*parts):
            return False
        self.write_bytes(data, *parts)
        return self.read_bytes(*parts) == data

    def discard(self, *parts: str) -> None:
        self.remove(*parts)

    def link_or_copy(self, target: Path, *parts: str) -> None:
        target.write_bytes(self.read_bytes(*parts))

    def open_zarr_store(self, *parts: str):
        from zarr.storage import FsspecStore as ZarrFsspecStore

        return ZarrFsspecStore.from_url(self.url_of(*parts))

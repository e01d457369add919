"""The store: one root (a local folder or any fsspec URL) under which every stage reads and writes.

Everything that touches bytes goes through a `Store`, so the same pipeline runs against a local
disk, `memory://` (tests) or an object store (`s3://…`, `gs://…`).
"""

from __future__ import annotations

import json
import os
import posixpath
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from storage.atomic import atomic_write_bytes

DEFAULT_STORE = "./regionflow-store"
STORE_ENV = "REGIONFLOW_STORE"


def default_store_url() -> str:
    """The store used when none is given: `$REGIONFLOW_STORE`, else `./regionflow-store`."""
    return os.environ.get(STORE_ENV) or DEFAULT_STORE


class Store:
    """A store root and the filesystem that holds it.

    Paths given to methods are relative to the root and use `/`.
    """

    def __init__(self, url: str | os.PathLike[str]):
        url = os.fspath(url)
        if not url:
            raise ValueError("url: the store location is empty")
        fs, root = fsspec.core.url_to_fs(url)
        self.fs: fsspec.AbstractFileSystem = fs
        self.is_local = isinstance(fs, LocalFileSystem)
        if self.is_local:
            root = str(Path(root).resolve())
            self.url = root
        else:
            protocol = fs.protocol[0] if isinstance(fs.protocol, tuple) else fs.protocol
            root = root.rstrip("/")
            self.url = f"{protocol}://{root}"
        self.root = root

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    def __reduce__(self):  # pickles as its URL: Dask workers reopen their own filesystem
        return (Store, (self.url,))

    # paths --------------------------------------------------------------------------------
    def path(self, *parts: str) -> str:
        """The filesystem path of `parts` under the root."""
        return posixpath.join(self.root, *parts) if parts else self.root

    def url_of(self, *parts: str) -> str:
        """A URL (or local path) a user can open for `parts` under the root."""
        if self.is_local:
            return str(Path(self.root, *parts))
        return posixpath.join(self.url, *parts)

    def local_path(self, *parts: str) -> Path:
        """A `Path` under a local store; object stores have none."""
        if not self.is_local:
            raise ValueError(f"store: {self.url} is not a local folder")
        return Path(self.root, *parts)

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

    def write_bytes(self, data: bytes, *parts: str) -> str:
        """Write `data` so that readers see either the old file or the whole new one.

        Local disks: `storage.atomic.atomic_write_bytes` (a temporary file unique to this writer,
        fsync, rename). Object stores: one PUT, which is atomic there.
        """
        target = self.path(*parts)
        parent = posixpath.dirname(target)
        if self.is_local:
            atomic_write_bytes(target, data)
            return target
        self.fs.makedirs(parent, exist_ok=True)
        self.fs.pipe_file(target, data)
        return target

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

    def open_zarr_store(self, *parts: str):
        """A zarr v3 store for the group at `parts` (LocalStore on disk, FsspecStore elsewhere)."""
        from zarr.storage import FsspecStore, LocalStore

        if self.is_local:
            return LocalStore(self.path(*parts))
        return FsspecStore.from_url(self.url_of(*parts))

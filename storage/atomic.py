"""The one atomic file write: every local file regionflow publishes goes through `atomic_open`.

A reader sees either the previous file or the whole new one, never a prefix: the bytes go to a
temporary file beside the target, are fsync'd, renamed over the target with `os.replace` (atomic
on POSIX within one filesystem), and the directory entry is fsync'd so the rename survives a
power cut. On any failure (an exception, KeyboardInterrupt) the temporary file is removed and
the target is left as it was.

The temporary name is unique per writer — `.<name>.<pid>-<random>.tmp`, created with `O_EXCL` —
so two threads or processes writing the same target never share (and truncate) one temporary
file; the last rename wins, whole. A writer killed with SIGKILL leaves its temporary behind;
`is_temporary` tells such leftovers apart for whoever owns the folder's clean-up.

Object stores need none of this (a PUT is atomic there): `Store.write_bytes` uses this for local
folders only.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_SUFFIX = ".tmp"
# Room for ".", ".<pid>-<32 hex>" and ".tmp" within the usual 255-byte NAME_MAX.
_MAX_STEM = 180


def temporary_name(target: str | os.PathLike[str]) -> Path:
    """A fresh temporary path beside `target` (not created): `.<name>.<pid>-<random>.tmp`."""
    target = Path(target)
    stem = target.name[:_MAX_STEM]
    return target.with_name(f".{stem}.{os.getpid()}-{uuid.uuid4().hex}{TEMP_SUFFIX}")


def is_temporary(name: str, target_name: str | None = None) -> bool:
    """Whether `name` is a temporary `atomic_open` makes (for `target_name`, when given)."""
    if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
        return False
    return target_name is None or name.startswith(f".{target_name[:_MAX_STEM]}.")


def fsync_directory(path: str | os.PathLike[str]) -> None:
    """Make a rename in `path` durable; a no-op where directories cannot be opened or fsync'd."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(target: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file handle whose contents replace `target` atomically when the block exits.

    The parent folder is created if missing. Leaving the block by an exception discards what
    was written (the temporary file is removed) and re-raises; `target` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = temporary_name(target)
    # O_EXCL: never reuse (and truncate) another writer's temporary; 0o666 & umask, like open().
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    fsync_directory(target.parent)


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes) -> Path:
    """Replace `target` with `data` atomically (see `atomic_open`). Returns `target` as a Path."""
    with atomic_open(target) as handle:
        handle.write(data)
    return Path(target)

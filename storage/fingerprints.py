"""Stable fingerprints of configs, inputs and code: what the caches compare."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def fingerprint(obj: Any) -> str:
    """sha256 (hex) of `obj` as canonical JSON (dataclasses become dicts)."""
    text = json.dumps(_plain(obj), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@cache
def code_fingerprint(*packages: str) -> str:
    """sha256 of the Python sources of `packages`: a code change invalidates the caches it feeds."""
    digest = hashlib.sha256()
    for package in sorted(packages):
        module = import_module(package)
        root = Path(module.__file__).parent
        for source in sorted(root.rglob("*.py")):
            digest.update(str(source.relative_to(root)).encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()


def file_fingerprint(path: str | Path) -> str:
    """Cheap identity of a local file: path, size and modification time."""
    stat = Path(path).stat()
    return fingerprint([str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns])

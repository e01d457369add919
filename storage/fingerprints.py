"""Stable fingerprints of configs, inputs and code: what the caches compare.

Code enters a cache key through `source_fingerprint`: the sources of the modules a stage runs,
found by following their imports, so an edit invalidates exactly the caches of the stages that
import the edited module (see its docstring for why this, rather than version numbers).
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any

from pydantic import BaseModel


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, BaseModel):  # the configs: the same dict a dataclass of them gave
        return {name: _plain(getattr(obj, name)) for name in type(obj).model_fields}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def fingerprint(obj: Any) -> str:
    """sha256 (hex) of `obj` as canonical JSON (dataclasses and configs become dicts)."""
    text = json.dumps(_plain(obj), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@cache
def code_fingerprint(*packages: str) -> str:
    """sha256 of every Python source of `packages` (full names, e.g. `regionflow.regions`; whole
    packages: coarse; stages that can name the modules they run use `source_fingerprint`)."""
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


# The one top-level package; module names below are full ones
# (`regionflow.regions.danbooregion.skeleton`).
PACKAGE = "regionflow"


def project_root() -> Path:
    """The folder holding regionflow's subpackages (flows, tasks, storage, models, regions): the
    repository root in a checkout (pyproject.toml maps `regionflow.<pkg>` to `<pkg>/`), the
    installed `regionflow/` folder otherwise."""
    return Path(__file__).resolve().parents[1]


def _in_packages(name: str, packages: tuple[str, ...]) -> bool:
    """Whether module `name` is one of `packages` or lies inside one."""
    return any(name == p or name.startswith(p + ".") for p in packages)


def _module_file(name: str, root: Path) -> Path | None:
    """`regionflow.a.b` → root/a/b.py or root/a/b/__init__.py; None when `root` does not hold it
    (and for `regionflow` itself, whose folder is not under `root` in a checkout)."""
    package, _, rest = name.partition(".")
    if package != PACKAGE or not rest:
        return None
    base = root.joinpath(*rest.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_inits(name: str, root: Path) -> list[str]:
    """`a.b.c` → the packages `a` and `a.b` that importing it runs, where `root` holds them
    (`regionflow` itself never: it only names the namespace)."""
    parts = name.split(".")
    return [pkg for i in range(1, len(parts)) if _module_file(pkg := ".".join(parts[:i]), root)]


def _imported_names(name: str, source: Path) -> set[str]:
    """Every module name `source` (the module `name`) imports, anywhere in its body, relative
    imports resolved; `from a import b` yields both `a` and `a.b` (b may be a module)."""
    tree = ast.parse(source.read_bytes(), filename=str(source))
    package = name if source.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if base:
                found.add(base)
                found |= {f"{base}.{alias.name}" for alias in node.names if alias.name != "*"}
    return found


def source_closure(
    *modules: str, follow: tuple[str, ...], root: str | Path | None = None
) -> dict[str, Path]:
    """The modules `modules` run: themselves, the packages above them, and — transitively — every
    module they import that lies in a package of `follow` (full names: `regionflow.regions`).
    Module name → source file.

    Imports are read from the source (ast), not executed, so lazy imports inside functions count
    too. Modules outside `follow` (storage, prefect, numpy, …) are not followed: a stage's key
    covers the algorithms it runs, not how its results are stored.
    """
    root = Path(root) if root is not None else project_root()
    closure: dict[str, Path] = {}
    todo = list(modules)
    for name in modules:
        if _module_file(name, root) is None:
            raise ValueError(f"modules: {name!r} is not a module under {root}")
    while todo:
        name = todo.pop()
        if name in closure:
            continue
        source = _module_file(name, root)
        if source is None:  # `from pkg import function`: pkg.function is not a module
            continue
        closure[name] = source
        todo += _package_inits(name, root)
        todo += [m for m in _imported_names(name, source) if _in_packages(m, follow)]
    return dict(sorted(closure.items()))


def source_fingerprint(
    *modules: str,
    follow: tuple[str, ...] = ("regionflow.regions", "regionflow.models"),
    root: str | Path | None = None,
) -> str:
    """sha256 of the sources `source_closure(*modules, follow=follow)` finds (names and bytes).

    Why the import closure rather than an explicit algorithm version per stage: a version
    number is right only while every author remembers to bump it, and a forgotten bump is a
    cache that silently serves results of old code — the worst failure a cache has. The closure
    cannot forget: any edit to a module the stage runs changes the key. Its cost is the other
    direction, a harmless one: an edit that does not change results (a docstring, a function the
    stage never calls in a module it imports) recomputes once. Following imports only into
    `follow` keeps that cost small, and `tests/storage/test_fingerprints.py` pins what the
    skeleton stage's closure holds and lacks (e.g. not regions/comics/panels.py).
    Not seen: modules imported by a computed name (importlib) — list those in `modules` —,
    non-Python files, and the versions of third-party libraries (numpy, OpenCV, torch).
    Computed once per process and argument set: a process runs one version of the code.
    """
    resolved = Path(root) if root is not None else project_root()
    return _source_fingerprint(tuple(modules), tuple(sorted(follow)), str(resolved))


@cache
def _source_fingerprint(modules: tuple[str, ...], follow: tuple[str, ...], root: str) -> str:
    digest = hashlib.sha256()
    for name, source in source_closure(*modules, follow=follow, root=root).items():
        digest.update(name.encode() + b"\0")
        digest.update(source.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()

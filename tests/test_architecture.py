"""DESIGN.md's one-way imports: flows → tasks → (models, regions, storage); models → regions;
nothing imports flows; regions imports none of the others (and no prefect/torch); storage
holds paths and formats, not algorithms, so it imports no regions; the CLI (flows/cli/) parses
arguments and starts flows or calls tasks, it does not reach into models/, storage/ or regions/
itself.

Layers are the subpackages of the one top-level package: `regionflow.tasks` is the tasks layer
(tasks/ in the repository); a bare `import tasks` is an error of its own (one import namespace).

Known leaks are listed one by one (file, imported module) with the reason they remain; a listed
leak that is gone fails too, so the lists only shrink."""

import ast
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP = "regionflow"
PACKAGES = ("flows", "tasks", "storage", "models", "regions")
FORBIDDEN = {
    "flows": set(),
    "tasks": {"flows"},
    "storage": {"flows", "tasks", "models", "regions"},
    "models": {"flows", "tasks"},
    "regions": {
        "flows",
        "tasks",
        "storage",
        "models",
        "prefect",
        "torch",
        "distributed",
        "zarr",
        "fsspec",
    },
}


# The CLI's own modules: argv in, a flow or task started, a message out.
CLI_MODULES = tuple(
    str(p.relative_to(ROOT)) for p in sorted((ROOT / "flows" / "cli").rglob("*.py"))
)
CLI_FORBIDDEN = {"models", "storage", "regions"}

# (file, imported module) → why it is still there. Remove an entry with the leak it excuses.
KNOWN_LEAKS: dict[tuple[str, str], str] = {}


def imported_modules(source: Path) -> set[str]:
    """Absolute module names `source` imports anywhere (function bodies too); `from a import b`
    gives `a`. Relative imports stay inside their own package and are skipped."""
    tree = ast.parse(source.read_text(), filename=str(source))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def layer(name: str) -> str:
    """`regionflow.tasks.stage` → "tasks"; outside regionflow the top-level name (`torch`)."""
    parts = name.split(".")
    return parts[1] if parts[0] == TOP and len(parts) > 1 else parts[0]


def imported_roots(source: Path) -> set[str]:
    return {layer(name) for name in imported_modules(source)}


def leaks(files: list[Path], forbidden: set[str]) -> set[tuple[str, str]]:
    return {
        (str(f.relative_to(ROOT) if f.is_relative_to(ROOT) else f), name)
        for f in files
        for name in imported_modules(f)
        if layer(name) in forbidden
    }


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_go_one_way(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no modules"
    found = leaks(files, FORBIDDEN[package])
    bad = sorted(found - set(KNOWN_LEAKS))
    assert not bad, f"{package}/ imports what it must not: {bad}"


def test_the_cli_does_not_reach_past_the_flows():
    found = leaks([ROOT / m for m in CLI_MODULES], CLI_FORBIDDEN)
    bad = sorted(found - set(KNOWN_LEAKS))
    assert not bad, f"the CLI imports models/storage/regions directly: {bad}"


def test_every_known_leak_is_still_there():
    """A fixed leak must leave KNOWN_LEAKS, so the list never excuses a new one of the same kind."""
    cli = leaks([ROOT / m for m in CLI_MODULES], CLI_FORBIDDEN)
    everywhere = set().union(
        *(leaks(sorted((ROOT / p).rglob("*.py")), FORBIDDEN[p]) for p in PACKAGES)
    )
    gone = sorted(set(KNOWN_LEAKS) - cli - everywhere)
    assert not gone, f"fixed: remove from KNOWN_LEAKS {gone}"


def test_the_checker_sees_forbidden_imports(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text(
        "import torch\nfrom regionflow.flows.cli import main\nfrom . import sibling\n"
    )
    assert imported_roots(sample) == {"torch", "flows"}


def test_the_checker_sees_storage_importing_regions_and_the_cli_reaching_past_flows(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text(
        "def f():\n    from regionflow.regions.comics.panels import detect\n"
        "    import regionflow.models.unet\n"
    )
    expected = {
        (str(sample), "regionflow.regions.comics.panels"),
        (str(sample), "regionflow.models.unet"),
    }
    assert leaks([sample], FORBIDDEN["storage"]) == expected  # lazy imports count too
    assert leaks([sample], CLI_FORBIDDEN) == expected


def test_the_cli_is_a_package_of_command_groups():
    assert "flows/cli/__init__.py" in CLI_MODULES and len(CLI_MODULES) > 2


def python_sources() -> list[Path]:
    """Every Python file of the repository: the packages, tests, benchmarks, scripts (not the
    virtual environment, hidden folders or build outputs)."""
    skip = {"build", "dist", "__pycache__", "regionflow-store"}
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in skip]
        found += [Path(folder, f) for f in files if f.endswith(".py")]
    return sorted(found)


def test_one_import_namespace():
    """The packages are `regionflow.<pkg>` (pyproject.toml's package-dir); a bare `import tasks`
    would resolve only from the repository root, and collide with other projects' `tasks`."""
    sources = python_sources()
    assert len(sources) > 100
    bare = sorted(
        (str(f.relative_to(ROOT)), name)
        for f in sources
        for name in imported_modules(f)
        if name.split(".")[0] in PACKAGES
    )
    assert not bare, f"imports without the regionflow prefix: {bare}"


def test_every_command_sets_its_handler():
    """One dispatch: `main` calls `args.handler`, so every (sub)command must set one."""
    import argparse

    from regionflow.flows.cli import build_parser

    def commands(parser, path=()):
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not actions:
            yield path, parser
        for action in actions:
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))

    found = list(commands(build_parser()))
    assert len(found) > 10
    missing = [" ".join(path) for path, p in found if not callable(p.get_default("handler"))]
    assert not missing, f"commands without a handler: {missing}"

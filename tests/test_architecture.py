"""DESIGN.md's one-way imports: flows → tasks → (models, regions, storage); models → regions;
nothing imports flows; regions imports none of the others (and no prefect/torch); storage
holds paths and formats, not algorithms, so it imports no regions; the CLI (flows/cli/) parses
arguments and starts flows or calls tasks, it does not reach into models/, storage/ or regions/
itself.

Known leaks are listed one by one (file, imported module) with the reason they remain; a listed
leak that is gone fails too, so the lists only shrink."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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
KNOWN_LEAKS = {
    ("storage/sources.py", "regions.synthetic"): "the built-in synthetic source is generated "
    "while the source is resolved; to move to a task that writes through storage (issue 15)",
    ("storage/comics.py", "regions.strips"): "strip slices are placed with regions.strips' "
    "index while reading/writing webtoon strips; to be split at the storage edge (issue 15)",
}


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


def imported_roots(source: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(source)}


def leaks(files: list[Path], forbidden: set[str]) -> set[tuple[str, str]]:
    return {
        (str(f.relative_to(ROOT) if f.is_relative_to(ROOT) else f), name)
        for f in files
        for name in imported_modules(f)
        if name.split(".")[0] in forbidden
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
    sample.write_text("import torch\nfrom flows.cli import main\nfrom . import sibling\n")
    assert imported_roots(sample) == {"torch", "flows"}


def test_the_checker_sees_storage_importing_regions_and_the_cli_reaching_past_flows(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("def f():\n    from regions.panels import detect\n    import models.unet\n")
    expected = {(str(sample), "regions.panels"), (str(sample), "models.unet")}
    assert leaks([sample], FORBIDDEN["storage"]) == expected  # lazy imports count too
    assert leaks([sample], CLI_FORBIDDEN) == expected


def test_the_cli_is_a_package_of_command_groups():
    assert "flows/cli/__init__.py" in CLI_MODULES and len(CLI_MODULES) > 2


def test_every_command_sets_its_handler():
    """One dispatch: `main` calls `args.handler`, so every (sub)command must set one."""
    import argparse

    from flows.cli import build_parser

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

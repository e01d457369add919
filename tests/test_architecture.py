"""DESIGN.md's one-way imports: flows → tasks → (models, regions, storage); models → regions;
nothing imports flows; regions imports none of the others (and no prefect/torch)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("flows", "tasks", "storage", "models", "regions")
FORBIDDEN = {
    "flows": set(),
    "tasks": {"flows"},
    "storage": {"flows", "tasks", "models"},
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


def imported_roots(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(), filename=str(source))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_go_one_way(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no modules"
    bad = {
        str(f.relative_to(ROOT)): sorted(imported_roots(f) & FORBIDDEN[package])
        for f in files
        if imported_roots(f) & FORBIDDEN[package]
    }
    assert not bad, f"{package}/ imports what it must not: {bad}"


def test_the_checker_sees_forbidden_imports(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("import torch\nfrom flows.cli import main\nfrom . import sibling\n")
    assert imported_roots(sample) == {"torch", "flows"}

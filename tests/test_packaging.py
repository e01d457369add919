"""One import namespace: the distribution installs the package `regionflow` and nothing else at
the top level; its subpackages keep their folders in the repository (pyproject.toml's
package-dir), and every way the project is started finds them under that name."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SUBPACKAGES = ("flows", "tasks", "storage", "models", "regions")
# Generated or local folders that a build from a clean clone would not see.
NOT_SOURCES = (".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache")
NOT_SOURCES += (".ruff_cache", ".prefect", ".hypothesis", "regionflow-store", "runs")


def child_env() -> dict[str, str]:
    return {**os.environ, "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


@pytest.mark.slow
def test_the_wheel_holds_only_the_regionflow_package(tmp_path):
    source = tmp_path / "src"  # a copy: a stale build/ in the checkout would leak into the wheel
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    out = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
        check=True,
        env=child_env(),
        timeout=600,
    )
    (wheel,) = out.glob("regionflow-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        members = archive.namelist()
        (dist_info,) = {m.split("/")[0] for m in members if ".dist-info/" in m}
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    outside = sorted(m for m in members if m.split("/")[0] not in ("regionflow", dist_info))
    assert not outside, f"the wheel installs more than regionflow/: {outside}"
    # Every module of every subpackage is there, under its regionflow name (a subpackage
    # missing from pyproject.toml's packages list would be left out silently).
    expected = {"regionflow/__init__.py"} | {
        f"regionflow/{p.relative_to(ROOT)}"
        for package in SUBPACKAGES
        for p in (ROOT / package).rglob("*.py")
    }
    missing = sorted(expected - set(members))
    assert not missing, f"modules left out of the wheel: {missing}"
    assert {"regionflow/models/zoo/default.pt", "regionflow/models/zoo/default.json"} <= set(
        members
    )
    assert "regionflow = regionflow.flows.cli:main" in entry_points

    # Installed from the wheel (unpacked on sys.path, no checkout, no editable finder), the
    # stages' code keys equal the checkout's: a Dask worker or a deployment running the wheel
    # agrees with an editable install on every cache key and completion record.
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    code = (
        "import json, sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f)]\n"
        "sys.path[:] = [p for p in sys.path if '__editable__' not in p]\n"
        f"sys.path.insert(0, {str(site)!r})\n"
        "from regionflow.storage.model_zoo import default_model_path\n"
        "from regionflow.tasks import skeletonize, stage, train\n"
        "print(json.dumps([stage.__file__, str(default_model_path()),\n"
        "    stage.stage_code(*skeletonize.STAGE_CODE), stage.stage_code(*train.STAGE_CODE)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=child_env(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    stage_file, model, *keys = json.loads(done.stdout.splitlines()[-1])
    assert Path(stage_file) == site / "regionflow" / "tasks" / "stage.py"
    assert Path(model) == site / "regionflow" / "models" / "zoo" / "default.pt"
    from regionflow.tasks import skeletonize, stage, train

    assert keys == [
        stage.stage_code(*skeletonize.STAGE_CODE),
        stage.stage_code(*train.STAGE_CODE),
    ]


def test_the_shipped_model_is_package_data_of_regionflow_models():
    from regionflow.storage.model_zoo import default_model_path, zoo_folder

    zoo = resources.files("regionflow.models").joinpath("zoo")
    assert Path(str(zoo)) == zoo_folder()
    assert default_model_path().is_file() and (zoo_folder() / "default.json").is_file()
    assert json.loads((zoo_folder() / "default.json").read_text())  # the manifest reads


def test_the_console_script_and_python_m_start_the_cli():
    script = shutil.which("regionflow", path=str(Path(sys.executable).parent))
    assert script, "the regionflow console script is not installed next to this Python"
    for command in ([script, "--help"], [sys.executable, "-m", "regionflow.flows.cli", "--help"]):
        done = subprocess.run(
            command, capture_output=True, text=True, env=child_env(), cwd="/", timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert "usage: regionflow" in done.stdout


def test_the_checkout_imports_without_the_editable_finder(tmp_path):
    """A script that puts the repository root on sys.path (benchmarks/, scripts/) needs no
    install of regionflow: regionflow/__init__.py finds flows/, tasks/, … one folder up."""
    code = (
        "import sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f)]\n"
        "sys.path[:] = [p for p in sys.path if '__editable__' not in p]\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import regionflow.storage.fingerprints as f, regionflow.flows.cli as c\n"
        "print(f.__file__); print(c.__file__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        str(ROOT / "storage" / "fingerprints.py"),
        str(ROOT / "flows" / "cli" / "__init__.py"),
    ]


@pytest.mark.slow
def test_prefect_loads_every_deployment_entrypoint_from_its_file():
    """prefect.yaml's entrypoints are file paths (`flows/pipeline.py:pipeline`): a process worker
    loads the file from the checkout, and its `regionflow.…` imports must resolve there."""
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    entrypoints = [d["entrypoint"] for d in spec["deployments"]]
    assert entrypoints and all(e.split(":")[0].startswith("flows/") for e in entrypoints)
    code = (
        "import sys\n"
        "from prefect.flows import load_flow_from_entrypoint\n"
        "for entrypoint in sys.argv[1:]:\n"
        "    print(load_flow_from_entrypoint(entrypoint).name)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *entrypoints],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=child_env(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.split()) == len(entrypoints)

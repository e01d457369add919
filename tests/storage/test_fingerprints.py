"""Code fingerprints follow what a stage runs: its module and the regions/models modules it
imports, transitively (storage.fingerprints.source_fingerprint, tasks.stage.stage_code)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from storage.fingerprints import project_root, source_closure, source_fingerprint
from tasks.stage import ALGORITHM_PACKAGES

PACKAGES = ("tasks", "regions", "models")


def _not_python(folder: str, names: list[str]) -> list[str]:
    return [
        n
        for n in names
        if n == "__pycache__" or (Path(folder, n).is_file() and not n.endswith(".py"))
    ]


def copy_of_project(dest: Path, edit: tuple[str, str] | None = None) -> Path:
    """The project's packages copied under `dest`, with `edit` = (file, appended text) applied."""
    for package in PACKAGES:
        shutil.copytree(project_root() / package, dest / package, ignore=_not_python)
    if edit is not None:
        path = dest / edit[0]
        path.write_text(path.read_text() + edit[1])
    return dest


def skeleton_code(root: Path) -> str:
    return source_fingerprint("tasks.skeletonize", follow=ALGORITHM_PACKAGES, root=root)


def test_the_skeleton_stage_runs_the_kernel_and_not_panels():
    closure = source_closure("tasks.skeletonize", follow=ALGORITHM_PACKAGES)
    assert {"tasks.skeletonize", "regions.skeleton", "regions._skeleton_kernels"} <= set(closure)
    assert not {"regions.panels", "regions.cuts", "regions.comic_synth"} & set(closure)
    assert not any(name.startswith("storage") for name in closure)  # storage is not followed


def test_training_code_covers_the_loop_the_data_and_the_network():
    closure = source_closure("models.train", "models.data", follow=ALGORITHM_PACKAGES)
    assert {"models.train", "models.data", "models.unet", "models.losses"} <= set(closure)
    assert "models.inference" not in closure and "models.weights" not in closure


def test_the_extract_stage_runs_decoders_metrics_and_inference_not_panels():
    from tasks.extract import STAGE_CODE

    closure = source_closure(*STAGE_CODE, follow=ALGORITHM_PACKAGES)
    assert {
        "tasks.extract",
        "regions.extraction",
        "regions.decode",
        "regions.metrics",
        "regions.baselines",
        "models.inference",
    } <= set(closure)
    assert not {"regions.panels", "regions.cuts", "regions.illustration"} & set(closure)


def test_editing_panels_keeps_the_skeleton_key(tmp_path):
    before = skeleton_code(copy_of_project(tmp_path / "a"))
    edited = copy_of_project(tmp_path / "b", ("regions/panels.py", "\n# a typo fixed\n"))
    assert skeleton_code(edited) == before


@pytest.mark.parametrize("kernel", ["regions/_skeleton_kernels.py", "regions/skeleton.py"])
def test_editing_the_skeleton_kernel_changes_the_skeleton_key(tmp_path, kernel):
    before = skeleton_code(copy_of_project(tmp_path / "a"))
    edited = copy_of_project(tmp_path / "b", (kernel, "\nROUNDING = 1  # a changed kernel\n"))
    assert skeleton_code(edited) != before


def test_imports_are_followed_in_every_spelling(tmp_path):
    pkg = tmp_path / "alg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "alg/__init__.py": "",
        "alg/sub/__init__.py": "",
        "alg/entry.py": "from . import rel\nfrom .sub.deep import f\nimport alg.plain as p\n"
        "def lazy():\n    from alg import lazy_mod\n",
        "alg/rel.py": "from .sub import leaf\n",
        "alg/sub/deep.py": "def f(): ...\n",
        "alg/sub/leaf.py": "",
        "alg/plain.py": "import numpy\nfrom other import x\n",
        "alg/lazy_mod.py": "",
        "alg/unused.py": "",
        "other.py": "x = 1\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    closure = source_closure("alg.entry", follow=("alg",), root=tmp_path)
    assert set(closure) == {
        "alg",
        "alg.entry",
        "alg.rel",
        "alg.sub",
        "alg.sub.deep",
        "alg.sub.leaf",
        "alg.plain",
        "alg.lazy_mod",
    }


def test_an_unknown_module_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="modules"):
        source_closure("regions.no_such_module", follow=ALGORITHM_PACKAGES)


def test_comics_keys_follow_their_detectors_not_the_region_model():
    panels = source_closure("regions.panels", follow=ALGORITHM_PACKAGES)
    cuts = source_closure("regions.cuts", "regions.strips", follow=ALGORITHM_PACKAGES)
    assert "regions.panels" in panels and {"regions.cuts", "regions.strips"} <= set(cuts)
    for closure in (panels, cuts):
        assert not {"regions.skeleton", "regions.illustration", "models.unet"} & set(closure)


def test_comics_options_key_on_the_detector_code(monkeypatch):
    import tasks.comics as comics

    cfg = comics.ComicsConfig()
    seen = []
    monkeypatch.setattr(comics, "stage_code", lambda *m: seen.append(m) or "|".join(m))
    assert cfg.panels_fingerprint() != cfg.cuts_fingerprint()
    assert seen == [("regions.panels",), ("regions.cuts", "regions.strips")]

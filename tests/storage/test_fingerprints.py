"""Code fingerprints follow what a stage runs: its module and the regions/models modules it
imports, transitively (storage.fingerprints.source_fingerprint, tasks.stage.stage_code)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from regionflow.storage.fingerprints import project_root, source_closure, source_fingerprint
from regionflow.tasks.stage import ALGORITHM_PACKAGES

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
    return source_fingerprint("regionflow.tasks.skeletonize", follow=ALGORITHM_PACKAGES, root=root)


def test_the_skeleton_stage_runs_the_kernel_and_not_panels():
    closure = source_closure("regionflow.tasks.skeletonize", follow=ALGORITHM_PACKAGES)
    assert {
        "regionflow.tasks.skeletonize",
        "regionflow.regions.danbooregion.skeleton",
        "regionflow.regions.danbooregion._skeleton_kernels",
    } <= set(closure)
    assert not {
        "regionflow.regions.comics.panels",
        "regionflow.regions.comics.cuts",
        "regionflow.regions.comics.comic_synth",
    } & set(closure)
    assert not any(
        name.startswith("regionflow.storage") for name in closure
    )  # storage is not followed


def test_training_code_covers_the_loop_the_data_and_the_network():
    closure = source_closure(
        "regionflow.models.train", "regionflow.models.data", follow=ALGORITHM_PACKAGES
    )
    assert {
        "regionflow.models.train",
        "regionflow.models.data",
        "regionflow.models.unet",
        "regionflow.models.losses",
    } <= set(closure)
    assert (
        "regionflow.models.inference" not in closure and "regionflow.models.weights" not in closure
    )


def test_the_extract_stage_runs_decoders_metrics_and_inference_not_panels():
    from regionflow.tasks.extract import STAGE_CODE

    closure = source_closure(*STAGE_CODE, follow=ALGORITHM_PACKAGES)
    assert {
        "regionflow.tasks.extract",
        "regionflow.regions.danbooregion.extraction",
        "regionflow.regions.danbooregion.decode",
        "regionflow.regions.danbooregion.metrics",
        "regionflow.regions.danbooregion.baselines",
        "regionflow.models.inference",
    } <= set(closure)
    assert not {
        "regionflow.regions.comics.panels",
        "regionflow.regions.comics.cuts",
        "regionflow.regions.synthetic.illustration",
    } & set(closure)


def test_editing_panels_keeps_the_skeleton_key(tmp_path):
    before = skeleton_code(copy_of_project(tmp_path / "a"))
    edited = copy_of_project(tmp_path / "b", ("regions/comics/panels.py", "\n# a typo fixed\n"))
    assert skeleton_code(edited) == before


@pytest.mark.parametrize(
    "kernel", ["regions/danbooregion/_skeleton_kernels.py", "regions/danbooregion/skeleton.py"]
)
def test_editing_the_skeleton_kernel_changes_the_skeleton_key(tmp_path, kernel):
    before = skeleton_code(copy_of_project(tmp_path / "a"))
    edited = copy_of_project(tmp_path / "b", (kernel, "\nROUNDING = 1  # a changed kernel\n"))
    assert skeleton_code(edited) != before


def test_imports_are_followed_in_every_spelling(tmp_path):
    """`root` holds regionflow's subpackages (alg/ is `regionflow.alg`), as the repository root
    holds regions/ and models/."""
    pkg = tmp_path / "alg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "alg/__init__.py": "",
        "alg/sub/__init__.py": "",
        "alg/entry.py": "from . import rel\nfrom .sub.deep import f\nimport regionflow.alg.plain as p\n"
        "def lazy():\n    from regionflow.alg import lazy_mod\n",
        "alg/rel.py": "from .sub import leaf\n",
        "alg/sub/deep.py": "def f(): ...\n",
        "alg/sub/leaf.py": "",
        "alg/plain.py": "import numpy\nfrom other import x\nimport alg.unused\n",
        "alg/lazy_mod.py": "",
        "alg/unused.py": "",
        "other.py": "x = 1\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    closure = source_closure("regionflow.alg.entry", follow=("regionflow.alg",), root=tmp_path)
    assert set(closure) == {
        "regionflow.alg",
        "regionflow.alg.entry",
        "regionflow.alg.rel",
        "regionflow.alg.sub",
        "regionflow.alg.sub.deep",
        "regionflow.alg.sub.leaf",
        "regionflow.alg.plain",
        "regionflow.alg.lazy_mod",
    }  # not `alg.unused`: without the regionflow prefix it is another project's `alg`
    assert closure["regionflow.alg.sub.deep"] == tmp_path / "alg" / "sub" / "deep.py"


def test_an_unknown_module_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="modules"):
        source_closure("regionflow.regions.no_such_module", follow=ALGORITHM_PACKAGES)


def test_comics_keys_follow_their_detectors_not_the_region_model():
    panels = source_closure("regionflow.regions.comics.panels", follow=ALGORITHM_PACKAGES)
    cuts = source_closure(
        "regionflow.regions.comics.cuts",
        "regionflow.regions.comics.strips",
        follow=ALGORITHM_PACKAGES,
    )
    assert "regionflow.regions.comics.panels" in panels and {
        "regionflow.regions.comics.cuts",
        "regionflow.regions.comics.strips",
    } <= set(cuts)
    for closure in (panels, cuts):
        assert not {
            "regionflow.regions.danbooregion.skeleton",
            "regionflow.regions.synthetic.illustration",
            "regionflow.models.unet",
        } & set(closure)


def test_comics_options_key_on_the_detector_code(monkeypatch):
    import regionflow.tasks.comics as comics

    cfg = comics.ComicsConfig()
    seen = []
    monkeypatch.setattr(comics, "stage_code", lambda *m: seen.append(m) or "|".join(m))
    assert cfg.panels_fingerprint() != cfg.cuts_fingerprint()
    assert seen == [
        ("regionflow.regions.comics.panels",),
        ("regionflow.regions.comics.cuts", "regionflow.regions.comics.strips"),
    ]

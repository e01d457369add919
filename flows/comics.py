"""Comics: webtoon episodes → cuts, comic pages → panels; optionally regions of every crop.

The `regionflow cuts` and `regionflow panels` commands are in `flows/cli/comics.py`.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from prefect import flow

from regionflow.flows.export import region_export
from regionflow.storage.comics import list_pages
from regionflow.storage.locks import StoreLock
from regionflow.storage.store import Store
from regionflow.tasks.comics import ComicsConfig, split_episode, split_pages, stage_crops
from regionflow.tasks.config import ExtractConfig
from regionflow.tasks.episodes import list_slices


@flow(name="webtoon-cuts", log_prints=True)
def webtoon_cuts(
    episode: str,
    output: str,
    config: ComicsConfig | None = None,
    checkpoint: str | None = None,
    export_config: ExtractConfig | None = None,
    dask_address: str | None = None,
    lock_wait: float = 0.0,
) -> dict:
    """Link an episode's numbered slices, find its cuts, write `<output>/cuts/<episode>/`.

    `config`: the ComicsConfig (a dict is validated into one). With `checkpoint`, every cut also
    goes through `region_export` into the same store with `export_config` (an ExtractConfig:
    the fields it leaves out are the model's own decoding or the defaults).
    """
    cfg = ComicsConfig.of(config).to_dict()
    with StoreLock(Store(output), wait=lock_wait, purpose="webtoon-cuts"):
        result = split_episode(output, episode, cfg)
        if checkpoint and result["crops"]:
            crops = {
                f"{result['episode']}-{PurePosixPath(f).stem}": p
                for f, p in result["crops"].items()
            }
            result["regions"] = export_crops(output, crops, checkpoint, export_config, dask_address)
    return result


@flow(name="comic-panels", log_prints=True)
def comic_panels(
    pages: list[str],
    output: str,
    config: ComicsConfig | None = None,
    checkpoint: str | None = None,
    export_config: ExtractConfig | None = None,
    dask_address: str | None = None,
    lock_wait: float = 0.0,
) -> dict:
    """Find the panels of every page in reading order, write `<output>/panels/<page path>/`,
    the index `<output>/panels/index.csv` and kumiko's `<output>/panels/panels.json`; with
    `checkpoint`, regions of every panel too (`config`, `export_config`: as for `webtoon_cuts`)."""
    cfg = ComicsConfig.of(config).to_dict()
    with StoreLock(Store(output), wait=lock_wait, purpose="comic-panels"):
        result = split_pages(output, pages, cfg)
        # Unique flat names for the export folder: the page's output folder, `/` → `--`.
        crops = {
            f"{info['folder'].replace('/', '--')}-{PurePosixPath(c).stem}": c
            for info in result["pages"].values()
            for c in info["crops"]
        }
        if checkpoint and crops:
            result["regions"] = export_crops(output, crops, checkpoint, export_config, dask_address)
    return result


def export_crops(
    output: str,
    crops: dict[str, str],
    checkpoint: str,
    export_config: ExtractConfig | None,
    dask_address: str | None,
) -> dict:
    """Crops (unique name → path in the store) through `region_export`; where each one's went."""
    staged = stage_crops(output, crops)
    exported = region_export(
        [staged["folder"]], checkpoint, output, export_config, dask_address=dask_address
    )
    # region_export names a plain folder's images `images-<file stem>`.
    return {
        **exported,
        "crops": {path: f"{exported['exports']}/images-{name}" for name, path in crops.items()},
    }


def check_episode(episode: str) -> None:
    """Raise (naming the folder) unless `episode` holds image slices: before any flow starts."""
    list_slices(episode)


def check_pages(pages: list[str]) -> None:
    """Raise (naming the input) unless every input gives comic pages: before any flow starts."""
    list_pages(pages)

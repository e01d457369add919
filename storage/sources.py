"""Sources: a name or URL → a local folder of raw files, then the samples in it.

`synthetic` is the built-in dataset (written once per generator settings); folders are used in
place; archives, HTTP(S) and fsspec URLs go through `storage.fetch`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from regionflow.storage.atomic import atomic_write_bytes
from regionflow.storage.fingerprints import fingerprint
from regionflow.storage.images import write_image_file
from regionflow.storage.layout import SampleFiles, scan_dataset
from regionflow.storage.store import Store

SYNTHETIC = "synthetic"
SOURCES = "sources"
DONE_MARKER = ".complete"


def source_cache_dir(store: Store) -> Path:
    """Where raw source files live: `<store>/sources` on disk, a local cache for object stores."""
    return store.local_dir(SOURCES)


# Draws the built-in dataset for generator settings: (split, sample id, image, region map or None).
SyntheticSamples = Callable[
    [dict[str, Any]], Iterable[tuple[str, str, np.ndarray, np.ndarray | None]]
]


def resolve_source(store: Store, config, synthetic: SyntheticSamples) -> Path:
    """The local folder holding the raw files named by `config.source` (an IngestConfig);
    `synthetic` draws the built-in dataset when that is the source and it is not written yet."""
    cache = source_cache_dir(store)
    if config.source == SYNTHETIC:
        return write_synthetic_source(cache, config, synthetic)
    local = Path(config.source).expanduser()
    if local.is_dir():
        return local
    from regionflow.storage.fetch import materialize

    return Path(materialize(config.source, cache, sha256=config.sha256))


def open_source(
    store: Store, config, synthetic: SyntheticSamples
) -> tuple[Path, list[SampleFiles]]:
    folder = resolve_source(store, config, synthetic)
    return folder, scan_dataset(folder)


def write_synthetic_source(cache: Path, config, synthetic: SyntheticSamples) -> Path:
    """Write the built-in dataset in DanbooRegion2020 layout (once per generator settings, which
    name its folder), drawing its samples with `synthetic`."""
    params = {
        "seed": config.synthetic_seed,
        "n_train": config.synthetic_train,
        "n_val": config.synthetic_val,
        "n_test": config.synthetic_test,
        "height": config.synthetic_height,
        "width": config.synthetic_width,
    }
    folder = cache / f"synthetic-{fingerprint(params)[:12]}" / "DanbooRegion2020"
    if (folder / DONE_MARKER).exists():
        return folder
    for split, sample_id, image, region in synthetic(params):
        (folder / split).mkdir(parents=True, exist_ok=True)
        write_image_file(folder / split / f"{sample_id}.image.png", image)
        if region is not None:
            write_image_file(folder / split / f"{sample_id}.region.png", region)
    atomic_write_bytes(folder / DONE_MARKER, fingerprint(params).encode())
    return folder


def gather_images(store: Store, inputs: list[str]) -> Path:
    """Files, folders, globs and URLs of images → one local folder of them (for batch export).

    Local files are linked (copied where links are impossible); URLs are fetched. The folder is
    named by the inputs' fingerprint, so the same request reuses it.
    """
    import glob
    import shutil

    from regionflow.storage.layout import IMAGE_SUFFIXES

    if not inputs:
        raise ValueError("inputs: no images given")
    folder = source_cache_dir(store) / f"inputs-{fingerprint(sorted(inputs))[:12]}"
    folder.mkdir(parents=True, exist_ok=True)
    found: list[Path] = []
    for item in inputs:
        if "://" in item and not item.startswith("file://"):
            from regionflow.storage.fetch import materialize

            fetched = Path(materialize(item, source_cache_dir(store)))
            found += [fetched] if fetched.is_file() else _images_under(fetched, IMAGE_SUFFIXES)
            continue
        path = Path(item.removeprefix("file://")).expanduser()
        if path.is_dir():
            found += _images_under(path, IMAGE_SUFFIXES)
        elif path.is_file():
            found.append(path)
        else:
            matches = [Path(p) for p in sorted(glob.glob(item, recursive=True))]
            if not matches:
                raise FileNotFoundError(f"inputs: {item} matches no file")
            found += [p for p in matches if p.is_file()]
    if not found:
        raise FileNotFoundError("inputs: no image files found")
    used: set[str] = set()
    for source in found:
        name = source.name
        stem, suffix = source.stem, source.suffix
        n = 1
        while name in used:  # two inputs with one name: keep both
            name = f"{stem}-{n}{suffix}"
            n += 1
        used.add(name)
        target = folder / name
        if target.exists() or target.is_symlink():
            target.unlink()
        try:
            target.symlink_to(source.resolve())
        except OSError:
            shutil.copy2(source, target)
    return folder


def _images_under(folder: Path, suffixes) -> list[Path]:
    from regionflow.storage.layout import natural_key

    return sorted(
        (p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes),
        key=lambda p: natural_key(str(p)),
    )

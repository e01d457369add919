"""Comics on disk: webtoon episodes (folders of numbered slices), comic pages, and what
`regionflow cuts` / `regionflow panels` write for them.

Long because episodes (strips, cuts) and pages (panels) share the slice and page reading, the
crop files and the completion records of the two commands.

Layout under the output store::

    cuts/<episode>/001.png, 002.png, ...   one crop per cut, top to bottom
    cuts/<episode>/overlay.png             downscaled strip with the cuts drawn
                                           (overlay-01.png, overlay-02.png, ... when tall)
    cuts/<episode>/cuts.json               boxes in strip pixels, strip size, slices, config
    panels/<page>/01.png, 02.png, ...      one crop per panel, in reading order
    panels/<page>/overlay.png              the page with numbered boxes
    panels/<page>/panels.json              kumiko's layout: {filename, size, numbering, panels}
                                           (+ polygons of non-rectangular panels)
    panels/index.csv                       input path as given → source, sha256, outputs
    panels/panels.json                     kumiko's list: every indexed page
    records/comics-cuts/<episode>.json     completion records (written after the JSON)
    records/comics-panels/<record id>.json

``<page>`` is the page's path relative to the working directory (or without its root), file
name included: ``pages/ch1/001.jpg`` → ``panels/pages/ch1/001.jpg/``.

For episodes this module lists the slice files, probes their sizes from the headers and decodes
them; linking them into one strip, read lazily, is `tasks.episodes.Episode`'s.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from regionflow.storage import records as rec
from regionflow.storage.exports import encode_png
from regionflow.storage.layout import IMAGE_SUFFIXES, natural_key
from regionflow.storage.sources import source_cache_dir
from regionflow.storage.store import Store

CUTS = "cuts"
PANELS = "panels"
CUTS_STAGE = "comics-cuts"
PANELS_STAGE = "comics-panels"
CUTS_JSON = "cuts.json"
PANELS_JSON = "panels.json"
INDEX_CSV = "index.csv"
_READ_FLAGS = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION  # headers report raw sizes too


def safe_name(name: str) -> str:
    """A file-system and record-safe name: letters, digits, `_`, `.`, `-`."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip(".") or "_"


def _decode(data: bytes, path: Path) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), _READ_FLAGS)
    if image is None:
        raise ValueError(f"{path}: not a readable image")
    return image


# episodes -------------------------------------------------------------------------------------
def slice_files(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """The image files directly inside an episode folder, by file name (unordered: the caller
    puts them in strip order).

    Hidden files (``.`` first, e.g. macOS ``._1.jpg`` resource forks) are not slices.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"episode: {folder} is not a folder")
    by_name = {
        p.name: p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    }
    if not by_name:
        raise ValueError(f"episode: no image slices in {folder}")
    return by_name


def image_size(path: Path) -> tuple[int, int]:
    """(height, width) from the file header; decodes only when Pillow cannot read it."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            width, height = im.size
        return int(height), int(width)
    except Exception:  # any format Pillow lacks: OpenCV decodes it whole
        return _decode(path.read_bytes(), path).shape[:2]


def read_slice(path: Path) -> np.ndarray:
    """A slice decoded by content, BGR uint8 (the orientation tag ignored, as sizes are)."""
    return _decode(path.read_bytes(), path)


def cut_file(n: int) -> str:
    """Name of the ``n``-th cut's crop (1-based, as numbered in the overlay)."""
    return f"{n:03d}.png"


def panel_file(n: int) -> str:
    return f"{n:02d}.png"


def overlay_files(n_pieces: int) -> list[str]:
    """Names of a strip overlay's pieces, top to bottom (one piece: ``overlay.png``)."""
    if n_pieces == 1:
        return ["overlay.png"]
    return [f"overlay-{i:02d}.png" for i in range(1, n_pieces + 1)]


def write_episode_cuts(
    store: Store,
    name: str,
    cuts: Sequence[dict[str, Any]],
    *,
    crops: Iterable[np.ndarray],
    overlay: Iterable[np.ndarray],
    n_overlay: int,
    strip: dict[str, Any],
    meta: dict[str, Any],
) -> dict[str, Any]:
    """Write an episode's crops, overlay pieces and `cuts.json` (last). Returns the JSON document.

    ``cuts`` are ``{"box": [x, y, w, h], "kind": str, "confidence": float}`` in strip pixels,
    top to bottom, and ``crops`` their pixels in the same order; ``overlay`` gives the
    ``n_overlay`` overlay pieces, top to bottom. Both are iterated once, crops first, so a long
    strip is never held whole. `cuts.json` is ``{"episode": name, **strip, "cuts": ...,
    "overlays": ..., **meta}``. Older outputs of the episode are removed first, so no stale crop
    survives.
    """
    store.remove(CUTS, name, recursive=True)
    entries = []
    for n, (cut, crop) in enumerate(zip(cuts, crops, strict=True), start=1):
        file = cut_file(n)
        store.write_bytes(encode_png(crop), CUTS, name, file)
        entries.append({"file": file, **cut})
    names = overlay_files(n_overlay)
    for file, piece in zip(names, overlay, strict=True):
        store.write_bytes(encode_png(piece), CUTS, name, file)
    doc = {"episode": name, **strip, "cuts": entries, "overlays": names, **meta}
    store.write_json(doc, CUTS, name, CUTS_JSON)
    return doc


def read_episode_cuts(store: Store, name: str) -> dict[str, Any]:
    return store.read_json(CUTS, name, CUTS_JSON)


# pages ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PageInput:
    """One page as the command line named it.

    ``given`` is the path as given (a folder argument joined with the file's path under it, or
    a glob's match), written as the page's kumiko ``filename``; ``path`` is where it is read;
    ``name`` is its output folder under ``panels/``, from its relative path (see
    :func:`page_output_name`).
    """

    given: str
    path: Path
    name: str


def page_output_name(path: str | os.PathLike[str]) -> str:
    """The output folder (``a/b/001.jpg``, POSIX) of a page: its path relative to the working
    directory, or without its root when it lies outside; each part made safe. The file name is
    kept whole, so ``001.jpg`` and ``001.png`` never share a folder, and no ``-2`` is added."""
    p = Path(path).expanduser()
    if p.is_absolute():
        try:
            p = p.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            p = Path(*p.parts[1:])
    parts = [safe_name(part) for part in p.parts if part not in ("", ".")]
    if not parts:
        raise ValueError(f"pages: {path!r} names no file")
    return "/".join(parts)


def page_inputs(inputs: Iterable[str]) -> list[PageInput]:
    """Pages from files, folders (searched recursively, natural order) and globs.

    Order follows the inputs; a page named twice (by any spelling) is listed once, under its
    first spelling. Two different files whose output names collide are an error.
    """
    found: list[tuple[str, Path]] = []
    for item in inputs:
        item = str(item)
        path = Path(item).expanduser()
        if path.is_dir():
            files = sorted(
                (p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                key=lambda p: natural_key(str(p.relative_to(path))),
            )
            base = item.rstrip("/") or "/"
            found += [(f"{base}/{p.relative_to(path).as_posix()}", p) for p in files]
        elif path.is_file():
            found.append((item, path))
        else:
            matches = sorted(glob.glob(os.path.expanduser(item), recursive=True), key=natural_key)
            files = [m for m in matches if Path(m).is_file()]
            if not files:
                raise FileNotFoundError(f"pages: {item} matches no file")
            found += [(m, Path(m)) for m in files]
    if not found:
        raise FileNotFoundError("pages: no image files found")
    seen: dict[Path, PageInput] = {}
    names: dict[str, str] = {}
    for given, path in found:
        key = path.resolve()
        if key in seen:
            continue
        name = page_output_name(path)
        if name in names:
            raise ValueError(f"pages: {names[name]!r} and {given!r} would share outputs {name!r}")
        names[name] = given
        seen[key] = PageInput(given, path, name)
    return list(seen.values())


def list_pages(inputs: Iterable[str]) -> list[Path]:
    """The page files of :func:`page_inputs`, as given (not resolved)."""
    return [page.path for page in page_inputs(inputs)]


def record_id(name: str) -> str:
    """A completion-record id for an output name holding ``/`` (records are flat files)."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name.replace('/', '--')}-{digest}"


def page_digest(path: Path) -> str:
    """sha256 of a page file's bytes (what its completion record compares)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_page(path: Path) -> np.ndarray:
    """A page decoded by content (the extension may lie), BGR uint8."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    return _decode(path.read_bytes(), path)


def write_page_panels(
    store: Store,
    name: str,
    page: np.ndarray,
    boxes: Sequence[Sequence[int]],
    overlay: np.ndarray,
    kumiko: dict[str, Any],
) -> list[str]:
    """Write one page's panel crops, overlay and kumiko `panels.json` (last). Returns the crops."""
    store.remove(PANELS, name, recursive=True)
    files = []
    for n, (x, y, w, h) in enumerate(boxes, start=1):
        files.append(panel_file(n))
        store.write_bytes(encode_png(page[y : y + h, x : x + w]), PANELS, name, files[-1])
    store.write_bytes(encode_png(overlay), PANELS, name, "overlay.png")
    store.write_bytes(json.dumps(kumiko, indent=1).encode(), PANELS, name, PANELS_JSON)
    return files


def read_page_panels(store: Store, name: str) -> dict[str, Any]:
    return store.read_json(PANELS, name, PANELS_JSON)


INDEX_COLUMNS = ("input", "source", "sha256", "folder", "json", "overlay", "panels", "crops")


def read_panels_index(store: Store) -> list[dict[str, str]]:
    """Rows of `panels/index.csv` (empty when there is none)."""
    if not store.exists(PANELS, INDEX_CSV):
        return []
    text = store.read_bytes(PANELS, INDEX_CSV).decode()
    return list(csv.DictReader(io.StringIO(text)))


def write_panels_index(store: Store, rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """`panels/index.csv` (one row per input page: where it came from, where its outputs are)
    and kumiko's `panels/panels.json` (every indexed page).

    ``rows`` (this run's pages) replace earlier rows of the same output folder; earlier pages
    stay listed. Returns the two files' URLs.
    """
    mine = {str(r["folder"]) for r in rows}
    merged = [r for r in read_panels_index(store) if r["folder"] not in mine]
    merged += [{k: str(r[k]) for k in INDEX_COLUMNS} for r in rows]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=INDEX_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(merged)
    store.write_bytes(buffer.getvalue().encode(), PANELS, INDEX_CSV)
    pages = []
    for r in merged:
        if store.exists(PANELS, r["folder"], PANELS_JSON):
            pages.append(read_page_panels(store, r["folder"]))
    store.write_bytes(json.dumps(pages, indent=1).encode(), PANELS, PANELS_JSON)
    return {"json": store.url_of(PANELS, PANELS_JSON), "index": store.url_of(PANELS, INDEX_CSV)}


# completion -----------------------------------------------------------------------------------
def is_complete(store: Store, stage: str, name: str, expected: dict[str, Any]) -> bool:
    """True when `name`'s record for `stage` matches `expected` (its outputs are whole)."""
    try:
        record = store.read_json(rec.RECORDS, stage, f"{name}.json")
    except (OSError, ValueError):
        return False
    return all(record.get(k) == v for k, v in expected.items())


def mark_complete(store: Store, stage: str, name: str, record: dict[str, Any]) -> None:
    rec.write_record(store, stage, name, record)


# region exports of the crops ------------------------------------------------------------------
def stage_crops(store: Store, crops: dict[str, str]) -> Path:
    """A local folder holding the crops under unique names, for `region_export`.

    ``crops`` maps a unique name (``"<episode>-001"``) to the crop's path under the store. On a
    local store the folder holds links; on an object store, copies.
    """
    if not crops:
        raise ValueError("crops: nothing to export")
    digest = hashlib.sha256(json.dumps(sorted(crops.items())).encode()).hexdigest()[:12]
    folder = source_cache_dir(store) / f"comics-{digest}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, relative in crops.items():
        store.link_or_copy(folder / f"{name}.png", relative)
    return folder

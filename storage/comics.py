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

An episode is read lazily: slice sizes come from the file headers, and :class:`Episode` decodes a
slice only when its rows are needed, so a 50,000-row strip is never held whole.
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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from regionflow.regions.comics.strips import SlicePlacement, StripIndex, natural_order
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
_PANEL_COLOUR = (0, 0, 255)
_FRAGMENT_COLOUR = (0, 165, 255)


def safe_name(name: str) -> str:
    """A file-system and record-safe name: letters, digits, `_`, `.`, `-`."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip(".") or "_"


def _decode(data: bytes, path: Path) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), _READ_FLAGS)
    if image is None:
        raise ValueError(f"{path}: not a readable image")
    return image


def _image_size(path: Path) -> tuple[int, int]:
    """(height, width) from the file header; decodes only when Pillow cannot read it."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            width, height = im.size
        return int(height), int(width)
    except Exception:  # any format Pillow lacks: OpenCV decodes it whole
        return _decode(path.read_bytes(), path).shape[:2]


# episodes -------------------------------------------------------------------------------------
def list_slices(folder: str | os.PathLike[str]) -> list[Path]:
    """The image files directly inside an episode folder, in natural numeric order.

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
    return [by_name[name] for name in natural_order(by_name)]


class Episode:
    """A folder of numbered slices seen as one linked strip, read lazily.

    Parameters
    ----------
    folder : the episode folder (its name, made safe, names the outputs)
    width_policy : "scale" or "pad" (see ``regions.comics.strips.StripIndex``)
    background : padding colour, BGR
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        width_policy: str = "scale",
        background: Sequence[int] = (255, 255, 255),
    ):
        self.folder = Path(folder).expanduser().resolve()
        self.name = safe_name(self.folder.name)
        self.paths = list_slices(self.folder)
        self.background = tuple(int(v) for v in background)
        self.index = StripIndex([_image_size(p) for p in self.paths], width_policy=width_policy)  # type: ignore[arg-type]
        self._cache: dict[int, np.ndarray] = {}

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the linked strip."""
        return self.index.width, self.index.height

    def fingerprint(self) -> str:
        """sha256 over the slices' names and bytes, in strip order."""
        digest = hashlib.sha256()
        for path in self.paths:
            digest.update(path.name.encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()

    def placed(self, i: int) -> np.ndarray:
        """Slice ``i`` as it appears in the strip (decoded now; scaled or padded)."""
        path = self.paths[i]
        try:
            return self.index.place(_decode(path.read_bytes(), path), i, background=self.background)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    def iter_placed(self) -> Iterator[tuple[SlicePlacement, np.ndarray]]:
        """Every slice in strip order with its placement; one slice in memory at a time."""
        for placement in self.index.placements:
            yield placement, self.placed(placement.index)

    def rows(self, y: int, h: int) -> np.ndarray:
        """Strip rows ``[y, y + h)`` assembled from the slices they cross.

        Only the slices under the last call stay cached, so walking cuts top to bottom decodes
        each slice about once and holds only the slices under the current cut.
        """
        segments = self.index.segments(y, h)
        first, last = segments[0][0], segments[-1][0]
        for i in [i for i in self._cache if not first <= i <= last]:
            del self._cache[i]
        out = np.empty((h, self.index.width, 3), np.uint8)
        for i, start, stop, strip_y in segments:
            if i not in self._cache:
                self._cache[i] = self.placed(i)
            out[strip_y - y : strip_y - y + stop - start] = self._cache[i][start:stop]
        return out

    def crop(self, box: Sequence[int]) -> np.ndarray:
        """The strip pixels of ``(x, y, w, h)``."""
        x, y, w, h = (int(v) for v in box)
        return self.rows(y, h)[:, x : x + w]

    def release(self) -> None:
        self._cache.clear()


class StripOverlay:
    """A downscaled copy of a strip, built slice by slice, with boxes drawn at the end.

    The overlay is at most ``max_width`` pixels wide and is written in pieces of at most
    ``piece_height`` rows, so even a very long strip gives images a viewer can open.
    """

    def __init__(self, index: StripIndex, *, max_width: int = 480, piece_height: int = 4096):
        if max_width <= 0 or piece_height <= 0:
            raise ValueError("max_width, piece_height: must be positive")
        self.scale = min(1.0, max_width / index.width)
        self.width = max(1, round(index.width * self.scale))
        self.height = max(1, round(index.height * self.scale))
        self.piece_height = int(piece_height)
        self._parts: list[tuple[int, int, np.ndarray]] = []  # (first row, rows, PNG bytes)

    def add(self, placement: SlicePlacement, rows: np.ndarray) -> None:
        """Append one placed slice (slices must come in strip order)."""
        # Rounded cumulative edges keep the slices' overlay rows adding up to the total.
        r0 = round(placement.y * self.scale)
        r1 = round((placement.y + placement.height) * self.scale)
        if r1 > r0:
            small = (
                cv2.resize(rows, (self.width, r1 - r0), interpolation=cv2.INTER_AREA)
                if self.scale < 1
                else rows
            )
            # Kept compressed: the overlay of a very long strip then costs a few MB, not
            # hundreds, and decoding each part once more is cheap.
            ok, data = cv2.imencode(".png", small, [cv2.IMWRITE_PNG_COMPRESSION, 1])
            if not ok:
                raise ValueError(f"rows: cannot encode a {small.shape} overlay part")
            self._parts.append((r0, small.shape[0], data))

    @property
    def n_pieces(self) -> int:
        return -(-self.height // self.piece_height)

    def pieces(self, boxes: Sequence[Sequence[int]], kinds: Sequence[str]) -> Iterator[np.ndarray]:
        """The overlay piece by piece (top to bottom), every box and its number drawn."""
        s = self.scale
        scaled = []
        for n, (box, kind) in enumerate(zip(boxes, kinds, strict=True), start=1):
            x, y, w, h = box
            x0, y0 = round(x * s), round(y * s)
            x1, y1 = max(x0, round((x + w) * s) - 1), max(y0, round((y + h) * s) - 1)
            scaled.append(
                (n, x0, y0, x1, y1, _PANEL_COLOUR if kind == "panel" else _FRAGMENT_COLOUR)
            )
        for top in range(0, self.height, self.piece_height):
            bottom = min(top + self.piece_height, self.height)
            # One piece at a time: the whole overlay is never concatenated.
            piece = np.zeros((bottom - top, self.width, 3), np.uint8)
            for r0, n_rows, data in self._parts:
                a, b = max(r0, top), min(r0 + n_rows, bottom)
                if a < b:
                    part = cv2.imdecode(data, cv2.IMREAD_COLOR)
                    piece[a - top : b - top] = part[a - r0 : b - r0]
            for n, x0, y0, x1, y1, colour in scaled:
                if y1 < top or y0 >= bottom:
                    continue
                cv2.rectangle(piece, (x0, y0 - top), (x1, y1 - top), colour, 2)
                if y0 >= top:
                    _label(piece, str(n), (x0 + 4, y0 - top + 20), colour)
            yield piece


def _label(image: np.ndarray, text: str, origin: tuple[int, int], colour) -> None:
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 4)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.6, colour, 2)


def cut_file(n: int) -> str:
    """Name of the ``n``-th cut's crop (1-based, as numbered in the overlay)."""
    return f"{n:03d}.png"


def panel_file(n: int) -> str:
    return f"{n:02d}.png"


def write_episode_cuts(
    store: Store,
    episode: Episode,
    cuts: Sequence[dict[str, Any]],
    overlay: StripOverlay,
    meta: dict[str, Any],
) -> dict[str, Any]:
    """Write an episode's crops, overlay pieces and `cuts.json` (last). Returns the JSON document.

    ``cuts`` are ``{"box": [x, y, w, h], "kind": str, "confidence": float}`` in strip pixels,
    top to bottom. Older outputs of the episode are removed first, so no stale crop survives.
    """
    store.remove(CUTS, episode.name, recursive=True)
    entries = []
    for n, cut in enumerate(cuts, start=1):
        name = cut_file(n)
        store.write_bytes(encode_png(episode.crop(cut["box"])), CUTS, episode.name, name)
        entries.append({"file": name, **cut})
    episode.release()
    pieces = overlay.pieces([c["box"] for c in cuts], [c["kind"] for c in cuts])
    names = (
        ["overlay.png"]
        if overlay.n_pieces == 1
        else [f"overlay-{i:02d}.png" for i in range(1, overlay.n_pieces + 1)]
    )
    for name, piece in zip(names, pieces, strict=True):
        store.write_bytes(encode_png(piece), CUTS, episode.name, name)
    doc = {
        "episode": episode.name,
        "source": str(episode.folder),
        "size": list(episode.size),
        "slices": [
            {
                "file": path.name,
                "y": p.y,
                "height": p.height,
                "x": p.x,
                "width": p.width,
                "source_size": [p.source_shape[1], p.source_shape[0]],
            }
            for path, p in zip(episode.paths, episode.index.placements, strict=True)
        ],
        "cuts": entries,
        "overlays": names,
        "overlay_scale": overlay.scale,
        **meta,
    }
    store.write_json(doc, CUTS, episode.name, CUTS_JSON)
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

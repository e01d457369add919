"""Webtoon episodes read lazily as one strip: a folder of numbered slices, linked by
``regions.comics.strips.StripIndex``, and the strip's downscaled debug overlay.

Slice sizes come from the file headers, and :class:`Episode` decodes a slice only when its rows
are needed, so a 50,000-row strip is never held whole. The files themselves (which ones are
slices, their sizes, their pixels, where the outputs go) are `storage.comics`'.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from regionflow.regions.comics.strips import SlicePlacement, StripIndex, natural_order
from regionflow.storage import comics as store_comics

_PANEL_COLOUR = (0, 0, 255)
_FRAGMENT_COLOUR = (0, 165, 255)


def list_slices(folder: str | os.PathLike[str]) -> list[Path]:
    """The image files directly inside an episode folder, in natural numeric order.

    Hidden files (``.`` first, e.g. macOS ``._1.jpg`` resource forks) are not slices.
    """
    by_name = store_comics.slice_files(folder)
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
        self.name = store_comics.safe_name(self.folder.name)
        self.paths = list_slices(self.folder)
        self.background = tuple(int(v) for v in background)
        sizes = [store_comics.image_size(p) for p in self.paths]
        self.index = StripIndex(sizes, width_policy=width_policy)  # type: ignore[arg-type]
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

    def describe(self) -> dict[str, Any]:
        """The strip as `cuts.json` records it: source folder, size and every slice's place."""
        return {
            "source": str(self.folder),
            "size": list(self.size),
            "slices": [
                {
                    "file": path.name,
                    "y": p.y,
                    "height": p.height,
                    "x": p.x,
                    "width": p.width,
                    "source_size": [p.source_shape[1], p.source_shape[0]],
                }
                for path, p in zip(self.paths, self.index.placements, strict=True)
            ],
        }

    def placed(self, i: int) -> np.ndarray:
        """Slice ``i`` as it appears in the strip (decoded now; scaled or padded)."""
        path = self.paths[i]
        image = store_comics.read_slice(path)  # its errors name the path
        try:
            return self.index.place(image, i, background=self.background)
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

    def crops(self, boxes: Iterable[Sequence[int]]) -> Iterator[np.ndarray]:
        """The crops of ``boxes`` (top to bottom) one at a time; the slice cache is released
        after the last."""
        for box in boxes:
            yield self.crop(box)
        self.release()

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

"""Webtoon strips: order numbered slices, link them into one vertical strip, or walk it in windows.

An episode arrives as numbered image slices that belong one under the other. The seed stacked them
with the width of the last slice and squashed the others; here mixed widths are handled explicitly
(``width_policy``) and aspect ratios are never changed.

A 50,000+ row strip need not be built whole: :class:`StripIndex` knows where every slice lands from
the slice shapes alone, :meth:`StripIndex.place` makes one slice's strip rows, and
:func:`iter_strip_windows` yields overlapping windows while holding at most one window plus one
slice. Row statistics for cut detection can be computed slice by slice on the placed slices and
concatenated (see ``regions.comics.cuts.row_statistics``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

WidthPolicy = Literal["scale", "pad"]
_WIDTH_POLICIES = ("scale", "pad")
_DIGITS = re.compile(r"(\d+)")


def natural_order(names: Iterable[str]) -> list[str]:
    """Sort slice names the way people number them: ``"2.jpg" < "10.jpg"``.

    Runs of digits compare as integers, everything else case-insensitively; ties (``"01"`` vs
    ``"1"``) fall back to the plain string so the order is total and deterministic.

    Parameters
    ----------
    names : iterable of str

    Returns
    -------
    list of str, a new list in natural order.
    """
    names = list(names)
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"names: expected strings, got {type(name).__name__}")

    def key(name: str) -> tuple:
        # (0, number, "") sorts digit runs before text at the same position and keeps every
        # element of the key comparable with every other.
        parts = tuple(
            (0, int(part), "") if part.isdigit() else (1, 0, part.casefold())
            for part in _DIGITS.split(name)
            if part
        )
        return (parts, name)

    return sorted(names, key=key)


@dataclass(frozen=True)
class SlicePlacement:
    """Where one slice lands in the linked strip.

    ``y``/``height`` are strip rows; ``x``/``width`` the columns the slice's pixels cover (the rest
    of the row is background under the ``"pad"`` policy); ``source_shape`` is the slice's own
    ``(height, width)``.
    """

    index: int
    y: int
    height: int
    x: int
    width: int
    source_shape: tuple[int, int]


def _check_policy(width_policy: str) -> None:
    if width_policy not in _WIDTH_POLICIES:
        raise ValueError(f"width_policy: expected one of {_WIDTH_POLICIES}, got {width_policy!r}")


def _check_background(background: Sequence[int]) -> tuple[int, int, int]:
    bg = tuple(int(v) for v in background)
    if len(bg) != 3 or not all(0 <= v <= 255 for v in bg):
        raise ValueError(f"background: expected three values in 0..255, got {background!r}")
    return bg  # type: ignore[return-value]


def _check_slice(image: np.ndarray, name: str = "slices") -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(
            f"{name}: expected (H, W, 3) uint8 slices, got {image.shape} {image.dtype}"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{name}: empty slice {image.shape}")
    return image


class StripIndex:
    """Geometry of a linked strip, from the slice shapes alone.

    Parameters
    ----------
    shapes : sequence of (height, width) or (height, width, channels)
        The slices' shapes, in strip order (see :func:`natural_order`).
    width_policy : {"scale", "pad"}
        ``"scale"``: the strip is as wide as the most common slice width (ties: the widest of the
        tied widths); other slices are resized to that width keeping their aspect ratio.
        ``"pad"``: the strip is as wide as the widest slice; narrower slices are centred on the
        background colour and keep their pixels untouched.

    Attributes
    ----------
    width, height : int
        Size of the linked strip.
    placements : tuple of SlicePlacement
    offsets : (n + 1,) int64
        ``offsets[i]`` is the first strip row of slice ``i``; ``offsets[-1] == height``.
    """

    def __init__(self, shapes: Sequence[Sequence[int]], *, width_policy: WidthPolicy = "scale"):
        _check_policy(width_policy)
        sizes = []
        for shape in shapes:
            shape = tuple(int(v) for v in shape)
            if len(shape) not in (2, 3) or shape[0] <= 0 or shape[1] <= 0:
                raise ValueError(f"shapes: expected positive (height, width), got {shape}")
            sizes.append((shape[0], shape[1]))
        if not sizes:
            raise ValueError("shapes: no slices")
        self.width_policy = width_policy
        if width_policy == "scale":
            counts = Counter(w for _, w in sizes)
            top = max(counts.values())
            self.width = max(w for w, c in counts.items() if c == top)
        else:
            self.width = max(w for _, w in sizes)
        placements = []
        y = 0
        for i, (h, w) in enumerate(sizes):
            if width_policy == "scale" and w != self.width:
                height = max(1, round(h * self.width / w))
                placements.append(SlicePlacement(i, y, height, 0, self.width, (h, w)))
            else:
                x = (self.width - w) // 2
                height = h
                placements.append(SlicePlacement(i, y, h, x, w, (h, w)))
            y += height
        self.placements: tuple[SlicePlacement, ...] = tuple(placements)
        self.height = y
        self.offsets = np.array([p.y for p in placements] + [y], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.placements)

    def locate(self, rows: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map strip rows to ``(slice index, row within the placed slice)``.

        Parameters
        ----------
        rows : int or integer array, each in ``[0, height)``

        Returns
        -------
        (slice_index, row) : two int64 arrays shaped like ``rows`` (0-d for a scalar).
        """
        rows = np.asarray(rows)
        if not np.issubdtype(rows.dtype, np.integer):
            raise ValueError(f"rows: expected integers, got {rows.dtype}")
        if rows.size and (rows.min() < 0 or rows.max() >= self.height):
            raise ValueError(f"rows: must lie in [0, {self.height})")
        index = np.searchsorted(self.offsets, rows, side="right") - 1
        return index.astype(np.int64), (rows - self.offsets[index]).astype(np.int64)

    def to_source(self, rows: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map strip rows to ``(slice index, row in the original slice)``, undoing any scaling."""
        index, local = self.locate(rows)
        src_h = np.array([p.source_shape[0] for p in self.placements])[index]
        placed_h = np.array([p.height for p in self.placements])[index]
        # Row centres map to row centres, so a scaled slice's rows spread evenly over its source.
        source = np.minimum(((local + 0.5) * src_h / placed_h).astype(np.int64), src_h - 1)
        return index, source

    def segments(self, y: int, h: int) -> list[tuple[int, int, int, int]]:
        """The pieces of strip rows ``[y, y + h)``, slice by slice.

        Returns
        -------
        list of ``(slice index, placed-slice row start, placed-slice row stop, strip row start)``,
        so a cut can be assembled from placed slices without building the strip.
        """
        if h <= 0 or y < 0 or y + h > self.height:
            raise ValueError(f"y, h: rows [{y}, {y + h}) outside the strip [0, {self.height})")
        out = []
        first = int(np.searchsorted(self.offsets, y, side="right") - 1)
        for p in self.placements[first:]:
            if p.y >= y + h:
                break
            start = max(y, p.y)
            stop = min(y + h, p.y + p.height)
            out.append((p.index, start - p.y, stop - p.y, start))
        return out

    def place(
        self, image: np.ndarray, index: int, *, background: Sequence[int] = (255, 255, 255)
    ) -> np.ndarray:
        """One slice's rows as they appear in the linked strip.

        Parameters
        ----------
        image : (H, W, 3) uint8, the slice ``index`` (its shape must match the index)
        index : int
        background : three ints, the padding colour (channel order of ``image``)

        Returns
        -------
        (placement.height, width, 3) uint8, a new array (``image`` is never modified).
        """
        image = _check_slice(image, "image")
        if not 0 <= index < len(self.placements):
            raise ValueError(f"index: {index} outside [0, {len(self.placements)})")
        p = self.placements[index]
        if image.shape[:2] != p.source_shape:
            raise ValueError(
                f"image: slice {index} has shape {image.shape[:2]}, the index expects {p.source_shape}"
            )
        bg = _check_background(background)
        if p.width != p.source_shape[1]:
            shrinking = p.width < p.source_shape[1]
            return cv2.resize(
                image,
                (p.width, p.height),
                interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR,
            )
        if p.width == self.width:
            return image.copy()
        out = np.empty((p.height, self.width, 3), np.uint8)
        out[:] = bg
        out[:, p.x : p.x + p.width] = image
        return out


def link_slices(
    slices: Sequence[np.ndarray],
    *,
    width_policy: WidthPolicy = "scale",
    background: Sequence[int] = (255, 255, 255),
) -> np.ndarray:
    """Stack slices top to bottom into one strip, never squashing a slice.

    Parameters
    ----------
    slices : sequence of (H_i, W_i, 3) uint8, in strip order (see :func:`natural_order`)
    width_policy : {"scale", "pad"}
        See :class:`StripIndex`: rescale to the most common width keeping the aspect ratio, or
        centre on ``background`` in a strip as wide as the widest slice.
    background : three ints, padding colour in the slices' channel order (BGR for OpenCV images)

    Returns
    -------
    (sum of placed heights, width, 3) uint8, a new array.
    """
    slices = [_check_slice(s) for s in slices]
    if not slices:
        raise ValueError("slices: no slices")
    index = StripIndex([s.shape for s in slices], width_policy=width_policy)
    strip = np.empty((index.height, index.width, 3), np.uint8)
    for p, image in zip(index.placements, slices, strict=True):
        strip[p.y : p.y + p.height] = index.place(image, p.index, background=background)
    return strip


def iter_strip_windows(
    slices: Iterable[np.ndarray],
    index: StripIndex,
    *,
    window: int,
    overlap: int = 0,
    background: Sequence[int] = (255, 255, 255),
) -> Iterator[tuple[int, np.ndarray]]:
    """Walk a linked strip in row windows without building it whole.

    Parameters
    ----------
    slices : iterable of (H_i, W_i, 3) uint8
        The slices in strip order, consumed lazily (a generator that decodes one file at a time
        keeps memory at about one window plus one slice).
    index : StripIndex built from the same slices' shapes
    window : int > 0, rows per window
    overlap : int in [0, window), rows shared by consecutive windows
    background : padding colour, as in :func:`link_slices`

    Yields
    ------
    (y, rows) : the window's first strip row and a new (min(window, height - y), width, 3) uint8
    array equal to ``link_slices(...)[y : y + window]``. Windows start at ``0, window - overlap,
    ...`` and the last one ends at the bottom of the strip.
    """
    if int(window) != window or window <= 0:
        raise ValueError(f"window: expected a positive integer, got {window!r}")
    if int(overlap) != overlap or not 0 <= overlap < window:
        raise ValueError(f"overlap: expected an integer in [0, window), got {overlap!r}")
    window, overlap = int(window), int(overlap)
    stride = window - overlap
    buffer: list[np.ndarray] = []  # placed slices still needed
    buffer_y = 0  # strip row of buffer[0]'s first row
    buffered = 0  # rows in buffer
    y = 0
    it = iter(slices)
    consumed = 0
    while y < index.height:
        end = min(y + window, index.height)
        while buffer_y + buffered < end:
            try:
                image = next(it)
            except StopIteration:
                raise ValueError(
                    f"slices: {consumed} slices given, the index expects {len(index)}"
                ) from None
            placed = index.place(image, consumed, background=background)
            consumed += 1
            buffer.append(placed)
            buffered += placed.shape[0]
        rows = np.concatenate(buffer, axis=0)[y - buffer_y : end - buffer_y]
        yield y, rows
        if end == index.height:
            break
        y += stride
        while buffer and buffer_y + buffer[0].shape[0] <= y:
            buffer_y += buffer[0].shape[0]
            buffered -= buffer[0].shape[0]
            buffer.pop(0)
    if consumed != len(index) or next(it, None) is not None:
        raise ValueError(f"slices: more slices given than the {len(index)} the index expects")

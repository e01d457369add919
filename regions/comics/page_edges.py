"""Scan borders: the scanner's lid or bed around a scanned comic page.

A page scanned on a flatbed often comes with a band of dark or grey scanner background along one
or more edges. The gutter flood starts from the page border, so such a band hides the paper
margin from it: on one side the band is taken for a panel, on all four the gutters are never
reached and the whole page comes out as one box.

:func:`scan_border` finds, per side, a band of near-uniform lines (rows for top and bottom,
columns for left and right, each over its central 80 %) followed, after a few mixed lines (the
paper's edge, tilted or blurred), by a few near-uniform lines clearly lighter — or, round a
black page, black lines after a grey band: the paper. The page's own margin is no such band
(panels, not uniform paper, follow it). Where one side only has such a border, its colour must
differ from the edge of the other sides (a black margin before a panel's flat light interior is
the page's margin); where two or more have one, a band of the same colour on another side is the
border too (a panel bleeds into it there). :func:`flooded_band` finds the one case the lines
alone cannot tell — a border on one side before panels bleeding off the page — from the gutter
flood, which reaches that band and little else.
"""

from __future__ import annotations

import numpy as np

_MAX_BAND = 0.08  # of the side's length: the widest border taken
_MAX_EDGE = 0.05  # of the line's length: the mixed lines between border and paper
_UNIFORM = 0.95  # share of a line's pixels near its median colour
_PAPER = 5  # uniform paper lines that must follow a border
_SAMPLES = 128  # pixels looked at per line
_BLACK_PAPER = 64  # a page this dark (black margins and gutters) may lie in a lighter border
_LONE_BAND = 0.08  # widest scanner border (share of the page) a lone flooded band may be
_LONE_BAND_EDGE = 2  # pixels cropped past it: the blurred step from border to paper


def _line_colours(lines: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Per line of ``lines`` ((N, L, 3)): its median colour and whether it is near-uniform."""
    median = np.median(lines, axis=1)
    near = np.abs(lines.astype(np.int16) - median[:, None, :].astype(np.int16)).max(axis=2)
    return median, (near <= tolerance).mean(axis=1) >= _UNIFORM


def _band(
    lines: np.ndarray, tolerance: float, max_width: int, max_edge: int
) -> tuple[int, int, np.ndarray]:
    """The border at the start of ``lines`` ((N, L, 3), edge first): where the paper starts
    (past a band of at most ``max_width`` uniform lines of one colour and at most ``max_edge``
    mixed lines of the paper's edge; 0 when no paper follows), the band's width (0: none) and
    its colour."""
    n = lines.shape[0]
    median, uniform = _line_colours(lines, tolerance)
    band_colour = median[0]
    if not uniform[0]:
        return 0, 0, band_colour
    same = uniform & (np.abs(median - band_colour).max(axis=1) <= tolerance)
    width = n if same.all() else int(np.argmin(same))
    if width > max_width:
        return 0, 0, band_colour
    # The paper: lighter than the band (scanner backgrounds are darker than paper; a band as
    # light as the paper is gutter to the flood anyway) or, on a black page, black under a
    # grey band; uniform for _PAPER lines (a frame line after a margin is dark, and thin).
    level = median.mean(axis=1)
    paper = uniform & (
        (level > band_colour.mean() + 3 * tolerance)
        | (
            (level < _BLACK_PAPER)
            & (level < band_colour.mean() - tolerance)
            & (band_colour.mean() < 2 * _BLACK_PAPER)  # a grey band, not a white margin
        )
    )
    for i in range(width, min(n - _PAPER, width + max_edge)):
        # ... and of one colour: a line half border, half paper (the blurred step) is uniform
        # and lighter too, but a flood seeded there stops at the step to the paper.
        settled = np.abs(median[i : i + _PAPER] - median[i + _PAPER - 1]).max() <= tolerance / 3
        if paper[i : i + _PAPER].all() and settled:
            return i, width, band_colour
    return 0, width, band_colour


def scan_border(page: np.ndarray, *, tolerance: float = 24.0) -> tuple[int, int, int, int]:
    """Widths ``(top, bottom, left, right)`` in pixels of the scanner border around ``page``
    ((H, W, 3) uint8); all 0 when there is none. Cropping them leaves the paper."""
    page = np.asarray(page)
    if page.ndim != 3 or page.shape[2] != 3 or page.dtype != np.uint8:
        raise ValueError(f"page: expected an (H, W, 3) uint8 image, got {page.dtype} {page.shape}")
    if not np.isfinite(tolerance) or tolerance <= 0:
        raise ValueError(f"tolerance: expected a value > 0, got {tolerance!r}")
    h, w = page.shape[:2]
    depth_h = int(h * (_MAX_BAND + _MAX_EDGE)) + 3  # rows looked at from each edge
    depth_w = int(w * (_MAX_BAND + _MAX_EDGE)) + 3
    # The central 80 % of each line, _SAMPLES pixels of it (enough for a share of 95 %).
    cx = np.linspace(w // 10, w - 1 - w // 10, min(_SAMPLES, w)).round().astype(int)
    cy = np.linspace(h // 10, h - 1 - h // 10, min(_SAMPLES, h)).round().astype(int)
    sides = (
        page[:depth_h, cx],  # top: rows, edge first
        page[::-1][:depth_h, cx],  # bottom
        page[cy, :depth_w].transpose(1, 0, 2),  # left: columns
        page[cy][:, ::-1][:, :depth_w].transpose(1, 0, 2),  # right
    )
    bands = [
        _band(lines, tolerance, int(_MAX_BAND * across), max(3, int(_MAX_EDGE * along)))
        for lines, across, along in zip(sides, (h, h, w, w), (w, w, h, h), strict=True)
    ]
    if sum(paper > 0 for paper, _, _ in bands) == 1:
        # One side only: the others show the page's own margin at their edge, and a "border"
        # of that colour is the margin too (a black margin before a panel's light interior).
        margins = []
        for lines, (paper, _, _) in zip(sides, bands, strict=True):
            colour, uniform = _line_colours(lines[:1], tolerance)
            if uniform[0] and not paper:
                margins.append(colour[0])
        bands = [
            (0, width, colour)
            if any(np.abs(colour - m).max() <= tolerance for m in margins)
            else (paper, width, colour)
            for paper, width, colour in bands
        ]
    found = [colour for paper, _, colour in bands if paper]
    if not found:
        return 0, 0, 0, 0
    widths = [paper for paper, _, _ in bands]
    if len(found) >= 2:
        # A border round the page: a side where a panel bleeds into it has no paper after the
        # band, but a band of the border's colour there is the border too.
        colour = np.median(found, axis=0)
        for i, (paper, width, band_colour) in enumerate(bands):
            if not paper and width and np.abs(band_colour - colour).max() <= tolerance:
                widths[i] = width
    top, bottom, left, right = widths
    if top + bottom >= h // 2 or left + right >= w // 2:
        return 0, 0, 0, 0
    return top, bottom, left, right


def flooded_band(gutter: np.ndarray) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` to crop when the flooded "gutter" (the (H, W) bool mask of
    ``regions.comics.panels.gutter_mask``) is mostly a band along one side of the page, else all
    0. A scanner border on one side of a page whose other sides are panels bleeding off it is
    the commonest colour round the edge, so the flood starts there and finds little else; no
    paper follows the band, so ``scan_border`` could not tell it from a margin, but the flood
    can. Cropped, the flood starts from the paper."""
    h, w = gutter.shape
    total = int(np.count_nonzero(gutter))
    if total == 0:
        return 0, 0, 0, 0
    # Per side: lines from the edge inwards, each at least 80 % flooded; the band is their run.
    rows, cols = gutter.mean(axis=1), gutter.mean(axis=0)
    deep_h, deep_w = int(_LONE_BAND * h), int(_LONE_BAND * w)
    sides = (rows[:deep_h], rows[::-1][:deep_h], cols[:deep_w], cols[::-1][:deep_w])
    for i, covered in enumerate(sides):
        full = covered >= 0.8
        width = full.size if full.all() else int(np.argmin(full))
        if width == 0:
            continue
        reach = width + max(4, width // 2)  # with the blurred step from band to paper
        inside = (
            gutter[:reach],
            gutter[h - reach :],
            gutter[:, :reach],
            gutter[:, w - reach :],
        )[i]
        if np.count_nonzero(inside) >= 0.9 * total:
            crop = [0, 0, 0, 0]
            crop[i] = width + _LONE_BAND_EDGE
            return tuple(crop)
    return 0, 0, 0, 0

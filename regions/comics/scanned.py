"""Scanned pages: a synthetic page as a flatbed scan or a phone photo of a printed book shows it.

Real manga pages come off scanners, not renderers: the page sits a degree or so off square, the
paper is tinted and grainy, the binding darkens one side, a page number sits in the margin, the
print is slightly soft, and a flatbed leaves a band of its dark background beyond the paper.
:func:`scanned_page` applies all of these to a :class:`~regions.comics.comic_synth.SynthComic`,
moving its ground-truth boxes with the tilt (each becomes the bounding box of its tilted
rectangle) and the border, so any page category can be measured "as scanned"
(``benchmarks/panels.py``).
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from regionflow.regions.comics.comic_synth import SynthComic

MAX_TILT = 1.5  # degrees: a careless scan; deskewed scans sit well inside it
BORDER = 0.4  # share of scans with scanner background beyond the paper


def _tilt_boxes(boxes: np.ndarray, m: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    out = []
    for x, y, bw, bh in np.asarray(boxes, np.float64).reshape(-1, 4):
        corners = np.array([[x, y], [x + bw, y], [x, y + bh], [x + bw, y + bh]])
        points = corners @ m[:, :2].T + m[:, 2]
        x0, y0 = np.clip(points.min(0), 0, (w, h))
        x1, y1 = np.clip(points.max(0), 0, (w, h))
        out.append((round(x0), round(y0), round(x1 - x0), round(y1 - y0)))
    return np.asarray(out, np.int64).reshape(-1, 4)


def scanned_page(
    comic: SynthComic, seed: int, *, max_tilt: float = MAX_TILT, border: float = BORDER
) -> SynthComic:
    """``comic`` as scanned: tilted by up to ``max_tilt`` degrees (the corners filled with
    paper), tinted paper with grain, a binding shadow on one side, a page number in the bottom
    margin, with probability ``border`` a band of dark scanner background (8–25 px) beyond the
    paper on one to four sides, and a slight blur. Deterministic by ``seed``; boxes follow the
    tilt and the border."""
    if not np.isfinite(max_tilt) or not 0 <= max_tilt <= 10:
        raise ValueError(f"max_tilt: expected a value in [0, 10] degrees, got {max_tilt!r}")
    if not 0 <= border <= 1:
        raise ValueError(f"border: expected a probability in [0, 1], got {border!r}")
    rng = np.random.default_rng(seed)
    image = comic.image.astype(np.float32)
    h, w = image.shape[:2]
    paper = np.array([rng.uniform(0.82, 0.92), rng.uniform(0.88, 0.95), rng.uniform(0.93, 0.98)])
    image = image * paper.astype(np.float32) + rng.normal(0, 3.5, image.shape).astype(np.float32)
    distance = np.arange(w, dtype=np.float32)
    if rng.random() < 0.5:
        distance = distance[::-1]
    image *= (1 - 0.35 * np.exp(-distance / (0.04 * w)))[None, :, None]
    image = np.clip(image, 0, 255).astype(np.uint8)
    number = str(int(rng.integers(2, 200)))
    cv2.putText(image, number, (w // 2 - 10, h - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (30,) * 3, 1)
    tilt = float(rng.uniform(-max_tilt, max_tilt))
    m = cv2.getRotationMatrix2D((w / 2, h / 2), tilt, 1.0)
    fill = tuple(float(v) for v in np.median(image[:3].reshape(-1, 3), axis=0))
    image = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=fill)
    panels, bubbles = _tilt_boxes(comic.panels, m, (h, w)), _tilt_boxes(comic.bubbles, m, (h, w))
    if rng.random() < border:
        # The scanner's dark background beyond the paper, on one to four sides.
        sides = rng.permutation(4)[: int(rng.integers(1, 5))]
        widths = [int(rng.integers(8, 26)) if k in sides else 0 for k in range(4)]
        top, bottom, left, right = widths
        grey = int(rng.integers(15, 90))
        image = np.pad(image, ((top, bottom), (left, right), (0, 0)), constant_values=grey)
        panels, bubbles = (b + np.array([left, top, 0, 0]) for b in (panels, bubbles))
    image = cv2.GaussianBlur(image, (0, 0), 0.7)
    return replace(comic, image=image, panels=panels, bubbles=bubbles)

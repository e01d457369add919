"""Synthetic characters whose clothing and hair carry exact instance masks (the parts dataset).

The webtoon seed trained Mask R-CNN on eight character-part classes of two webtoons and showed
that pre-training on one title helps on the other. This module draws deterministic characters in
two distinct styles so that the same experiment runs offline:

- style "A" (line art): flat saturated fills, black outlines, adult proportions, plain tinted
  background;
- style "B" (cel shaded): no outlines, pastel fills with a hard shadow tone on one side,
  big-headed short proportions, a gradient background with soft clutter shapes.

Every part is a polygon painted in back-to-front order into an owner map; a part's instance mask
is the set of pixels it owns at the end (what is visible), so masks are exact and never overlap.
Skin, shoes and the background are not parts. Pure numpy/OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PART_CLASSES = ("hair", "dress-shirt", "T-shirt", "pants", "skirt", "outer", "tie", "vest")
STYLES = ("A", "B")
MIN_PART_AREA = 12  # px: smaller visible remnants are not annotated (no annotator would)

__all__ = [
    "MIN_PART_AREA",
    "PART_CLASSES",
    "STYLES",
    "PartInstance",
    "draw_character",
    "synthetic_parts",
]

# Base BGR colours per class, per style (jittered per character).
_PALETTE = {
    "A": {
        "hair": (30, 40, 60),
        "dress-shirt": (245, 245, 245),
        "T-shirt": (40, 60, 200),
        "pants": (110, 50, 20),
        "skirt": (60, 30, 150),
        "outer": (40, 110, 40),
        "tie": (20, 20, 180),
        "vest": (60, 60, 70),
    },
    "B": {
        "hair": (120, 170, 230),
        "dress-shirt": (235, 225, 250),
        "T-shirt": (200, 180, 250),
        "pants": (190, 160, 130),
        "skirt": (170, 200, 160),
        "outer": (210, 210, 170),
        "tie": (150, 150, 240),
        "vest": (180, 150, 200),
    },
}
_SKIN = {"A": (170, 200, 240), "B": (200, 220, 250)}


@dataclass(frozen=True)
class PartInstance:
    """One visible part: its class index into PART_CLASSES and its (H, W) bool mask."""

    class_index: int
    mask: np.ndarray


def _jitter(rng: np.random.Generator, colour: tuple[int, int, int], amount: int) -> np.ndarray:
    return np.clip(np.asarray(colour) + rng.integers(-amount, amount + 1, 3), 0, 255)


class _Canvas:
    """Paints polygons into the image and the owner map at once (owner 0 = not a part)."""

    def __init__(self, size: int, style: str, rng: np.random.Generator):
        self.size, self.style, self.rng = size, style, rng
        self.owner = np.zeros((size, size), np.int32)
        self.image = _background(size, style, rng)
        self.classes: list[int] = []

    def new_part(self, name: str) -> int:
        self.classes.append(PART_CLASSES.index(name))
        return len(self.classes)

    def fill(self, polygons: list[np.ndarray], colour, owner: int) -> None:
        """owner > 0: a part's instance id; 0: paint without owning (skin, shoes) but hide what
        is below."""
        points = [np.round(p).astype(np.int32) for p in polygons]
        region = np.zeros_like(self.owner, dtype=np.uint8)
        cv2.fillPoly(region, points, 1, lineType=cv2.LINE_8)
        inside = region.astype(bool)
        colour = np.asarray(colour, np.float64)
        self.image[inside] = colour.astype(np.uint8)
        if self.style == "B":
            # Hard cel shadow: the right 35% of the shape's extent, a darker tone.
            xs = np.flatnonzero(inside.any(axis=0))
            if xs.size:
                cut = xs[0] + int(0.65 * (xs[-1] - xs[0] + 1))
                shade = inside.copy()
                shade[:, :cut] = False
                self.image[shade] = (colour * 0.78).astype(np.uint8)
        self.owner[inside] = owner
        if self.style == "A":
            cv2.polylines(self.image, points, True, (15, 15, 15), 1, lineType=cv2.LINE_8)

    def instances(self) -> list[PartInstance]:
        found = []
        for instance_id, class_index in enumerate(self.classes, start=1):
            mask = self.owner == instance_id
            if int(mask.sum()) >= MIN_PART_AREA:
                found.append(PartInstance(class_index=class_index, mask=mask))
        return found


def _background(size: int, style: str, rng: np.random.Generator) -> np.ndarray:
    if style == "A":
        tint = rng.integers(215, 256, 3)
        return np.broadcast_to(tint.astype(np.uint8), (size, size, 3)).copy()
    top, bottom = rng.integers(150, 240, 3), rng.integers(120, 220, 3)
    ramp = np.linspace(0.0, 1.0, size)[:, None, None]
    image = (top * (1 - ramp) + bottom * ramp).astype(np.uint8)
    image = np.ascontiguousarray(np.broadcast_to(image, (size, size, 3)))
    for _ in range(int(rng.integers(3, 7))):  # soft clutter: circles the model must ignore
        centre = (int(rng.integers(0, size)), int(rng.integers(0, size)))
        radius = int(rng.integers(size // 16, size // 5))
        colour = tuple(int(c) for c in rng.integers(100, 250, 3))
        cv2.circle(image, centre, radius, colour, -1, lineType=cv2.LINE_8)
    return image


def _rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


def draw_character(
    seed: int, *, style: str = "A", size: int = 128
) -> tuple[np.ndarray, list[PartInstance]]:
    """Draw one character.

    Parameters
    ----------
    seed : int
        The same seed, style and size always give the same image and masks.
    style : "A" or "B"
        Drawing style (see the module docstring).
    size : int
        Square image side in pixels, >= 64.

    Returns
    -------
    image : (size, size, 3) uint8 BGR
    parts : list of PartInstance, masks (size, size) bool, pairwise disjoint, each with at
        least MIN_PART_AREA pixels, in painting order (back to front).
    """
    if style not in STYLES:
        raise ValueError(f"style: expected one of {STYLES}, got {style!r}")
    if size < 64:
        raise ValueError(f"size: expected >= 64, got {size}")
    rng = np.random.default_rng([seed, STYLES.index(style), size])
    canvas = _Canvas(size, style, rng)
    palette = _PALETTE[style]
    jitter = 35 if style == "A" else 20

    def colour(name: str) -> np.ndarray:
        return _jitter(rng, palette[name], jitter)

    height = size * rng.uniform(0.82, 0.97)
    top = rng.uniform(0.01, 0.99) * (size - height)
    cx = size * rng.uniform(0.36, 0.64)
    # Style B is chibi: a bigger head and a shorter body below it.
    head_r = height * (0.095 if style == "A" else 0.15)
    head_cy = top + head_r * 1.05
    shoulder_y = head_cy + head_r * 1.35
    waist_y = shoulder_y + height * (0.30 if style == "A" else 0.24)
    foot_y = top + height
    half_w = height * rng.uniform(0.13, 0.17)
    skin = _jitter(rng, _SKIN[style], 10)

    long_hair = rng.random() < 0.5
    top_kind = "dress-shirt" if rng.random() < 0.5 else "T-shirt"
    tie = top_kind == "dress-shirt" and rng.random() < 0.5
    vest = rng.random() < 0.3
    outer = rng.random() < 0.35
    bottom_kind = "pants" if rng.random() < 0.55 else "skirt"

    hair = canvas.new_part("hair")
    hair_colour = colour("hair")
    if long_hair:  # behind the body: only its sides stay visible
        canvas.fill(
            [_rect(cx - head_r * 1.15, head_cy, cx + head_r * 1.15, shoulder_y + height * 0.12)],
            hair_colour,
            hair,
        )
    # Legs and arms (skin) first; clothes cover them.
    leg_w = half_w * 0.42
    canvas.fill(
        [
            _rect(cx - half_w * 0.85, waist_y, cx - half_w * 0.85 + leg_w, foot_y - 3),
            _rect(cx + half_w * 0.85 - leg_w, waist_y, cx + half_w * 0.85, foot_y - 3),
        ],
        skin,
        0,
    )
    arm_w = half_w * 0.32
    canvas.fill(
        [
            _rect(cx - half_w - arm_w, shoulder_y, cx - half_w, waist_y + height * 0.05),
            _rect(cx + half_w, shoulder_y, cx + half_w + arm_w, waist_y + height * 0.05),
        ],
        skin,
        0,
    )
    canvas.fill([_rect(cx - half_w * 0.9, foot_y - 4, cx + half_w * 0.9, foot_y)], (30, 30, 30), 0)

    if bottom_kind == "pants":
        part = canvas.new_part("pants")
        knee = foot_y - 4
        canvas.fill(
            [
                np.array(
                    [
                        [cx - half_w * 0.9, waist_y],
                        [cx + half_w * 0.9, waist_y],
                        [cx + half_w * 0.9, knee],
                        [cx + half_w * 0.1, knee],
                        [cx, waist_y + height * 0.12],
                        [cx - half_w * 0.1, knee],
                        [cx - half_w * 0.9, knee],
                    ]
                )
            ],
            colour("pants"),
            part,
        )
    else:
        part = canvas.new_part("skirt")
        hem = waist_y + (foot_y - waist_y) * rng.uniform(0.4, 0.6)
        flare = half_w * rng.uniform(1.1, 1.4)
        canvas.fill(
            [
                np.array(
                    [
                        [cx - half_w * 0.85, waist_y],
                        [cx + half_w * 0.85, waist_y],
                        [cx + flare, hem],
                        [cx - flare, hem],
                    ]
                )
            ],
            colour("skirt"),
            part,
        )

    shirt = canvas.new_part(top_kind)
    sleeve_end = waist_y if top_kind == "dress-shirt" else shoulder_y + height * 0.08
    body = np.array(
        [
            [cx - half_w, shoulder_y],
            [cx + half_w, shoulder_y],
            [cx + half_w * 0.95, waist_y + 2],
            [cx - half_w * 0.95, waist_y + 2],
        ]
    )
    sleeves = [
        _rect(cx - half_w - arm_w - 1, shoulder_y, cx - half_w + 1, sleeve_end),
        _rect(cx + half_w - 1, shoulder_y, cx + half_w + arm_w + 1, sleeve_end),
    ]
    canvas.fill([body, *sleeves], colour(top_kind), shirt)
    if tie:
        part = canvas.new_part("tie")
        knot = shoulder_y + 2
        tip = shoulder_y + (waist_y - shoulder_y) * 0.7
        w = max(half_w * 0.16, 2.0)
        canvas.fill(
            [
                np.array(
                    [
                        [cx - w, knot],
                        [cx + w, knot],
                        [cx + w * 1.3, tip - w],
                        [cx, tip],
                        [cx - w * 1.3, tip - w],
                    ]
                )
            ],
            colour("tie"),
            part,
        )
    if vest:
        part = canvas.new_part("vest")
        v = shoulder_y + (waist_y - shoulder_y) * 0.45
        side = half_w * 0.85
        canvas.fill(
            [
                np.array([[cx - side, shoulder_y + 1], [cx - half_w * 0.2, shoulder_y + 1],
                          [cx - 1, v], [cx - 1, waist_y], [cx - side, waist_y]]),
                np.array([[cx + half_w * 0.2, shoulder_y + 1], [cx + side, shoulder_y + 1],
                          [cx + side, waist_y], [cx + 1, waist_y], [cx + 1, v]]),
            ],
            colour("vest"),
            part,
        )  # fmt: skip
    if outer:
        part = canvas.new_part("outer")
        hem = waist_y + height * 0.08
        opening = half_w * rng.uniform(0.3, 0.5)
        canvas.fill(
            [
                _rect(cx - half_w - arm_w - 2, shoulder_y - 1, cx - opening, hem),
                _rect(cx + opening, shoulder_y - 1, cx + half_w + arm_w + 2, hem),
            ],
            colour("outer"),
            part,
        )
    # Neck and head (skin), then the hair cap over the head.
    canvas.fill(
        [_rect(cx - head_r * 0.35, head_cy + head_r * 0.6, cx + head_r * 0.35, shoulder_y + 1)],
        skin,
        0,
    )
    head = cv2.ellipse2Poly(
        (int(round(cx)), int(round(head_cy))), (int(head_r), int(head_r * 1.08)), 0, 0, 360, 8
    )
    canvas.fill([head.astype(np.float64)], skin, 0)
    cap = cv2.ellipse2Poly(
        (int(round(cx)), int(round(head_cy - head_r * 0.15))),
        (int(head_r * 1.12), int(head_r * 1.0)),
        0,
        180,
        360,
        8,
    )
    fringe = np.array([[cx + head_r * 1.12, head_cy], [cx - head_r * 1.12, head_cy]])
    canvas.fill([np.concatenate([cap.astype(np.float64), fringe])], hair_colour, hair)
    return canvas.image, canvas.instances()


def synthetic_parts(
    *, style: str, n_train: int, n_val: int, size: int = 128, seed: int = 0
) -> tuple[dict, dict[str, np.ndarray]]:
    """A COCO document and its images ({file_name: (size, size, 3) uint8 BGR}) of `n_train` +
    `n_val` characters in `style`; image entries carry "split" (train | val). Categories 1..8
    are PART_CLASSES; masks are compressed RLE (exact)."""
    from regionflow.regions.parts.coco_instances import Instance, encode_mask, instances_document

    if n_train < 0 or n_val < 0 or n_train + n_val == 0:
        raise ValueError(
            f"n_train, n_val: need >= 0 and at least one image, got {n_train}, {n_val}"
        )
    entries, found, images = [], [], {}
    for i in range(n_train + n_val):
        split = "train" if i < n_train else "val"
        image, parts = draw_character(seed * 100_003 + i, style=style, size=size)
        file_name = f"{style.lower()}-{i:05d}.png"
        images[file_name] = image
        entries.append(
            {"id": i + 1, "file_name": file_name, "width": size, "height": size, "split": split}
        )
        instances = []
        for part in parts:
            ys, xs = np.nonzero(part.mask)
            box = (
                float(xs.min()),
                float(ys.min()),
                float(xs.max() - xs.min() + 1),
                float(ys.max() - ys.min() + 1),
            )
            instances.append(
                Instance(part.class_index, encode_mask(part.mask), int(part.mask.sum()), box)
            )
        found.append(instances)
    document = instances_document(entries, found, PART_CLASSES)
    document["info"] = {
        "description": f"regionflow synthetic character parts, style {style}",
        "seed": seed,
    }
    return document, images

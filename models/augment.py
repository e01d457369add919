"""Training-time augmentation of (image, skeleton) pairs, after DanbooRegion (REFERENCE §1.4).

Every random decision comes from the `np.random.Generator` passed in, so a pair's crop is a pure
function of (image, skeleton, crop, rng state).

Per pair, in order:
1. resize the image to the skeleton's size (the two can differ by a pixel in the dataset);
2. with p=0.5 rotate by U[0, 360)° on an expanded canvas, cut the largest axis-aligned rectangle
   inside the rotated page, and resize its short side to U{520..650}·s; otherwise resize the
   short side to U{520..1024}·s;
3. a random crop×crop window, the same for both;
4. joint horizontal flip (p=0.5) and vertical flip (p=0.5);
5. image only: p=0.5 colour remix — each output channel a random convex mix of the three input
   channels, then a random contrast stretch [lo, hi] → [0, 255] with clipping (lo ~ U[0, 64),
   hi ~ U[192, 255)); p=0.5 Gaussian blur σ=2 applied 0–4 times; p=0.5 median blur 3×3 applied
   0–4 times;
6. image only, not in the original (`low_contrast` > 0): with that probability the crop's
   contrast is squeezed towards a random grey level (`squeeze_contrast`), so boundaries that
   differ by a few grey levels — dark hair, a navy dress, pale shading — are trained on too.

Scale: s = crop/512. The original trains 512² crops; a smaller crop (256 for demos, 64 in tests)
shrinks the resize ranges proportionally so a crop covers the same fraction of the page. The blur
sizes are not scaled (they model pixel-level degradations).

With `augment=False` only steps 1 and 3 run (the page is enlarged first if a side is < crop).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

REFERENCE_CROP = 512
ROTATED_SHORT_SIDE = (520, 650)
PLAIN_SHORT_SIDE = (520, 1024)


def _check_pair(image: np.ndarray, skeleton: np.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image: expected (H, W, 3) uint8 BGR, got {image.shape} {image.dtype}")
    if skeleton.ndim != 2 or skeleton.dtype != np.uint8:
        raise ValueError(f"skeleton: expected (H, W) uint8, got {skeleton.shape} {skeleton.dtype}")


def resize_to(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize to (height, width): area averaging when shrinking, bilinear when enlarging."""
    if array.shape[:2] == (height, width):
        return array.copy()
    shrinking = height * width < array.shape[0] * array.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(array, (width, height), interpolation=interpolation)


def resize_short_side(array: np.ndarray, short_side: int) -> np.ndarray:
    """Resize keeping the aspect ratio so that min(H, W) == short_side."""
    h, w = array.shape[:2]
    scale = short_side / min(h, w)
    new_h = short_side if h <= w else max(short_side, round(h * scale))
    new_w = short_side if w < h else max(short_side, round(w * scale))
    return resize_to(array, new_h, new_w)


def largest_inner_rectangle(width: float, height: float, angle: float) -> tuple[float, float]:
    """(w, h) of the largest axis-aligned rectangle inside a width×height rectangle rotated by
    `angle` radians about its centre (the rectangle is centred too).

    Either the rectangle touches all four rotated sides (the general case, solved from the two
    side constraints) or, for thin pages or angles near 45°, it is limited by the short side.
    """
    if width <= 0 or height <= 0:
        return 0.0, 0.0
    sin_a, cos_a = abs(math.sin(angle)), abs(math.cos(angle))
    long_side, short_side = max(width, height), min(width, height)
    if short_side <= 2.0 * sin_a * cos_a * long_side or abs(sin_a - cos_a) < 1e-10:
        half = 0.5 * short_side
        if width >= height:
            return half / sin_a if sin_a else width, half / cos_a if cos_a else height
        return half / cos_a if cos_a else width, half / sin_a if sin_a else height
    cos_2a = cos_a * cos_a - sin_a * sin_a
    return (width * cos_a - height * sin_a) / cos_2a, (height * cos_a - width * sin_a) / cos_2a


def rotate_and_cut(array: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate on an expanded canvas (nothing is cut off), then keep the largest axis-aligned
    rectangle that contains only page pixels (shrunk by 1 px so no border pixel is blended in)."""
    h, w = array.shape[:2]
    angle = math.radians(degrees)
    sin_a, cos_a = abs(math.sin(angle)), abs(math.cos(angle))
    canvas_w = int(math.ceil(w * cos_a + h * sin_a))
    canvas_h = int(math.ceil(w * sin_a + h * cos_a))
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), degrees, 1.0)
    matrix[0, 2] += (canvas_w - w) / 2.0
    matrix[1, 2] += (canvas_h - h) / 2.0
    rotated = cv2.warpAffine(
        array, matrix, (canvas_w, canvas_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    inner_w, inner_h = largest_inner_rectangle(w, h, angle)
    cut_w = max(1, int(inner_w) - 2)
    cut_h = max(1, int(inner_h) - 2)
    x0 = (canvas_w - cut_w) // 2
    y0 = (canvas_h - cut_h) // 2
    return rotated[y0 : y0 + cut_h, x0 : x0 + cut_w].copy()


def scaled_range(bounds: tuple[int, int], crop: int) -> tuple[int, int]:
    """Short-side range for `crop`, scaled from the reference 512 crop and never below crop."""
    scale = crop / REFERENCE_CROP
    low, high = (max(crop, round(b * scale)) for b in bounds)
    return low, max(low, high)


def colour_remix(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each output channel = random convex mix of the input channels, contrast-stretched from a
    random [lo, hi] to [0, 255] and clipped."""
    weights = rng.dirichlet(np.ones(3), size=3).astype(np.float32)  # rows: output channels
    mixed = image.reshape(-1, 3).astype(np.float32) @ weights.T
    lo = rng.uniform(0.0, 64.0, size=3).astype(np.float32)
    hi = rng.uniform(192.0, 255.0, size=3).astype(np.float32)
    stretched = (mixed - lo) * (255.0 / (hi - lo))
    return np.clip(stretched + 0.5, 0, 255).astype(np.uint8).reshape(image.shape)


def random_geometry(
    image: np.ndarray,
    skeleton: np.ndarray,
    *,
    crop: int,
    rng: np.random.Generator,
    augment: bool = True,
    zoom: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1–4 (resize, rotate/rescale, crop, flips), applied identically to both maps.

    `zoom` = (low, high): draw the new short side as U[low, high] × the page's own short side
    (never below `crop`) instead of the original's absolute ranges — for data whose stored scale
    is already the scale the model will see at inference.

    Returns the (crop, crop, 3) image and (crop, crop) skeleton, new contiguous uint8 arrays.
    """
    _check_pair(image, skeleton)
    if crop <= 0:
        raise ValueError(f"crop: must be > 0, got {crop}")
    h, w = skeleton.shape
    image = resize_to(image, h, w)
    skeleton = skeleton.copy()

    if augment:
        if rng.random() < 0.5:
            degrees = float(rng.uniform(0.0, 360.0))
            image = rotate_and_cut(image, degrees)
            skeleton = rotate_and_cut(skeleton, degrees)
            low, high = scaled_range(ROTATED_SHORT_SIDE, crop)
        else:
            low, high = scaled_range(PLAIN_SHORT_SIDE, crop)
        if zoom is not None:  # relative to the (possibly rotated and cut) page: keeps its scale
            current = min(skeleton.shape)
            low = max(crop, round(zoom[0] * current))
            high = max(low, round(zoom[1] * current))
        short_side = int(rng.integers(low, high + 1))
        image = resize_short_side(image, short_side)
        skeleton = resize_short_side(skeleton, short_side)
    elif min(h, w) < crop:
        image = resize_short_side(image, crop)
        skeleton = resize_short_side(skeleton, crop)

    h, w = skeleton.shape
    y0 = int(rng.integers(0, h - crop + 1))
    x0 = int(rng.integers(0, w - crop + 1))
    image = image[y0 : y0 + crop, x0 : x0 + crop]
    skeleton = skeleton[y0 : y0 + crop, x0 : x0 + crop]

    if augment:
        if rng.random() < 0.5:
            image, skeleton = image[:, ::-1], skeleton[:, ::-1]
        if rng.random() < 0.5:
            image, skeleton = image[::-1], skeleton[::-1]
    return np.ascontiguousarray(image), np.ascontiguousarray(skeleton)


def squeeze_contrast(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The picture's contrast scaled by U[0.2, 0.6] about a random grey level U[0, 255]: a dark,
    a washed-out or a mid-grey version of the same edges, each step a few grey levels apart."""
    factor = rng.uniform(0.2, 0.6)
    pivot = rng.uniform(0.0, 255.0)
    squeezed = pivot + (image.astype(np.float32) - pivot) * factor
    return np.clip(squeezed + 0.5, 0, 255).astype(np.uint8)


def random_photometric(
    image: np.ndarray, rng: np.random.Generator, *, low_contrast: float = 0.0
) -> np.ndarray:
    """Steps 5–6 (image only): colour remix, Gaussian blurs, median blurs, each with p=0.5; then,
    with probability `low_contrast` (no draw at all when 0), `squeeze_contrast`.

    image : (H, W, 3) uint8 BGR. Returns a new array.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image: expected (H, W, 3) uint8 BGR, got {image.shape} {image.dtype}")
    image = image.copy()
    if rng.random() < 0.5:
        image = colour_remix(image, rng)
    if rng.random() < 0.5:
        for _ in range(int(rng.integers(0, 5))):
            image = cv2.GaussianBlur(image, (0, 0), 2.0)
    if rng.random() < 0.5:
        for _ in range(int(rng.integers(0, 5))):
            image = cv2.medianBlur(image, 3)
    if low_contrast > 0 and rng.random() < low_contrast:
        image = squeeze_contrast(image, rng)
    return image


def augment_pair(
    image: np.ndarray,
    skeleton: np.ndarray,
    *,
    crop: int,
    rng: np.random.Generator,
    augment: bool = True,
    zoom: tuple[float, float] | None = None,
    low_contrast: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """One random training crop of an (image, skeleton) pair.

    Parameters
    ----------
    image : (H, W, 3) uint8 BGR page
    skeleton : (H', W') uint8 skeleton target (255 on region centres, 0 on boundaries); the image
        is resized to its size first
    crop : output side in pixels
    rng : the only source of randomness
    augment : False → resize + random crop only
    zoom : optional (low, high) short-side range relative to the page's own (see `random_geometry`)
    low_contrast : probability of `squeeze_contrast` (step 6); 0 keeps the original's recipe

    Returns
    -------
    (crop, crop, 3) uint8 image and (crop, crop) uint8 skeleton, new contiguous arrays.
    """
    image, skeleton = random_geometry(
        image, skeleton, crop=crop, rng=rng, augment=augment, zoom=zoom
    )
    if augment:
        image = random_photometric(image, rng, low_contrast=low_contrast)
    return image, skeleton

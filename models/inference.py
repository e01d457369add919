"""Page → skeleton with the generator: resize, pad, overlapping tiles, dihedral TTA, blend.

Unlike the original (whole image at short side 2048, no tiling, output left at 2048), the page is
cut into overlapping tiles so peak memory depends on `tile` and `batch` only, tiles are blended
with cosine cross-fades over their overlaps, and the skeleton is returned at the input size.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import cv2
import numpy as np
import torch
from torch import nn

from regionflow.models.config import InferenceConfig
from regionflow.models.device import cpu_has_fast_bf16, resolve_device
from regionflow.models.unet import MULTIPLE, padded_size


def pad_to_multiple(image: np.ndarray, multiple: int = MULTIPLE) -> np.ndarray:
    """Pad bottom/right by mirroring (BORDER_REFLECT) up to multiples of `multiple`.

    Mirroring keeps the padding looking like page content, so the net sees no artificial edge.
    Returns a new array; crop the result back with `[:H, :W]`.
    """
    h, w = image.shape[:2]
    ph, pw = padded_size(h, w, multiple)
    return cv2.copyMakeBorder(image, 0, ph - h, 0, pw - w, cv2.BORDER_REFLECT)


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size `tile` covering [0, length), consecutive tiles overlapping
    by at least `overlap`; the last tile ends exactly at `length`."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def _ramp(size: int) -> np.ndarray:
    # Cosine ramp rising from ~0 to ~1; a ramp and its reverse sum to 1 at every pixel.
    i = np.arange(size, dtype=np.float64)
    return (0.5 - 0.5 * np.cos(math.pi * (i + 0.5) / size)).astype(np.float32)


def blend_weights(starts: list[int], tile: int) -> list[np.ndarray]:
    """1-D weights of each tile: 1 inside, cosine cross-fades over each actual overlap with a
    neighbour (so tile borders, where zero padding distorts the net, weigh ~0)."""
    weights = []
    for k, start in enumerate(starts):
        w = np.ones(tile, np.float32)
        if k > 0:
            fade = starts[k - 1] + tile - start
            w[:fade] *= _ramp(fade)
        if k < len(starts) - 1:
            fade = start + tile - starts[k + 1]
            w[tile - fade :] *= _ramp(fade)[::-1]
        weights.append(w)
    return weights


def dihedral_variants(tta: int) -> list[tuple[bool, bool, bool]]:
    """(transpose, flip_vertical, flip_horizontal) for 1 (identity), 4 (flips) or 8 variants."""
    flips = [(False, False), (False, True), (True, False), (True, True)]
    if tta == 1:
        return [(False, False, False)]
    if tta == 4:
        return [(False, v, h) for v, h in flips]
    if tta == 8:
        return [(t, v, h) for t in (False, True) for v, h in flips]
    raise ValueError(f"tta: expected 1, 4 or 8, got {tta!r}")


def _apply(x: torch.Tensor, variant: tuple[bool, bool, bool]) -> torch.Tensor:
    transpose, flip_v, flip_h = variant
    if transpose:
        x = x.transpose(-2, -1)
    dims = [d for d, on in ((-2, flip_v), (-1, flip_h)) if on]
    return x.flip(dims) if dims else x


def _invert(x: torch.Tensor, variant: tuple[bool, bool, bool]) -> torch.Tensor:
    transpose, flip_v, flip_h = variant
    dims = [d for d, on in ((-2, flip_v), (-1, flip_h)) if on]
    if dims:
        x = x.flip(dims)
    return x.transpose(-2, -1) if transpose else x


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _resize(array: np.ndarray, height: int, width: int) -> np.ndarray:
    if array.shape[:2] == (height, width):
        return array
    shrinking = height * width < array.shape[0] * array.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(array, (width, height), interpolation=interpolation)


def working_size(height: int, width: int, short_side: int | None) -> tuple[int, int]:
    """The (H, W) the net runs at: short side = `short_side`, aspect ratio kept."""
    if short_side is None:
        return height, width
    scale = short_side / min(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


@torch.inference_mode()
def predict_net_output(
    net: nn.Module,
    image: np.ndarray,
    *,
    config: InferenceConfig,
    device: torch.device,
) -> np.ndarray:
    """The blended, TTA-averaged net output (1 − skeleton/255 space) for an already padded
    (H, W, 3) uint8 image whose sides are multiples of 32. Returns (H, W) float32."""
    hp, wp = image.shape[:2]
    if hp * wp <= config.tile**2 * config.batch:
        # The whole page in one pass costs no more memory than one batch of tiles, has no seams,
        # and skips the overlaps' repeated work (a 1536×2176 page: 3.2 s instead of 6.2 s on CPU).
        th, tw = hp, wp
    else:
        th, tw = min(config.tile, hp), min(config.tile, wp)
    ys, xs = tile_starts(hp, th, config.overlap), tile_starts(wp, tw, config.overlap)
    wy, wx = blend_weights(ys, th), blend_weights(xs, tw)
    variants = dihedral_variants(config.tta)
    total = np.zeros((hp, wp), np.float32)
    weight = np.zeros((hp, wp), np.float32)
    tiles = [(i, j) for i in range(len(ys)) for j in range(len(xs))]
    use_amp = config.amp and (
        device.type == "cuda" or (device.type == "cpu" and config.cpu_amp and cpu_has_fast_bf16())
    )
    memory_format = torch.channels_last if device.type == "cuda" else torch.contiguous_format
    for chunk in _chunks(tiles, config.batch):
        batch = np.stack([image[ys[i] : ys[i] + th, xs[j] : xs[j] + tw] for i, j in chunk])
        x = torch.from_numpy(batch).to(device).permute(0, 3, 1, 2).float().div_(255.0)
        out = torch.zeros((len(chunk), 1, th, tw), dtype=torch.float32, device=device)
        for variant in variants:
            xv = _apply(x, variant).contiguous(memory_format=memory_format)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                y = net(xv)
            out += _invert(y.float(), variant)
        out /= len(variants)
        out_np = out[:, 0].cpu().numpy()
        for (i, j), tile_out in zip(chunk, out_np, strict=True):
            w2 = wy[i][:, None] * wx[j][None, :]
            total[ys[i] : ys[i] + th, xs[j] : xs[j] + tw] += tile_out * w2
            weight[ys[i] : ys[i] + th, xs[j] : xs[j] + tw] += w2
    return total / weight


def predict_skeleton(
    net: nn.Module,
    image: np.ndarray,
    *,
    config: InferenceConfig | None = None,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Predict a page's skeleton map at the page's own size.

    Parameters
    ----------
    net : a RegionUNet (BGR/255 → 1 − skeleton/255), already on `device`
    image : (H, W, 3) uint8 BGR page, any size
    config : resolution, tiling, TTA and batching (default `InferenceConfig()`)
    device : where to run; None = where `net`'s parameters are

    Returns
    -------
    (H, W) uint8 skeleton: 255 on region centres, 0 on boundaries.
    """
    config = config or InferenceConfig()
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image: expected (H, W, 3) uint8 BGR, got {image.shape} {image.dtype}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image: empty, shape {image.shape}")
    param_device = next(net.parameters()).device
    device = param_device if device is None else resolve_device(device)
    if device != param_device and not (
        device.type == param_device.type == "cuda" and device.index is None
    ):
        raise ValueError(
            f"device: {device} but net is on {param_device}; move it with net.to(device)"
        )
    was_training = net.training
    net.eval()
    try:
        h, w = image.shape[:2]
        rh, rw = working_size(h, w, config.short_side)
        padded = pad_to_multiple(_resize(image, rh, rw))
        output = predict_net_output(net, padded, config=config, device=device)
    finally:
        net.train(was_training)
    skeleton = np.clip((1.0 - output[:rh, :rw]) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(_resize(skeleton, h, w))

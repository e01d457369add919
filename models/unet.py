"""The DanbooRegion generator: a 6-level U-Net whose skips carry high-pass residuals.

Architecture (REFERENCE §1.3), for an input of H×W (multiples of 32):

- encoder levels at resolutions H/1 … H/32 with widths 16-32-64-128-256-512; each level is a
  block conv3×3 → ReLU → conv3×3 → ReLU (biases, no normalisation); between levels 2×2 average
  pooling.
- skip of level l = f_l − upsample_nearest(avgpool(f_l)), where f_l is the level's output, i.e. the
  tensor the down-sampling step takes as input. It is exactly what the pooling throws away (one
  band of a Laplacian pyramid of the features), so the decoder gets back only the detail lost on
  the way down. This is the only reading that gives the published 7,862,529 parameters: skips of
  width 256-128-64-32-16 entering the decoder blocks.
- decoder levels at H/16 … H/1: nearest upsample ×2, concatenate [upsampled, skip] on channels,
  block with widths 256-128-64-32-16; head conv3×3 → 1 channel, linear.

Module names are the Keras layer names (named by the resolution of a 512² crop):
encoder `c512_c1, c512_c2, c256_c1, …, c16_c2`, decoder `d32_c1, …, d512_c2`, head `op`.

The net maps BGR/255 to `1 − skeleton/255`; `predict()` returns the skeleton in [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

WIDTHS = (16, 32, 64, 128, 256, 512)
MULTIPLE = 2 ** (len(WIDTHS) - 1)  # 5 poolings: H and W must be multiples of 32
ENCODER_LEVELS = tuple(f"c{512 >> i}" for i in range(len(WIDTHS)))  # c512 … c16
DECODER_LEVELS = tuple(f"d{32 << i}" for i in range(len(WIDTHS) - 1))  # d32 … d512
LAYER_NAMES = (
    tuple(f"{level}_c{k}" for level in ENCODER_LEVELS for k in (1, 2))
    + tuple(f"{level}_c{k}" for level in DECODER_LEVELS for k in (1, 2))
    + ("op",)
)
N_PARAMETERS = 7_862_529


def padded_size(height: int, width: int, multiple: int = MULTIPLE) -> tuple[int, int]:
    """The smallest (H', W') ≥ (height, width) that the U-Net accepts (multiples of 32)."""
    return (-(-height // multiple) * multiple, -(-width // multiple) * multiple)


def check_input_shape(x: torch.Tensor, channels: int = 3) -> None:
    """Raise a ValueError that says how to pad when `x` is not (N, channels, 32·k, 32·m)."""
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(f"x: expected (N, {channels}, H, W), got {tuple(x.shape)}")
    h, w = x.shape[-2:]
    if h % MULTIPLE or w % MULTIPLE:
        ph, pw = padded_size(h, w)
        raise ValueError(
            f"x: H and W must be multiples of {MULTIPLE}, got {h}×{w}; pad bottom/right to "
            f"{ph}×{pw} (e.g. models.inference.pad_to_multiple) and crop the output back"
        )


def glorot_init_(module: nn.Module) -> None:
    """Glorot-uniform kernels and zero biases, as Keras initialises Conv2D by default."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def high_pass(x: torch.Tensor) -> torch.Tensor:
    """x − upsample_nearest(avgpool2×2(x)): the detail that 2×2 average pooling discards."""
    low = F.avg_pool2d(x, 2)
    return x - F.interpolate(low, scale_factor=2.0, mode="nearest")


class RegionUNet(nn.Module):
    """DanbooRegion generator. Input (N, 3, H, W) float BGR/255, H and W multiples of 32.

    Output (N, 1, H, W) float: the net's prediction of `1 − skeleton/255` (linear head, not
    clipped). Use `predict()` for the skeleton in [0, 1].
    """

    def __init__(self) -> None:
        super().__init__()
        in_ch = 3
        for level, width in zip(ENCODER_LEVELS, WIDTHS, strict=True):
            self.add_module(f"{level}_c1", nn.Conv2d(in_ch, width, 3, padding=1))
            self.add_module(f"{level}_c2", nn.Conv2d(width, width, 3, padding=1))
            in_ch = width
        for level, width in zip(DECODER_LEVELS, WIDTHS[-2::-1], strict=True):
            # input = upsampled previous decoder output (in_ch) ++ skip of this resolution (width)
            self.add_module(f"{level}_c1", nn.Conv2d(in_ch + width, width, 3, padding=1))
            self.add_module(f"{level}_c2", nn.Conv2d(width, width, 3, padding=1))
            in_ch = width
        self.op = nn.Conv2d(in_ch, 1, 3, padding=1)
        glorot_init_(self)

    def _block(self, level: str, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(getattr(self, f"{level}_c1")(x))
        return F.relu(getattr(self, f"{level}_c2")(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input_shape(x)
        skips = []
        h = x
        for i, level in enumerate(ENCODER_LEVELS):
            h = self._block(level, h)
            if i < len(ENCODER_LEVELS) - 1:
                low = F.avg_pool2d(h, 2)
                skips.append(h - F.interpolate(low, scale_factor=2.0, mode="nearest"))
                h = low
        for level, skip in zip(DECODER_LEVELS, reversed(skips), strict=True):
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            h = self._block(level, torch.cat([h, skip], dim=1))
        return self.op(h)

    @torch.inference_mode()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Skeleton in [0, 1] (= 1 − net(x), clipped), shape (N, 1, H, W); sets eval mode."""
        self.eval()
        return (1.0 - self(x)).clamp_(0.0, 1.0)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())

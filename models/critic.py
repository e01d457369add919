"""The unconditional WGAN critic of DanbooRegion training (REFERENCE §1.4).

It sees only a skeleton-space map (N, 1, H, W) — in training the generator's output space,
`1 − skeleton/255` — never the image. Stem conv3×3(16) + LeakyReLU(0.1), then 6 levels of
[conv4×4 stride 2, conv3×3], each followed by LeakyReLU(0.1), widths 32-64-128-256-512-512, and a
linear conv3×3 → 1 head: a 512² crop gives an 8×8 score map. H and W must be multiples of 64.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from regionflow.models.unet import glorot_init_

CRITIC_WIDTHS = (32, 64, 128, 256, 512, 512)
CRITIC_MULTIPLE = 2 ** len(CRITIC_WIDTHS)
NEGATIVE_SLOPE = 0.1


class Critic(nn.Module):
    """forward(x) -> (features, score): the 6 level outputs (after each level's second
    LeakyReLU, at H/2 … H/64) and the (N, 1, H/64, W/64) score map."""

    def __init__(self, in_channels: int = 1) -> None:
        super().__init__()
        self.stem = nn.Conv2d(in_channels, 16, 3, padding=1)
        levels = []
        in_ch = 16
        for width in CRITIC_WIDTHS:
            # padding=1 on a 4×4/2 conv halves even sizes exactly, like Keras 'same'.
            levels.append(
                nn.ModuleDict(
                    {
                        "down": nn.Conv2d(in_ch, width, 4, stride=2, padding=1),
                        "conv": nn.Conv2d(width, width, 3, padding=1),
                    }
                )
            )
            in_ch = width
        self.levels = nn.ModuleList(levels)
        self.head = nn.Conv2d(in_ch, 1, 3, padding=1)
        glorot_init_(self)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        if x.ndim != 4 or x.shape[1] != self.stem.in_channels:
            raise ValueError(
                f"x: expected (N, {self.stem.in_channels}, H, W), got {tuple(x.shape)}"
            )
        if x.shape[-2] % CRITIC_MULTIPLE or x.shape[-1] % CRITIC_MULTIPLE:
            raise ValueError(
                f"x: H and W must be multiples of {CRITIC_MULTIPLE}, got {tuple(x.shape[-2:])}"
            )
        h = F.leaky_relu(self.stem(x), NEGATIVE_SLOPE)
        features = []
        for level in self.levels:
            h = F.leaky_relu(level["down"](h), NEGATIVE_SLOPE)
            h = F.leaky_relu(level["conv"](h), NEGATIVE_SLOPE)
            features.append(h)
        return features, self.head(h)

"""Shared building blocks and weight init (pix2pix's normal(0, 0.02) convention)."""

from __future__ import annotations

import torch
from torch import nn


def norm2d(channels: int) -> nn.Module:
    # Instance norm without running statistics: identical in training and inference, and correct
    # with batch size 1 (pix2pix's batch norm at batch 1 is the same thing, but differs in eval()).
    return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)


def init_weights(module: nn.Module, gain: float = 0.02) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.InstanceNorm2d) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)


class ResnetBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), norm2d(ch), nn.ReLU(True),
                                  nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), norm2d(ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)

"""pix2pixHD (Wang et al. 2018): global generator, local enhancer, multiscale discriminators."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avstudio.ml.nets.blocks import ResnetBlock, norm2d


def _global_front(in_ch: int, ngf: int, n_down: int, n_blocks: int) -> tuple[list[nn.Module], int]:
    layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, ngf, 7), norm2d(ngf), nn.ReLU(True)]
    c = ngf
    for _ in range(n_down):
        layers += [nn.Conv2d(c, c * 2, 3, 2, 1), norm2d(c * 2), nn.ReLU(True)]
        c *= 2
    layers += [ResnetBlock(c) for _ in range(n_blocks)]
    for _ in range(n_down):
        layers += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1), norm2d(c // 2), nn.ReLU(True)]
        c //= 2
    return layers, c


class GlobalGenerator(nn.Module):
    """ngf 64, 4 downsamplings, 9 residual blocks (the paper's G1)."""

    def __init__(self, in_ch: int, out_ch: int = 3, ngf: int = 64, n_down: int = 4, n_blocks: int = 9,
                 out_act: bool = True):
        super().__init__()
        layers, c = _global_front(in_ch, ngf, n_down, n_blocks)
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(c, out_ch, 7), nn.Tanh() if out_act else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class LocalEnhancer(nn.Module):
    """G2: a full-resolution branch (ngf 32, 3 residual blocks) around a global generator run at
    half resolution; their features are added before the local residual blocks."""

    def __init__(self, in_ch: int, out_ch: int = 3, ngf: int = 32, n_blocks_local: int = 3,
                 global_ngf: int = 64, n_down_global: int = 4, n_blocks_global: int = 9):
        super().__init__()
        layers, c = _global_front(in_ch, global_ngf, n_down_global, n_blocks_global)
        self.global_features = nn.Sequential(*layers)  # output channels: global_ngf
        self.local_down = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(in_ch, ngf, 7), norm2d(ngf), nn.ReLU(True),
                                        nn.Conv2d(ngf, ngf * 2, 3, 2, 1), norm2d(ngf * 2), nn.ReLU(True))
        assert c == ngf * 2, "the global generator's ngf must be twice the local one"
        self.local_up = nn.Sequential(*[ResnetBlock(ngf * 2) for _ in range(n_blocks_local)],
                                      nn.ConvTranspose2d(ngf * 2, ngf, 3, 2, 1, output_padding=1), norm2d(ngf),
                                      nn.ReLU(True), nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_ch, 7), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
        return self.local_up(self.local_down(x) + self.global_features(half))

"""Everybody Dance Now's face GAN: a residual for the face crop, and its discriminator."""

from __future__ import annotations

import torch
from torch import nn

from avstudio.ml.nets.pix2pix import PatchDiscriminator, UNetGenerator


class FaceResidualGenerator(nn.Module):
    """Input: the face crop of the pose image and of the main generator's output (6 channels).
    Output: the refined crop = generated crop + a residual (so an untrained net changes nothing)."""

    def __init__(self, ngf: int = 32, depth: int = 7):
        super().__init__()
        self.net = UNetGenerator(6, 3, ngf, depth, dropout=False)
        nn.init.zeros_(self.net.up[-1][1].weight)  # start as the identity: residual 0
        nn.init.zeros_(self.net.up[-1][1].bias)

    def forward(self, pose_crop: torch.Tensor, gen_crop: torch.Tensor) -> torch.Tensor:
        return (gen_crop + self.net(torch.cat([pose_crop, gen_crop], 1))).clamp(-1, 1)


def face_discriminator(ndf: int = 64) -> PatchDiscriminator:
    return PatchDiscriminator(6, ndf, n_layers=3)

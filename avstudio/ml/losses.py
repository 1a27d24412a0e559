"""Losses: LSGAN, pix2pixHD feature matching, optional VGG perceptual loss from a local file."""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from avstudio.core.errors import UserError


def lsgan(pred, real: bool) -> torch.Tensor:
    """Least-squares GAN loss; ``pred`` is a tensor or (multiscale) a list of feature lists."""
    if isinstance(pred, list):
        return sum(lsgan(p[-1] if isinstance(p, list) else p, real) for p in pred) / len(pred)
    return F.mse_loss(pred, torch.full_like(pred, 1.0 if real else 0.0))


def feature_matching(fake_feats: list, real_feats: list, n_layers: int) -> torch.Tensor:
    """pix2pixHD: L1 between D's intermediate features of fake and real, averaged over scales."""
    loss = 0.0
    w_layer = 4.0 / (n_layers + 1)
    for ff, rf in zip(fake_feats, real_feats):
        for f, r in zip(ff[:-1], rf[:-1]):
            loss = loss + w_layer / len(fake_feats) * F.l1_loss(f, r.detach())
    return loss


_VGG19 = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512]


class VGGLoss(nn.Module):
    """pix2pixHD's perceptual loss on VGG19 relu1_1…relu5_1. The ImageNet weights cannot be
    downloaded here: pass a local safetensors file with torchvision's ``features.N.weight/bias`` keys."""

    LAYERS = (1, 6, 11, 20, 29)  # relu1_1, relu2_1, relu3_1, relu4_1, relu5_1
    WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)

    def __init__(self, weights_file: str | os.PathLike):
        super().__init__()
        from safetensors.torch import load_file

        layers, c = [], 3
        for v in _VGG19:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=False)]
                c = v
        self.features = nn.Sequential(*layers[:30])
        try:
            state = load_file(str(weights_file))
        except Exception as exc:  # noqa: BLE001 - safetensors raises several types
            raise UserError(f"Cannot read the VGG19 weights {weights_file}: it must be a .safetensors file "
                            f"({exc}).", path=str(weights_file)) from exc
        own = {k: v for k, v in state.items() if k.startswith("features.")}
        missing = self.load_state_dict(own, strict=False).missing_keys
        if missing:
            raise UserError(f"{weights_file} is not a VGG19 checkpoint (missing {', '.join(missing[:3])}…).",
                            path=str(weights_file))
        for p in self.parameters():
            p.requires_grad_(False)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        x = ((fake + 1) / 2 - self.mean) / self.std
        y = ((real + 1) / 2 - self.mean) / self.std
        loss = 0.0
        k = 0
        for i, layer in enumerate(self.features):
            x, y = layer(x), layer(y)
            if i in self.LAYERS:
                loss = loss + self.WEIGHTS[k] * F.l1_loss(x, y.detach())
                k += 1
        return loss

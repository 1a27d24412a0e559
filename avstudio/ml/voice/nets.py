"""CycleGAN-VC2 networks: the 2-1-2D generator and the 2D PatchGAN discriminator.

Input and output are normalized MCEPs shaped (B, 1, D, T) with D = 36 and T a multiple of 4.
``width`` scales every channel count (1.0 is the paper's network; smaller is for quick CPU runs).
"""

from __future__ import annotations

import torch
from torch import nn


def _c(n: int, width: float) -> int:
    return max(8, int(round(n * width)))


class GLU(nn.Module):
    """Gated linear unit over channels: a · sigmoid(b)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, 1)
        return a * torch.sigmoid(b)


def _down2d(cin: int, cout: int, k, s, p) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout * 2, k, s, p), nn.InstanceNorm2d(cout * 2, affine=True), GLU())


def _up2d(cin: int, cout: int) -> nn.Sequential:
    # conv to 4·2·cout → pixel shuffle (×2 in both axes) → norm → GLU → cout
    return nn.Sequential(nn.Conv2d(cin, cout * 2 * 4, 5, 1, 2), nn.PixelShuffle(2),
                         nn.InstanceNorm2d(cout * 2, affine=True), GLU())


class ResBlock1d(nn.Module):
    def __init__(self, ch: int, hidden: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv1d(ch, hidden * 2, 3, 1, 1), nn.InstanceNorm1d(hidden * 2, affine=True), GLU(),
                                  nn.Conv1d(hidden, ch, 3, 1, 1), nn.InstanceNorm1d(ch, affine=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Generator212(nn.Module):
    """2D conv 5×15 (128, GLU) → two 2D downsamplings (256) → 1D (D/4·256 → 256) → six 1D residual
    GLU blocks (512) → 1D → 2D → two pixel-shuffle upsamplings → 2D conv 5×15 to one channel."""

    def __init__(self, n_mcep: int = 36, width: float = 1.0, n_res: int = 6):
        super().__init__()
        if n_mcep % 4:
            raise ValueError("the number of MCEPs must be a multiple of 4")
        c1, c2, c1d, cres = _c(128, width), _c(256, width), _c(256, width), _c(512, width)
        self.h = n_mcep // 4
        self.c2 = c2
        self.inp = nn.Sequential(nn.Conv2d(1, c1 * 2, (5, 15), 1, (2, 7)), GLU())
        self.down = nn.Sequential(_down2d(c1, c2, 5, 2, 2), _down2d(c2, c2, 5, 2, 2))
        self.to1d = nn.Sequential(nn.Conv1d(c2 * self.h, c1d, 1), nn.InstanceNorm1d(c1d, affine=True))
        self.res = nn.Sequential(*[ResBlock1d(c1d, cres) for _ in range(n_res)])
        self.to2d = nn.Sequential(nn.Conv1d(c1d, c2 * self.h, 1), nn.InstanceNorm1d(c2 * self.h, affine=True))
        self.up = nn.Sequential(_up2d(c2, c1), _up2d(c1, c1 // 2))  # conv 1024 → 128, conv 512 → 64 (the paper's)
        self.out = nn.Conv2d(c1 // 2, 1, (5, 15), 1, (2, 7))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, d, t = x.shape
        y = self.down(self.inp(x))                 # (B, C2, D/4, T/4)
        y = self.to1d(y.reshape(b, -1, t // 4))
        y = self.to2d(self.res(y)).reshape(b, self.c2, self.h, t // 4)
        return self.out(self.up(y))


class PatchDiscriminator2d(nn.Module):
    """2D conv 3×3 (128, GLU) → downsampling 256 → 512 → 1024 → conv (1, 3) to one patch map."""

    def __init__(self, n_mcep: int = 36, width: float = 1.0):
        super().__init__()
        c = [_c(n, width) for n in (128, 256, 512, 1024)]
        self.net = nn.Sequential(
            nn.Conv2d(1, c[0] * 2, 3, 1, 1), GLU(),
            _down2d(c[0], c[1], 3, 2, 1), _down2d(c[1], c[2], 3, 2, 1), _down2d(c[2], c[3], (5, 3), (1, 2), (2, 1)),
            nn.Conv2d(c[3], 1, (1, 3), 1, (0, 1)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def checkpoint_nets(doc: dict) -> dict:
    """The networks a voice checkpoint holds, by prefix (ml/checkpoint.check_fits): both generators,
    and the discriminators of both speakers (CycleGAN-VC2's one-step and two-step adversarial losses)."""
    cfg = doc["config"]
    nets = {name: (lambda: Generator212(cfg["n_mcep"], cfg["width"])) for name in ("G_AB", "G_BA")}
    nets.update({name: (lambda: PatchDiscriminator2d(cfg["n_mcep"], cfg["width"]))
                 for name in ("D_A", "D_B", "D2_A", "D2_B")})
    return nets

"""pix2pix (Isola et al. 2017): U-Net generator and PatchGAN discriminator, and pix2pixHD's multiscale
PatchGANs (Wang et al. 2018) — shared by the motion and lip-sync models."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avstudio.ml.nets.blocks import norm2d


class UNetGenerator(nn.Module):
    """Encoder-decoder with skip connections. ``depth`` downsamplings take the input to 1×1
    (7 for 128 px, 8 for 256 px); channels double up to ``ngf * 8``. ``out_act=False`` leaves the
    output unbounded (for a wrapper that applies its own activations)."""

    def __init__(self, in_ch: int, out_ch: int = 3, ngf: int = 64, depth: int = 8, dropout: bool = True,
                 out_act: bool = True):
        super().__init__()
        chans = [min(ngf * 2 ** i, ngf * 8) for i in range(depth)]
        self.down = nn.ModuleList()
        prev = in_ch
        for i, c in enumerate(chans):
            layers = [] if i == 0 else [nn.LeakyReLU(0.2, True)]
            layers.append(nn.Conv2d(prev, c, 4, 2, 1))
            if 0 < i < depth - 1:  # no norm on the outermost and the 1×1 innermost layer
                layers.append(norm2d(c))
            self.down.append(nn.Sequential(*layers))
            prev = c
        self.up = nn.ModuleList()
        for i in reversed(range(depth)):
            c_in = chans[i] if i == depth - 1 else chans[i] * 2
            c_out = out_ch if i == 0 else chans[i - 1]
            layers = [nn.ReLU(True), nn.ConvTranspose2d(c_in, c_out, 4, 2, 1)]
            if i == 0:
                if out_act:
                    layers.append(nn.Tanh())
            else:
                layers.append(norm2d(c_out))
                if dropout and depth - 4 <= i < depth - 1:  # pix2pix: dropout in the 3 innermost up blocks
                    layers.append(nn.Dropout(0.5))
            self.up.append(nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for layer in self.down:
            x = layer(x)
            skips.append(x)
        x = skips.pop()
        for i, layer in enumerate(self.up):
            if i > 0:
                x = torch.cat([x, skips.pop()], 1)
            x = layer(x)
        return x


class PatchDiscriminator(nn.Module):
    """70×70 PatchGAN (n_layers=3). ``features=True`` returns every layer's output (for pix2pixHD's
    feature-matching loss); the last one is the patch map."""

    def __init__(self, in_ch: int, ndf: int = 64, n_layers: int = 3):
        super().__init__()
        layers = [nn.Sequential(nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True))]
        c = ndf
        for i in range(1, n_layers):
            c_next = min(ndf * 2 ** i, ndf * 8)
            layers.append(nn.Sequential(nn.Conv2d(c, c_next, 4, 2, 1), norm2d(c_next), nn.LeakyReLU(0.2, True)))
            c = c_next
        c_next = min(ndf * 2 ** n_layers, ndf * 8)
        layers.append(nn.Sequential(nn.Conv2d(c, c_next, 4, 1, 1), norm2d(c_next), nn.LeakyReLU(0.2, True)))
        layers.append(nn.Sequential(nn.Conv2d(c_next, 1, 4, 1, 1)))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor, features: bool = False):
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return feats if features else x


class MultiscaleDiscriminator(nn.Module):
    """``num_d`` PatchGANs on the input downsampled 1×, 2×, 4×… Returns per scale the list of layer
    outputs (for feature matching)."""

    def __init__(self, in_ch: int, ndf: int = 64, n_layers: int = 3, num_d: int = 2):
        super().__init__()
        self.ds = nn.ModuleList(PatchDiscriminator(in_ch, ndf, n_layers) for _ in range(num_d))

    def forward(self, x: torch.Tensor, features: bool = True):
        out = []
        for i, d in enumerate(self.ds):
            if i:
                x = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
            out.append(d(x, features=True))
        return out if features else [o[-1] for o in out]

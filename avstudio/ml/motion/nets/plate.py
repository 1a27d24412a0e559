"""Compositing over a background plate.

With one static camera, most of every target frame is the same background. A plain generator has
to redraw it from the pose image at every step, and on a CPU budget it never gets as sharp as the
mean frame. Here the generator outputs a colour and a mask, and the frame is
``mask * colour + (1 - mask) * plate``, the plate being the per-pixel median of the training frames
(the background with the moving person removed). The mask starts near 0, so an untrained model
already shows the background and all its capacity goes to the person.

The stored plate covers the whole stage (ml/stage.py); when the model sees a window that follows
the person, callers pass the plate's window for each sample.
"""

from __future__ import annotations

import torch
from torch import nn

MASK_START = -3.0  # logit offset: sigmoid(-3) ≈ 0.05, the plate shows through at step 0


class PlateComposite(nn.Module):
    def __init__(self, inner: nn.Module, stage_size: tuple[int, int]):
        super().__init__()
        self.inner = inner  # outputs 4 unbounded channels: colour (3) and mask logit (1)
        w, h = stage_size
        self.register_buffer("plate", torch.zeros(1, 3, h, w))  # saved with the weights

    def set_plate(self, plate: torch.Tensor) -> None:
        self.plate.copy_(plate.reshape(self.plate.shape))

    def forward(self, x: torch.Tensor, plate: torch.Tensor | None = None) -> torch.Tensor:
        """``plate``: the background behind each sample (its window of the stored plate, warped like
        the pose and frame when training augments them). Without it the stored plate is used, which
        fits only when the window is the whole stage."""
        colour, mask = self.layers(x)
        bg = self.plate if plate is None else plate
        return mask * colour + (1 - mask) * bg.to(colour.dtype)

    def layers(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(colour in [-1, 1], mask in [0, 1]): exports composite them over a sharper background."""
        y = self.inner(x)
        return torch.tanh(y[:, :3]), torch.sigmoid(y[:, 3:4] + MASK_START)

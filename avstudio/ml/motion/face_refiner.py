"""Everybody Dance Now's face stage: after the main generator is trained and frozen, a residual
generator refines a square crop around the head (located from the BODY_25 head points), with its
own discriminator. At inference the refined crop is pasted back."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from avstudio.core.tracks import Flag

HEAD = (0, 15, 16, 17, 18)   # nose, eyes, ears
NECK = 1


def face_boxes(body: np.ndarray, flags: np.ndarray, size: int) -> np.ndarray:
    """(N, 4) integer boxes x0, y0, side, valid(0/1) of the face crop in S×S pixels."""
    out = np.zeros((len(body), 4), np.int64)
    for i in range(len(body)):
        ok = [j for j in HEAD if flags[i, j] != Flag.MISSING]
        if not ok or flags[i, NECK] == Flag.MISSING or flags[i, 0] == Flag.MISSING:
            continue
        cx, cy = body[i, ok, :2].mean(0)
        side = 1.6 * np.linalg.norm(body[i, 0, :2] - body[i, NECK, :2])
        side = int(np.clip(side, 12, size // 2))
        x0 = int(np.clip(round(cx - side / 2), 0, size - side))
        y0 = int(np.clip(round(cy - side / 2), 0, size - side))
        out[i] = (x0, y0, side, 1)
    return out


def crop(t: torch.Tensor, box, out: int) -> torch.Tensor:
    x0, y0, side, _ = (int(v) for v in box)
    return F.interpolate(t[:, :, y0:y0 + side, x0:x0 + side], size=(out, out), mode="bilinear", align_corners=False)


def paste(t: torch.Tensor, patch: torch.Tensor, box) -> torch.Tensor:
    x0, y0, side, _ = (int(v) for v in box)
    out = t.clone()
    out[:, :, y0:y0 + side, x0:x0 + side] = F.interpolate(patch, size=(side, side), mode="bilinear",
                                                          align_corners=False)
    return out


def face_size(cfg: dict) -> int:
    return max(32, cfg["size"] // 4)  # 128 at 512 px, as in EDN

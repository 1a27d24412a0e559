"""A person-specific lip-sync expert (Wav2Lip's SyncNet idea, on landmarks so it trains on a CPU): an
audio encoder (0.2 s of log-mel) and a mouth encoder (5 frames of pose-normalized mouth offsets) whose
cosine similarity says whether they belong together; trained with BCE on in-sync pairs and pairs whose
sound is shifted by at least MIN_SHIFT frames. Read as SyncNet is: over shifts of ±MAX_SHIFT frames, the
mean distance (1 − cosine) of a stretch of video; the shift with the smallest distance is the
offset, the median minus the minimum the confidence."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

WINDOW = 5          # video frames a mouth sample spans (Wav2Lip's syncnet_T)
MIN_SHIFT = 5       # frames: a negative pair's sound is at least this far off
MAX_SHIFT = 15      # frames searched each way when reading an offset
SCALE = 5.0         # cosine → logit


class SyncExpert(nn.Module):
    def __init__(self, n_points: int, n_mels: int = 80, dim: int = 64, hidden: int = 128):
        super().__init__()
        self.audio = nn.Sequential(nn.Conv1d(n_mels, hidden, 3, padding=1), nn.LeakyReLU(0.2),
                                   nn.Conv1d(hidden, hidden, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                                   nn.Conv1d(hidden, dim, 3, stride=2, padding=1), nn.AdaptiveAvgPool1d(1))
        self.mouth = nn.Sequential(nn.Linear(WINDOW * n_points * 2, hidden), nn.LeakyReLU(0.2),
                                   nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, dim))

    def embed_audio(self, mel: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.audio(mel).squeeze(-1), dim=-1)

    def embed_mouth(self, mouth: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.mouth(mouth.reshape(len(mouth), -1)), dim=-1)

    def forward(self, mel: torch.Tensor, mouth: torch.Tensor) -> torch.Tensor:
        """Cosine similarity of (B, 80, S) sound and (B, WINDOW, P, 2) mouth."""
        return (self.embed_audio(mel) * self.embed_mouth(mouth)).sum(-1)


def checkpoint_nets(doc: dict) -> dict:
    """The network a lip-sync expert's checkpoint holds (ml/checkpoint.check_fits)."""
    return {"net": lambda: SyncExpert(int(doc.get("points", 29)))}


def windows(offsets: np.ndarray) -> np.ndarray:
    """(n, WINDOW, P, 2): the mouth around each frame (edges repeated)."""
    n = len(offsets)
    idx = np.clip(np.arange(n)[:, None] + np.arange(WINDOW)[None, :] - WINDOW // 2, 0, n - 1)
    return offsets[idx].astype(np.float32)


def pairs(mel: np.ndarray, mouth_windows: np.ndarray, usable: np.ndarray, rows: np.ndarray, seed: int, step: int,
          size: int):
    """The batch of step ``step``: half in sync, half with the sound of a frame MIN_SHIFT or more away."""
    rng = np.random.default_rng([seed, step])
    t = rng.choice(rows[usable[rows]], size)
    label = (np.arange(size) < size // 2).astype(np.float32)
    shift = rng.integers(MIN_SHIFT, MAX_SHIFT + 1, size) * rng.choice([-1, 1], size)
    off = t + shift
    outside = (off < rows[0]) | (off > rows[-1])
    off[outside] = t[outside] - shift[outside]            # past an edge: the other way
    a = np.where(label > 0, t, np.clip(off, rows[0], rows[-1]))
    label[(label == 0) & (np.abs(a - t) < MIN_SHIFT)] = 1.0   # clipped at an edge: it is in sync after all
    return mel[a], mouth_windows[t], label


def loss(cos: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(cos * SCALE, label)


@torch.no_grad()
def sync_curve(expert: SyncExpert, mel: np.ndarray, offsets: np.ndarray, usable: np.ndarray,
               max_shift: int = MAX_SHIFT) -> np.ndarray:
    """(n, 2·max_shift+1) distance (1 − cosine) of each frame's mouth to the sound shifted by s frames
    (NaN where the mouth or the shifted sound is missing)."""
    expert.eval()
    a = expert.embed_audio(torch.from_numpy(np.ascontiguousarray(mel, np.float32))).numpy()
    v = expert.embed_mouth(torch.from_numpy(windows(offsets))).numpy()
    n = len(v)
    out = np.full((n, 2 * max_shift + 1), np.nan)
    for j, s in enumerate(range(-max_shift, max_shift + 1)):
        src = np.arange(n) + s
        ok = (src >= 0) & (src < len(a)) & usable
        out[ok, j] = 1.0 - (v[ok] * a[src[ok]]).sum(-1)
    return out


def offset_and_confidence(dist: np.ndarray) -> tuple[int, float]:
    """SyncNet's reading of a stretch: the shift of the smallest mean distance (positive: the sound
    comes later than the mouth), and the median minus that minimum."""
    seen = np.isfinite(dist).sum(0)
    if not seen.any():
        return 0, float("nan")
    mean = np.where(seen > 0, np.nansum(np.nan_to_num(dist, nan=0.0), 0) / np.maximum(seen, 1), np.nan)
    k = int(np.nanargmin(mean))
    return k - dist.shape[1] // 2, float(np.nanmedian(mean) - mean[k])

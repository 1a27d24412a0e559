"""The learned speech → mouth model (EVP / Yi et al. style, per target): trained on the target's own
speech and face, it maps the sound (a 0.2 s log-mel window per video frame, as Wav2Lip reads it) and
the viseme row (optional: dropped at random in training, so the model also works without phones) to
the pose-normalized mouth and jaw — as a few PCA coefficients of their offsets from the person's
neutral face, so a few minutes of footage constrain it. A small temporal convolution over frames
smooths and coarticulates. Losses: position and velocity of the mouth points, and silence held closed.

What a sample is: ``L`` consecutive video frames of the target (their mel windows, visemes, mouth
offsets, speaking flags); the batch of step k comes from the run's seed and k alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from avstudio.analysis.speech.features import FRAME_PERIOD_MS

MEL_STEPS = 16                      # 0.2 s of log-mel per video frame (Wav2Lip's syncnet_mel_step_size)
MEL_PER_S = 1000.0 / FRAME_PERIOD_MS


def mel_windows(mel: np.ndarray, fps: float, n_frames: int, steps: int = MEL_STEPS) -> np.ndarray:
    """(n_frames, 80, steps) float32: the log-mel window centred on each video frame, normalized over
    the clip (mean and spread per band), zero past either end."""
    m = np.asarray(mel, np.float32)
    m = (m - m.mean(0)) / np.maximum(m.std(0), 1e-3)
    centre = np.round((np.arange(n_frames) + 0.5) / fps * MEL_PER_S).astype(np.int64)
    idx = centre[:, None] + np.arange(steps)[None, :] - steps // 2
    ok = (idx >= 0) & (idx < len(m))
    out = m[np.clip(idx, 0, len(m) - 1)]            # (n, steps, 80)
    out[~ok] = 0.0
    return np.ascontiguousarray(out.transpose(0, 2, 1))


def viseme_frames(spans, names: list[str], fps: float, n_frames: int) -> np.ndarray:
    """(n_frames, len(names)) one-hot viseme at each frame's centre (all zero in silence)."""
    out = np.zeros((n_frames, len(names)), np.float32)
    t = (np.arange(n_frames) + 0.5) / fps
    index = {n: i for i, n in enumerate(names)}
    for a, b, v in spans:
        if v in index:
            out[(t >= a) & (t < b), index[v]] = 1.0
    return out


@dataclass
class MouthBasis:
    """PCA of the mouth offsets (frames × points·2): mean and components, kept in the checkpoint."""

    mean: np.ndarray          # (D,)
    components: np.ndarray    # (k, D)

    @classmethod
    def fit(cls, offsets: np.ndarray, k: int) -> MouthBasis:
        x = offsets.reshape(len(offsets), -1).astype(np.float64)
        mean = x.mean(0)
        _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
        return cls(mean.astype(np.float32), vt[:k].astype(np.float32))

    def encode(self, offsets: np.ndarray) -> np.ndarray:
        return ((offsets.reshape(len(offsets), -1) - self.mean) @ self.components.T).astype(np.float32)


class MouthNet(nn.Module):
    """(B, L, 80, S) mel windows + (B, L, V) visemes → (B, L, k) mouth coefficients."""

    def __init__(self, n_mels: int = 80, visemes: int = 15, hidden: int = 64, k: int = 8, kernel: int = 5):
        super().__init__()
        self.audio = nn.Sequential(nn.Conv1d(n_mels, hidden, 3, padding=1), nn.LeakyReLU(0.2),
                                   nn.Conv1d(hidden, hidden, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                                   nn.Conv1d(hidden, hidden, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                                   nn.AdaptiveAvgPool1d(1))
        self.time = nn.Sequential(nn.Conv1d(hidden + visemes, hidden, kernel, padding=kernel // 2), nn.LeakyReLU(0.2),
                                  nn.Dropout(0.1),
                                  nn.Conv1d(hidden, hidden, kernel, padding=kernel // 2), nn.LeakyReLU(0.2),
                                  nn.Conv1d(hidden, k, 1))

    def forward(self, mel: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
        b, n = mel.shape[:2]
        a = self.audio(mel.reshape(b * n, *mel.shape[2:])).reshape(b, n, -1)
        x = torch.cat([a, vis], -1).transpose(1, 2)
        return self.time(x).transpose(1, 2)


@dataclass
class MouthData:
    """A target's frames as the model learns them."""

    mel: np.ndarray        # (T, 80, S)
    vis: np.ndarray        # (T, V)
    coef: np.ndarray       # (T, k) the mouth, encoded
    offsets: np.ndarray    # (T, P, 2)
    usable: np.ndarray     # (T,) a face on the frame
    speaking: np.ndarray   # (T,)
    rows: np.ndarray       # frames a training sequence may start at


def batch(data: MouthData, seed: int, step: int, size: int, length: int, phone_drop: float):
    """Sequences of ``length`` frames, the batch of step ``step`` (a function of seed and step alone)."""
    rng = np.random.default_rng([seed, step])
    starts = rng.choice(data.rows, size)
    idx = starts[:, None] + np.arange(length)[None, :]
    mel = data.mel[idx] * rng.uniform(0.8, 1.2, (size, 1, 1, 1)).astype(np.float32)
    mel = mel + rng.normal(0, 0.1, mel.shape).astype(np.float32)
    vis = data.vis[idx] * (rng.random((size, 1, 1)) >= phone_drop).astype(np.float32)
    return mel, vis, data.coef[idx], data.usable[idx].astype(np.float32), data.speaking[idx].astype(np.float32)


def decode(coef: torch.Tensor, basis_mean: torch.Tensor, basis_comp: torch.Tensor) -> torch.Tensor:
    """(B, L, k) → (B, L, D) mouth offsets."""
    return basis_mean + coef @ basis_comp


def losses(pred: torch.Tensor, true: torch.Tensor, usable: torch.Tensor, speaking: torch.Tensor, mean, comp,
           cfg: dict) -> dict:
    """Position and velocity of the mouth points (L1), and silent frames pulled to the neutral face."""
    p, t = decode(pred, mean, comp), decode(true, mean, comp)
    w = usable[..., None]
    pos = ((p - t).abs() * w).sum() / w.sum().clamp(min=1) / p.shape[-1]
    wv = (usable[:, 1:] * usable[:, :-1])[..., None]
    vel = (((p[:, 1:] - p[:, :-1]) - (t[:, 1:] - t[:, :-1])).abs() * wv).sum() / wv.sum().clamp(min=1) / p.shape[-1]
    quiet = (1 - speaking)[..., None] * w
    silence = ((p.abs() * quiet).sum() / quiet.sum().clamp(min=1) / p.shape[-1]) if float(quiet.sum()) else p.sum() * 0
    total = cfg["w_pos"] * pos + cfg["w_vel"] * vel + cfg["w_silence"] * silence
    return {"total": total, "pos": pos, "vel": vel, "silence": silence}

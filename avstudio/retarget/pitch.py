"""Pitch from one speaker to another (CycleGAN-VC2's F0 conversion): the log-Gaussian normalized
transform, with each speaker's log-F0 statistics. Not learned, like the body normalization."""

from __future__ import annotations

import numpy as np

from avstudio.core.errors import UserError


def log_f0_stats(f0s: list[np.ndarray]) -> tuple[float, float]:
    """Mean and std of log F0 over the voiced frames of a speaker (never log(0))."""
    v = np.concatenate([f[f > 0] for f in f0s]) if f0s else np.zeros(0)
    if len(v) < 2:
        raise UserError("No voiced speech was found for this speaker (silence, noise or music?).")
    lf = np.log(v)
    return float(lf.mean()), float(max(lf.std(), 1e-3))


def convert_f0(f0: np.ndarray, src: tuple[float, float], tgt: tuple[float, float]) -> np.ndarray:
    """Log-Gaussian normalized transform of voiced frames onto the target speaker; unvoiced stay 0."""
    f0 = np.asarray(f0, np.float64)
    out = np.zeros_like(f0)
    v = f0 > 0
    out[v] = np.exp((np.log(f0[v]) - src[0]) / src[1] * tgt[1] + tgt[0])
    return out

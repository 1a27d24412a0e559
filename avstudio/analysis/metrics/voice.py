"""Objective voice-conversion metrics on WORLD features (numpy only).

* MCD (mel-cepstral distortion, dB) over coefficients 1..D-1 (energy c0 left out, as usual),
  frame-aligned or after DTW alignment when the utterances are parallel but not time-aligned;
* F0 RMSE (Hz and cents) and correlation over frames voiced in both;
* log-F0 mean/std of converted speech against the target speaker's.
"""

from __future__ import annotations

import numpy as np

MCD_K = 10.0 / np.log(10.0) * np.sqrt(2.0)


def _dtw_path(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import librosa

    _, wp = librosa.sequence.dtw(X=a.T, Y=b.T, metric="euclidean")
    wp = wp[::-1]
    return wp[:, 0], wp[:, 1]


def speech_frames(mcep: np.ndarray, below_peak_db: float = 40.0) -> np.ndarray:
    """Frames with speech energy (c0 within ``below_peak_db`` of the loudest): silence is left out."""
    c0 = mcep[:, 0]
    return c0 > c0.max() - below_peak_db / (20.0 / np.log(10.0))


def mcd(ref: np.ndarray, conv: np.ndarray, dtw: bool = True) -> float:
    """Mean MCD in dB between two MCEP sequences (N, D); speech frames of ``ref`` only."""
    a, b = np.asarray(ref, np.float64), np.asarray(conv, np.float64)
    if dtw:
        ia, ib = _dtw_path(a[:, 1:], b[:, 1:])
    else:
        n = min(len(a), len(b))
        ia = ib = np.arange(n)
    keep = speech_frames(a)[ia]
    d = a[ia][keep, 1:] - b[ib][keep, 1:]
    return float(np.mean(MCD_K * np.sqrt((d ** 2).sum(1))))


def f0_errors(ref_f0: np.ndarray, conv_f0: np.ndarray, ref_mcep=None, conv_mcep=None) -> dict:
    """F0 RMSE (Hz, cents) and Pearson correlation over frames voiced in both; aligned by DTW on
    the MCEPs when given, else frame by frame."""
    if ref_mcep is not None and conv_mcep is not None:
        ia, ib = _dtw_path(np.asarray(ref_mcep)[:, 1:], np.asarray(conv_mcep)[:, 1:])
    else:
        n = min(len(ref_f0), len(conv_f0))
        ia = ib = np.arange(n)
    a, b = np.asarray(ref_f0, np.float64)[ia], np.asarray(conv_f0, np.float64)[ib]
    both = (a > 0) & (b > 0)
    if both.sum() < 2:
        return {"f0_rmse_hz": None, "f0_rmse_cents": None, "f0_corr": None, "voiced_frames": int(both.sum())}
    a, b = a[both], b[both]
    cents = 1200.0 * np.log2(b / a)
    corr = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else None
    return {"f0_rmse_hz": float(np.sqrt(np.mean((a - b) ** 2))), "f0_rmse_cents": float(np.sqrt(np.mean(cents ** 2))),
            "f0_corr": corr, "voiced_frames": int(both.sum())}


def log_f0_report(conv_f0: np.ndarray, target: tuple[float, float]) -> dict:
    """Converted speech's log-F0 mean/std against the target speaker's, and the mean's distance in semitones."""
    v = np.asarray(conv_f0, np.float64)
    v = v[v > 0]
    if len(v) < 2:
        return {"log_f0_mean": None, "log_f0_std": None, "target_log_f0_mean": target[0],
                "target_log_f0_std": target[1], "mean_offset_semitones": None}
    lf = np.log(v)
    return {"log_f0_mean": float(lf.mean()), "log_f0_std": float(lf.std()), "target_log_f0_mean": target[0],
            "target_log_f0_std": target[1],
            "mean_offset_semitones": float((lf.mean() - target[0]) * 12.0 / np.log(2.0))}

"""Frame-wise features of speech: the log-mel spectrum and MFCCs on Wav2Lip's grid (16 kHz, 80 bands,
n_fft 800, hop 200: 12.5 ms), and loudness on a video's frame grid. Numpy and librosa's filter bank
only (no numba compilation, so the first call is as fast as the next)."""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 800
HOP = 200
N_MELS = 80
FMIN, FMAX = 55.0, 7600.0     # Wav2Lip's hparams
PREEMPHASIS = 0.97
N_MFCC = 13
FRAME_PERIOD_MS = 1000.0 * HOP / SAMPLE_RATE
FLOOR_DB = -100.0


def _stft_power(x: np.ndarray) -> np.ndarray:
    """(N, n_fft/2+1) power spectrum, frames centred on multiples of HOP (librosa's centre=True)."""
    pad = np.pad(x, (N_FFT // 2, N_FFT // 2), mode="reflect" if len(x) > N_FFT // 2 else "constant")
    n = 1 + (len(pad) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(pad, (n, N_FFT), (pad.strides[0] * HOP, pad.strides[0]))
    window = np.hanning(N_FFT + 1)[:-1]
    return np.abs(np.fft.rfft(frames * window, axis=1)) ** 2


def log_mel(x: np.ndarray) -> np.ndarray:
    """(N, 80) float32 log-mel spectrum in dB of 16 kHz mono audio (pre-emphasised as in Wav2Lip)."""
    from librosa.filters import mel

    x = np.asarray(x, np.float64)
    y = np.append(x[:1], x[1:] - PREEMPHASIS * x[:-1]) if len(x) else x
    bank = mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=FMIN, fmax=FMAX)
    amp = bank @ np.sqrt(_stft_power(y)).T
    return (20.0 * np.log10(np.maximum(amp.T, 1e-5))).astype(np.float32)


def mfcc(mel_db: np.ndarray, n: int = N_MFCC) -> np.ndarray:
    """(N, n) MFCCs: the orthonormal DCT-II of the log-mel spectrum."""
    from scipy.fft import dct

    return dct(np.asarray(mel_db, np.float64), type=2, axis=1, norm="ortho")[:, :n].astype(np.float32)


def frame_times(n_frames: int, fps: float) -> np.ndarray:
    """Centre of each video frame in seconds (frame i spans [i/fps, (i+1)/fps))."""
    return (np.arange(n_frames) + 0.5) / float(fps)


def loudness(x: np.ndarray, sample_rate: int, fps: float, n_frames: int) -> np.ndarray:
    """(n_frames,) RMS level in dBFS over each video frame's span (FLOOR_DB past the sound's end)."""
    x = np.asarray(x, np.float64)
    edges = np.round(np.arange(n_frames + 1) * sample_rate / float(fps)).astype(np.int64)
    edges = np.clip(edges, 0, len(x))
    c = np.concatenate([[0.0], np.cumsum(x * x)])
    count = np.maximum(edges[1:] - edges[:-1], 1)
    power = (c[edges[1:]] - c[edges[:-1]]) / count
    out = 10 * np.log10(np.maximum(power, 1e-10))
    out[edges[1:] <= edges[:-1]] = FLOOR_DB
    return np.maximum(out, FLOOR_DB).astype(np.float32)


def on_frames(values: np.ndarray, period_s: float, fps: float, n_frames: int) -> np.ndarray:
    """Values on a regular grid (row k at k·period_s, held over the span) read at each video frame's centre."""
    if len(values) == 0:
        return np.zeros((n_frames,) + values.shape[1:], np.float32)
    k = np.clip(np.floor(frame_times(n_frames, fps) / period_s).astype(np.int64), 0, len(values) - 1)
    return values[k]

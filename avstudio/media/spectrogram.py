"""A voice's spectrogram on the semitone scale, as the pitch editor draws it under the F0 curve."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from avstudio.core.pitch import midi_to_hz
from avstudio.core.progress import Progress
from avstudio.media.audio import load_audio

MIDI_LO, MIDI_HI = 28, 88  # E1 (41 Hz) … E6 (1.3 kHz)
ROWS_PER_SEMITONE = 4


def spectrogram_job(path: str, sample_rate: int, frame_period_ms: float = 5.0) -> Iterator[Progress]:
    """Job: log-magnitude spectrogram (dB) of an audio file, rows MIDI_LO…MIDI_HI (4 per semitone),
    one column per ``frame_period_ms`` — the F0 track's grid."""
    yield Progress(0, 2, f"Spectrogram of {Path(path).name}")
    x = load_audio(path, sample_rate).samples
    hop = int(round(sample_rate * frame_period_ms / 1000))
    n_fft = 2048 if sample_rate > 16000 else 1024
    pad = np.pad(x, (n_fft // 2, n_fft // 2))
    frames = 1 + (len(pad) - n_fft) // hop
    window = np.hanning(n_fft).astype(np.float32)
    bins = midi_to_hz(np.arange(MIDI_LO * ROWS_PER_SEMITONE, MIDI_HI * ROWS_PER_SEMITONE) / ROWS_PER_SEMITONE)
    pos = bins * n_fft / sample_rate
    lo = np.floor(pos).astype(int)
    w = (pos - lo).astype(np.float32)
    out = np.empty((len(bins), frames), np.float32)
    step = 2048
    for a in range(0, frames, step):  # in blocks: bounded memory on long audio
        b = min(frames, a + step)
        idx = np.arange(a, b)[:, None] * hop + np.arange(n_fft)[None, :]
        mag = np.abs(np.fft.rfft(pad[idx] * window, axis=1))
        spec = (1 - w) * mag[:, lo] + w * mag[:, lo + 1]
        out[:, a:b] = (20 * np.log10(spec + 1e-6)).T
    yield Progress(2, 2, "Spectrogram ready")
    return out

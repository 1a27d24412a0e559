"""The waveform the timeline draws: a sound file's peak envelope."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from avstudio.core.progress import Progress
from avstudio.media.audio import load_audio

POINTS_PER_SECOND = 100


def waveform_job(path: str) -> Iterator[Progress]:
    """Job: (times in s, peaks in 0..1) of a sound file, 100 points per second."""
    yield Progress(0, None, "Reading audio")
    a = load_audio(path, 8000)
    step = 8000 // POINTS_PER_SECOND
    n = len(a.samples) // step * step
    peaks = np.abs(a.samples[:n]).reshape(-1, step).max(1) if n else np.zeros(0, np.float32)
    return np.arange(len(peaks)) / float(POINTS_PER_SECOND), peaks

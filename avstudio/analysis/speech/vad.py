"""Voice activity: silero VAD (MIT; the silero-vad wheel carries the model) read with torch, and the
speech segments its probabilities make.

The model file is found without importing the ``silero_vad`` package: its ``model`` module calls
``torch.set_num_threads(1)`` when imported, which would slow every later torch call of the process.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from avstudio.core.errors import UserError

CHUNK = 512                     # samples at 16 kHz: one probability per 32 ms
CHUNK_S = CHUNK / 16000.0
ON, OFF = 0.5, 0.35             # hysteresis: speech starts above ON and ends below OFF
MIN_SPEECH_S = 0.1              # shorter bursts are clicks, not speech
MIN_SILENCE_S = 0.15            # shorter pauses stay inside the speech segment
PAD_S = 0.03


def model_file() -> Path:
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("The voice-activity model (the silero-vad package) is not installed: run the install "
                        "command of README again.")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "silero_vad.jit"
    if not path.is_file():
        raise UserError(f"The voice-activity model is missing from the silero-vad package ({path}): reinstall it.")
    return path


def speech_probability(x16k: np.ndarray) -> np.ndarray:
    """(ceil(N/512),) probability of speech per 32 ms chunk of 16 kHz mono audio."""
    import torch

    model = torch.jit.load(str(model_file()), map_location="cpu")
    model.eval()
    x = torch.from_numpy(np.ascontiguousarray(x16k, np.float32))
    if len(x) < CHUNK:
        x = torch.nn.functional.pad(x, (0, CHUNK - len(x)))
    with torch.inference_mode():
        return model.audio_forward(x, 16000)[0].numpy().astype(np.float32)


def speech_segments(prob: np.ndarray, duration: float) -> list[tuple[float, float]]:
    """(start, end) seconds of speech: hysteresis on the probabilities, short pauses bridged, short
    bursts dropped, a little padding."""
    spans, start, on = [], 0.0, False
    for k, p in enumerate(prob):
        t = k * CHUNK_S
        if not on and p >= ON:
            on, start = True, t
        elif on and p < OFF:
            on = False
            spans.append([start, t])
    if on:
        spans.append([start, len(prob) * CHUNK_S])
    merged: list[list[float]] = []
    for a, b in spans:
        if merged and a - merged[-1][1] < MIN_SILENCE_S:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    out = [(max(0.0, a - PAD_S), min(duration, b + PAD_S)) for a, b in merged if b - a >= MIN_SPEECH_S]
    # padding must not make neighbours overlap
    return [(a, min(b, out[i + 1][0]) if i + 1 < len(out) else b) for i, (a, b) in enumerate(out)]

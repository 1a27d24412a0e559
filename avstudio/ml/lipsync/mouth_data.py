"""What the speech → mouth model reads from a project: the speech of a clip on an output frame grid
(log-mel windows, visemes, where someone speaks, loudness) and a clip's own mouth (the pose-normalized
offsets of the driven points from the person's neutral face, and where the face was found)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from avstudio.core import layers
from avstudio.core.errors import UserError
from avstudio.core.tracks import Flag
from avstudio.retarget.face import DRIVEN_POINTS
from avstudio.retarget.speech import SILENCE_HOLD_S

HELD_SHARE = 0.2          # the last fifth of the target is held out: never trained on
MIN_TRAIN_S = 5.0


@dataclass
class SpeechInputs:
    fps: float
    mel: np.ndarray        # (n, 80, S)
    vis: np.ndarray        # (n, V)
    speaking: np.ndarray   # (n,) bool: inside a speech segment
    still: np.ndarray      # (n,) bool: far enough from speech to hold the neutral mouth exactly
    loudness: np.ndarray   # (n,) dB


def speech_inputs(project, clip: str, fps: float, n: int | None = None) -> SpeechInputs:
    """A clip's speech on a grid of ``fps`` (``n`` frames; default: as long as the sound)."""
    from avstudio.analysis.speech.visemes import names
    from avstudio.ml.lipsync.mouth import mel_windows, viseme_frames

    mel = project.require_track(clip, layers.MEL)
    row = project.require_track(clip, layers.VISEMES)
    duration = float(row.meta.get("duration", 0.0))
    n = max(1, math.ceil(duration * fps - 1e-9)) if n is None else int(n)
    t = (np.arange(n) + 0.5) / fps
    speaking, near = np.zeros(n, bool), np.zeros(n, bool)
    for a, b, _ in project.require_track(clip, layers.VOICE_ACTIVITY).spans():
        speaking |= (t >= a) & (t < b)
        near |= (t >= a - SILENCE_HOLD_S) & (t < b + SILENCE_HOLD_S)
    curves = project.require_track(clip, layers.SPEECH)
    grid = float(Fraction(*curves.meta["fps"]))
    k = np.clip(np.floor(t * grid).astype(np.int64), 0, curves.length - 1)
    return SpeechInputs(fps, mel_windows(mel.arrays["values"], fps, n), viseme_frames(row.spans(), names(), fps, n),
                        speaking, ~near, curves.arrays["values"][k, 0].astype(np.float32))


@dataclass
class ClipMouth:
    offsets: np.ndarray     # (T, P, 2) frontal offsets of DRIVEN_POINTS from the neutral face
    usable: np.ndarray      # (T,)
    neutral: np.ndarray     # (68, 3)
    fps: float


def clip_mouth(project, clip: str) -> ClipMouth:
    from avstudio.analysis.face.analyse import clip_face

    face = clip_face(project, clip)
    idx = list(DRIVEN_POINTS)
    usable = (face.frontal_flags[:, idx] != Flag.MISSING).all(1)
    off = (face.frontal[:, idx, :2] - face.fit.neutral_array[idx, :2]).astype(np.float32)
    off[~usable] = 0.0
    ref = project.media_by_role(clip)
    return ClipMouth(off, usable, face.fit.neutral_array, float(ref.fps))


def split(n: int, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(training frames, held-out frames): the held-out block is the last HELD_SHARE of the clip."""
    cut = int(round(n * (1 - HELD_SHARE)))
    if cut / fps < MIN_TRAIN_S:
        raise UserError(f"The target is {n / fps:.1f} s long: the speech → mouth model needs at least "
                        f"{MIN_TRAIN_S / (1 - HELD_SHARE):.1f} s of it speaking (the last {HELD_SHARE:.0%} is held "
                        "out to score it).")
    return np.arange(cut), np.arange(cut, n)

"""The pitch scale: Hz ↔ MIDI note numbers (semitones; A4 = 69 = 440 Hz). Pitch is edited, drawn
and shifted on this scale, which is how it is heard. 0 Hz (unvoiced) maps to NaN, never to log(0)."""

from __future__ import annotations

import numpy as np

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def hz_to_midi(hz):
    hz = np.asarray(hz, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 69.0 + 12.0 * np.log2(np.where(hz > 0, hz, np.nan) / 440.0)


def midi_to_hz(m):
    return 440.0 * 2.0 ** ((np.asarray(m, np.float64) - 69.0) / 12.0)


def note_name(m: int) -> str:
    """"A4", "C3"."""
    return f"{NOTE_NAMES[int(m) % 12]}{int(m) // 12 - 1}"

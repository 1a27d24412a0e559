"""Editing an F0 curve (an :class:`F0Track`): every operation returns an undoable edit.

Pitch is drawn, shifted and smoothed in semitones (log frequency), which is how it is heard. The
track keeps WORLD's convention: ``f0`` is 0 Hz exactly where ``voiced`` is 0, so nothing downstream
ever takes log(0). Edits of one gesture (a pen stroke, a brush stroke) share a ``stroke`` id and
merge into one undo step.
"""

from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np

from avstudio.core.edits import ArrayEdit, CompoundEdit, GestureEdit
from avstudio.core.errors import UserError
from avstudio.core.pitch import hz_to_midi, midi_to_hz
from avstudio.core.project import Project
from avstudio.core.tracks import F0Track

MIN_HZ, MAX_HZ = 20.0, 2000.0  # what a drawn or shifted curve is kept inside


def _track(project: Project, track_id: str) -> F0Track:
    t = project.track(track_id)
    if not isinstance(t, F0Track):
        raise UserError(f"Track {t.name or track_id} is not an F0 curve.")
    return t


def _range(track: F0Track, start: int, stop: int) -> tuple[int, int]:
    start, stop = max(0, int(start)), min(track.length, int(stop))
    if stop <= start:
        raise UserError(f"The range {start}..{stop} holds no F0 frames.")
    return start, stop


def _edit(project: Project, track_id: str, frames, f0, voiced, text: str,
          stroke: Hashable | None = None) -> CompoundEdit | None:
    frames = np.asarray(frames, np.intp)
    if frames.size == 0:
        return None
    f0 = np.clip(np.asarray(f0, np.float64), 0.0, MAX_HZ)
    voiced = np.asarray(voiced, bool) & (f0 > 0)
    f0 = np.where(voiced, np.maximum(f0, MIN_HZ), 0.0)
    group = None if stroke is None else ("f0-stroke", stroke)
    edits = [ArrayEdit.make(project, track_id, "f0", (frames,), f0, text, group),
             ArrayEdit.make(project, track_id, "voiced", (frames,), voiced, text, group)]
    if stroke is not None:
        return GestureEdit(edits, text, ("f0-stroke", track_id, stroke))
    return CompoundEdit(edits, text)


def pen(project: Project, track_id: str, points: Sequence[tuple[float, float]],
        stroke: Hashable | None = None) -> CompoundEdit | None:
    """Draw through (frame, Hz) pointer positions: every frame between two successive positions is
    set on the straight line (in semitones) joining them, so a fast stroke leaves no gaps."""
    track = _track(project, track_id)
    pts = [(float(f), float(h)) for f, h in points if h > 0]
    if not pts:
        return None
    frames, values = [], []
    if len(pts) == 1:
        pts = pts * 2
    for (fa, ha), (fb, hb) in zip(pts[:-1], pts[1:]):
        if fb < fa:
            (fa, ha), (fb, hb) = (fb, hb), (fa, ha)
        lo, hi = int(np.ceil(fa - 0.5)), int(np.floor(fb + 0.5))
        lo, hi = max(lo, 0), min(hi, track.length - 1)
        if hi < lo:
            continue
        f = np.arange(lo, hi + 1)
        w = np.clip((f - fa) / (fb - fa), 0, 1) if fb > fa else np.zeros(len(f))
        st = (1 - w) * hz_to_midi(ha) + w * hz_to_midi(hb)
        frames.append(f)
        values.append(midi_to_hz(st))
    if not frames:
        return None
    frames = np.concatenate(frames)
    values = np.concatenate(values)
    frames, first = np.unique(frames[::-1], return_index=True)  # a frame drawn twice: the later value
    values = values[::-1][first]
    return _edit(project, track_id, frames, values, np.ones(len(frames), bool), "Draw pitch", stroke)


def line(project: Project, track_id: str, a: tuple[float, float], b: tuple[float, float]) -> CompoundEdit | None:
    """A straight line (in semitones) from point a to point b; the frames between become voiced."""
    return pen(project, track_id, [a, b])


def smooth(project: Project, track_id: str, start: int, stop: int, width: int = 9,
           stroke: Hashable | None = None) -> CompoundEdit | None:
    """Smoothing brush: a moving average (in semitones, ``width`` frames) over the voiced frames of
    start..stop; each voiced run is smoothed on its own, the voicing is unchanged."""
    track = _track(project, track_id)
    start, stop = _range(track, start, stop)
    f0 = track.arrays["f0"].astype(np.float64)
    voiced = track.arrays["voiced"].astype(bool)
    half = max(1, int(width) // 2)
    lo, hi = max(0, start - half), min(track.length, stop + half)
    st = hz_to_midi(f0[lo:hi])
    v = voiced[lo:hi] & np.isfinite(st)
    out = st.copy()
    k = np.ones(2 * half + 1)
    vals = np.where(v, st, 0.0)
    # Runs are separate: a frame averages only the voiced frames of its own run.
    run = np.cumsum(~v)
    for r in np.unique(run[v]):
        m = v & (run == r)
        idx = np.flatnonzero(m)
        seg = vals[idx[0]:idx[-1] + 1]
        n = np.convolve(seg, k, "same")
        d = np.convolve(np.ones(len(seg)), k, "same")
        out[idx] = (n / d)[idx - idx[0]]
    frames = np.arange(start, stop)
    keep = v[start - lo:stop - lo]
    frames = frames[keep]
    if not len(frames):
        return None
    return _edit(project, track_id, frames, midi_to_hz(out[frames - lo]), np.ones(len(frames), bool),
                 "Smooth pitch", stroke)


def shift(project: Project, track_id: str, start: int, stop: int, semitones: float) -> CompoundEdit | None:
    """Transpose the voiced frames of start..stop by ``semitones`` (+12 doubles F0 exactly)."""
    track = _track(project, track_id)
    start, stop = _range(track, start, stop)
    frames = np.arange(start, stop)[track.arrays["voiced"][start:stop].astype(bool)]
    if not len(frames):
        return None
    factor = 2.0 ** (float(semitones) / 12.0)
    new = track.arrays["f0"][frames].astype(np.float64) * factor
    return _edit(project, track_id, frames, new, np.ones(len(frames), bool),
                 f"Shift pitch {semitones:+g} st")


def fix_octaves(project: Project, track_id: str, start: int, stop: int, window: int = 41,
                threshold: float = 8.0) -> CompoundEdit | None:
    """Fold octave errors back: a voiced frame more than ``threshold`` semitones from the median of
    its neighbourhood is moved by whole octaves towards it."""
    track = _track(project, track_id)
    start, stop = _range(track, start, stop)
    f0 = track.arrays["f0"].astype(np.float64)
    voiced = track.arrays["voiced"].astype(bool)
    st = hz_to_midi(f0)
    half = window // 2
    frames, new = [], []
    for i in range(start, stop):
        if not voiced[i]:
            continue
        lo, hi = max(0, i - half), min(len(f0), i + half + 1)
        nb = st[lo:hi][voiced[lo:hi]]
        med = float(np.median(nb))
        d = st[i] - med
        if abs(d) > threshold:
            octaves = np.round(d / 12.0)
            frames.append(i)
            new.append(f0[i] / 2.0 ** octaves)
    if not frames:
        return None
    return _edit(project, track_id, frames, new, np.ones(len(frames), bool), "Fix octave jumps")


def set_voiced(project: Project, track_id: str, start: int, stop: int, voiced: bool,
               analysed_id: str | None = None) -> CompoundEdit | None:
    """Mark start..stop unvoiced (F0 0), or voiced: frames that have no F0 take the analysed curve's
    value where it has one, else the line (in semitones) between the nearest voiced neighbours."""
    track = _track(project, track_id)
    start, stop = _range(track, start, stop)
    frames = np.arange(start, stop)
    if not voiced:
        return _edit(project, track_id, frames, np.zeros(len(frames)), np.zeros(len(frames), bool), "Mark unvoiced")
    f0 = track.arrays["f0"].astype(np.float64).copy()
    if analysed_id is not None:
        ana = _track(project, analysed_id).arrays["f0"]
        fill = (f0[frames] <= 0) & (ana[frames] > 0)
        f0[frames[fill]] = ana[frames[fill]]
    have = np.flatnonzero(f0 > 0)
    if not len(have):
        raise UserError("There is no pitch anywhere to take the new voiced frames from: draw it with the pen.")
    need = frames[f0[frames] <= 0]
    f0[need] = midi_to_hz(np.interp(need, have, hz_to_midi(f0[have])))
    return _edit(project, track_id, frames, f0[frames], np.ones(len(frames), bool), "Mark voiced")


def reset(project: Project, track_id: str, analysed_id: str, start: int, stop: int) -> CompoundEdit | None:
    """Put start..stop back to the analysed curve (pitch and voicing)."""
    track = _track(project, track_id)
    ana = _track(project, analysed_id)
    if ana.length != track.length:
        raise UserError("The analysed curve does not match this F0 track (analyse the audio again).")
    start, stop = _range(track, start, stop)
    frames = np.arange(start, stop)
    return _edit(project, track_id, frames, ana.arrays["f0"][frames], ana.arrays["voiced"][frames].astype(bool),
                 "Reset pitch")


def set_frames(project: Project, track_id: str, frames, f0, voiced, text: str = "Import pitch") -> CompoundEdit | None:
    """Set given frames' pitch and voicing (an import)."""
    _track(project, track_id)
    return _edit(project, track_id, frames, f0, voiced, text)

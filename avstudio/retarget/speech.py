"""Speech → mouth without training (the viseme model): each viseme's mouth taken from the target's own
frames (the frame whose opening and width, measured from the person's neutral face in their own
range, are nearest the viseme's; the user can pick another), blended across neighbouring blocks for
coarticulation, with two hard rules users of talking-face tools ask for: the lips close on p, b and m,
and the closed neutral mouth holds still in silence (no jitter)."""

from __future__ import annotations

import numpy as np

from avstudio.analysis.face.curves import curve_values
from avstudio.analysis.speech.visemes import BILABIAL, SILENCE, table
from avstudio.core.tracks import Flag
from avstudio.retarget.face import DRIVEN_POINTS

TAIL_S = 0.04          # how far (σ, seconds) a block's shape reaches into its neighbours
TAIL_REACH = 4         # σ: beyond this a block's weight is below 1/3000 and left out
SILENCE_HOLD_S = 0.08  # frames this far from any speech block are exactly the neutral face
FRONTAL_YAW = 20.0     # degrees: frames turned further are not chosen as a viseme's mouth
WIDTH_WEIGHT = 0.5
JAW_RANGE = (0.35, 1.25)  # the viseme mouth scaled from quiet to loud syllables


def choose_frames(frontal: np.ndarray, usable: np.ndarray, yaw: np.ndarray, neutral: np.ndarray,
                  mouth_range: dict, chosen: dict | None = None) -> dict[str, int]:
    """{viseme: target frame} — the frontal frame whose mouth best matches each viseme's opening and
    width (shares of the person's range from their neutral face); ``chosen`` (the user's picks) wins."""
    cand = np.flatnonzero(usable & (np.abs(yaw) <= FRONTAL_YAW))
    if len(cand) == 0:
        cand = np.flatnonzero(usable)
    if len(cand) == 0:
        return {}
    c = curve_values(frontal[cand])
    n = curve_values(neutral[None])[0]
    o = (c[:, 0] - n[0]) / max(mouth_range["open"], 1e-6)
    w = (c[:, 1] - n[1]) / max(mouth_range["width"], 1e-6)
    out = {}
    for name, v in table().items():
        if name == SILENCE:
            continue
        cost = (o - v.open) ** 2 + WIDTH_WEIGHT * (w - v.width) ** 2
        out[name] = int(cand[int(np.argmin(cost))])
    for name, f in (chosen or {}).items():
        if name in out and 0 <= int(f) < len(frontal) and usable[int(f)]:
            out[name] = int(f)
    return out


def shapes(frontal: np.ndarray, frames: dict[str, int], neutral: np.ndarray) -> dict[str, np.ndarray]:
    """{viseme: (len(DRIVEN_POINTS), 2) offset of its mouth from the neutral face}; silence is 0."""
    idx = list(DRIVEN_POINTS)
    out = {name: frontal[f, idx, :2] - neutral[idx, :2] for name, f in frames.items()}
    out[SILENCE] = np.zeros((len(idx), 2))
    return out


def _with_silence(spans: list[tuple[float, float, str]], duration: float) -> list[tuple[float, float, str]]:
    """The blocks with the gaps between them (and before and after) as silence blocks."""
    out, t = [], 0.0
    for a, b, v in sorted(spans):
        if a > t + 1e-6:
            out.append((t, a, SILENCE))
        out.append((a, b, v))
        t = max(t, b)
    if duration > t + 1e-6:
        out.append((t, duration, SILENCE))
    return out


def jaw_from_loudness(loudness_db: np.ndarray, speaking: np.ndarray) -> np.ndarray:
    """(n,) how far the mouth opens at each frame, from the sound's loudness (JALI's jaw by volume:
    louder syllables open wider): JAW_RANGE across the 10th..95th percentile of the spoken frames."""
    lo, hi = JAW_RANGE
    db = np.asarray(loudness_db, np.float64)
    ref = db[speaking] if speaking.any() else db
    if len(ref) < 2:
        return np.ones(len(db))
    p10, p95 = np.percentile(ref, [10, 95])
    return np.clip(lo + (hi - lo) * (db - p10) / max(p95 - p10, 1e-6), lo, hi)


def mouth_offsets(spans: list[tuple[float, float, str]], duration: float, fps: float, n_out: int,
                  offsets: dict[str, np.ndarray], jaw: np.ndarray | None = None) -> np.ndarray:
    """(n_out, P, 2) mouth offsets from the neutral face at each output frame's centre: every block's
    shape weighted by its dominance — full inside the block, a Gaussian tail outside — scaled by ``jaw``
    (per frame, from loudness), then the lips closed on frames inside p/b/m blocks (or nearest a short
    one) and silence held exactly."""
    t = (np.arange(n_out) + 0.5) / float(fps)
    blocks = [(a, b, v) for a, b, v in _with_silence(spans, duration) if v in offsets]
    shape = next(iter(offsets.values())).shape
    if not blocks:
        return np.zeros((n_out,) + shape)
    starts = np.array([s[0] for s in blocks])
    ends = np.array([s[1] for s in blocks])
    # Each block weighs only on the frames its tail reaches: linear in the length of the sound.
    first = np.searchsorted(t, starts - TAIL_REACH * TAIL_S)
    last = np.searchsorted(t, ends + TAIL_REACH * TAIL_S)
    acc, total = np.zeros((n_out,) + shape), np.zeros(n_out)
    for (a, b, v), i0, i1 in zip(blocks, first, last):
        tt = t[i0:i1]
        w = table()[v].dominance * np.exp(-0.5 * (np.maximum(np.maximum(a - tt, tt - b), 0.0) / TAIL_S) ** 2)
        acc[i0:i1] += w[:, None, None] * offsets[v]
        total[i0:i1] += w
    out = acc / np.maximum(total, 1e-12)[:, None, None]
    if jaw is not None:
        out *= np.resize(np.asarray(jaw, np.float64), n_out)[:, None, None]
    near = np.zeros(n_out, bool)
    for a, b, v in blocks:
        if v != SILENCE:
            near[np.searchsorted(t, a - SILENCE_HOLD_S):np.searchsorted(t, b + SILENCE_HOLD_S)] = True
    out[~near] = 0.0
    for a, b, v in blocks:
        if v != BILABIAL:
            continue
        i0, i1 = np.searchsorted(t, a), np.searchsorted(t, b)
        inside = np.arange(i0, i1) if i1 > i0 else [int(np.clip(np.floor((a + b) / 2 * fps), 0, n_out - 1))]
        out[inside] = offsets[BILABIAL]
    return out


def speech_face(spans: list[tuple[float, float, str]], duration: float, fps: float, n_out: int,
                offsets: dict[str, np.ndarray], neutral: np.ndarray,
                jaw: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The driven face (n_out, 68, 3 frontal, in the target's units) and its flags: the neutral face
    with the viseme mouth on the driven points; every other point MISSING (the target's own)."""
    return face_from_offsets(mouth_offsets(spans, duration, fps, n_out, offsets, jaw), neutral)


def face_from_offsets(offsets: np.ndarray, neutral: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A driven face (n, 68, 3) and flags from mouth offsets (n, P, 2) of the driven points from the
    neutral face; the other points MISSING (the target's own)."""
    idx = list(DRIVEN_POINTS)
    n_out = len(offsets)
    points = np.zeros((n_out, 68, 3), np.float32)
    flags = np.full((n_out, 68), Flag.MISSING, np.uint8)
    points[:, idx, :2] = neutral[idx, :2] + offsets
    points[:, idx, 2] = 1.0
    flags[:, idx] = Flag.AUTO
    return points, flags

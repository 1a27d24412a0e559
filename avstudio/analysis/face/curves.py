"""Mouth and eye curves of frontal iBUG-68 landmarks (reference units: outer eye corners 1 apart), the
person's neutral (closed-mouth) face, and the landmark moves that set a mouth curve to a value (how a
drawn curve becomes mouth shapes).

iBUG 68: jaw 0–16, brows 17–26, nose 27–35, eyes 36–41 (the person's right) and 42–47 (left), outer
lips 48–59 (corners 48 and 54, top 51, bottom 57), inner lips 60–67 (top 61–63, bottom 65–67).
"""

from __future__ import annotations

import numpy as np

CURVES = ("mouth_open", "mouth_width", "lip_round", "eye_right", "eye_left")
EDITABLE = ("mouth_open", "mouth_width", "lip_round")   # curves whose edits move the lips
MOUTH = tuple(range(48, 68))
LOWER_LIP = (55, 56, 57, 58, 59, 65, 66, 67)
JAW_DROP = {5: 0.25, 6: 0.5, 7: 0.8, 8: 1.0, 9: 0.8, 10: 0.5, 11: 0.25}  # how far each jaw point follows the lip
INNER_PAIRS = ((61, 67), (62, 66), (63, 65))
NEUTRAL_SHARE = 0.1     # the share of frames with the most closed mouth that make the neutral face
NEUTRAL_MIN, NEUTRAL_MAX = 5, 200
FRONTAL_YAW = 20.0      # degrees: frames turned further do not make the neutral face


def _dist(p: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(p[..., a, :2] - p[..., b, :2], axis=-1)


def _ear(p: np.ndarray, e: int) -> np.ndarray:
    """Eye aspect ratio of the eye whose points start at ``e`` (36 or 42): high open, ≈0 closed."""
    return (_dist(p, e + 1, e + 5) + _dist(p, e + 2, e + 4)) / np.maximum(2 * _dist(p, e, e + 3), 1e-9)


def curve_values(frontal: np.ndarray) -> np.ndarray:
    """(T, 5) the CURVES of frontal landmarks (T, 68, ≥2)."""
    opening = np.mean([_dist(frontal, a, b) for a, b in INNER_PAIRS], axis=0)
    width = _dist(frontal, 48, 54)
    rounding = _dist(frontal, 51, 57) / np.maximum(width, 1e-9)
    return np.stack([opening, width, rounding, _ear(frontal, 36), _ear(frontal, 42)], -1)


def neutral_frames(values: np.ndarray, ok: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """The frames whose mouth is most closed (the neutral face), among frontal frames with a face."""
    cand = np.flatnonzero(ok & (np.abs(yaw) <= FRONTAL_YAW))
    if len(cand) == 0:
        cand = np.flatnonzero(ok)
    if len(cand) == 0:
        return cand
    n = int(np.clip(round(NEUTRAL_SHARE * len(cand)), min(NEUTRAL_MIN, len(cand)), NEUTRAL_MAX))
    return np.sort(cand[np.argsort(values[cand, 0], kind="stable")[:n]])


def mouth_range(values: np.ndarray, ok: np.ndarray, neutral: np.ndarray) -> dict:
    """How far the person's mouth opens and widens from their neutral face (95th percentile): what
    scales one person's mouth motion to another's."""
    neutral_values = curve_values(neutral[None])[0]
    if not ok.any():
        return {"open": 0.0, "width": 0.0}
    v = values[ok]
    return {"open": float(max(np.percentile(v[:, 0], 95) - neutral_values[0], 1e-3)),
            "width": float(max(np.percentile(np.abs(v[:, 1] - neutral_values[1]), 95), 1e-3))}


def set_curve(frontal: np.ndarray, name: str, value: float) -> np.ndarray:
    """One frame's frontal landmarks (68, ≥2) with the lips moved so that the curve ``name`` reads
    ``value``: the opening lowers the lower lip and the chin with it; the width (and the rounding, a
    height-to-width ratio, through the width) moves the lips sideways about the mouth's centre."""
    out = np.array(frontal, np.float64, copy=True)
    now = curve_values(out[None])[0]
    if name == "mouth_open":
        for _ in range(4):  # the gap is a distance, not a height: a few steps close the difference
            drop = float(value) - curve_values(out[None])[0][0]
            out[list(LOWER_LIP), 1] += drop
            for j, k in JAW_DROP.items():
                out[j, 1] += k * drop
    elif name in ("mouth_width", "lip_round"):
        width = float(value) if name == "mouth_width" else _dist(out, 51, 57) / max(float(value), 1e-3)
        cx = 0.5 * (out[48, 0] + out[54, 0])
        out[list(MOUTH), 0] = cx + (out[list(MOUTH), 0] - cx) * (width / max(now[1], 1e-9))
    else:
        raise ValueError(f"the curve {name!r} does not move the lips (editable: {', '.join(EDITABLE)})")
    return out


def expression(frontal: np.ndarray, neutral: np.ndarray, strength: float, points=MOUTH + tuple(JAW_DROP)) -> np.ndarray:
    """Landmarks (T, 68, ≥2) with the motion of ``points`` away from the neutral face scaled by
    ``strength`` (0: neutral, 1: as it is, 2: twice as much)."""
    out = np.array(frontal, np.float64, copy=True)
    idx = list(points)
    d = out.shape[-1]
    out[:, idx] = neutral[idx, :d] + strength * (out[:, idx] - neutral[idx, :d])
    return out

"""The review list: frames worth a look, ranked, each with its reasons.

Works on BODY_25 points (derived from the stored track), so it speaks the OpenPose vocabulary users
know. Each check scores frames in "how far from normal" units; a frame's score is the sum. The checks
are vectorized over the clip (a 10-minute track takes a fraction of a second) and listed in CHECKS.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from avstudio.core.skeletons import skeleton
from avstudio.core.tracks import Flag

ANKLES = (11, 14)
# Long limb bones only: upper arms, forearms, thighs, shins. Short bones (feet, face, hips,
# shoulders) foreshorten by 2× whenever the person turns, so their length says little.
LONG_BONES = ((2, 3), (3, 4), (5, 6), (6, 7), (9, 10), (10, 11), (12, 13), (13, 14))


@dataclass
class ReviewItem:
    frame: int
    score: float
    reasons: list[str] = field(default_factory=list)


@dataclass
class Clip:
    """What every check needs of a track, computed once."""

    points: np.ndarray   # (T, 25, 3)
    present: np.ndarray  # (T, 25) bool
    found: np.ndarray    # (T,) bool: any point of the subject
    size: np.ndarray     # (T,) person size in px (NaN where unknown)
    names: tuple


Finding = tuple[np.ndarray, np.ndarray, list[str]]  # frames, scores, one reason per frame


class _NanQuiet:
    """Silence numpy's all-NaN warnings: frames without a person are NaN on purpose."""

    def __enter__(self):
        self._err = np.seterr(all="ignore")
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)
        np.seterr(**self._err)


def _robust_z(values: np.ndarray) -> np.ndarray:
    """|x - median| / (1.4826 MAD), NaN-aware."""
    with _NanQuiet():
        med = np.nanmedian(values)
        mad = np.nanmedian(np.abs(values - med)) * 1.4826
    return np.abs(values - med) / max(mad, 1e-6)


def lost_subject(c: Clip) -> Finding:
    """Frames without the subject between frames with it (a lost subject, not an empty scene)."""
    idx = np.flatnonzero(c.found)
    if not len(idx):
        return np.zeros(0, int), np.zeros(0), []
    span = np.arange(idx[0], idx[-1] + 1)
    frames = span[~c.found[span]]
    return frames, np.full(len(frames), 3.0), ["subject lost (no keypoints) between found frames"] * len(frames)


def low_confidence(c: Clip, low_conf: float = 0.5) -> Finding:
    with _NanQuiet():
        mean = np.nanmean(np.where(c.present, c.points[..., 2], np.nan), 1)
    frames = np.flatnonzero(c.found & (mean < low_conf))
    scores = 2.0 * (low_conf - mean[frames]) / low_conf + 1.0
    return frames, scores, [f"low confidence (mean {mean[f]:.2f})" for f in frames]


def jitter(c: Clip, jitter_z: float = 6.0) -> Finding:
    """Acceleration outliers, in units of person size, per joint (the worst joint names the frame)."""
    T, J = c.present.shape
    if T < 3:
        return np.zeros(0, int), np.zeros(0), []
    acc = np.full((T, J), np.nan)
    ok = c.present[:-2] & c.present[1:-1] & c.present[2:]
    a = c.points[2:, :, :2] - 2 * c.points[1:-1, :, :2] + c.points[:-2, :, :2]
    with _NanQuiet():
        acc[1:-1] = np.where(ok, np.linalg.norm(a, axis=-1), np.nan) / c.size[1:-1, None]
    if np.isfinite(acc).sum() <= 10:
        return np.zeros(0, int), np.zeros(0), []
    z = np.where(np.isfinite(acc), _robust_z(acc), -np.inf)
    worst = z.max(1)
    frames = np.flatnonzero(worst > jitter_z)
    joints = z[frames].argmax(1)
    return frames, np.minimum(worst[frames] / jitter_z, 5.0), [f"jitter at {c.names[j]}" for j in joints]


def bone_lengths(c: Clip, bone_ratio: float = 2.0) -> Finding:
    """Long bones far from the clip's median length (relative to person size): the worst bone per frame."""
    T = len(c.points)
    dev = np.zeros(T)
    reason: dict[int, str] = {}
    for a_, b_ in LONG_BONES:
        ok = c.present[:, a_] & c.present[:, b_]
        if ok.sum() < 5:
            continue
        with _NanQuiet():
            length = np.linalg.norm(c.points[:, a_, :2] - c.points[:, b_, :2], axis=1) / c.size
            med = np.nanmedian(length[ok])
        if not med > 0:
            continue
        ratio = length / med
        off = np.maximum(ratio, 1 / np.maximum(ratio, 1e-6))
        hit = ok & ((ratio > bone_ratio) | (ratio < 1 / bone_ratio)) & (off > dev)
        for f in np.flatnonzero(hit):
            reason[int(f)] = f"{c.names[a_]}–{c.names[b_]} is {ratio[f]:.1f}× its usual length"
        dev = np.where(hit, off, dev)
    frames = np.array(sorted(reason), int)
    return frames, 1.0 + 0.5 * (dev[frames] - bone_ratio), [reason[int(f)] for f in frames]


def swaps(c: Clip) -> Finding:
    """Left/right pairs that match the previous frame better crossed than straight."""
    out_f, out_r = [], []
    p, q = c.points[1:, :, :2], c.points[:-1, :, :2]
    for l, r in skeleton("body25").mirror:
        ok = c.present[1:, l] & c.present[1:, r] & c.present[:-1, l] & c.present[:-1, r]
        straight = np.linalg.norm(p[:, l] - q[:, l], axis=1) + np.linalg.norm(p[:, r] - q[:, r], axis=1)
        crossed = np.linalg.norm(p[:, l] - q[:, r], axis=1) + np.linalg.norm(p[:, r] - q[:, l], axis=1)
        with _NanQuiet():
            apart = np.linalg.norm(q[:, l] - q[:, r], axis=1) / c.size[:-1]
        frames = np.flatnonzero(ok & (crossed < 0.5 * straight) & (apart > 0.05)) + 1
        out_f.append(frames)
        out_r += [f"left/right swap of {c.names[l]} and {c.names[r]}?"] * len(frames)
    frames = np.concatenate(out_f) if out_f else np.zeros(0, int)
    return frames, np.full(len(frames), 2.0), out_r


def missing_ankles(c: Clip) -> Finding:
    """Frames where the subject is there but an ankle is not (normalization falls back to nose/torso)."""
    miss = np.stack([~c.present[:, a] | (c.points[:, a, 2] < 0.3) for a in ANKLES], 1) & c.found[:, None]
    frames = np.flatnonzero(miss.any(1))
    reasons = ["missing " + " and ".join(c.names[a] for a, m in zip(ANKLES, miss[f]) if m) for f in frames]
    return frames, 0.5 * miss[frames].sum(1), reasons


CHECKS = (lost_subject, low_confidence, jitter, bone_lengths, swaps, missing_ankles)


def clip_of(points: np.ndarray, flags: np.ndarray) -> Clip:
    present = flags != Flag.MISSING
    with _NanQuiet():
        y = np.where(present, points[..., 1], np.nan)
        x = np.where(present, points[..., 0], np.nan)
        size = np.fmax(np.nanmax(y, 1) - np.nanmin(y, 1), np.nanmax(x, 1) - np.nanmin(x, 1))
    size = np.where(np.isfinite(size) & (size > 1), size, np.nan)
    return Clip(points, present, present.any(1), size, tuple(skeleton("body25").joints))


def review(points: np.ndarray, flags: np.ndarray) -> list[ReviewItem]:
    """Rank frames of a BODY_25 track (T, 25, 3) for checking, highest score first."""
    c = clip_of(points, flags)
    items: dict[int, ReviewItem] = {}
    for check in CHECKS:
        frames, scores, reasons = check(c)
        for f, s, why in zip(frames.tolist(), np.asarray(scores, float).tolist(), reasons):
            it = items.setdefault(f, ReviewItem(f, 0.0))
            it.score += s
            it.reasons.append(why)
    return sorted(items.values(), key=lambda it: (-it.score, it.frame))


def flagged_frames(points: np.ndarray, flags: np.ndarray, threshold: float = 1.0) -> list[int]:
    """The frames the timeline marks: a review score of ``threshold`` or more."""
    return sorted(it.frame for it in review(points, flags) if it.score >= threshold)

"""The review list: frames worth a look, ranked, each with its reasons.

Works on BODY_25 points (derived from the stored track), so it speaks the OpenPose vocabulary users
know. Each check scores a frame in "how far from normal" units; a frame's score is the sum.
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


def _robust_z(values: np.ndarray) -> np.ndarray:
    """|x - median| / (1.4826 MAD), NaN-aware."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(values)
        mad = np.nanmedian(np.abs(values - med)) * 1.4826
    return np.abs(values - med) / max(mad, 1e-6)


def review(points: np.ndarray, flags: np.ndarray, *, low_conf: float = 0.5, jitter_z: float = 6.0,
           bone_ratio: float = 2.0) -> list[ReviewItem]:
    """Rank frames of a BODY_25 track (T, 25, 3) for checking. Frames with no subject at all are
    listed only where they interrupt a run of found frames (a lost subject, not an empty scene)."""
    T = len(points)
    skel = skeleton("body25")
    present = flags != Flag.MISSING
    found = present.any(1)
    items: dict[int, ReviewItem] = {}

    def add(frame: int, score: float, reason: str):
        it = items.setdefault(int(frame), ReviewItem(int(frame), 0.0))
        it.score += float(score)
        it.reasons.append(reason)

    # Person size per frame, to make distances comparable across the clip.
    y = np.where(present, points[..., 1], np.nan)
    x = np.where(present, points[..., 0], np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        size = np.fmax(np.nanmax(y, 1) - np.nanmin(y, 1), np.nanmax(x, 1) - np.nanmin(x, 1))
    size = np.where(np.isfinite(size) & (size > 1), size, np.nan)

    # Lost subject inside the clip.
    idx = np.flatnonzero(found)
    if len(idx):
        for f in range(idx[0], idx[-1] + 1):
            if not found[f]:
                add(f, 3.0, "subject lost (no keypoints) between found frames")

    # Low confidence.
    conf = np.where(present, points[..., 2], np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames with nobody: NaN, handled below
        mean_conf = np.nanmean(conf, 1)
    for f in np.flatnonzero(found & (mean_conf < low_conf)):
        add(f, 2.0 * (low_conf - mean_conf[f]) / low_conf + 1.0, f"low confidence (mean {mean_conf[f]:.2f})")

    # Jitter: acceleration outliers, in units of person size, per joint.
    if T >= 3:
        acc = np.full((T, points.shape[1]), np.nan)
        ok = present[:-2] & present[1:-1] & present[2:]
        a = points[2:, :, :2] - 2 * points[1:-1, :, :2] + points[:-2, :, :2]
        acc[1:-1] = np.where(ok, np.linalg.norm(a, axis=-1), np.nan) / size[1:-1, None]
        finite = acc[np.isfinite(acc)]
        if len(finite) > 10:
            z = _robust_z(acc)
            for f in range(T):
                zz = z[f]
                if np.isfinite(zz).any() and np.nanmax(zz) > jitter_z:
                    j = int(np.nanargmax(zz))
                    add(f, min(np.nanmax(zz) / jitter_z, 5.0), f"jitter at {skel.joints[j]}")

    # Long bones far from the clip's median length (relative to person size): one reason per frame,
    # naming the worst bone.
    worst: dict[int, tuple[float, str]] = {}
    for a_, b_ in LONG_BONES:
        ok = present[:, a_] & present[:, b_]
        if ok.sum() < 5:
            continue
        length = np.linalg.norm(points[:, a_, :2] - points[:, b_, :2], axis=1) / size
        med = np.nanmedian(length[ok])
        if med <= 0:
            continue
        ratio = length / med
        for f in np.flatnonzero(ok & ((ratio > bone_ratio) | (ratio < 1 / bone_ratio))):
            dev = max(ratio[f], 1 / max(ratio[f], 1e-6))
            if dev > worst.get(int(f), (0, ""))[0]:
                worst[int(f)] = (dev, f"{skel.joints[a_]}–{skel.joints[b_]} is {ratio[f]:.1f}× its usual length")
    for f, (dev, reason) in worst.items():
        add(f, 1.0 + 0.5 * (dev - bone_ratio), reason)

    # Left/right swaps: the pair matches the previous frame better crossed than straight.
    for l, r in skel.mirror:
        ok = present[1:, l] & present[1:, r] & present[:-1, l] & present[:-1, r]
        p, q = points[1:, :, :2], points[:-1, :, :2]
        straight = np.linalg.norm(p[:, l] - q[:, l], axis=1) + np.linalg.norm(p[:, r] - q[:, r], axis=1)
        crossed = np.linalg.norm(p[:, l] - q[:, r], axis=1) + np.linalg.norm(p[:, r] - q[:, l], axis=1)
        apart = np.linalg.norm(q[:, l] - q[:, r], axis=1) / size[:-1]
        for f in np.flatnonzero(ok & (crossed < 0.5 * straight) & (apart > 0.05)):
            add(f + 1, 2.0, f"left/right swap of {skel.joints[l]} and {skel.joints[r]}?")

    # Missing ankles on frames where the subject is there (normalization falls back to nose/torso).
    for f in np.flatnonzero(found):
        miss = [skel.joints[a] for a in ANKLES if not present[f, a] or points[f, a, 2] < 0.3]
        if miss:
            add(f, 0.5 * len(miss), "missing " + " and ".join(miss))

    return sorted(items.values(), key=lambda it: (-it.score, it.frame))

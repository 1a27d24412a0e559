"""Keypoint metrics between two tracks of one layout: distance normalised by person height and PCK.

Everybody Dance Now scores generated frames this way: detect the pose on them and compare with the
pose they were generated from. Only joints present in both tracks count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avstudio.analysis.landmarks.layouts import person_height
from avstudio.core.tracks import Flag


@dataclass
class PoseScores:
    distance: float        # mean keypoint distance / person height (lower is better)
    pck_005: float         # fraction of joints within 0.05 × height
    pck_010: float         # within 0.1 × height
    joints_compared: int
    frames_compared: int
    frames_missing: int    # frames where the reference has a person and the other track none

    def to_json(self) -> dict:
        return dict(self.__dict__)


def compare(ref_points, ref_flags, pts, flags) -> PoseScores:
    """Score ``pts`` against ``ref_points`` (same layout, same frames). A frame where the reference
    has a person and the other has nobody counts every reference joint as a miss."""
    if ref_points.shape != pts.shape:
        raise ValueError(f"tracks differ in shape: {ref_points.shape} vs {pts.shape}")
    height = person_height(ref_points, ref_flags)
    ref_ok = ref_flags != Flag.MISSING
    ok = ref_ok & (flags != Flag.MISSING)
    dist = np.linalg.norm(ref_points[..., :2] - pts[..., :2], axis=-1) / np.where(height > 0, height, np.nan)[:, None]
    valid_frames = np.isfinite(height)
    ok &= valid_frames[:, None]
    n = int(ok.sum())
    person_frames = ref_ok.any(1) & valid_frames
    missing_frames = person_frames & ~(flags != Flag.MISSING).any(1)
    # Joints the reference has but the other does not are misses for PCK.
    counted = ref_ok & person_frames[:, None]
    total = int(counted.sum())
    hits5 = int((ok & (dist < 0.05)).sum())
    hits10 = int((ok & (dist < 0.10)).sum())
    return PoseScores(float(np.nanmean(dist[ok])) if n else float("nan"),
                      hits5 / total if total else float("nan"), hits10 / total if total else float("nan"),
                      n, int(person_frames.sum()), int(missing_frames.sum()))

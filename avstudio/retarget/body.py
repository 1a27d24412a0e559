"""Global pose normalization (Everybody Dance Now, Chan et al. 2019) with a multi-level fallback.

Per clip, from the lower ankle's y (the floor contact) over all frames: the *close* position is the
largest ankle y (nearest the camera), the *far* position the median of the ankle ys above the clip's
median; the person's height is measured near each. A source frame whose ankle sits at y is scaled by
the scale interpolated linearly between far and close (target height / source height at each), and
moved so its ankle lands on the target's floor line at the same relative depth.

Where a frame's ankles are missing (occlusion, cropping), its floor point is estimated from the nose
and then from the torso (mid-hip with the torso's length), using ratios measured on the clip's
frames that do have ankles — so normalization never fails outright. Everything is in BODY_25.

The statistics are plain numbers in :class:`ClipStats`; the user may override any of them (the
editor lets the floor lines be dragged).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from avstudio.core.errors import UserError
from avstudio.core.tracks import Flag

NOSE, NECK, MIDHIP, RANKLE, LANKLE = 0, 1, 8, 11, 14
LEVELS = ("ankles", "nose", "torso", "none")


@dataclass
class ClipStats:
    far_y: float          # floor y (image px) at the farthest position
    close_y: float        # floor y at the closest position
    far_height: float     # person height (px) there
    close_height: float
    center_x: float       # the clip's median horizontal position (mid-hip)
    nose_ratio: float     # (floor y − nose y) / torso length, for the nose fallback
    hip_ratio: float      # (floor y − mid-hip y) / torso length, for the torso fallback

    def to_json(self) -> dict:
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, d: dict) -> ClipStats:
        return cls(**{k: float(d[k]) for k in cls.__dataclass_fields__})


MAX_PX = 1e5  # beyond any frame: a statistic there is a typing slip
# What a user may set each statistic to: finite pixels (heights positive: the scale divides by them)
# and positive torso ratios (a floor above the nose would stand the person on their head).
OVERRIDE_LIMITS = {"far_y": (-MAX_PX, MAX_PX), "close_y": (-MAX_PX, MAX_PX), "far_height": (1.0, MAX_PX),
                   "close_height": (1.0, MAX_PX), "center_x": (-MAX_PX, MAX_PX), "nose_ratio": (0.01, 20.0),
                   "hip_ratio": (0.01, 20.0)}
SIDES = ("source", "target")


def check_override(key: str, value) -> float:
    """The number a user set for statistic ``key`` ("target.far_y"), or a UserError naming the key and
    the values it may take."""
    side, _, name = str(key).partition(".")
    if side not in SIDES or name not in OVERRIDE_LIMITS:
        raise UserError(f"Unknown statistic {key!r}: use source.<field> or target.<field> with a field of "
                        f"{', '.join(OVERRIDE_LIMITS)}.")
    low, high = OVERRIDE_LIMITS[name]
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not low <= number <= high:  # written so that NaN fails too
        raise UserError(f"{key} must be a number from {low:g} to {high:g}; got {value!r}.")
    return number


def _present(flags, j):
    return flags[:, j] != Flag.MISSING


def floor_points(points: np.ndarray, flags: np.ndarray, stats: ClipStats | None = None):
    """(T,) floor y per frame and (T,) fallback level used (0 ankles, 1 nose, 2 torso, 3 none)."""
    T = len(points)
    ankles = np.stack([_present(flags, RANKLE), _present(flags, LANKLE)], 1)
    ay = np.where(ankles, points[:, [RANKLE, LANKLE], 1], -np.inf).max(1)
    floor = np.full(T, np.nan)
    level = np.full(T, 3, np.int8)
    has_ankle = ankles.any(1)
    floor[has_ankle] = ay[has_ankle]
    level[has_ankle] = 0
    torso_ok = _present(flags, NECK) & _present(flags, MIDHIP)
    torso = np.linalg.norm(points[:, NECK, :2] - points[:, MIDHIP, :2], axis=1)
    if stats is None:
        nose_ratio, hip_ratio = _ratios(points, flags, floor, torso, torso_ok)
    else:
        nose_ratio, hip_ratio = stats.nose_ratio, stats.hip_ratio
    use_nose = ~has_ankle & _present(flags, NOSE) & torso_ok & np.isfinite(nose_ratio)
    floor[use_nose] = points[use_nose, NOSE, 1] + nose_ratio * torso[use_nose]
    level[use_nose] = 1
    use_torso = ~has_ankle & ~use_nose & torso_ok & np.isfinite(hip_ratio)
    floor[use_torso] = points[use_torso, MIDHIP, 1] + hip_ratio * torso[use_torso]
    level[use_torso] = 2
    return floor, level


def _ratios(points, flags, floor, torso, torso_ok):
    base = np.isfinite(floor) & torso_ok & (torso > 1)
    nose_ok = base & _present(flags, NOSE)
    nose_ratio = np.median((floor[nose_ok] - points[nose_ok, NOSE, 1]) / torso[nose_ok]) if nose_ok.any() else np.nan
    hip_ratio = np.median((floor[base] - points[base, MIDHIP, 1]) / torso[base]) if base.any() else np.nan
    return float(nose_ratio), float(hip_ratio)


def _heights(points, flags):
    """Head-to-floor height per frame: from the top-most present head point to the lower ankle."""
    present = flags != Flag.MISSING
    head = [NOSE, 15, 16, 17, 18]
    hy = np.where(present[:, head], points[:, head, 1], np.inf).min(1)
    ankles = [RANKLE, LANKLE]
    ay = np.where(present[:, ankles], points[:, ankles, 1], -np.inf).max(1)
    h = ay - hy
    h[~np.isfinite(h)] = np.nan
    return h


def clip_stats(points: np.ndarray, flags: np.ndarray, *, near: float = 0.05) -> ClipStats:
    """The normalization statistics of one clip (BODY_25 points)."""
    floor, level = floor_points(points, flags)
    real = level == 0
    if real.sum() < 2:
        raise UserError("Too few frames with visible ankles to measure the floor (need at least 2). "
                        "Fix some ankles by hand, or set the floor lines yourself.")
    ys = floor[real]
    close_y = float(np.max(ys))
    med = np.median(ys)
    far_y = float(np.median(ys[ys <= med]))
    heights = _heights(points, flags)
    span = max(close_y - far_y, 1.0)
    near_close = real & (np.abs(floor - close_y) <= near * span + 1) & np.isfinite(heights)
    near_far = real & (np.abs(floor - far_y) <= near * span + 1) & np.isfinite(heights)
    all_h = heights[real & np.isfinite(heights)]
    if not len(all_h):
        raise UserError("No frame shows both the head and an ankle, so the person's height is unknown.")
    close_h = float(np.max(heights[near_close])) if near_close.any() else float(np.max(all_h))
    far_h = float(np.max(heights[near_far])) if near_far.any() else float(np.median(all_h))
    hip_ok = _present(flags, MIDHIP)
    center_x = float(np.median(points[hip_ok, MIDHIP, 0])) if hip_ok.any() else float(np.median(points[real, 0, 0]))
    torso_ok = _present(flags, NECK) & _present(flags, MIDHIP)
    torso = np.linalg.norm(points[:, NECK, :2] - points[:, MIDHIP, :2], axis=1)
    nose_ratio, hip_ratio = _ratios(points, flags, floor, torso, torso_ok)
    return ClipStats(far_y, close_y, far_h, close_h, center_x, nose_ratio, hip_ratio)


MIN_SPAN = 0.25  # of the person's height: a source moving less in depth counts as one depth


def effective_span(stats: ClipStats) -> tuple[float, float]:
    """(far_y, close_y) used to place frames in depth. When a clip hardly moves towards or away from
    the camera (sports2d: 25 px of floor for a 375 px person), the linear floor mapping would turn
    ankle jitter into large jumps in the target's depth; such a clip is treated as walking at one
    depth — its span widened to MIN_SPAN of the person's height around its middle."""
    span = stats.close_y - stats.far_y
    need = MIN_SPAN * max(stats.close_height, stats.far_height)
    if span >= need:
        return stats.far_y, stats.close_y
    mid = (stats.far_y + stats.close_y) / 2
    return mid - need / 2, mid + need / 2


def normalize(points: np.ndarray, flags: np.ndarray, src: ClipStats, tgt: ClipStats, *,
              median: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Map source BODY_25 points into the target's space. Returns (points, flags, level per frame).
    Frames with no usable reference (no ankles, nose or torso) keep MISSING flags."""
    floor, level = floor_points(points, flags, src)
    far_y, close_y = effective_span(src)
    t = (floor - far_y) / (close_y - far_y)
    scale_far = tgt.far_height / src.far_height
    scale_close = tgt.close_height / src.close_height
    scale = scale_far + np.clip(t, -0.5, 1.5) * (scale_close - scale_far)
    tgt_floor = tgt.far_y + t * (tgt.close_y - tgt.far_y)
    out = points.astype(np.float64).copy()
    # About the floor point: y scales around it; x scales around the clip's centre line.
    out[..., 1] = (points[..., 1] - floor[:, None]) * scale[:, None] + tgt_floor[:, None]
    out[..., 0] = (points[..., 0] - src.center_x) * scale[:, None] + tgt.center_x
    out_flags = flags.copy()
    unusable = level == 3
    out_flags[unusable] = Flag.MISSING
    out[unusable, :, :2] = 0
    if median:
        out = median_filter_track(out, out_flags, median)
    return out.astype(np.float32), out_flags, level


def median_filter_track(points: np.ndarray, flags: np.ndarray, window: int = 7) -> np.ndarray:
    """Per joint, a centred temporal median over present frames (EDN's 7-frame filter). Anchors
    (EDITED) are left as they are. Vectorized (NaN-padded windows), so a 10-minute clip takes a
    fraction of a second."""
    import warnings

    out = points.copy()
    half = window // 2
    present = flags != Flag.MISSING
    xy = np.where(present[..., None], points[..., :2].astype(np.float64), np.nan)
    padded = np.pad(xy, ((half, half), (0, 0), (0, 0)), constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)  # (T, J, 2, window)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows belong to absent joints
        med = np.nanmedian(windows, axis=-1)
    change = present & (flags != Flag.EDITED)
    out[..., :2] = np.where(change[..., None], med, points[..., :2])
    return out

"""Face reenactment (DAVS's video mode, EVP's landmark alignment): one person's mouth motion on
another's face, and the frame schedule that says which target frame lies under each output frame.

The source's motion is measured in its own frontal space from its own neutral face, scaled by the
ratio of the two people's mouth ranges (how far each opens and widens), and applied to the target's
neutral face: the *driven face*, in the target's frontal space. Only the lips and the lower jaw are
driven (DRIVEN_POINTS); eyes, brows and nose come from the target frame underneath, so its blinks and
looks stay. The driven face is re-posed with the head pose of that frame when shown or rendered, so
changing the schedule never needs driving again.
"""

from __future__ import annotations

import numpy as np

from avstudio.analysis.face import geometry
from avstudio.core.tracks import Flag

DRIVEN_POINTS = tuple(range(4, 13)) + tuple(range(48, 68))   # iBUG 68: lower jaw and lips
SCALE_LIMITS = (0.5, 2.0)   # one mouth moving at most twice (or half) as far as the other
MODES = ("aligned", "loop", "pingpong", "hold")
MODE_TEXT = {"aligned": "aligned (held at the end)", "loop": "looped", "pingpong": "ping-pong", "hold": "held"}


def driver_clip(meta: dict) -> str:
    """The clip a driven face follows (from the driven face's meta): the source or the target clip
    (their faces), or the clip whose speech drives it (driver "speech")."""
    if meta.get("driver") == "speech":
        return str(meta.get("speech", "source"))
    return str(meta.get("driver", "source"))


def motion_scale(source_range: dict, target_range: dict) -> tuple[float, float]:
    """(across, down) factors from the source's mouth motion to the target's: the ratio of how far each
    widens and opens (95th percentile from the neutral face), within SCALE_LIMITS."""
    lo, hi = SCALE_LIMITS
    kx = float(np.clip(target_range["width"] / max(source_range["width"], 1e-6), lo, hi))
    ky = float(np.clip(target_range["open"] / max(source_range["open"], 1e-6), lo, hi))
    return kx, ky


def drive(source: np.ndarray, source_ok: np.ndarray, source_neutral: np.ndarray, target_neutral: np.ndarray,
          scale: tuple[float, float], strength: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The driven face (T, 68, 3: frontal x, y in the target's units, confidence) and its flags: the
    source's frontal landmarks (T, 68, ≥2) relative to its neutral face, scaled, on the target's
    neutral face. Frames where ``source_ok`` is False, and the points that are not driven, are MISSING."""
    n = len(source)
    out = np.zeros((n, 68, 3), np.float32)
    flags = np.full((n, 68), Flag.MISSING, np.uint8)
    idx = list(DRIVEN_POINTS)
    k = np.asarray(scale, np.float64) * float(strength)
    moved = target_neutral[idx, :2] + k * (source[:, idx, :2] - source_neutral[idx, :2])
    out[:, idx, :2] = moved
    out[:, idx, 2] = 1.0
    flags[np.ix_(source_ok, idx)] = Flag.AUTO
    out[flags == Flag.MISSING] = 0.0
    return out, flags


def default_mode(n_out: int, fps_out: float, n_target: int, fps_target: float) -> str:
    """Aligned when the target lasts as long as the output, else ping-pong (no jump at the seam)."""
    return "aligned" if n_target / fps_target >= n_out / fps_out - 1e-6 else "pingpong"


def schedule(n_out: int, fps_out: float, n_target: int, fps_target: float, mode: str, first: int = 0) -> np.ndarray:
    """(n_out,) the target frame under each output frame: from ``first`` at the target's own speed,
    held at the end (aligned), wrapped (loop), bouncing (pingpong), or ``first`` throughout (hold)."""
    if mode not in MODES:
        raise ValueError(f"unknown schedule {mode!r}: use {', '.join(MODES)}")
    if n_target <= 0:
        return np.zeros(n_out, np.int64)
    first = int(np.clip(first, 0, n_target - 1))
    if mode == "hold":
        return np.full(n_out, first, np.int64)
    u = first + np.floor(np.arange(n_out) * (fps_target / fps_out) + 1e-6).astype(np.int64)
    if mode == "aligned":
        return np.minimum(u, n_target - 1)
    if mode == "loop":
        return u % n_target
    period = max(1, 2 * (n_target - 1))
    r = u % period
    return np.where(r < n_target, r, period - r)


def pose_face(target68: np.ndarray, target_flags: np.ndarray, poses: geometry.Poses, target_neutral: np.ndarray,
              driven: np.ndarray, driven_flags: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The face to render on each output frame, in the underlying target frames' pixels: those frames'
    own iBUG-68 points (n, 68, 3) with the driven points (frontal, n × 68) re-posed by their head
    poses. Returns (points, flags, driven): ``driven`` (n,) says the frame has a driven mouth and a
    pose (otherwise it stays as filmed)."""
    out = np.array(target68, np.float32, copy=True)
    flags = np.array(target_flags, np.uint8, copy=True)
    idx = list(DRIVEN_POINTS)
    frontal = np.zeros((len(driven), len(idx), 3))
    frontal[..., :2] = driven[:, idx, :2]
    frontal[..., 2] = target_neutral[idx, 2]
    posed = geometry.repose(frontal, poses)
    has = (driven_flags[:, idx] != Flag.MISSING) & poses.ok[:, None] & (target_flags[:, idx] != Flag.MISSING)
    ok = has.any(1)
    sel = np.zeros(flags.shape, bool)
    sel[:, idx] = has
    out[..., :2][sel] = posed[..., :2][has]
    flags[:, idx] = np.where(has, driven_flags[:, idx], flags[:, idx])
    return out, flags, ok


def to_frontal(x: float, y: float, z: float, pose: geometry.Poses) -> tuple[float, float]:
    """A point on one frame (image pixels, its depth ``z``) in that frame's frontal space."""
    p = np.array([[[x, y, z]]], np.float64)
    f = geometry.frontalize(p, pose)
    return float(f[0, 0, 0]), float(f[0, 0, 1])


def posed_depth(driven_xy: np.ndarray, target_neutral: np.ndarray, joints, pose: geometry.Poses) -> np.ndarray:
    """Image depth of driven points (frontal x, y with the neutral face's depth) on one frame."""
    f = np.zeros((1, len(joints), 3))
    f[0, :, :2] = driven_xy
    f[0, :, 2] = target_neutral[list(joints), 2]
    return geometry.repose(f, pose)[0, :, 2]


def output_faces(project, frames=None):
    """For output frames (default: all): (underlying target frames, the faces to render in those
    frames' pixels (n, 68, 3), flags, driven (n,) bool)."""
    from avstudio.analysis.face.analyse import clip_face
    from avstudio.core import layers, roles

    face = project.require_track(roles.DRIVEN, layers.DRIVEN)
    sched = project.require_track(roles.DRIVEN, layers.SCHEDULE)
    target = clip_face(project, roles.TARGET)
    frames = np.arange(face.length) if frames is None else np.asarray(frames, np.intp)
    under = np.clip(sched.arrays["values"][frames, 0].round().astype(np.int64), 0, len(target.poses) - 1)
    pts, fl, ok = pose_face(target.face68[under], target.flags68[under], target.poses.take(under),
                            target.fit.neutral_array, face.points[frames], face.flags[frames])
    return under, pts, fl, ok

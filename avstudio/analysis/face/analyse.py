"""What face analysis derives from a clip's Face Mesh track (and its depth): the fit of the clip (the
rigid reference face, the neutral face, the person's mouth range) and, per frame, the head pose, the
frontal iBUG-68 landmarks and the mouth and eye curves — as the three tracks the lip-sync workflow
shows and edits.

The fit is made once per analysis; the per-frame values are a function of that frame's landmarks and
the fit alone, so an edit of some frames recomputes only those frames (:func:`derive` with
``frames``). A frame without the face is MISSING in every derived track.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from avstudio.analysis.face import geometry
from avstudio.analysis.face.curves import CURVES, curve_values, mouth_range, neutral_frames
from avstudio.core import layers, roles
from avstudio.core.errors import UserError
from avstudio.core.project import Project
from avstudio.core.skeletons import single_sources
from avstudio.core.tracks import CurveTrack, Flag, LandmarkTrack

FACE68 = single_sources("mediapipe478->face68")  # the Face Mesh point behind each iBUG-68 point
PROFILE_YAW = 40.0    # degrees: a face turned further is in profile (flagged; the renderer leaves it)
SMALL_FACE_PX = 30.0  # outer eye corners closer than this: a face too small to repaint well


@dataclass
class FaceFit:
    """The clip's face model: its rigid reference (K, 3), its neutral face (68, 3, frontal), the
    frames that made it, how far its mouth opens and widens, and whether depth was used."""

    reference: list
    neutral: list
    neutral_frames: list
    mouth_range: dict
    depth: bool

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> FaceFit:
        try:
            fit = cls(list(d["reference"]), list(d["neutral"]), [int(f) for f in d["neutral_frames"]],
                      {"open": float(d["mouth_range"]["open"]), "width": float(d["mouth_range"]["width"])},
                      bool(d["depth"]))
            ref, neutral = np.asarray(fit.reference, np.float64), np.asarray(fit.neutral, np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the face fit is malformed ({exc})") from exc
        if ref.shape != (len(geometry.RIGID), 3) or neutral.shape != (68, 3) or not (
                np.isfinite(ref).all() and np.isfinite(neutral).all()):
            raise ValueError("the face fit has the wrong shape or non-finite values")
        return fit

    @property
    def reference_array(self) -> np.ndarray:
        return np.asarray(self.reference, np.float64)

    @property
    def neutral_array(self) -> np.ndarray:
        return np.asarray(self.neutral, np.float64)


@dataclass
class Derived:
    """Per-frame results for some frames: head-pose curves, frontal 68 landmarks, face curves."""

    frames: np.ndarray
    pose: np.ndarray          # (n, 8) geometry.POSE_CHANNELS
    pose_ok: np.ndarray       # (n,) bool
    frontal: np.ndarray       # (n, 68, 3) x, y in reference units + confidence
    frontal_flags: np.ndarray  # (n, 68)
    curves: np.ndarray        # (n, 5) CURVES
    curves_ok: np.ndarray     # (n,) bool


def _points3(points: np.ndarray, depth: np.ndarray | None, idx) -> np.ndarray:
    xy = points[:, list(idx), :2].astype(np.float64)
    if depth is None:
        return xy
    return np.concatenate([xy, depth[:, list(idx), None].astype(np.float64)], -1)


def fit_face(points: np.ndarray, flags: np.ndarray, depth: np.ndarray | None) -> FaceFit:
    """The fit of a clip from its Face Mesh points (T, 478, 3), flags and depth (T, 478) or None."""
    rigid, ok = _points3(points, depth, geometry.RIGID), flags[:, list(geometry.RIGID)] != Flag.MISSING
    if depth is None:  # 2-D: the reference is the frontal-turned mean of flat shapes (depth 0)
        rigid3 = np.concatenate([rigid, np.zeros(rigid.shape[:2] + (1,))], -1)
        ref = geometry.fit_reference(rigid3, ok)
        ref[:, 2] = 0.0
    else:
        ref = geometry.fit_reference(rigid, ok)
    poses = geometry.fit_poses(ref, rigid, ok)
    frontal = geometry.frontalize(_points3(points, depth, FACE68), poses)
    present = poses.ok & (flags[:, list(FACE68)] != Flag.MISSING).all(1)
    values = curve_values(frontal)
    yaw = geometry.euler(poses.R)[:, 0]
    frames = neutral_frames(values, present, yaw)
    neutral = np.median(frontal[frames], axis=0) if len(frames) else frontal[present].mean(0)
    return FaceFit(ref.round(5).tolist(), neutral.round(5).tolist(), frames.tolist(),
                   mouth_range(values, present, neutral), depth is not None)


def derive(points: np.ndarray, flags: np.ndarray, depth: np.ndarray | None, fit: FaceFit,
           frames: np.ndarray | None = None) -> Derived:
    """Head pose, frontal landmarks and curves of ``frames`` (default: all) of a Face Mesh track."""
    frames = np.arange(len(points)) if frames is None else np.asarray(frames, np.intp)
    pts, fl = points[frames], flags[frames]
    dep = depth[frames] if depth is not None and fit.depth else None
    ok_rigid = fl[:, list(geometry.RIGID)] != Flag.MISSING
    poses = geometry.fit_poses(fit.reference_array, _points3(pts, dep, geometry.RIGID), ok_rigid)
    fl68 = fl[:, list(FACE68)].copy()
    frontal = geometry.frontalize(_points3(pts, dep, FACE68), poses)
    fl68[~poses.ok] = Flag.MISSING
    out = np.zeros((len(frames), 68, 3), np.float32)
    out[..., :2] = frontal[..., :2]
    out[..., 2] = pts[:, list(FACE68), 2]
    out[fl68 == Flag.MISSING] = 0.0
    curves_ok = (fl68 != Flag.MISSING).all(1)
    return Derived(frames, geometry.pose_values(poses).astype(np.float32), poses.ok, out, fl68,
                   curve_values(frontal).astype(np.float32), curves_ok)


def tracks(clip: str, media_id: str | None, fit: FaceFit, d: Derived) -> list:
    """The three derived tracks of a whole clip (head pose, frontal landmarks, face curves)."""
    n = len(d.frames)
    pose = CurveTrack.empty(n, geometry.POSE_CHANNELS, f"{clip} head pose", clip=clip, layer=layers.HEAD_POSE,
                            media_id=media_id, fit=fit.to_json(),
                            units={"yaw": "°", "pitch": "°", "roll": "°", "x": "px", "y": "px", "z": "px",
                                   "scale": "px per eye distance", "fit": "eye distance"})
    frontal = LandmarkTrack.empty(n, 68, "face68", media_id, name=f"{clip} frontal face")
    frontal.meta.update(clip=clip, layer=layers.FRONTAL, space="frontal")
    curves = CurveTrack.empty(n, CURVES, f"{clip} face curves", clip=clip, layer=layers.FACE_CURVES, media_id=media_id)
    write(pose, frontal, curves, d)
    return [pose, frontal, curves]


def write(pose: CurveTrack, frontal: LandmarkTrack, curves: CurveTrack, d: Derived) -> None:
    """Put derived values into the three tracks (in place; edits use :func:`derived_arrays`)."""
    for name, arr in derived_arrays(d).items():
        track = {"pose": pose, "frontal": frontal, "curves": curves}[name.split(".")[0]]
        track.arrays[name.split(".")[1]][d.frames] = arr


def derived_arrays(d: Derived) -> dict[str, np.ndarray]:
    """The rows of each derived array for ``d.frames``, keyed "pose.values", "frontal.points", …"""
    pose_flags = np.where(d.pose_ok[:, None], Flag.AUTO, Flag.MISSING).astype(np.uint8).repeat(d.pose.shape[1], 1)
    curve_flags = np.where(d.curves_ok[:, None], Flag.AUTO, Flag.MISSING).astype(np.uint8).repeat(len(CURVES), 1)
    pose = np.where(d.pose_ok[:, None], d.pose, 0).astype(np.float32)
    curves = np.where(d.curves_ok[:, None], d.curves, 0).astype(np.float32)
    return {"pose.values": pose, "pose.flags": pose_flags, "frontal.points": d.frontal,
            "frontal.flags": d.frontal_flags, "curves.values": curves, "curves.flags": curve_flags}


def summary(fit: FaceFit, d: Derived, frame_count: int) -> dict:
    """Counts a user reads after an analysis: face found, profile frames, blinks, face size."""
    yaw = d.pose[:, 0]
    profile = d.pose_ok & (np.abs(yaw) > PROFILE_YAW)
    eyes = d.curves[:, 3:5].mean(1)
    blinks = 0
    if d.curves_ok.sum() > 10:
        open_level = np.nanpercentile(eyes[d.curves_ok], 75)
        closed = (eyes < 0.55 * open_level) & d.curves_ok
        blinks = int(np.sum(closed[1:] & ~closed[:-1]) + (1 if len(closed) and closed[0] else 0))
    iod = d.pose[d.pose_ok, 6]
    return {"frames": int(frame_count), "found": int(d.pose_ok.sum()), "profile": int(profile.sum()),
            "blinks": blinks, "eye_distance_px": float(np.median(iod)) if len(iod) else 0.0,
            "neutral_frames": len(fit.neutral_frames), "depth": fit.depth}


@dataclass
class ClipFace:
    """A clip's analysed face as driving and rendering need it."""

    fit: FaceFit
    poses: geometry.Poses       # per target frame
    face68: np.ndarray          # (T, 68, 3) image pixels
    flags68: np.ndarray         # (T, 68)
    frontal: np.ndarray         # (T, 68, 3)
    frontal_flags: np.ndarray


def clip_face(project: Project, clip: str) -> ClipFace:
    """A clip's face analysis (a message saying what to do when it has none)."""
    pose = project.require_track(clip, layers.HEAD_POSE)
    frontal = project.require_track(clip, layers.FRONTAL)
    face = project.require_track(clip, layers.FACE)
    try:
        fit = FaceFit.from_json(pose.meta.get("fit", {}))
    except ValueError as exc:
        raise UserError(f"The {roles.label(clip)}'s face analysis is damaged ({exc}): analyse its face again.",
                        hint=f"analyse_{clip}_face") from None
    ok = (pose.arrays["flags"] != Flag.MISSING).all(1)
    idx = list(FACE68)
    return ClipFace(fit, geometry.poses_from_values(pose.arrays["values"], ok), face.points[:, idx],
                      face.flags[:, idx], frontal.points, frontal.flags)

"""Tracks from extraction results, and the layouts derived from them.

The stored pose track keeps MediaPipe's 33 points (with visibility as confidence); OpenPose BODY_25
is derived through the skeleton map whenever it is needed, so a fix to the 33 points shows in every
derived view. The face track keeps Face Mesh's 478 points; iBUG-68 / OpenPose-70 are derived.
"""

from __future__ import annotations

import numpy as np

from avstudio.core.skeletons import map_points
from avstudio.core.tracks import Flag, LandmarkTrack, PoseTrack

POSE_SKELETON = "mediapipe33"
FACE_SKELETON = "mediapipe478"


def track_from_result(result, frame_count: int, kind: str, media_id: str | None, name: str):
    """A full-length track (frames outside the analysed range are MISSING)."""
    joints = result.points.shape[1]
    cls, skel = (PoseTrack, POSE_SKELETON) if kind == "pose" else (LandmarkTrack, FACE_SKELETON)
    track = cls.empty(frame_count, joints, skel, media_id, name=name)
    end = result.start + len(result.points)
    track.points[result.start:end] = result.points
    track.flags[result.start:end] = result.flags
    return track


def body25(track) -> tuple[np.ndarray, np.ndarray]:
    """BODY_25 points and flags of a pose track (MediaPipe 33 → OpenPose 25; BODY_25 passes through)."""
    return body25_of(track.points, track.flags, track.meta["skeleton"])


def body25_of(points: np.ndarray, flags: np.ndarray, skel: str) -> tuple[np.ndarray, np.ndarray]:
    """BODY_25 of points in the layout ``skel``."""
    if skel == "body25":
        return points, flags
    if skel != POSE_SKELETON:
        raise ValueError(f"cannot derive BODY_25 from a {skel} track")
    return map_points(points, flags, "mediapipe33->body25")


def face68(track, pupils: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """iBUG 68 points (or OpenPose's 70 with the pupils) of a face track."""
    return face68_of(track.points, track.flags, track.meta["skeleton"], pupils)


def face68_of(points: np.ndarray, flags: np.ndarray, skel: str, pupils: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """iBUG 68 (or 70) of points in the layout ``skel``."""
    if skel in ("face68", "face70"):
        return (points, flags) if pupils or skel == "face68" else (points[:, :68], flags[:, :68])
    if skel != FACE_SKELETON:
        raise ValueError(f"cannot derive face points from a {skel} track")
    return map_points(points, flags, "mediapipe478->face70" if pupils else "mediapipe478->face68")


def mouth_opening(track) -> np.ndarray:
    """Per frame: inner-lip gap divided by the distance between the outer eye corners (so it does not
    change with distance to the camera). NaN where the face is MISSING."""
    pts, fl = face68(track)
    gap = np.linalg.norm(pts[:, 66, :2] - pts[:, 62, :2], axis=1)   # inner lip bottom − top
    eyes = np.linalg.norm(pts[:, 45, :2] - pts[:, 36, :2], axis=1)  # outer eye corners
    out = gap / np.maximum(eyes, 1e-6)
    missing = (fl[:, [62, 66, 36, 45]] == Flag.MISSING).any(1)
    out[missing] = np.nan
    return out.astype(np.float32)


def person_height(points: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """(T,) height of the box around the present points of each frame (NaN if none)."""
    present = flags != Flag.MISSING
    y = np.where(present, points[..., 1], np.nan)
    with np.errstate(all="ignore"):
        h = np.nanmax(y, axis=1) - np.nanmin(y, axis=1)
    h[~present.any(1)] = np.nan
    return h

"""Hand-fix operations on point tracks, each returned as an undoable edit.

Rules every operation follows:
* EDITED points are the user's anchors: smoothing, interpolation and re-extraction never move them;
* MISSING points are not invented, except by interpolation between anchors and by "show";
* a point the user places (move, copy, show) becomes EDITED; filled-in points become INTERPOLATED.
"""

from __future__ import annotations

from typing import Hashable

import numpy as np

from avstudio.core.edits import ArrayEdit, CompoundEdit, GestureEdit
from avstudio.core.errors import UserError
from avstudio.core.project import Project
from avstudio.core.tracks import Flag


def _points_edit(project: Project, track_id: str, frames, joints, points, flags, text: str,
                 group: Hashable | None = None) -> CompoundEdit | None:
    frames = np.asarray(frames, np.intp)
    joints = np.asarray(joints, np.intp)
    if frames.size == 0:
        return None
    return CompoundEdit([
        ArrayEdit.make(project, track_id, "points", (frames, joints), points, text, group),
        ArrayEdit.make(project, track_id, "flags", (frames, joints), flags, text, group),
    ], text)


def _check_range(track, start: int, stop: int) -> tuple[int, int]:
    start, stop = max(0, int(start)), min(track.length, int(stop))
    if stop <= start:
        raise UserError(f"The frame range {start}..{stop} is empty.")
    return start, stop


def move_keypoint(project: Project, track_id: str, frame: int, joint: int, x: float, y: float,
                  drag_id: Hashable | None = None, text: str = "Move keypoint") -> CompoundEdit:
    """Place one point (a user anchor, confidence 1). Moves of one drag share ``drag_id``."""
    edits = [ArrayEdit.make(project, track_id, "points", ([frame], [joint]), [[x, y, 1.0]], text, drag_id),
             ArrayEdit.make(project, track_id, "flags", ([frame], [joint]), Flag.EDITED, text, drag_id)]
    if drag_id is None:
        return CompoundEdit(edits, text)
    return GestureEdit(edits, text, ("move", track_id, frame, joint, drag_id))


def set_hidden(project: Project, track_id: str, frame: int, joints, hidden: bool) -> CompoundEdit | None:
    """Hide points (MISSING) or show them again (EDITED: the user says they are there). A point that
    never had a position appears at the centre of the frame's other points."""
    track = project.track(track_id)
    joints = np.atleast_1d(np.asarray(joints, np.intp))
    pts = track.points[frame, joints].copy()
    if hidden:
        return _points_edit(project, track_id, np.full(len(joints), frame), joints, pts,
                            np.full(len(joints), Flag.MISSING, np.uint8), "Hide keypoint")
    present = track.flags[frame] != Flag.MISSING
    centre = track.points[frame, present, :2].mean(0) if present.any() else np.zeros(2)
    unplaced = ~np.any(pts[:, :2], axis=1)
    pts[unplaced, :2] = centre
    pts[:, 2] = np.maximum(pts[:, 2], 0.5)
    return _points_edit(project, track_id, np.full(len(joints), frame), joints, pts,
                        np.full(len(joints), Flag.EDITED, np.uint8), "Show keypoint")


def move_skeleton(project: Project, track_id: str, frame: int, dx: float, dy: float,
                  drag_id: Hashable | None = None) -> CompoundEdit | None:
    """Translate every present point of a frame by (dx, dy) (Alt-drag); moved points become anchors.
    A drag sends one call per mouse move with the offset since the previous move; calls sharing
    ``drag_id`` merge into one undo step (the merged edit keeps the positions before the drag)."""
    track = project.track(track_id)
    joints = np.flatnonzero(track.flags[frame] != Flag.MISSING)
    if not len(joints):
        return None
    new = track.points[frame, joints].copy()
    new[:, 0] += dx
    new[:, 1] += dy
    idx = (np.full(len(joints), frame), joints)
    edits = [ArrayEdit.make(project, track_id, "points", idx, new, "Move skeleton", drag_id),
             ArrayEdit.make(project, track_id, "flags", idx, Flag.EDITED, "Move skeleton", drag_id)]
    if drag_id is None:
        return CompoundEdit(edits, "Move skeleton")
    return GestureEdit(edits, "Move skeleton", ("skeleton", track_id, frame, drag_id))


def interpolate(project: Project, track_id: str, start: int, stop: int, joints=None,
                method: str = "linear") -> CompoundEdit | None:
    """Fill frames in [start, stop) between anchors. Per joint, the anchors are its EDITED frames in
    the range plus the range's first and last frame where the point is present. Every other frame
    between the first and last anchor gets the interpolated position (INTERPOLATED)."""
    from scipy.interpolate import CubicSpline

    if method not in ("linear", "cubic"):
        raise UserError(f"Unknown interpolation {method!r}: use linear or cubic.")
    track = project.track(track_id)
    start, stop = _check_range(track, start, stop)
    joints = range(track.points.shape[1]) if joints is None else np.atleast_1d(joints)
    fr, jo, newp = [], [], []
    for j in joints:
        fl = track.flags[start:stop, j]
        anchors = set(np.flatnonzero(fl == Flag.EDITED))
        for edge in (0, stop - start - 1):
            if fl[edge] != Flag.MISSING:
                anchors.add(edge)
        anchors = np.array(sorted(anchors))
        if len(anchors) < 2:
            continue
        targets = np.array([t for t in range(anchors[0] + 1, anchors[-1]) if t not in set(anchors)])
        if not len(targets):
            continue
        xy = track.points[start + anchors, j, :2].astype(np.float64)
        if method == "cubic" and len(anchors) >= 3:
            spline = CubicSpline(anchors, xy, axis=0, bc_type="natural")
            vals = spline(targets)
        else:
            vals = np.stack([np.interp(targets, anchors, xy[:, k]) for k in range(2)], axis=1)
        conf = np.interp(targets, anchors, track.points[start + anchors, j, 2])
        fr.append(start + targets)
        jo.append(np.full(len(targets), j))
        newp.append(np.concatenate([vals, conf[:, None]], axis=1))
    if not fr:
        return None
    n = sum(len(f) for f in fr)
    return _points_edit(project, track_id, np.concatenate(fr), np.concatenate(jo), np.concatenate(newp),
                        np.full(n, Flag.INTERPOLATED, np.uint8), f"Interpolate ({method})")


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def one_euro(x: np.ndarray, fps: float, min_cutoff: float = 1.0, beta: float = 0.01,
             d_cutoff: float = 1.0) -> np.ndarray:
    """The One Euro filter (Casiez et al. 2012) over axis 0: little lag on fast moves, smooth when slow."""
    def alpha(cutoff):
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau * fps)

    out = np.empty_like(x, dtype=np.float64)
    out[0] = x[0]
    dx_prev = np.zeros_like(x[0], dtype=np.float64)
    for i in range(1, len(x)):
        dx = (x[i] - out[i - 1]) * fps
        a_d = alpha(d_cutoff)
        dx_hat = a_d * dx + (1 - a_d) * dx_prev
        cutoff = min_cutoff + beta * np.abs(dx_hat)
        a = alpha(cutoff)
        out[i] = a * x[i] + (1 - a) * out[i - 1]
        dx_prev = dx_hat
    return out


def smooth(project: Project, track_id: str, start: int, stop: int, method: str = "savgol", *,
           window: int = 7, polyorder: int = 2, fps: float = 30.0, min_cutoff: float = 1.0,
           beta: float = 0.01, joints=None) -> CompoundEdit | None:
    """Temporal smoothing of x, y over [start, stop), per joint and per run of present frames.
    EDITED points are never moved; MISSING points stay missing."""
    from scipy.signal import savgol_filter

    track = project.track(track_id)
    start, stop = _check_range(track, start, stop)
    if method == "savgol":
        if window < 3 or window % 2 == 0 or polyorder >= window:
            raise UserError("Savitzky–Golay needs an odd window of at least 3 frames, larger than the order.")
    elif method != "one_euro":
        raise UserError(f"Unknown smoothing {method!r}: use savgol or one_euro.")
    joints = range(track.points.shape[1]) if joints is None else np.atleast_1d(joints)
    fr, jo, newp = [], [], []
    for j in joints:
        fl = track.flags[start:stop, j]
        for a, b in true_runs(fl != Flag.MISSING):
            xy = track.points[start + a:start + b, j, :2].astype(np.float64)
            if method == "savgol":
                if b - a < window:
                    continue
                out = savgol_filter(xy, window, polyorder, axis=0, mode="interp")
            else:
                if b - a < 2:
                    continue
                # One Euro is causal and lags behind steady motion; offline we run it both ways and
                # average, which cancels the lag while keeping its speed-adaptive smoothing.
                out = 0.5 * (one_euro(xy, fps, min_cutoff, beta) + one_euro(xy[::-1], fps, min_cutoff, beta)[::-1])
            movable = np.flatnonzero(fl[a:b] != Flag.EDITED)
            if not len(movable):
                continue
            pts = track.points[start + a + movable, j].copy()
            pts[:, :2] = out[movable]
            fr.append(start + a + movable)
            jo.append(np.full(len(movable), j))
            newp.append(pts)
    if not fr:
        return None
    frames, jts = np.concatenate(fr), np.concatenate(jo)
    return _points_edit(project, track_id, frames, jts, np.concatenate(newp), track.flags[frames, jts],
                        f"Smooth ({'Savitzky–Golay' if method == 'savgol' else 'One Euro'})")


def copy_previous(project: Project, track_id: str, frame: int, joints=None, stop: int | None = None) -> CompoundEdit | None:
    """Copy the points of the frame before ``frame`` onto ``frame`` — or onto every frame of
    [frame, stop), holding that pose over a range the detector got wrong. They become anchors."""
    track = project.track(track_id)
    if frame <= 0:
        raise UserError("The first frame has no previous frame to copy from.")
    stop = frame + 1 if stop is None else min(int(stop), track.length)
    joints = np.arange(track.points.shape[1]) if joints is None else np.atleast_1d(joints)
    src_flags = track.flags[frame - 1, joints]
    keep = src_flags != Flag.MISSING
    joints = joints[keep]
    if not len(joints):
        raise UserError(f"Frame {frame - 1} (the one before) has no points to copy.")
    n = stop - frame
    return _points_edit(project, track_id, np.repeat(np.arange(frame, stop), len(joints)), np.tile(joints, n),
                        np.tile(track.points[frame - 1, joints], (n, 1)),
                        np.full(len(joints) * n, Flag.EDITED, np.uint8),
                        "Copy previous frame" if n == 1 else f"Copy previous frame onto {n} frames")


def merge_reextraction(project: Project, track_id: str, start: int, points: np.ndarray,
                       flags: np.ndarray) -> CompoundEdit | None:
    """Take a fresh extraction of frames [start, start+len) into the track, except EDITED points."""
    track = project.track(track_id)
    n = len(points)
    if points.shape[1:] != track.points.shape[1:]:
        raise UserError("The new extraction has another layout than the track.")
    old_flags = track.flags[start:start + n]
    fr, jo = np.nonzero(old_flags != Flag.EDITED)
    return _points_edit(project, track_id, start + fr, jo, points[fr, jo], flags[fr, jo], "Re-analyse range")

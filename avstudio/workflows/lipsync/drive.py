"""The driven face: what the target's face is made to do, on the driver's frames (the clip ``driven``:
its face, in the target's frontal space, and the frame schedule), and every edit of it.

Driving is one undo step (both tracks); re-driving keeps the points the user placed (EDITED). The
mouth curves of the driven face are computed from its landmarks (they are a view of them): drawing a
curve moves the lips (analysis/face/curves.set_curve), so the landmarks, the curves and the render
never disagree.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Hashable

import numpy as np

from avstudio.analysis.face.analyse import clip_face
from avstudio.analysis.face.curves import curve_values, expression, set_curve
from avstudio.core import layers, roles
from avstudio.core.edits import ArrayEdit, CompoundEdit, GestureEdit, ReplaceTrack
from avstudio.core.errors import UserError
from avstudio.core.project import Project
from avstudio.core.tracks import CurveTrack, Flag, LandmarkTrack
from avstudio.retarget.face import DRIVEN_POINTS, MODE_TEXT, MODES, default_mode, drive, motion_scale, schedule
from avstudio.workflows.operation import Operation

DRIVERS = (roles.SOURCE, roles.TARGET)   # the source's face (video-driven), or the target's own (by hand)


def driver_fps(project: Project, driver: str) -> Fraction:
    ref = project.media_by_role(driver)
    if ref is None or not ref.fps:
        raise UserError(f"The project has no {roles.label(driver)} to drive from.", hint=f"set_{driver}")
    return ref.fps


def drive_edit(project: Project, driver: str = roles.SOURCE, mode: str | None = None, strength: float = 1.0):
    """The (not applied) edit that drives the target's face from ``driver``'s face: the driven face and
    the frame schedule, one undo step."""
    if driver not in DRIVERS:
        raise UserError(f"Drive from the source or the target, not {driver!r}.")
    if mode is not None and mode not in MODES:
        raise UserError(f"Unknown schedule {mode!r}: use {', '.join(MODES)}.")
    target = clip_face(project, roles.TARGET)
    src = clip_face(project, driver) if driver != roles.TARGET else target
    usable = (src.frontal_flags[:, list(DRIVEN_POINTS)] != Flag.MISSING).all(1)
    if not usable.any():
        raise UserError(f"The {roles.label(driver)}'s face is not found on any frame: analyse its face first.",
                        hint=f"analyse_{driver}_face")
    if driver == roles.TARGET:
        scale = (1.0, 1.0)
        points, flags = drive(src.frontal, usable, target.fit.neutral_array, target.fit.neutral_array, scale)
    else:
        scale = motion_scale(src.fit.mouth_range, target.fit.mouth_range)
        points, flags = drive(src.frontal, usable, src.fit.neutral_array, target.fit.neutral_array, scale, strength)
    fps_out = driver_fps(project, driver)
    mode = mode or ("aligned" if driver == roles.TARGET else None)
    edit, info = driven_edit(project, points, flags, fps_out, mode,
                             {"driver": driver, "scale": list(scale), "strength": float(strength)},
                             "Drive the target's face from the source" if driver == roles.SOURCE
                             else "Drive the target's face by hand")
    return edit, {**info, "scale": scale, "without_face": int((~usable).sum())}


def driven_edit(project: Project, points: np.ndarray, flags: np.ndarray, fps_out: Fraction, mode: str | None,
                meta: dict, text: str):
    """The edit that makes (points, flags) the driven face, on output frames at ``fps_out``, with a
    frame schedule (``mode``; None: aligned when the target lasts long enough, else ping-pong). Re-driving
    from the same driver keeps the points the user placed (EDITED). One undo step; (edit, info)."""
    target = project.require_track(roles.TARGET, layers.HEAD_POSE)
    fps_t, n_t = driver_fps(project, roles.TARGET), target.length
    mode = mode or default_mode(len(points), float(fps_out), n_t, float(fps_t))
    frames = schedule(len(points), float(fps_out), n_t, float(fps_t), mode)
    old = project.find_track(roles.DRIVEN, layers.DRIVEN)
    same = ("driver", "speech")
    if old is not None and old.length == len(points) and all(old.meta.get(k) == meta.get(k) for k in same):
        keep = old.flags == Flag.EDITED  # re-driving keeps what the user placed
        points[keep], flags[keep] = old.points[keep], old.flags[keep]
    meta = {"clip": roles.DRIVEN, **meta, "fps": [fps_out.numerator, fps_out.denominator]}
    face = LandmarkTrack({"points": points, "flags": flags}, {**meta, "skeleton": "face68", "layer": layers.DRIVEN,
                                                              "space": "frontal"}, name="driven face")
    sched = CurveTrack.empty(len(points), ["target_frame"], "frame schedule", **meta, layer=layers.SCHEDULE, mode=mode)
    sched.arrays["values"][:, 0] = frames
    sched.arrays["flags"][:] = Flag.AUTO
    for new in (face, sched):
        prior = project.find_track(roles.DRIVEN, new.meta["layer"])
        if prior is not None:
            new.id = prior.id
    return CompoundEdit([ReplaceTrack(face), ReplaceTrack(sched)], text), {
        "mode": mode, "frames": len(points), "first": int(frames[0]) if len(frames) else 0,
        "last": int(frames[-1]) if len(frames) else 0}


def drive_job(project: Project, driver: str, mode: str | None, strength: float):
    """Job: :func:`drive_edit` off the GUI thread. Returns (edit, summary numbers)."""
    from avstudio.core.progress import Progress

    yield Progress(0, None, "Driving the target's face")
    return drive_edit(project, driver, mode, strength)


def drive_summary(driver: str, info: dict) -> str:
    kx, ky = info["scale"]
    how = (f"mouth motion scaled ×{ky:.2f} opening, ×{kx:.2f} width" if driver == roles.SOURCE
           else "the target's own mouth, to edit by hand")
    gone = f"; {info['without_face']} frames without the driver's face stay as filmed" if info["without_face"] else ""
    return (f"Drove {info['frames']} frames from the {roles.label(driver)} ({how}); schedule "
            f"{MODE_TEXT[info['mode']]}, target frames {info['first'] + 1}–{info['last'] + 1}{gone}.")


def drive_operation(project: Project, driver: str = roles.SOURCE, *, mode: str | None = None,
                    strength: float = 1.0) -> Operation:
    """Drive the target's face from the source's face (video mode) or from its own (to edit by hand)."""
    clip_face(project, roles.TARGET)
    if driver == roles.SOURCE:
        clip_face(project, roles.SOURCE)
    return Operation("Drive the target's face", "avstudio.workflows.lipsync.drive:drive_job",
                     (project, driver, mode, strength), quiet=True, apply=lambda p, r: r[0],
                     summary=lambda r: drive_summary(driver, r[1]))


# ---- edits of the driven face ---------------------------------------------------------------------

def driven(project: Project) -> tuple[LandmarkTrack, CurveTrack]:
    face = project.require_track(roles.DRIVEN, layers.DRIVEN)
    return face, project.require_track(roles.DRIVEN, layers.SCHEDULE)


def driven_curves(project: Project) -> np.ndarray:
    """(T, 5) the curves of the driven face (NaN where it is not driven): computed, never stored."""
    face, _ = driven(project)
    values = curve_values(face.points).astype(np.float64)
    missing = (face.flags[:, list(range(48, 68))] == Flag.MISSING).any(1)
    values[missing] = np.nan
    return values


def move_point(project: Project, frame: int, joint: int, x: float, y: float, drag_id: Hashable | None = None):
    """Place a driven point (frontal coordinates) on one output frame: an anchor. One drag, one step."""
    from avstudio.editing import points as point_ops

    face, _ = driven(project)
    if joint not in DRIVEN_POINTS:
        raise UserError("Only the lips and the lower jaw are driven: the rest of the face is the target's own.")
    part = "lip" if joint >= 48 else "jaw"
    return point_ops.move_keypoint(project, face.id, frame, joint, x, y, drag_id,
                                   text=f"Move a driven {part} point (frame {frame + 1})")


def _rows_edit(project: Project, track, frames: np.ndarray, points: np.ndarray, text: str, stroke=None):
    idx = list(DRIVEN_POINTS)
    ff, jj = np.repeat(frames, len(idx)), np.tile(idx, len(frames))
    new = track.points[frames][:, idx].copy()
    new[..., :2] = points[:, idx, :2]
    group = None if stroke is None else ("driven-stroke", stroke)
    edits = [ArrayEdit.make(project, track.id, "points", (ff, jj), new.reshape(-1, 3), text, group),
             ArrayEdit.make(project, track.id, "flags", (ff, jj), Flag.EDITED, text, group)]
    return GestureEdit(edits, text, ("driven-stroke", track.id, stroke)) if stroke is not None else CompoundEdit(edits, text)


def set_curve_values(project: Project, frames, name: str, values, stroke: Hashable | None = None, text: str | None = None):
    """Set a mouth curve of the driven face on ``frames`` to ``values`` (a pen stroke, a line, a
    smoothing): the lips move so that the curve reads the value; the moved points become anchors."""
    face, _ = driven(project)
    frames = np.asarray(frames, np.intp)
    ok = (face.flags[frames][:, list(DRIVEN_POINTS)] != Flag.MISSING).all(1)
    frames, values = frames[ok], np.asarray(values, np.float64)[ok]
    if not len(frames):
        return None
    moved = np.stack([set_curve(face.points[f], name, v) for f, v in zip(frames, values)])
    return _rows_edit(project, face, frames, moved, text or f"Draw {name.replace('_', ' ')}", stroke)


def scale_expression(project: Project, start: int, stop: int, strength: float):
    """Scale the driven motion away from the target's neutral face over [start, stop) by ``strength``
    (0 neutral, 1 unchanged, 2 twice as much): the offline stand-in for EVP's emotion intensity."""
    face, _ = driven(project)
    target = clip_face(project, roles.TARGET)
    start, stop = max(0, int(start)), min(face.length, int(stop))
    frames = np.arange(start, stop)
    ok = (face.flags[frames][:, list(DRIVEN_POINTS)] != Flag.MISSING).all(1)
    frames = frames[ok]
    if not len(frames):
        return None
    moved = expression(face.points[frames][..., :2], target.fit.neutral_array[:, :2], strength, DRIVEN_POINTS)
    return _rows_edit(project, face, frames, moved, f"Expression ×{strength:g}")


def set_schedule(project: Project, start: int, stop: int, mode: str, first: int):
    """Put target frames under output frames [start, stop): from ``first`` aligned, looped, ping-pong
    or held. One undo step; the frames are the user's (EDITED)."""
    _, sched = driven(project)
    if mode not in MODES:
        raise UserError(f"Unknown schedule {mode!r}: use {', '.join(MODES)}.")
    target = project.require_track(roles.TARGET, layers.HEAD_POSE)
    start, stop = max(0, int(start)), min(sched.length, int(stop))
    if stop <= start:
        raise UserError("Select the output frames to schedule first.")
    fps_out = Fraction(*sched.meta["fps"])
    frames = schedule(stop - start, float(fps_out), target.length, float(driver_fps(project, roles.TARGET)), mode, first)
    rows = (np.arange(start, stop),)
    return CompoundEdit([ArrayEdit.make(project, sched.id, "values", rows, frames[:, None].astype(np.float32)),
                         ArrayEdit.make(project, sched.id, "flags", rows, Flag.EDITED)],
                        f"Schedule: {MODE_TEXT[mode]} from target frame {int(first) + 1}")

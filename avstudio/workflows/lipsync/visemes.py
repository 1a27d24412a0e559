"""The viseme model at the project level: the target's face driven by a clip's speech (its viseme row,
the target's own mouths), the viseme row's edits — each re-drives the output frames it changes, in
the same undo step, so the driven face and the render follow — and the user's pick of the target
frame a viseme's mouth is taken from."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Hashable

import numpy as np

from avstudio.analysis.face.analyse import clip_face
from avstudio.core import layers, roles
from avstudio.core.edits import ArrayEdit, CompoundEdit, SetSetting
from avstudio.core.errors import UserError
from avstudio.core.project import Project
from avstudio.core.tracks import Flag, SegmentTrack
from avstudio.editing import segments as seg_ops
from avstudio.retarget.face import DRIVEN_POINTS, MODES
from avstudio.retarget.speech import choose_frames, shapes, speech_face
from avstudio.workflows.lipsync.drive import driven_edit, driver_fps
from avstudio.workflows.lipsync.speech import DRIVER, VISEME_FRAMES, speech_file
from avstudio.workflows.operation import Operation

VISEMES = "visemes"   # the viseme model (no training); otherwise a speech → mouth model's name


def viseme_row(project: Project, clip: str) -> SegmentTrack:
    from avstudio.analysis.speech.visemes import names

    speech_file(project, clip)   # a clear message for a clip without a voice
    row = project.require_track(clip, layers.VISEMES)
    unknown = set(row.labels) - set(names())
    if unknown or not isinstance(row, SegmentTrack):
        raise UserError(f"The {roles.label(clip)}'s viseme row names visemes AV Studio does not know "
                        f"({', '.join(sorted(unknown)[:5])}): analyse its speech again.", hint="lipsync_speech")
    return row


def viseme_frames(project: Project) -> dict[str, int]:
    """{viseme: target frame} its mouth comes from (the user's picks, else chosen by mouth geometry)."""
    target = clip_face(project, roles.TARGET)
    usable = (target.frontal_flags[:, list(DRIVEN_POINTS)] != Flag.MISSING).all(1)
    yaw = project.require_track(roles.TARGET, layers.HEAD_POSE).arrays["values"][:, 0]
    return choose_frames(target.frontal, usable, yaw, target.fit.neutral_array, target.fit.mouth_range,
                         project.settings.get(VISEME_FRAMES) or {})


def _face_of(project: Project, row: SegmentTrack, fps: Fraction, frames: dict | None = None):
    target = clip_face(project, roles.TARGET)
    frames = viseme_frames(project) if frames is None else frames
    if not frames:
        raise UserError("The target's face is not found on any frontal frame: analyse its face first.",
                        hint="analyse_target_face")
    duration = float(row.meta.get("duration", 0.0))
    n_out = max(1, math.ceil(duration * float(fps) - 1e-9))
    offsets = shapes(target.frontal, frames, target.fit.neutral_array)
    return speech_face(row.spans(), duration, float(fps), n_out, offsets, target.fit.neutral_array,
                       _jaw(project, row, float(fps), n_out))


def _jaw(project: Project, row: SegmentTrack, fps: float, n_out: int) -> np.ndarray | None:
    """Loudness on the output frames (the speech curves are on the clip's grid, maybe another rate)."""
    from avstudio.retarget.speech import jaw_from_loudness

    curves = project.find_track(row.meta.get("clip"), layers.SPEECH)
    if curves is None:
        return None
    grid = float(Fraction(*curves.meta["fps"]))
    t = (np.arange(n_out) + 0.5) / fps
    k = np.clip(np.floor(t * grid).astype(np.int64), 0, curves.length - 1)
    db, prob = curves.arrays["values"][k, 0], curves.arrays["values"][k, 1]
    return jaw_from_loudness(db, prob >= 0.5)


def speech_drive_edit(project: Project, clip: str, mode: str | None = None):
    """The edit that drives the target's face from ``clip``'s viseme row: output frames at the target's
    frame rate for as long as the sound lasts, the target's frames scheduled under them."""
    if mode is not None and mode not in MODES:
        raise UserError(f"Unknown schedule {mode!r}: use {', '.join(MODES)}.")
    row = viseme_row(project, clip)
    fps = driver_fps(project, roles.TARGET)
    points, flags = _face_of(project, row, fps)
    return _speech_edit(project, clip, row, points, flags, VISEMES, mode)


def offsets_edit(project: Project, clip: str, offsets: np.ndarray, model: str, mode: str | None = None):
    """The edit that drives the target's face with mouth ``offsets`` (n, P, 2) from its neutral face,
    made of ``clip``'s speech by a learned model."""
    from avstudio.retarget.speech import face_from_offsets

    target = clip_face(project, roles.TARGET)
    points, flags = face_from_offsets(np.asarray(offsets, np.float64), target.fit.neutral_array)
    return _speech_edit(project, clip, viseme_row(project, clip), points, flags, model, mode)


def _speech_edit(project, clip, row, points, flags, model: str, mode):
    fps = driver_fps(project, roles.TARGET)
    how = "" if model == VISEMES else f" ({model})"
    edit, info = driven_edit(project, points, flags, fps, mode, {"driver": DRIVER, "speech": clip,
                                                                 "speech_model": model},
                             f"Drive the target's face from the {roles.label(clip)}'s speech{how}")
    return edit, {**info, "clip": clip, "blocks": row.length, "seconds": float(row.meta.get("duration", 0.0))}


def speech_drive_job(project: Project, clip: str, mode: str | None):
    from avstudio.core.progress import Progress

    yield Progress(0, None, "Driving the target's face from speech")
    return speech_drive_edit(project, clip, mode)


def drive_from_speech(project: Project, clip: str, *, mode: str | None = None) -> Operation:
    """Drive the target's face from a clip's speech with the viseme model (no training)."""
    viseme_row(project, clip)
    clip_face(project, roles.TARGET)
    return Operation("Drive the target's face from speech", "avstudio.workflows.lipsync.visemes:speech_drive_job",
                     (project, clip, mode), quiet=True, apply=lambda p, r: r[0],
                     summary=lambda r: (f"Drove {r[1]['frames']} frames ({r[1]['seconds']:.1f} s) from the "
                                        f"{roles.label(r[1]['clip'])}'s {r[1]['blocks']} viseme blocks; schedule "
                                        f"{r[1]['mode']}, target frames {r[1]['first'] + 1}–{r[1]['last'] + 1}."))


def _redrive(project: Project, clip: str, row: SegmentTrack, frames: dict | None, text: str, key=None):
    """ArrayEdits moving the driven points of the output frames whose viseme mouth changes (the
    user's anchors stay), when the driven face is driven by ``clip``'s speech; else []."""
    face = project.find_track(roles.DRIVEN, layers.DRIVEN)
    if face is None or face.meta.get("driver") != DRIVER or face.meta.get("speech") != clip \
            or face.meta.get("speech_model", VISEMES) != VISEMES:
        return []   # a learned model reads the visemes when it predicts: predict again to use the edit
    points, _ = _face_of(project, row, Fraction(*face.meta["fps"]), frames)
    n = min(len(points), face.length)
    idx = list(DRIVEN_POINTS)
    old = face.points[:n][:, idx, :2]
    changed = (np.abs(points[:n, idx, :2] - old) > 1e-6) & (face.flags[:n, idx] != Flag.EDITED)[..., None]
    ff, jj = np.nonzero(changed.any(-1))
    if not len(ff):
        return []
    jj = np.asarray(idx)[jj]
    new = face.points[ff, jj].copy()
    new[:, :2] = points[ff, jj, :2]
    return [ArrayEdit.make(project, face.id, "points", (ff, jj), new, text, key)]


def edit_row(project: Project, clip: str, op: str, *args, drag: Hashable | None = None):
    """One edit of ``clip``'s viseme row — op: move (i, "start"|"end", t), relabel (i, label), split
    (i, t), merge (i), delete (i) — with the driven frames it changes re-driven: one undo step."""
    row = viseme_row(project, clip)
    fn = {"move": seg_ops.move_edge, "relabel": seg_ops.relabel, "split": seg_ops.split,
          "merge": seg_ops.merge, "delete": seg_ops.delete}.get(op)
    if fn is None:
        raise UserError(f"Unknown viseme edit {op!r}: use move, relabel, split, merge or delete.")
    spans = fn(row, *args, drag) if op == "move" else fn(row, *args)
    preview = SegmentTrack(spans.new, row.meta, row.id, row.name)
    return CompoundEdit([spans] + _redrive(project, clip, preview, None, spans.text, drag), spans.text)


def pick_frame(project: Project, clip: str, viseme: str, frame: int):
    """Take ``viseme``'s mouth from target frame ``frame`` (the user's pick): one undo step, the driven
    frames that show it re-driven."""
    frames = viseme_frames(project)
    if viseme not in frames:
        raise UserError(f"{viseme!r} is not a viseme with a mouth of its own: use {', '.join(frames)}.")
    target = clip_face(project, roles.TARGET)
    f = int(frame)
    if not 0 <= f < len(target.frontal) or (target.frontal_flags[f, list(DRIVEN_POINTS)] == Flag.MISSING).any():
        raise UserError(f"Target frame {f + 1} has no usable face to take a mouth from.")
    picks = {**(project.settings.get(VISEME_FRAMES) or {}), viseme: f}
    text = f"Take '{viseme}' from target frame {f + 1}"
    return CompoundEdit([SetSetting(VISEME_FRAMES, picks, text=text)]
                        + _redrive(project, clip, viseme_row(project, clip), {**frames, viseme: f}, text), text)

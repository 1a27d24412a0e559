"""Pose and face landmarks of a clip, as operations: analyse a clip or re-analyse a range (MediaPipe,
in a child process), OpenPose JSON import and export. Shared by the motion workflow (body pose) and
lip sync (face landmarks).

Whether a new analysis replaces or merges is decided here, once, for both front ends: a clip that
already has a track of the same layout takes the new points everywhere except at the user's
anchors (EDITED points); one without a track (or ``replace``, or a track of another layout, such as
an OpenPose import) gets a new track.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator

from avstudio.analysis.landmarks.extract import ExtractRequest, ExtractResult
from avstudio.analysis.landmarks.layouts import FACE_SKELETON, POSE_SKELETON, body25, face68, track_from_result
from avstudio.core import layers, roles
from avstudio.core.edits import Edit, ReplaceTrack
from avstudio.core.errors import UserError
from avstudio.core.progress import Progress
from avstudio.core.project import Project
from avstudio.core.tracks import Flag, PoseTrack, Track
from avstudio.editing.points import merge_reextraction
from avstudio.workflows.operation import Operation, Runs

KINDS = {"pose": layers.POSE, "face": layers.FACE}  # what is analysed → the layer it fills
_SKELETONS = {"pose": POSE_SKELETON, "face": FACE_SKELETON}  # the layouts an analysis makes


def _frame_count(path) -> int:
    """The frame count of a clip whose reference does not say it (projects of older versions)."""
    from avstudio.media.probe import probe, require_video

    return require_video(probe(path)).frame_count


def _hint_before(track: Track, start: int):
    """Where the track's subject was just before ``start`` (a re-analysis follows the same person)."""
    from avstudio.analysis.landmarks.follow import subject_box

    for f in range(start - 1, max(-1, start - 30), -1):
        if (track.flags[f] != Flag.MISSING).any():
            return subject_box(track.points[f])
    return None


MAX_WORKERS = 64


def check_range(frames: int, start: int, stop: int | None, seed=None, workers: int | None = None) -> None:
    """Refuse a range, seed or worker count outside the clip (``frames`` frames), naming the option
    and the values it may take."""
    last = frames - 1
    if not 0 <= start <= last:
        raise UserError(f"The first frame (start) must be 0 to {last}: the clip has {frames} frames; got {start}.")
    if stop is not None and not start < stop <= frames:
        raise UserError(f"The end frame (one past the last) must be {start + 1} to {frames}; got {stop}.")
    if seed is not None:
        frame, x, y = seed
        if not (0 <= frame <= last and math.isfinite(x) and math.isfinite(y)):
            raise UserError(f"The seed is a frame 0 to {last} and a finite pixel x, y; got {frame}, {x}, {y}.")
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise UserError(f"The number of worker processes must be 1 to {MAX_WORKERS}; got {workers}.")


def extract_request(project: Project, clip: str, kind: str, *, seed=None, start: int = 0, stop: int | None = None,
                    workers: int | None = None) -> ExtractRequest:
    if kind not in KINDS:
        raise UserError(f"Unknown analysis {kind!r}: use pose or face.")
    ref, path = project.clip_media(clip)
    check_range(ref.frame_count or _frame_count(path), start, stop, seed, workers)
    hint = None
    if seed is None and start > 0:
        existing = project.find_track(clip, KINDS[kind])
        hint = _hint_before(existing, start) if existing is not None else None
    return ExtractRequest(str(path), kind, int(start), stop, tuple(seed) if seed else None, hint, workers)


def merges(project: Project, clip: str, kind: str, replace: bool) -> bool:
    """The rule of the module: does a new analysis merge into the clip's track (anchors kept)?"""
    existing = project.find_track(clip, KINDS[kind])
    return existing is not None and not replace and existing.meta.get("skeleton") == _SKELETONS[kind]


def extraction_edit(project: Project, clip: str, kind: str, result: ExtractResult, *, replace: bool = False) -> Edit:
    """The (not yet applied) edit that puts an extraction into the project (see the module's rule)."""
    ref, path = project.clip_media(clip)
    existing = project.find_track(clip, KINDS[kind])
    if merges(project, clip, kind, replace):
        return merge_reextraction(project, existing.id, result.start, result.points, result.flags)
    track = track_from_result(result, ref.frame_count or _frame_count(path), kind, ref.id, f"{roles.short(clip)} {kind}")
    track.meta.update({"clip": clip, "layer": KINDS[kind]})
    if existing is not None:
        track.id = existing.id
    return ReplaceTrack(track, text=f"Analyse {roles.short(clip)} {kind}")


def found_summary(clip: str, kind: str, result: ExtractResult, merged: bool) -> str:
    found = int((result.flags[:, 0] != Flag.MISSING).sum())
    how = "merged into its track (your anchors kept)" if merged else "stored as a new track"
    return f"{roles.title(clip)} {kind}: the subject was found in {found}/{len(result.flags)} frames; {how}."


def analyse(project: Project, clip: str, kind: str, *, seed=None, start: int = 0, stop: int | None = None,
            workers: int | None = None, replace: bool = False) -> Operation:
    """Analyse a clip's pose or face landmarks, or re-analyse frames [start, stop) (anchors stay)."""
    req = extract_request(project, clip, kind, seed=seed, start=start, stop=stop, workers=workers)
    merged = merges(project, clip, kind, replace)
    whole = start == 0 and stop is None
    name = f"Analyse {roles.short(clip)} {kind}" if whole else \
        f"Re-analyse {roles.short(clip)} {kind} {start + 1}–{stop if stop is not None else 'end'}"
    if kind == "face":  # lip sync's face analysis comes with it (head pose, frontal landmarks, curves)
        from avstudio.workflows.lipsync.face import analysis_operation
        return analysis_operation(project, clip, req, merged=merged, replace=replace, name=name)
    return Operation(name, "avstudio.analysis.landmarks.extract:extract", (req,), runs=Runs.PROCESS,
                     apply=lambda p, r: extraction_edit(p, clip, kind, r, replace=replace),
                     summary=lambda r: found_summary(clip, kind, r, merged))


# ---- OpenPose JSON ------------------------------------------------------------------------------

def import_openpose_job(folder: str, frame_count: int) -> Iterator[Progress]:
    """Job: read a folder of OpenPose BODY_25 JSON files. Returns (points, flags, report)."""
    from avstudio.analysis.landmarks.openpose_io import import_openpose

    yield Progress(0, None, f"Reading {Path(folder).name}")
    return import_openpose(folder, frame_count)


def import_openpose(project: Project, clip: str, folder: str) -> Operation:
    """The clip's pose track from OpenPose (or DWPose) BODY_25 JSON, one file per frame (one undo step)."""
    ref, _ = project.clip_media(clip)

    def edit(p: Project, result) -> Edit:
        pts, flags, _ = result
        track = PoseTrack({"points": pts, "flags": flags}, {"skeleton": "body25", "clip": clip, "layer": layers.POSE,
                                                            "media_id": ref.id, "imported_from": str(folder)},
                          name=f"{roles.short(clip)} pose (OpenPose)")
        existing = p.find_track(clip, layers.POSE)
        if existing is not None:
            track.id = existing.id
        return ReplaceTrack(track, text=f"Import {roles.short(clip)} pose")

    def summary(result) -> str:
        rep = result[2]
        return (f"Imported {rep['files']} files: {rep['frames_without_file']} frames had no file and "
                f"{rep['frames_without_person']} no person (both MISSING).")
    return Operation(f"Import OpenPose into the {roles.label(clip)}", "avstudio.workflows.landmarks:import_openpose_job",
                     (str(folder), ref.frame_count), apply=edit, summary=summary)


def export_openpose_job(folder: str, stem: str, body, face=None) -> Iterator[Progress]:
    """Job: one OpenPose JSON file per frame. Returns the number of files written."""
    from avstudio.analysis.landmarks.openpose_io import export_openpose

    n = len(body[0])
    written = 0
    for written, _ in enumerate(export_openpose(folder, stem, body, face), 1):
        if written % 50 == 0:
            yield Progress(written, n, f"Wrote {written}/{n} files")
    return written


def export_openpose(project: Project, clip: str, folder: str, *, normalized: bool = False,
                    stem: str | None = None) -> Operation:
    """The clip's pose (or the source normalized into the target) as OpenPose BODY_25 (+ face 70) JSON."""
    from avstudio.analysis.landmarks.openpose_io import check_stem

    stem = check_stem(stem or clip)
    track = project.require_track(clip, layers.NORMALIZED if normalized else layers.POSE)
    face_track = project.find_track(clip, layers.FACE)
    face = face68(face_track, pupils=True) if face_track is not None and not normalized else None
    return Operation(f"Export OpenPose of the {roles.label(clip)}", "avstudio.workflows.landmarks:export_openpose_job",
                     (str(folder), stem, body25(track), face),
                     summary=lambda n: f"Wrote {n} OpenPose JSON files to {folder}")

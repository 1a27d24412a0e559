"""Face analysis of a clip and the edits of its face, as operations and edits.

An analysis runs MediaPipe Face Mesh and, in the same child process, what lip sync derives from it
(analysis/face: head pose, frontal landmarks, mouth and eye curves), so nothing heavy runs on the
editor's thread when the result lands. A whole-clip analysis fits the clip's reference face anew; a
re-analysed range keeps the fit and recomputes the range only. Either way the user's anchors (EDITED
points) stay, as for body pose (workflows/landmarks.py decides merge or replace, once).

Every edit of a clip's face points carries :class:`RederiveFace`, which recomputes the derived tracks
of the edited frames (≈1 ms a frame) when applied — so undo and redo keep them in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from avstudio.analysis.face.analyse import FACE68, Derived, FaceFit, derive, derived_arrays, fit_face, summary, tracks
from avstudio.analysis.landmarks.extract import ExtractRequest, ExtractResult
from avstudio.core import layers, roles
from avstudio.core.edits import ArrayEdit, CompoundEdit, Edit, GestureEdit, ReplaceTrack
from avstudio.core.progress import Progress
from avstudio.core.project import Project
from avstudio.core.tracks import FeatureTrack, Flag

_ROWS = {"pose": layers.HEAD_POSE, "frontal": layers.FRONTAL, "curves": layers.FACE_CURVES}


@dataclass
class FaceAnalysis:
    """What the analysis job returns: the extraction, the depth of the range after the merge (anchors
    kept), a new fit (None: the clip's fit stays) and the derived rows of the range."""

    result: ExtractResult
    depth: np.ndarray
    fit: dict | None
    derived: Derived | None  # None: no face anywhere in a new analysis, so no fit and nothing derived
    summary: dict


def analyse_job(req: ExtractRequest, old: tuple | None = None, fit: dict | None = None) -> Iterator[Progress]:
    """Job: Face Mesh over the request's range, merged into ``old`` (points, flags, depth rows of the
    range: the user's EDITED points stay), then the derived tracks of the range — with the clip's
    ``fit`` or, when None, a new fit of the range. Returns a :class:`FaceAnalysis`."""
    from avstudio.analysis.landmarks.extract import extract

    result = yield from extract(req)
    pts, fl = result.points, result.flags
    dep = result.depth if result.depth is not None else np.zeros(fl.shape, np.float32)
    if old is not None:
        keep = old[1] == Flag.EDITED
        pts = np.where(keep[..., None], old[0], pts)
        fl = np.where(keep, old[1], fl)
        if old[2] is not None:
            dep = np.where(keep, old[2], dep).astype(np.float32)
    yield Progress(len(fl), len(fl), "Fitting the head pose and the face curves")
    face_fit = FaceFit.from_json(fit) if fit is not None else None
    new_fit = None
    if face_fit is None:
        if not (fl != Flag.MISSING).any():  # the landmarks are stored (all MISSING); nothing to derive
            return FaceAnalysis(result, dep, None, None, {"found": 0, "frames": len(fl), "profile": 0,
                                                          "eye_distance_px": 0.0, "depth": True})
        face_fit = fit_face(pts, fl, dep)
        new_fit = face_fit.to_json()
    d = derive(pts, fl, dep, face_fit)
    d.frames = d.frames + result.start
    return FaceAnalysis(result, dep, new_fit, d, summary(face_fit, d, len(fl)))


def analysis_operation(project: Project, clip: str, req: ExtractRequest, *, merged: bool, replace: bool, name: str):
    """The operation of analysing a clip's face (landmarks.analyse's face branch)."""
    from avstudio.workflows.operation import Operation, Runs

    start = req.start
    stop = req.stop
    old = fit = None
    face = project.find_track(clip, layers.FACE)
    if merged:
        stop_ = face.length if stop is None else min(stop, face.length)
        depth = project.find_track(clip, layers.FACE_DEPTH)
        old = (face.points[start:stop_].copy(), face.flags[start:stop_].copy(),
               depth.arrays["values"][start:stop_].copy() if depth is not None else None)
    pose = project.find_track(clip, layers.HEAD_POSE)
    whole = start == 0 and stop is None
    if pose is not None and not whole and merged:
        fit = pose.meta.get("fit")
    return Operation(name, "avstudio.workflows.lipsync.face:analyse_job", (req, old, fit), runs=Runs.PROCESS,
                     apply=lambda p, fa: analysis_edit(p, clip, fa, replace=replace),
                     summary=lambda fa: analysis_summary(clip, fa, merged))


def _depth_track(project: Project, clip: str, fa: FaceAnalysis, frames: int, media_id) -> FeatureTrack:
    values = np.zeros((frames, fa.depth.shape[1]), np.float32)
    start = fa.result.start
    values[start:start + len(fa.depth)] = fa.depth
    track = FeatureTrack({"values": values}, {"clip": clip, "layer": layers.FACE_DEPTH, "feature": "depth",
                                              "media_id": media_id}, name=f"{roles.short(clip)} face depth")
    old = project.find_track(clip, layers.FACE_DEPTH)
    if old is not None:
        track.id = old.id
    return track


def analysis_edit(project: Project, clip: str, fa: FaceAnalysis, *, replace: bool) -> Edit:
    """The face track (merged or replaced, by landmarks' rule), its depth, and the derived tracks."""
    from avstudio.workflows.landmarks import extraction_edit, merges

    merged = merges(project, clip, "face", replace)
    base = extraction_edit(project, clip, "face", fa.result, replace=replace)
    ref, _ = project.clip_media(clip)
    frames = project.find_track(clip, layers.FACE).length if merged else None
    edits = [base] if base is not None else []
    depth = project.find_track(clip, layers.FACE_DEPTH)
    start, n = fa.result.start, len(fa.depth)
    if merged and depth is not None and depth.length == frames:
        edits.append(ArrayEdit.make(project, depth.id, "values", (np.arange(start, start + n),), fa.depth))
    else:
        frames = frames or (base.track.length if isinstance(base, ReplaceTrack) else ref.frame_count)
        edits.append(ReplaceTrack(_depth_track(project, clip, fa, frames, ref.id)))
    if fa.derived is not None:
        edits += derived_edits(project, clip, fa.fit, fa.derived, frames, ref.id)
    return CompoundEdit(edits, f"Analyse {roles.short(clip)} face")


def derived_edits(project: Project, clip: str, fit: dict | None, d: Derived, frames: int, media_id) -> list[Edit]:
    """Edits putting derived rows in: new tracks with a new fit (rows outside ``d.frames`` MISSING),
    else the rows of the clip's tracks."""
    existing = {k: project.find_track(clip, layer) for k, layer in _ROWS.items()}
    if fit is not None or any(t is None or t.length != frames for t in existing.values()):
        face_fit = FaceFit.from_json(fit if fit is not None else existing["pose"].meta["fit"])
        full = Derived(np.arange(frames), *_empty_rows(frames))
        new = tracks(clip, media_id, face_fit, full)
        for track in new:
            track.meta["clip"] = clip
        pose, frontal, curves = new
        from avstudio.analysis.face.analyse import write
        write(pose, frontal, curves, d)
        out = []
        for key, track in zip(_ROWS, new):
            if existing[key] is not None:
                track.id = existing[key].id
            out.append(ReplaceTrack(track))
        return out
    rows = (np.asarray(d.frames, np.intp),)
    return [ArrayEdit.make(project, existing[name.split(".")[0]].id, name.split(".")[1], rows, arr)
            for name, arr in derived_arrays(d).items()]


def _empty_rows(n: int):
    from avstudio.analysis.face.curves import CURVES
    from avstudio.analysis.face.geometry import POSE_CHANNELS

    return (np.zeros((n, len(POSE_CHANNELS)), np.float32), np.zeros(n, bool), np.zeros((n, 68, 3), np.float32),
            np.full((n, 68), Flag.MISSING, np.uint8), np.zeros((n, len(CURVES)), np.float32), np.zeros(n, bool))


def analysis_summary(clip: str, fa: FaceAnalysis, merged: bool) -> str:
    s = fa.summary
    how = "merged into its track (your anchors kept)" if merged else "stored as new tracks"
    lines = [f"{roles.title(clip)} face: found in {s['found']}/{s['frames']} frames; {how}."]
    if not s["found"]:
        lines.append("No face was found: lip sync needs a face seen from the front. Check the clip, or click "
                     "the face and analyse again.")
    elif s["found"] < s["frames"]:
        lines.append(f"{s['frames'] - s['found']} frames without the face are MISSING (never guessed): fix them "
                     "with Interpolate Range, or leave them — the renderer keeps those frames as filmed.")
    if s["profile"]:
        lines.append(f"{s['profile']} frames show the face turned more than 40°: flagged, and left as filmed.")
    if s["found"] and s["eye_distance_px"] < 30:
        lines.append(f"The face is small ({s['eye_distance_px']:.0f} px between the outer eye corners): mouth "
                     "shapes and renders will be coarse.")
    if not s["depth"]:
        lines.append("No depth for this face: the head pose is 2-D (roll only). Analyse the face again for 3-D.")
    return "\n".join(lines)


# ---- edits of a clip's face points -----------------------------------------------------------------

@dataclass(eq=False)
class RederiveFace(Edit):
    """Recompute the derived tracks (head pose, frontal landmarks, curves) of ``frames`` from the clip's
    face track as it is when applied — in a compound edit, after the change of its points."""

    clip: str
    frames: np.ndarray
    text: str = "Update the face analysis"
    _old: dict | None = None

    def _tracks(self, project: Project):
        out = {k: project.find_track(self.clip, layer) for k, layer in _ROWS.items()}
        return out if all(t is not None for t in out.values()) and "fit" in out["pose"].meta else None

    def apply(self, project: Project) -> None:
        derived = self._tracks(project)
        if derived is None:
            return
        face = project.require_track(self.clip, layers.FACE)
        depth = project.find_track(self.clip, layers.FACE_DEPTH)
        frames = np.unique(np.asarray(self.frames, np.intp))
        d = derive(face.points, face.flags, depth.arrays["values"] if depth is not None else None,
                   FaceFit.from_json(derived["pose"].meta["fit"]), frames)
        rows = derived_arrays(d)
        if self._old is None:
            self._old = {"frames": frames, **{k: derived[k.split(".")[0]].arrays[k.split(".")[1]][frames].copy()
                                              for k in rows}}
        self._write(project, derived, frames, rows)

    def revert(self, project: Project) -> None:
        derived = self._tracks(project)
        if derived is None or self._old is None:
            return
        self._write(project, derived, self._old["frames"], {k: v for k, v in self._old.items() if k != "frames"})

    @staticmethod
    def _write(project: Project, derived: dict, frames: np.ndarray, rows: dict) -> None:
        for key, values in rows.items():
            name, array = key.split(".")
            derived[name].arrays[array][frames] = values
        for t in derived.values():
            project.mark_track_changed(t.id)

    def merge(self, later: Edit) -> bool:
        """One gesture: the frames of both (the rows before the first kept)."""
        if not isinstance(later, RederiveFace) or later.clip != self.clip:
            return False
        if self._old is not None and later._old is not None:
            extra = np.setdiff1d(later._old["frames"], self._old["frames"])
            if len(extra):
                pick = np.searchsorted(later._old["frames"], extra)
                self._old = {k: (np.concatenate([v, extra]) if k == "frames" else np.concatenate([v, later._old[k][pick]]))
                             for k, v in self._old.items()}
        self.frames = np.union1d(self.frames, later.frames)
        return True


def with_rederive(clip: str, edit: Edit | None, frames) -> Edit | None:
    """A face-point edit of ``clip`` that also recomputes the derived tracks of ``frames`` (a gesture
    stays one gesture: its merge key is kept)."""
    if edit is None:
        return None
    again = RederiveFace(clip, np.atleast_1d(np.asarray(frames, np.intp)))
    if isinstance(edit, GestureEdit):
        return GestureEdit(edit.edits + [again], edit.text, edit.merge_key)
    return CompoundEdit([edit, again], edit.text)


def mesh_joint(j68: int) -> int:
    """The Face Mesh point behind an iBUG-68 point (what dragging it moves)."""
    return FACE68[int(j68)]

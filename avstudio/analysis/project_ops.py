"""Analysis and retargeting at the project level: which track belongs to which clip, and applying
results. Jobs compute; the functions here change the project (on the caller's thread)."""

from __future__ import annotations

from typing import Iterator

from avstudio.analysis.extract import ExtractRequest, ExtractResult, extract
from avstudio.analysis.keypoint_ops import merge_reextraction
from avstudio.analysis.landmarks import track_from_result
from avstudio.core.errors import ProjectError, UserError
from avstudio.core.progress import Progress
from avstudio.core.project import Project
from avstudio.core.tracks import Flag, Track

KIND_TRACK = {"pose": "pose", "face": "landmarks"}


def find_track(project: Project, clip: str, layer: str) -> Track | None:
    """The track of ``layer`` (pose, face, normalized) for ``clip`` (source, target)."""
    for t in project.tracks.values():
        if t.meta.get("clip") == clip and t.meta.get("layer") == layer:
            return t
    return None


def require_track(project: Project, clip: str, layer: str) -> Track:
    t = find_track(project, clip, layer)
    if t is None:
        verb = {"pose": "analyze pose", "face": "analyze face", "normalized": "retarget"}[layer]
        raise ProjectError(f"The {clip} clip has no {layer} track yet. Run `avstudio {verb}` "
                           f"(or Analysis ▸ {verb.title()}) first.")
    return t


def clip_path(project: Project, clip: str):
    ref = project.media_by_role(clip)
    if ref is None:
        raise ProjectError(f"The project has no {clip} clip.")
    return ref, project.media_path(ref.id)


def analyze_clip(project: Project, clip: str, kind: str, *, seed=None, start: int = 0, stop: int | None = None,
                 workers: int | None = None) -> Iterator[Progress]:
    """Job: extract pose or face landmarks of a clip. Returns the ExtractResult (apply it with
    :func:`apply_extraction` on the thread that owns the project)."""
    if kind not in KIND_TRACK:
        raise UserError(f"Unknown analysis {kind!r}: use pose or face.")
    _, path = clip_path(project, clip)
    if seed is None and start > 0:
        # Re-analysing a range: keep following the subject the track already follows.
        existing = find_track(project, clip, kind)
        hint = _hint_before(existing, start) if existing is not None else None
    else:
        hint = None
    req = ExtractRequest(str(path), kind, start, stop, tuple(seed) if seed else None, hint, workers)
    return (yield from extract(req))


def _hint_before(track: Track, start: int):
    from avstudio.analysis.follow import subject_box

    for f in range(start - 1, max(-1, start - 30), -1):
        if (track.flags[f] != Flag.MISSING).any():
            return subject_box(track.points[f])
    return None


def extraction_edit(project: Project, clip: str, kind: str, result: ExtractResult, *, replace: bool = False):
    """The (not yet applied) edit that puts an extraction into the project: a new analysis of a clip
    makes or replaces its track; a re-analysis of a range merges into the existing track and keeps
    every EDITED point."""
    from avstudio.core.edits import ReplaceTrack

    ref, path = clip_path(project, clip)
    existing = find_track(project, clip, kind)
    if existing is not None and not replace:
        return merge_reextraction(project, existing.id, result.start, result.points, result.flags)
    frames = int(ref.probe.get("video", {}).get("frame_count") or 0)
    if frames <= 0:
        from avstudio.media.probe import probe
        frames = probe(path).video.frame_count
    track = track_from_result(result, frames, kind, ref.id, f"{clip} {kind}")
    track.meta.update({"clip": clip, "layer": kind})
    if existing is not None:
        track.id = existing.id
    return ReplaceTrack(track, text=f"Analyse {clip} {kind}")


def apply_extraction(project: Project, clip: str, kind: str, result: ExtractResult, *, replace: bool = False):
    """Apply :func:`extraction_edit` now. Returns (track, the merge edit or None when the track was
    made or replaced)."""
    from avstudio.core.edits import ReplaceTrack

    edit = extraction_edit(project, clip, kind, result, replace=replace)
    if edit is not None:
        edit.apply(project)
    return find_track(project, clip, kind), (None if isinstance(edit, ReplaceTrack) else edit)

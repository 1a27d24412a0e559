"""Analysis and retargeting at the project level: which track belongs to which clip, and applying
results. Jobs compute; the functions here change the project (on the caller's thread)."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from avstudio.analysis.extract import ExtractRequest, ExtractResult, extract
from avstudio.analysis.keypoint_ops import merge_reextraction
from avstudio.analysis.landmarks import body25, face68, track_from_result
from avstudio.core.errors import ProjectError, UserError
from avstudio.core.progress import Progress
from avstudio.core.project import Project
from avstudio.core.tracks import Flag, PoseTrack, Track
from avstudio.retarget.normalize import ClipStats, clip_stats, normalize

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


def apply_extraction(project: Project, clip: str, kind: str, result: ExtractResult, *, replace: bool = False):
    """Put an extraction into the project. A new clip analysis makes the track; a re-analysis of a
    range merges into the existing track and keeps every EDITED point. Returns (track, edit or None);
    the edit is already applied (hand it to the undo stack)."""
    ref, path = clip_path(project, clip)
    frames = int(ref.probe.get("video", {}).get("frame_count") or 0)
    existing = find_track(project, clip, kind)
    if existing is not None and not replace:
        edit = merge_reextraction(project, existing.id, result.start, result.points, result.flags)
        if edit is not None:
            edit.apply(project)
        return existing, edit
    if frames <= 0:
        from avstudio.media.probe import probe
        frames = probe(path).video.frame_count
    track = track_from_result(result, frames, kind, ref.id, f"{clip} {kind}")
    track.meta.update({"clip": clip, "layer": kind})
    if existing is not None:
        track.id = existing.id
        project.replace_track(track)
    else:
        project.add_track(track)
    return track, None


def retarget(project: Project, *, median: int | None = 7, overrides: dict | None = None) -> PoseTrack:
    """Normalize the source pose into the target's space (BODY_25) and store it as the source's
    ``normalized`` track; the statistics (with the user's overrides) go to settings['retarget']."""
    src = require_track(project, "source", "pose")
    tgt = require_track(project, "target", "pose")
    s_pts, s_fl = body25(src)
    t_pts, t_fl = body25(tgt)
    saved = project.settings.get("retarget", {})
    stats = {"source": clip_stats(s_pts, s_fl).to_json(), "target": clip_stats(t_pts, t_fl).to_json()}
    # Overrides persist until the user resets them: e.g. {"target.far_y": 400}.
    merged_over = {**saved.get("overrides", {}), **(overrides or {})}
    for key, value in merged_over.items():
        side, _, field = key.partition(".")
        if side not in stats or field not in stats[side]:
            raise UserError(f"Unknown statistic {key!r}: use source.<field> or target.<field> with a field of "
                            f"{', '.join(stats['source'])}.")
        stats[side][field] = float(value)
    out, fl, level = normalize(s_pts, s_fl, ClipStats.from_json(stats["source"]), ClipStats.from_json(stats["target"]),
                               median=median)
    project.settings["retarget"] = {**stats, "overrides": merged_over, "median": median,
                                    "fallback_frames": {name: int((level == i).sum())
                                                        for i, name in enumerate(("ankles", "nose", "torso", "none"))}}
    track = PoseTrack({"points": out, "flags": fl}, {"skeleton": "body25", "clip": "source", "layer": "normalized",
                                                      "media_id": src.meta.get("media_id")},
                      name="source → target (normalized)")
    existing = find_track(project, "source", "normalized")
    if existing is not None:
        track.id = existing.id
        project.replace_track(track)
    else:
        project.add_track(track)
    project.touch()
    return track


def layer_for_render(project: Project, clip: str, layer: str):
    """(body (pts, flags), face (pts, flags) or None, frame size) for rendering a clip's layer."""
    ref, _ = clip_path(project, "target" if layer == "normalized" else clip)
    v = ref.probe.get("video", {})
    size = (int(v.get("width", 0)), int(v.get("height", 0)))
    track = require_track(project, "source" if layer == "normalized" else clip, layer)
    body = body25(track)
    face = None
    if layer == "pose":
        ft = find_track(project, clip, "face")
        if ft is not None:
            face = face68(ft)
    return body, face, size


def stick_frames(body, face, size, out_size) -> Iterator[np.ndarray]:
    from avstudio.retarget.render import render_frame

    for i in range(len(body[0])):
        yield render_frame((body[0][i], body[1][i]), (face[0][i], face[1][i]) if face else None, size, out_size)

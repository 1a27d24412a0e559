"""Retargeting at the project level: normalize the source pose into the target, render a layer."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from avstudio.analysis.landmarks import body25, face68
from avstudio.analysis.project_ops import clip_path, find_track, require_track
from avstudio.core.errors import UserError
from avstudio.core.project import Project
from avstudio.core.tracks import PoseTrack
from avstudio.retarget.normalize import ClipStats, clip_stats, normalize


def retarget(project: Project, *, median: int | None = 7, overrides: dict | None = None) -> PoseTrack:
    """Normalize the source pose into the target's space now (see :func:`retarget_edit`)."""
    retarget_edit(project, median=median, overrides=overrides).apply(project)
    return find_track(project, "source", "normalized")


def retarget_edit(project: Project, *, median: int | None = 7, overrides: dict | None = None):
    """The (not yet applied) edit that stores the source pose normalized into the target's space
    (BODY_25) as the source's ``normalized`` track, and the statistics (with the user's overrides)
    in settings['retarget']."""
    from avstudio.core.edits import CompoundEdit, ReplaceTrack, SetSetting

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
    settings = {**stats, "overrides": merged_over, "median": median,
                "fallback_frames": {name: int((level == i).sum())
                                    for i, name in enumerate(("ankles", "nose", "torso", "none"))}}
    track = PoseTrack({"points": out, "flags": fl}, {"skeleton": "body25", "clip": "source", "layer": "normalized",
                                                      "media_id": src.meta.get("media_id")},
                      name="source → target (normalized)")
    existing = find_track(project, "source", "normalized")
    if existing is not None:
        track.id = existing.id
    return CompoundEdit([ReplaceTrack(track), SetSetting("retarget", settings)], "Retarget")


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

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


def retarget_stats(project: Project, *, overrides: dict | None = None, reset: bool = False):
    """The normalization statistics the retarget uses: measured on both clips' pose tracks, with the
    user's overrides on top (saved ones first unless ``reset``, then ``overrides``). Returns
    ({"source": {...}, "target": {...}}, the merged overrides)."""
    src = require_track(project, "source", "pose")
    tgt = require_track(project, "target", "pose")
    stats = {"source": clip_stats(*body25(src)).to_json(), "target": clip_stats(*body25(tgt)).to_json()}
    saved = {} if reset else project.settings.get("retarget", {}).get("overrides", {})
    # Overrides persist until the user resets them: e.g. {"target.far_y": 400}.
    merged_over = {**saved, **(overrides or {})}
    for key, value in merged_over.items():
        side, _, field = key.partition(".")
        if side not in stats or field not in stats[side]:
            raise UserError(f"Unknown statistic {key!r}: use source.<field> or target.<field> with a field of "
                            f"{', '.join(stats['source'])}.")
        stats[side][field] = float(value)
    return stats, merged_over


def retarget_edit(project: Project, *, median: int | None = 7, overrides: dict | None = None, reset: bool = False):
    """The (not yet applied) edit that stores the source pose normalized into the target's space
    (BODY_25) as the source's ``normalized`` track, and the statistics (with the user's overrides;
    ``reset`` drops the saved ones) in settings['retarget']."""
    from avstudio.core.edits import CompoundEdit, ReplaceTrack, SetSetting

    src = require_track(project, "source", "pose")
    s_pts, s_fl = body25(src)
    stats, merged_over = retarget_stats(project, overrides=overrides, reset=reset)
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
    text = "Retarget" if not overrides else "Retarget: move " + ", ".join(k.replace("_", " ") for k in overrides)
    return CompoundEdit([ReplaceTrack(track), SetSetting("retarget", settings)], "Reset retarget lines" if reset else text)


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


def retarget_job(project: Project, *, median: int | None = 7, overrides: dict | None = None, reset: bool = False):
    """Job: build :func:`retarget_edit` off the GUI thread (a long clip's median filter takes a
    moment). Returns the edit, to be pushed on the thread that owns the project."""
    from avstudio.core.progress import Progress

    yield Progress(0, None, "Normalizing the source pose")
    return retarget_edit(project, median=median, overrides=overrides, reset=reset)

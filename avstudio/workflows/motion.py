"""The motion workflow (Everybody Dance Now) at the project level, as operations: retarget the source
pose into the target's space, draw stick figures, and the arguments for training, scoring and
rendering a motion-transfer model. The pose analysis it starts from is in workflows/landmarks.py.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from avstudio.analysis.landmarks.layouts import body25, face68
from avstudio.core import layers, roles
from avstudio.core.progress import Progress
from avstudio.core.project import Project
from avstudio.core.tracks import PoseTrack
from avstudio.retarget.body import LEVELS, ClipStats, check_override, clip_stats, normalize
from avstudio.workflows.operation import Operation, Runs, folder_of, needs_saved_project


def retarget_stats(project: Project, *, overrides: dict | None = None, reset: bool = False):
    """The normalization statistics the retarget uses: measured on both clips' pose tracks, with the
    user's overrides on top (saved ones first unless ``reset``, then ``overrides``). Returns
    ({"source": {...}, "target": {...}}, the merged overrides)."""
    src = project.require_track("source", "pose")
    tgt = project.require_track("target", "pose")
    stats = {"source": clip_stats(*body25(src)).to_json(), "target": clip_stats(*body25(tgt)).to_json()}
    saved = {} if reset else (project.settings.get("retarget") or {}).get("overrides") or {}
    # Overrides persist until the user resets them: e.g. {"target.far_y": 400}.
    merged_over = {**saved, **(overrides or {})}
    for key, value in merged_over.items():  # saved ones too: a project file may hold anything
        side, _, field = key.partition(".")
        stats[side][field] = check_override(key, value)
    return stats, merged_over


def retarget_edit(project: Project, *, median: int | None = 7, overrides: dict | None = None, reset: bool = False):
    """The (not yet applied) edit that stores the source pose normalized into the target's space
    (BODY_25) as the source's ``normalized`` track, and the statistics (with the user's overrides;
    ``reset`` drops the saved ones) in settings['retarget']."""
    from avstudio.core.edits import CompoundEdit, ReplaceTrack, SetSetting

    src = project.require_track("source", "pose")
    s_pts, s_fl = body25(src)
    stats, merged_over = retarget_stats(project, overrides=overrides, reset=reset)
    out, fl, level = normalize(s_pts, s_fl, ClipStats.from_json(stats["source"]), ClipStats.from_json(stats["target"]),
                               median=median)
    settings = {**stats, "overrides": merged_over, "median": median,
                "fallback_frames": {name: int((level == i).sum()) for i, name in enumerate(LEVELS)}}
    track = PoseTrack({"points": out, "flags": fl}, {"skeleton": "body25", "clip": "source", "layer": "normalized",
                                                      "media_id": src.meta.get("media_id")},
                      name="source → target (normalized)")
    existing = project.find_track("source", "normalized")
    if existing is not None:
        track.id = existing.id
    text = "Retarget" if not overrides else "Retarget: move " + ", ".join(k.replace("_", " ") for k in overrides)
    return CompoundEdit([ReplaceTrack(track), SetSetting("retarget", settings)], "Reset retarget lines" if reset else text)


def layer_for_render(project: Project, clip: str, layer: str):
    """(body (pts, flags), face (pts, flags) or None, frame size) for rendering a clip's layer."""
    ref, _ = project.clip_media("target" if layer == "normalized" else clip)
    v = ref.probe.get("video", {})
    size = (int(v.get("width", 0)), int(v.get("height", 0)))
    track = project.require_track("source" if layer == "normalized" else clip, layer)
    body = body25(track)
    face = None
    if layer == "pose":
        ft = project.find_track(clip, "face")
        if ft is not None:
            face = face68(ft)
    return body, face, size


def stick_frames(body, face, size, out_size) -> Iterator[np.ndarray]:
    from avstudio.retarget.draw import render_frame

    for i in range(len(body[0])):
        yield render_frame((body[0][i], body[1][i]), (face[0][i], face[1][i]) if face else None, size, out_size)


def retarget_job(project: Project, *, median: int | None = 7, overrides: dict | None = None, reset: bool = False):
    """Job: build :func:`retarget_edit` off the GUI thread (a long clip's median filter takes a
    moment). Returns the edit, to be pushed on the thread that owns the project."""
    yield Progress(0, None, "Normalizing the source pose")
    return retarget_edit(project, median=median, overrides=overrides, reset=reset)


def retarget_summary(project: Project) -> str:
    fb = project.settings["retarget"]["fallback_frames"]
    return (f"Retargeted: frames normalized from ankles {fb['ankles']}, nose {fb['nose']}, torso {fb['torso']}, "
            f"without a person {fb['none']}.")


def retarget(project: Project, *, median: int | None = 7, overrides: dict | None = None,
             reset: bool = False) -> Operation:
    """Normalize the source pose into the target's space; ``overrides`` are statistics the user set
    (kept until ``reset``)."""
    project.require_track(roles.SOURCE, layers.POSE)
    project.require_track(roles.TARGET, layers.POSE)
    return Operation("Retarget", "avstudio.workflows.motion:retarget_job", (project,),
                     dict(median=median, overrides=overrides, reset=reset), quiet=True,
                     apply=lambda p, edit: edit, summary=lambda _: retarget_summary(project))


def stick_video_job(body, face, size, out_size, fps: Fraction, out: str | None, frames_dir: str | None):
    """Job: stick figures (OpenPose colours) to an MP4 and/or one PNG per frame. Returns the frame count."""
    from avstudio.media.export import ExportSettings, export_video

    n = len(body[0])
    if frames_dir:
        from avstudio.media.images import write_png

        folder = Path(frames_dir)
        for i, img in enumerate(stick_frames(body, face, size, out_size)):
            write_png(folder / f"pose_{i:06d}.png", img)
            if i % 25 == 0:
                yield Progress(i, n, f"Wrote {i}/{n} images")
    if out:
        yield from export_video(out, stick_frames(body, face, size, out_size), n,
                                ExportSettings(fps=fps, crf=18, preset="veryfast"))
    return n


def render_poses(project: Project, clip: str = roles.SOURCE, *, normalized: bool = False,
                 size: tuple[int, int] | None = None, out: str | None = None, frames_dir: str | None = None) -> Operation:
    """The clip's pose (or the source normalized into the target) drawn as stick figures."""
    body, face, frame_size = layer_for_render(project, clip, layers.NORMALIZED if normalized else layers.POSE)
    fps = project.clip_media(clip)[0].fps
    where = " and ".join(str(w) for w in (out, frames_dir) if w)
    return Operation("Render poses", "avstudio.workflows.motion:stick_video_job",
                     (body, face, frame_size, tuple(size or frame_size), fps, out, frames_dir),
                     summary=lambda n: f"Rendered {n} frames to {where}")


MODEL_NOUN = "Model"  # what the summary of a training run calls a model of this kind


def score_line(m: dict) -> str:
    """A checkpoint's held-out scores (ml.motion.evaluate)."""
    a = m["model"]
    return f"step {m['step']}: SSIM {a['ssim']:.3f} · PSNR {a['psnr']:.1f} dB · PCK@0.1 {a['pck_010']:.2f}"


def baseline_line(m: dict) -> str:
    b = m["baseline_mean_frame"]
    return (f"Held-out frames {m['heldout_frames'][0]}–{m['heldout_frames'][1]} (mean-frame baseline: SSIM "
            f"{b['ssim']:.3f} · PSNR {b['psnr']:.1f} dB · PCK@0.1 {b['pck_010']:.2f})")


def train_kwargs(project: Project, request) -> dict:
    """Arguments of ml.motion.train."""
    opts = request.options
    return dict(project_path=folder_of(project), preset=request.preset, steps=request.steps,
                model_id=request.model_id, resume=request.resume, device=request.device, seed=request.seed,
                compile=bool(opts.get("compile")), vgg_weights=opts.get("vgg_weights"),
                augment=bool(opts.get("augment")))


def render_video_job(project_path: str, model_id: str, out: str | None = None, audio: str = "clip", device: str = "auto",
                 height: int | None = None, crf: int = 18, preset: str = "medium", layout: str = "generated"):
    """Job: a model's generated video (ml.motion.render) with a soundtrack choice of
    :func:`avstudio.workflows.project.soundtrack_file` ("clip" is the source clip's sound)."""
    from avstudio.core.store import load_project
    from avstudio.ml.motion.render import render
    from avstudio.workflows.project import soundtrack_file

    wav = yield from soundtrack_file(load_project(project_path), audio)
    return (yield from render(project_path, model_id, out, wav, device, height, crf, preset, layout))


@needs_saved_project
def render_video(project: Project, model_id: str, out: str | None, *, audio: str = "clip", device: str = "auto",
                 height: int | None = None, crf: int = 18, preset: str = "medium",
                 layout: str = "generated") -> Operation:
    """The target person doing the source's (normalized) motion, generated by a motion model: the
    render cache filled, and an MP4 written when ``out`` is given."""
    project.require_track(roles.SOURCE, layers.NORMALIZED)

    def summary(r) -> str:
        return f"Generated {r['generated']} frames, {r['cached']} reused from the cache" + \
            (f"; wrote {r['out']}" if r["out"] else "")
    return Operation(f"Export {Path(out).name}" if out else f"Render {model_id}", "avstudio.workflows.motion:render_video_job",
                     (folder_of(project), model_id, out),
                     dict(audio=audio, device=device, height=height, crf=crf, preset=preset, layout=layout),
                     runs=Runs.PROCESS, summary=summary)


def generate_frames(project: Project, model_id: str, poses: tuple[np.ndarray, np.ndarray]) -> Operation:
    """The editor's generated pane: a motion model's frames for the editor's (unsaved) normalized poses
    into the render cache, in a child process (the project's media and the model are read from disk)."""
    return Operation(f"Generate frames ({model_id})", "avstudio.ml.motion.render:render",
                     (folder_of(project), model_id, None), dict(poses=poses), runs=Runs.PROCESS,
                     summary=lambda r: f"Generated {r['generated']} frames of {model_id} ({r['cached']} from the cache).")

"""The face renderers at the project level, as operations: rendering the driven face (the retrieval
tier or a trained model) into the render cache and an MP4, scoring the tiers on the held-out block,
and what training and the training monitor say of a face-renderer model (workflows/training.py's
row for lip sync)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avstudio.core import layers, roles
from avstudio.core.project import Project
from avstudio.workflows.operation import Operation, Runs, folder_of, needs_saved_project

MODEL_NOUN = "Face renderer"
RETRIEVAL = "retrieval"


def score_line(m: dict) -> str:
    """A checkpoint's held-out scores (ml.lipsync.evaluate)."""
    a = m["model"]
    return (f"step {m['step']}: mouth SSIM {a['mouth_ssim']:.3f} · PSNR {a['mouth_psnr']:.1f} dB · "
            f"mouth LD {a['ld_mouth']:.4f}")


def _tier(name: str, s: dict) -> str:
    return f"{name} SSIM {s['mouth_ssim']:.3f} · PSNR {s['mouth_psnr']:.1f} dB · LD {s['ld_mouth']:.4f}"


def baseline_line(m: dict) -> str:
    return (f"Held-out frames {m['heldout_frames'][0] + 1}–{m['heldout_frames'][1] + 1} (mouth crop; "
            f"{_tier('retrieval', m['retrieval'])}; {_tier('reference pasted', m['reference'])})")


def train_kwargs(project: Project, request) -> dict:
    """Arguments of every lip-sync training job (the face renderer, the speech → mouth model, the expert)."""
    return dict(project_path=folder_of(project), preset=request.preset, steps=request.steps,
                model_id=request.model_id, resume=request.resume, device=request.device, seed=request.seed)


def render_video_job(project_path: str, renderer: str, out: str | None = None, audio: str = "clip",
                     height: int | None = None, crf: int = 18, preset: str = "medium", layout: str = "generated",
                     device: str = "auto", driven: tuple | None = None):
    """Job: the driven face rendered (ml.lipsync.render) with a soundtrack choice of
    workflows.project.soundtrack_file ("clip": the driver's own sound; "none": silent)."""
    from avstudio.core.store import load_project
    from avstudio.ml.lipsync.render import render
    from avstudio.workflows.project import soundtrack_file

    wav, silent = None, None
    if out is not None:
        project = load_project(project_path)
        from avstudio.retarget.face import driver_clip

        driver = driver_clip(project.require_track(roles.DRIVEN, layers.DRIVEN).meta)
        if audio == "clip" and driver not in roles.VIDEO_ROLES:
            audio = driver   # driven by a voice: its sound is the soundtrack
        wav = yield from soundtrack_file(project, audio, clip=driver)
        if wav is None and audio != "none":
            silent = (f"the {roles.short(driver)} clip has no sound, so the video is silent (choose another "
                      "soundtrack: a voice or an audio file)")
    result = yield from render(project_path, renderer, out, wav, height, crf, preset, layout, driven, device)
    return {**result, "silent": silent}


def render_summary(r: dict) -> str:
    filmed = f"; {r['left_as_filmed']} left as filmed (no driven mouth or no usable target face)" \
        if r["left_as_filmed"] else ""
    return (f"Rendered {r['rendered']} frames, {r['cached']} reused from the cache{filmed}"
            + (f"; wrote {r['out']}" if r["out"] else "") + (f" — {r['silent']}" if r.get("silent") else ""))


@needs_saved_project
def render_video(project: Project, renderer: str = RETRIEVAL, out: str | None = None, *, audio: str = "clip",
                 height: int | None = None, crf: int = 18, preset: str = "medium", layout: str = "generated",
                 device: str = "auto") -> Operation:
    """The target's face doing what the driven face does, by ``renderer`` (retrieval, or a face-renderer
    model): the render cache filled, and an MP4 written when ``out`` is given."""
    project.require_track(roles.DRIVEN, layers.DRIVEN)
    name = f"Export {Path(out).name}" if out else f"Render the face ({renderer})"
    return Operation(name, "avstudio.workflows.lipsync.models:render_video_job", (folder_of(project), renderer, out),
                     dict(audio=audio, height=height, crf=crf, preset=preset, layout=layout, device=device),
                     runs=Runs.PROCESS, summary=render_summary)


def generate_frames(project: Project, renderer: str, driven: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Operation:
    """The editor's generated pane: frames for the editor's (unsaved) driven face and schedule, into the
    render cache, in a child process."""
    return Operation(f"Render the face ({renderer})", "avstudio.workflows.lipsync.models:render_video_job",
                     (folder_of(project), renderer), dict(driven=driven), runs=Runs.PROCESS, summary=render_summary)


def evaluate_baselines(project: Project, device: str = "cpu", strip: str | None = None) -> Operation:
    """Score the retrieval tier and the reference-frame baseline on the held-out block (no model)."""
    return Operation("Score the face renderers", "avstudio.ml.lipsync.evaluate:evaluate_face", (folder_of(project),),
                     dict(device=device, strip=strip), runs=Runs.PROCESS,
                     summary=lambda m: "Held-out: " + baseline_line(m))

"""Rendering: the normalized source pose → generated frames of the target person → MP4 with audio.

Incremental: generated frames are cached by the hash of what they are generated from
(ml/motion/render_cache.py), so after a keypoint edit only the frames whose input changed are
generated again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from avstudio.core.atomic import TEMP_PREFIX
from avstudio.core.errors import UserError
from avstudio.core.progress import Progress
from avstudio.core.store import load_project
from avstudio.media.audio import load_audio
from avstudio.media.export import ExportSettings, export_video
from avstudio.ml.motion.data import to_images
from avstudio.ml.device import resolve_device
from avstudio.ml.motion.evaluate import generate_rows, load_generator
from avstudio.ml.motion.nets.plate import PlateComposite
from avstudio.ml.motion.render_cache import (BACKGROUND, generated_frame, load_background, render_cache,
                                             render_plan)
from avstudio.ml.motion.stage import Stage, to_frame
from avstudio.retarget.draw import render_frame


def _write_background(trainer, stage: Stage, cache: Path) -> None:
    """The background of a checkpoint's frames, once per cache: the full-resolution plate; for
    models from before it, the model's plate enlarged; black for models without a plate."""
    path = cache / BACKGROUND
    if path.is_file():
        return
    if trainer.background is not None:
        bg = trainer.background.numpy()
    elif isinstance(trainer.G, PlateComposite):
        bg = to_frame(to_images(trainer.G.plate)[0], stage, stage.src_size)
    else:
        bg = np.zeros((stage.src_size[1], stage.src_size[0], 3), np.uint8)
    tmp = cache / f"{TEMP_PREFIX}{BACKGROUND}"
    cv2.imwrite(str(tmp), bg[..., ::-1])
    os.replace(tmp, path)


LAYOUTS = ("generated", "side_by_side", "pose_overlay")


def render(project_path: str, model_id: str, out: str | None = None, audio: str | None = None, device: str = "auto",
           height: int | None = None, crf: int = 18, preset: str = "medium",
           layout: str = "generated", poses: tuple[np.ndarray, np.ndarray] | None = None) -> Iterator[Progress]:
    """Job: generate the target person doing the source's (normalized) motion; write ``out`` if given,
    laid out as the generated frames only, the source clip | generated side by side, or the generated
    frames with the pose they were made from drawn over them, with the sound of the file ``audio``
    (None: silent). ``poses`` (points, flags) replaces the saved normalized track (the editor passes
    a copy of its unsaved one). Returns {"out", "generated", "cached", "frames"}."""
    if layout not in LAYOUTS:
        raise UserError(f"Unknown layout {layout!r}: use {', '.join(LAYOUTS)}.")
    project = load_project(project_path)
    dev = resolve_device(device)
    if poses is None:
        norm = project.require_track("source", "normalized")
        pts, flags = norm.points, norm.flags
    else:
        pts, flags = poses
    tref, _ = project.clip_media("target")
    sref, spath = project.clip_media("source")
    tv = tref.probe["video"]
    t_size = (int(tv["width"]), int(tv["height"]))
    yield Progress(0, len(pts), "Loading the model")
    doc, trainer = load_generator(project_path, model_id, dev)
    ckpt_name = Path(doc["path"]).name
    cache = render_cache(project_path, model_id, ckpt_name)
    cache.mkdir(parents=True, exist_ok=True)
    fps = sref.fps
    stage, windows, keys = render_plan(model_id, ckpt_name, doc["config"], t_size, pts, flags, float(fps))
    _write_background(trainer, stage, cache)
    todo = [i for i, k in enumerate(keys) if not (cache / f"{k}.png").is_file()]
    generated = yield from _generate(trainer, dev, stage, windows, keys, pts, flags, todo, cache)
    result = {"out": None, "generated": generated, "cached": len(pts) - len(todo), "frames": len(pts),
              "cache": str(cache)}
    if out is None:
        return result
    out_h = height or t_size[1]
    frames = _laid_out(layout, spath, cache, stage, windows, keys, pts, flags, t_size, out_h)
    track_audio = load_audio(audio, 48000, mono=False) if audio else None
    yield from export_video(out, frames, len(keys), ExportSettings(fps=fps, crf=crf, preset=preset), track_audio)
    result["out"] = str(out)
    return result


def _generate(trainer, dev, stage: Stage, windows, keys, pts, flags, todo: list[int], cache: Path) -> Iterator[Progress]:
    """Job: generate the frames ``todo`` into the cache (RGBA: colour + the model's mask). Temporal
    models need the previous generated frame: runs of consecutive frames go together. Returns how many."""
    size = int(trainer.cfg["size"])
    generated = 0
    i = 0
    while i < len(todo):
        j = i
        while j + 1 < len(todo) and todo[j + 1] == todo[j] + 1 and j - i < 31:
            j += 1
        frames_idx = todo[i:j + 1]
        poses = np.stack([stage.pose_image((pts[f], flags[f]), None, windows[f]) for f in frames_idx])
        boxes = None
        if trainer.face_g is not None:
            from avstudio.ml.motion.face_refiner import face_boxes
            body = stage.to_stage(pts[frames_idx])
            body[..., :2] -= windows[frames_idx][:, None, :]
            boxes = face_boxes(body, flags[frames_idx], size)
        layers = generate_rows(trainer, poses, dev, boxes=boxes, windows=windows[frames_idx], layers=True)
        for f, img in zip(frames_idx, layers):
            cv2.imwrite(str(cache / f"{keys[f]}.png"), img[..., [2, 1, 0, 3]])  # colour + mask as alpha
        generated += len(frames_idx)
        i = j + 1
        yield Progress(generated, max(1, len(todo)), f"Generated {generated}/{len(todo)} frames "
                                                       f"({len(pts) - len(todo)} unchanged, from the cache)")
    return generated


def _laid_out(layout: str, source_path, cache: Path, stage: Stage, windows, keys, pts, flags, t_size, out_h: int):
    """The output frames: the generated frames (laid over the background) alone, beside the source
    clip, or with the pose they were made from drawn over them."""
    out_w = int(round(t_size[0] * out_h / t_size[1] / 2)) * 2
    background = load_background(cache, (out_w, out_h))

    def generated(i, k):
        img = generated_frame(cache, k, windows[i], stage, background)
        if img is None:
            raise UserError(f"A generated frame in {cache} cannot be read; render again.", path=str(cache))
        if layout == "pose_overlay":
            img = np.ascontiguousarray(img)
            overlay = render_frame((pts[i], flags[i]), None, t_size, (out_w, out_h))
            drawn = overlay.any(2)
            img[drawn] = (0.45 * img[drawn] + 0.55 * overlay[drawn]).astype(np.uint8)
        return img

    if layout != "side_by_side":
        for i, k in enumerate(keys):
            yield generated(i, k)
        return
    from avstudio.media.video import VideoSource

    src = VideoSource(source_path, prefetch=0, cache_mb=0)
    try:
        sw, sh = src.size
        sw = int(round(sw * out_h / sh / 2)) * 2
        for (i, frame), k in zip(src.iter_frames(0, len(keys)), keys):
            left = cv2.resize(frame, (sw, out_h), interpolation=cv2.INTER_AREA)
            yield np.concatenate([left, generated(i, k)], axis=1)
    finally:
        src.close()

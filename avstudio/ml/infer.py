"""Rendering: the normalized source pose → generated frames of the target person → MP4 with audio.

Incremental: each generated frame is cached under cache/render/<checkpoint>/ by the hash of what it
is generated from (the pose of the frame, and of the previous frame for temporal models), so after
a keypoint edit only the frames whose input changed are generated again.
"""

from __future__ import annotations

import hashlib
import os
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from avstudio.analysis.project_ops import clip_path, require_track
from avstudio.core.atomic import TEMP_PREFIX
from avstudio.core.errors import UserError
from avstudio.core.progress import Progress
from avstudio.core.store import load_project
from avstudio.core.tracks import Flag
from avstudio.media.audio import Audio, load_audio
from avstudio.media.export import ExportSettings, export_video
from avstudio.ml.data import RENDER_VERSION, to_images
from avstudio.ml.device import resolve_device
from avstudio.ml.evaluate import generate_rows, load_generator
from avstudio.ml.nets.plate import PlateComposite
from avstudio.ml.stage import Stage, compose, to_frame
from avstudio.retarget.render import render_frame


def frame_keys(ckpt: str, size: int, pts: np.ndarray, flags: np.ndarray, temporal: bool,
               windows: np.ndarray | None = None) -> list[str]:
    """One cache key per frame: what it is generated from (its pose, the previous one for temporal
    models, and where its window sits on the stage)."""
    keys = []
    for i in range(len(pts)):
        h = hashlib.sha1(f"{ckpt}|{size}|{RENDER_VERSION}".encode())
        for j in ([i - 1, i] if temporal else [i]):
            if j >= 0:
                p = np.where((flags[j] != Flag.MISSING)[:, None], pts[j], 0)
                h.update(np.round(p, 2).astype(np.float32).tobytes())
                h.update(flags[j].tobytes())
                if windows is not None:
                    h.update(np.asarray(windows[j], np.int64).tobytes())
        keys.append(h.hexdigest())
    return keys


def render_plan(model_id: str, ckpt_name: str, cfg: dict, target_size, pts: np.ndarray, flags: np.ndarray,
                fps: float) -> tuple[Stage, np.ndarray, list[str]]:
    """(stage, windows, cache keys) of a normalized pose track (target-frame pixels) for a model."""
    stage = Stage.from_dict(cfg.get("stage"), target_size, int(cfg["size"]))
    windows = stage.windows(pts, flags, fps)
    return stage, windows, frame_keys(f"{model_id}/{ckpt_name}", int(cfg["size"]), pts, flags,
                                      bool(cfg["temporal"]), windows)


BACKGROUND = "background.png"  # in a render cache: what the generated windows are laid over


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


def load_background(cache: Path, out_size: tuple[int, int]) -> np.ndarray | None:
    """A render cache's background at ``out_size`` (w, h), or None when there is none yet."""
    img = cv2.imread(str(cache / BACKGROUND))
    if img is None:
        return None
    shrink = out_size[0] < img.shape[1]
    return cv2.resize(img[..., ::-1], out_size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def generated_frame(cache: Path, key: str, window, stage: Stage, background: np.ndarray) -> np.ndarray | None:
    """One cached generated window laid over ``background`` (from load_background), or None."""
    img = cv2.imread(str(cache / f"{key}.png"), cv2.IMREAD_UNCHANGED)
    if img is None or img.ndim != 3 or img.shape[2] != 4:
        return None
    return compose(background, img[..., [2, 1, 0, 3]], window, stage)


LAYOUTS = ("generated", "side_by_side", "pose_overlay")


def render_cache(project_path, model_id: str, ckpt_name: str) -> Path:
    """Where the generated frames of one checkpoint are cached, one PNG per input-pose hash."""
    return Path(project_path) / "cache" / "render" / f"{model_id}-{ckpt_name}"


def render(project_path: str, model_id: str, out: str | None = None, audio: str = "clip", device: str = "auto",
           height: int | None = None, crf: int = 18, preset: str = "medium",
           layout: str = "generated", poses: tuple[np.ndarray, np.ndarray] | None = None) -> Iterator[Progress]:
    """Job: generate the target person doing the source's (normalized) motion; write ``out`` if given,
    laid out as the generated frames only, the source clip | generated side by side, or the generated
    frames with the pose they were made from drawn over them. ``poses`` (points, flags) replaces the
    saved normalized track (the editor passes a copy of its unsaved one). Returns {"out",
    "generated", "cached", "frames"}."""
    if layout not in LAYOUTS:
        raise UserError(f"Unknown layout {layout!r}: use {', '.join(LAYOUTS)}.")
    project = load_project(project_path)
    dev = resolve_device(device)
    if poses is None:
        norm = require_track(project, "source", "normalized")
        pts, flags = norm.points, norm.flags
    else:
        pts, flags = poses
    tref, _ = clip_path(project, "target")
    sref, spath = clip_path(project, "source")
    tv = tref.probe["video"]
    t_size = (int(tv["width"]), int(tv["height"]))
    yield Progress(0, len(pts), "Loading the model")
    doc, trainer = load_generator(project_path, model_id, dev)
    size = int(doc["config"]["size"])
    ckpt_name = Path(doc["path"]).name
    cache = render_cache(project_path, model_id, ckpt_name)
    cache.mkdir(parents=True, exist_ok=True)
    fps = Fraction(*sref.probe["video"]["fps"])
    stage, windows, keys = render_plan(model_id, ckpt_name, doc["config"], t_size, pts, flags, float(fps))
    _write_background(trainer, stage, cache)
    todo = [i for i, k in enumerate(keys) if not (cache / f"{k}.png").is_file()]
    generated = 0
    # Temporal models need the previous generated frame: generate runs of consecutive frames.
    i = 0
    while i < len(todo):
        j = i
        while j + 1 < len(todo) and todo[j + 1] == todo[j] + 1 and j - i < 31:
            j += 1
        frames_idx = todo[i:j + 1]
        poses = np.stack([stage.pose_image((pts[f], flags[f]), None, windows[f]) for f in frames_idx])
        boxes = None
        if trainer.face_g is not None:
            from avstudio.ml.face_stage import face_boxes
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
    result = {"out": None, "generated": generated, "cached": len(pts) - len(todo), "frames": len(pts),
              "cache": str(cache)}
    if out is None:
        return result
    out_h = height or t_size[1]
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

    def frames():
        if layout != "side_by_side":
            for i, k in enumerate(keys):
                yield generated(i, k)
            return
        from avstudio.media.video import VideoSource

        src = VideoSource(spath, prefetch=0, cache_mb=0)
        try:
            sw, sh = src.size
            sw = int(round(sw * out_h / sh / 2)) * 2
            for (i, frame), k in zip(src.iter_frames(0, len(keys)), keys):
                left = cv2.resize(frame, (sw, out_h), interpolation=cv2.INTER_AREA)
                yield np.concatenate([left, generated(i, k)], axis=1)
        finally:
            src.close()

    track_audio = None
    if audio == "clip":
        if sref.probe.get("audio"):
            track_audio = load_audio(spath, 48000, mono=False)
    elif audio == "converted":
        from avstudio.ml.vc.project_ops import converted_audio
        wav = yield from converted_audio(project_path)  # resynthesized if its F0 was edited since
        track_audio = load_audio(wav, 48000, mono=False)
    elif audio in ("source_voice", "target_voice"):
        ref = project.media_by_role(audio)
        if ref is None:
            raise UserError(f"The project has no {audio.replace('_', ' ')}.")
        track_audio = load_audio(project.media_path(ref.id), 48000, mono=False)
    elif audio != "none":
        track_audio = load_audio(audio, 48000, mono=False)
    if track_audio is not None:
        track_audio = Audio(track_audio.samples, track_audio.sample_rate)
    yield from export_video(out, frames(), len(keys), ExportSettings(fps=fps, crf=crf, preset=preset), track_audio)
    result["out"] = str(out)
    return result

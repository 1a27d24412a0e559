"""The render cache of a motion model, without torch (the editor reads it): each generated frame is
cached under cache/render/<model>-<checkpoint>/ by the hash of what it is generated from (the pose
of the frame, the previous one for temporal models, and where its window sits on the stage), as RGBA
(the model's colour and mask), laid over the checkpoint's background when shown or exported.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

from avstudio.core.tracks import Flag
from avstudio.ml.motion.data import RENDER_VERSION
from avstudio.ml.motion.stage import Stage, compose


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


def render_cache(project_path, model_id: str, ckpt_name: str) -> Path:
    """Where the generated frames of one checkpoint are cached, one PNG per input-pose hash."""
    return Path(project_path) / "cache" / "render" / f"{model_id}-{ckpt_name}"

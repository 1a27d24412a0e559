"""The training data of a target: its frames and their rendered pose images, fitted into S×S
(aspect kept, padded), cached as memory-mapped arrays under the project's cache/ (bounded memory;
rebuilt only when the clip, the pose track or the size changes).

Frames whose subject is MISSING are skipped; EDITED and INTERPOLATED poses are used as given. The
last ~10% of usable frames, as one contiguous block, are held out for evaluation.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from avstudio.analysis.landmarks import body25, face68
from avstudio.analysis.project_ops import clip_path, find_track, require_track
from avstudio.core.atomic import TEMP_PREFIX
from avstudio.core.errors import UserError
from avstudio.core.progress import Progress
from avstudio.core.project import Project
from avstudio.core.tracks import Flag
from avstudio.media.video import VideoSource
from avstudio.retarget.render import apply_transform, fit_transform, render_frame

MIN_FRAMES = 20
HELDOUT = 0.1
RENDER_VERSION = 2  # bump when the pose drawing changes: cached datasets are rebuilt


@dataclass
class PoseFrameData:
    size: int
    frames: np.ndarray        # (N, S, S, 3) uint8: target frames, fitted
    poses: np.ndarray         # (N, S, S, 3) uint8: their pose images
    indices: np.ndarray       # (N,) frame index in the clip
    body: np.ndarray          # (N, 25, 3) BODY_25 points in S×S pixels
    body_flags: np.ndarray    # (N, 25)
    train_rows: np.ndarray
    held_rows: np.ndarray
    content: tuple[int, int, int, int]  # x0, y0, x1, y1 of the non-padded area
    key: str
    src_size: tuple[int, int]

    def pair_rows(self, rows: np.ndarray) -> np.ndarray:
        """Rows whose previous clip frame is also in the data (for temporal training)."""
        prev_ok = np.zeros(len(self.indices), bool)
        prev_ok[1:] = self.indices[1:] == self.indices[:-1] + 1
        return rows[prev_ok[rows]]

    def plate(self, most: int = 200) -> np.ndarray:
        """The background plate: per-pixel median of (up to ``most``, evenly spaced) training frames."""
        rows = self.train_rows[np.linspace(0, len(self.train_rows) - 1, min(most, len(self.train_rows))).astype(int)]
        return np.median(np.asarray(self.frames[rows]), axis=0).round().astype(np.uint8)


def _key(project: Project, size: int) -> str:
    ref, _ = clip_path(project, "target")
    h = hashlib.sha256(f"{ref.fingerprint}|{size}|{RENDER_VERSION}".encode())
    for layer in ("pose", "face"):
        t = find_track(project, "target", layer)
        if t is not None:
            for name in sorted(t.arrays):
                h.update(t.arrays[name].tobytes())
    return h.hexdigest()[:16]


def build_dataset(project: Project, size: int) -> Iterator[Progress]:
    """Job: the target's training data at ``size``. Returns :class:`PoseFrameData`."""
    import cv2

    if project.folder is None:
        raise UserError("Save the project first: training data and models are stored in its folder.")
    ref, path = clip_path(project, "target")
    track = require_track(project, "target", "pose")
    b_pts, b_fl = body25(track)
    face_track = find_track(project, "target", "face")
    face = face68(face_track) if face_track is not None else None
    usable = np.flatnonzero((b_fl != Flag.MISSING).sum(1) >= 8)  # a person, not a stray point
    if len(usable) < MIN_FRAMES:
        raise UserError(f"Only {len(usable)} frames of the target clip show the person with a usable pose; training "
                        f"needs at least {MIN_FRAMES}. Analyse the target's pose (or fix missing frames) first.")
    share = len(usable) / len(b_fl)
    key = _key(project, size)
    cache = Path(project.folder) / "cache" / f"dataset-{key}"
    v = ref.probe["video"]
    src_size = (int(v["width"]), int(v["height"]))
    tf = fit_transform(src_size, (size, size))
    x0, y0 = int(round(tf[1])), int(round(tf[2]))
    content = (x0, y0, size - x0, size - y0)
    if not (cache / "meta.json").is_file():
        yield Progress(0, len(usable), "Preparing training data" +
                       (f" (the person is in only {share:.0%} of the target's frames)" if share < 0.5 else ""))
        tmp = cache.parent / f"{TEMP_PREFIX}{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        try:
            frames = np.lib.format.open_memmap(tmp / "frames.npy", "w+", np.uint8, (len(usable), size, size, 3))
            poses = np.lib.format.open_memmap(tmp / "poses.npy", "w+", np.uint8, (len(usable), size, size, 3))
            want = {int(f): r for r, f in enumerate(usable)}
            vs = VideoSource(path, prefetch=0, cache_mb=0)
            try:
                done = 0
                for i, rgb in vs.iter_frames(int(usable[0]), int(usable[-1]) + 1):
                    r = want.get(i)
                    if r is None:
                        continue
                    canvas = np.zeros((size, size, 3), np.uint8)
                    w, h = content[2] - content[0], content[3] - content[1]
                    canvas[content[1]:content[3], content[0]:content[2]] = cv2.resize(
                        rgb, (w, h), interpolation=cv2.INTER_AREA)
                    frames[r] = canvas
                    poses[r] = render_frame((b_pts[i], b_fl[i]), (face[0][i], face[1][i]) if face else None,
                                            src_size, (size, size), mark_frame=True)
                    done += 1
                    if done % 10 == 0:
                        yield Progress(done, len(usable), "Preparing training data")
            finally:
                vs.close()
            frames.flush()
            poses.flush()
            del frames, poses
            (tmp / "meta.json").write_text(json.dumps({"indices": usable.tolist(), "size": size}))
            if cache.exists():
                shutil.rmtree(cache)
            os.replace(tmp, cache)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    meta = json.loads((cache / "meta.json").read_text())
    indices = np.asarray(meta["indices"], np.int64)
    n_held = max(1, int(round(HELDOUT * len(indices))))
    rows = np.arange(len(indices))
    body = apply_transform(b_pts[indices], tf).astype(np.float32)
    return PoseFrameData(size, np.load(cache / "frames.npy", mmap_mode="r"), np.load(cache / "poses.npy", mmap_mode="r"),
                         indices, body, b_fl[indices], rows[:-n_held], rows[-n_held:], content, key, src_size)


def to_tensor(images: np.ndarray):
    """uint8 (…, H, W, 3) → float tensor (…, 3, H, W) in [-1, 1]."""
    import torch

    t = torch.from_numpy(np.array(images, dtype=np.float32)).div_(127.5).sub_(1.0)  # a copy: memmaps are read-only
    return t.permute(0, 3, 1, 2) if t.dim() == 4 else t.permute(2, 0, 1)


def to_images(t) -> np.ndarray:
    """float tensor (N, 3, H, W) in [-1, 1] → uint8 (N, H, W, 3)."""
    return ((t.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()

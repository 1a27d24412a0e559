"""The training data of a target: its frames on the stage (ml/stage.py: the whole frame fitted into
S×S, or a window following a person who is small in the frame), the S×S windows the model sees and
their rendered pose images, cached as memory-mapped arrays under the project's cache/ (bounded
memory; rebuilt only when the clip, the pose track, the size or the stage changes).

Frames whose subject is MISSING are skipped; EDITED and INTERPOLATED poses are used as given. The
last ~10% of usable frames, as one contiguous block, are held out for evaluation.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from avstudio.analysis.landmarks.layouts import body25, face68
from avstudio.core.atomic import atomic_folder
from avstudio.core.errors import UserError
from avstudio.core.progress import Progress
from avstudio.core.project import Project
from avstudio.core.tracks import Flag
from avstudio.ml.arrays import disk_array, prepared_on_disk
from avstudio.ml.motion.stage import Stage, crop, fit_stage

MIN_FRAMES = 20
HELDOUT = 0.1
RENDER_VERSION = 4  # bump when the pose drawing or the stage changes: cached datasets are rebuilt


@dataclass
class PoseFrameData:
    size: int
    stage: Stage
    frames: np.ndarray        # (N, S, S, 3) uint8: what the model sees of each target frame (its window)
    poses: np.ndarray         # (N, S, S, 3) uint8: the pose images of those windows
    stage_frames: np.ndarray  # (N, Hs, Ws, 3) uint8: the whole target frames on the stage
    windows: np.ndarray       # (N, 2) window top-left corners in stage pixels
    indices: np.ndarray       # (N,) frame index in the clip
    body: np.ndarray          # (N, 25, 3) BODY_25 points in window pixels
    stage_body: np.ndarray    # (N, 25, 3) the same in stage pixels
    body_flags: np.ndarray    # (N, 25)
    train_rows: np.ndarray
    held_rows: np.ndarray
    content: tuple[int, int, int, int]  # x0, y0, x1, y1 of the picture on the stage (non-padded area)
    key: str
    src_size: tuple[int, int]
    src_body: np.ndarray      # (N, 25, 3) source pixels (pose images through another window)
    src_face: tuple[np.ndarray, np.ndarray] | None
    folder: Path

    def pair_rows(self, rows: np.ndarray) -> np.ndarray:
        """Rows whose previous clip frame is also in the data (for temporal training)."""
        prev_ok = np.zeros(len(self.indices), bool)
        prev_ok[1:] = self.indices[1:] == self.indices[:-1] + 1
        return rows[prev_ok[rows]]

    def plate(self, most: int = 200) -> np.ndarray:
        """The background plate of the stage: per-pixel median of (up to ``most``, evenly spaced)
        training frames (the moving person is removed)."""
        rows = self.train_rows[np.linspace(0, len(self.train_rows) - 1, min(most, len(self.train_rows))).astype(int)]
        return np.median(np.asarray(self.stage_frames[rows]), axis=0).round().astype(np.uint8)

    def background(self) -> np.ndarray:
        """The background plate at (up to) full resolution: the per-pixel median of up to
        BACKGROUND_FRAMES training frames, at most BACKGROUND_MAX px wide or high."""
        return np.load(self.folder / "background.npy")

    def through(self, row: int, window) -> tuple[np.ndarray, np.ndarray]:
        """(pose image, frame) of ``row`` seen through another row's window (temporal pairs share one)."""
        if np.array_equal(window, self.windows[row]):
            return np.asarray(self.poses[row]), np.asarray(self.frames[row])
        face = None if self.src_face is None else (self.src_face[0][row], self.src_face[1][row])
        pose = self.stage.pose_image((self.src_body[row], self.body_flags[row]), face, window)
        return pose, crop(np.asarray(self.stage_frames[row]), window, self.size)


def _key(project: Project, size: int, stage: Stage) -> str:
    ref, _ = project.clip_media("target")
    h = hashlib.sha256(f"{ref.fingerprint}|{size}|{RENDER_VERSION}|{json.dumps(stage.to_dict())}".encode())
    for layer in ("pose", "face"):
        t = project.find_track("target", layer)
        if t is not None:
            for name in sorted(t.arrays):
                h.update(t.arrays[name].tobytes())
    return h.hexdigest()[:16]


BACKGROUND_FRAMES = 48    # frames whose median is the full-resolution background
BACKGROUND_MAX = 1280     # px, its longest side at most (never enlarged)


def held_count(n: int) -> int:
    return max(1, int(round(HELDOUT * n)))


def background_size(src_size) -> tuple[int, int]:
    k = min(1.0, BACKGROUND_MAX / max(src_size))
    return int(round(src_size[0] * k)), int(round(src_size[1] * k))


@dataclass
class _Source:
    """What a target's training data is made from (the cache is written once from it)."""

    path: Path
    size: int
    stage: Stage
    usable: np.ndarray       # clip frames with a usable pose
    windows: np.ndarray      # (len(usable), 2) their windows on the stage
    body: tuple              # BODY_25 (points, flags) of every clip frame
    face: tuple | None       # iBUG 68 (points, flags) of every clip frame
    src_size: tuple[int, int]


def build_dataset(project: Project, size: int, stage: dict | None = None, follow: bool = True) -> Iterator[Progress]:
    """Job: the target's training data at ``size``, on the stage fitted to the target's pose track
    (or on ``stage``, a model's saved one). ``follow`` allows a window that follows a small person
    (models with a background plate: without one, nothing would fill the rest of the frame).
    Returns :class:`PoseFrameData`."""
    if project.folder is None:
        raise UserError("Save the project first: training data and models are stored in its folder.", hint="save")
    ref, path = project.clip_media("target")
    b_pts, b_fl = body25(project.require_track("target", "pose"))
    face_track = project.find_track("target", "face")
    face = face68(face_track) if face_track is not None else None
    usable = np.flatnonzero((b_fl != Flag.MISSING).sum(1) >= 8)  # a person, not a stray point
    if len(usable) < MIN_FRAMES:
        raise UserError(f"Only {len(usable)} frames of the target clip show the person with a usable pose; training "
                        f"needs at least {MIN_FRAMES}. Analyse the target's pose (or fix missing frames) first.",
                        hint="analyse_target_pose")
    share = len(usable) / len(b_fl)
    v = ref.probe["video"]
    src_size = (int(v["width"]), int(v["height"]))
    if stage is not None:
        st = Stage.from_dict(stage, src_size, size)
    else:
        st = fit_stage(b_pts, b_fl, src_size, size) if follow else Stage.static(src_size, size)
    src = _Source(path, size, st, usable, st.windows(b_pts, b_fl, float(ref.fps))[usable], (b_pts, b_fl), face,
                  src_size)
    key = _key(project, size, st)
    cache = Path(project.folder) / "cache" / f"dataset-{key}"
    notes = [f"the person is in only {share:.0%} of the target's frames"] if share < 0.5 else []
    if st.moving:  # say why the samples show a square around the person, not the whole frame
        notes.append(f"the person is small in the frame: the model looks at a {st.side:.0f} px square that "
                     f"follows them, the rest comes from the background")
    if not (cache / "meta.json").is_file():
        yield Progress(0, len(usable), "Preparing training data" + (f" ({'; '.join(notes)})" if notes else ""))
        with prepared_on_disk(cache):
            yield from _write_cache(cache, src)
    return _read_cache(cache, src, key)


def _write_cache(cache: Path, src: _Source) -> Iterator[Progress]:
    """Decode the usable frames once into memory-mapped arrays (window, pose image, stage picture) and
    the full-resolution background; written beside the cache, then renamed into place."""
    import cv2

    size, st, usable = src.size, src.stage, src.usable
    sw, sh = st.stage_size
    with atomic_folder(cache) as tmp:
        frames = disk_array(tmp / "frames.npy", np.uint8, (len(usable), size, size, 3), cache)
        poses = disk_array(tmp / "poses.npy", np.uint8, (len(usable), size, size, 3), cache)
        # A static stage is the window itself: no second copy of the frames.
        staged = disk_array(tmp / "stage.npy", np.uint8, (len(usable), sh, sw, 3), cache) if st.moving else None
        n_train = len(usable) - held_count(len(usable))
        bg_rows = set(np.linspace(0, n_train - 1, min(BACKGROUND_FRAMES, n_train)).astype(int).tolist())
        bg_size = background_size(src.src_size)
        bg_frames = []
        (b_pts, b_fl), face = src.body, src.face
        x0, y0, x1, y1 = st.content
        for r, i, rgb in _usable_frames(src.path, usable):
            if r in bg_rows:
                bg_frames.append(rgb if bg_size == src.src_size else cv2.resize(rgb, bg_size, interpolation=cv2.INTER_AREA))
            canvas = np.zeros((sh, sw, 3), np.uint8)
            canvas[y0:y1, x0:x1] = cv2.resize(rgb, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
            if staged is not None:
                staged[r] = canvas
            frames[r] = crop(canvas, src.windows[r], size)
            poses[r] = st.pose_image((b_pts[i], b_fl[i]), (face[0][i], face[1][i]) if face else None, src.windows[r])
            if (r + 1) % 10 == 0:
                yield Progress(r + 1, len(usable), "Preparing training data")
        for a in (frames, poses, staged):
            if a is not None:
                a.flush()
        del frames, poses, staged
        np.save(tmp / "background.npy", np.median(np.stack(bg_frames), axis=0).round().astype(np.uint8))
        del bg_frames
        (tmp / "meta.json").write_text(json.dumps({"indices": usable.tolist(), "size": size, "stage": st.to_dict()}))


def _usable_frames(path: Path, usable: np.ndarray) -> Iterator[tuple[int, int, np.ndarray]]:
    """(row, clip frame, RGB) of the usable frames, decoded in one pass."""
    from avstudio.media.video import VideoSource  # here: training on prepared data needs no PyAV

    want = {int(f): r for r, f in enumerate(usable)}
    vs = VideoSource(path, prefetch=0, cache_mb=0)
    try:
        for i, rgb in vs.iter_frames(int(usable[0]), int(usable[-1]) + 1):
            if i in want:
                yield want[i], i, rgb
    finally:
        vs.close()


def _read_cache(cache: Path, src: _Source, key: str) -> PoseFrameData:
    st, (b_pts, b_fl), face = src.stage, src.body, src.face
    meta = json.loads((cache / "meta.json").read_text())
    indices = np.asarray(meta["indices"], np.int64)
    n_held = held_count(len(indices))
    rows = np.arange(len(indices))
    stage_body = st.to_stage(b_pts[indices]).astype(np.float32)
    body = stage_body.copy()
    body[..., :2] -= src.windows[:, None, :]
    frames = np.load(cache / "frames.npy", mmap_mode="r")
    staged = np.load(cache / "stage.npy", mmap_mode="r") if st.moving else frames
    src_face = (face[0][indices], face[1][indices]) if face else None
    return PoseFrameData(src.size, st, frames, np.load(cache / "poses.npy", mmap_mode="r"), staged, src.windows,
                         indices, body, stage_body, b_fl[indices], rows[:-n_held], rows[-n_held:], st.content, key,
                         src.src_size, b_pts[indices], src_face, cache)


def to_tensor(images: np.ndarray):
    """uint8 (…, H, W, 3) → float tensor (…, 3, H, W) in [-1, 1]."""
    import torch

    t = torch.from_numpy(np.array(images, dtype=np.float32)).div_(127.5).sub_(1.0)  # a copy: memmaps are read-only
    return t.permute(0, 3, 1, 2) if t.dim() == 4 else t.permute(2, 0, 1)


def to_images(t) -> np.ndarray:
    """float tensor (N, 3, H, W) in [-1, 1] → uint8 (N, H, W, 3)."""
    return ((t.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()

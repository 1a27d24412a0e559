"""The target's face, as the renderers learn and retrieve from it: every usable frame's face crop
(ml/lipsync/crop.py), its landmarks in the crop, its frontal mouth shape, and the held-out block
(the last HELDOUT of the usable frames, contiguous, never trained on or retrieved from when scoring).

Crops are decoded once into a memory-mapped array under the project's cache/, rebuilt only when the
clip, its face analysis or the crop size change. A frame is usable when the face is found with a pose
and is not in profile.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from avstudio.core.atomic import atomic_folder
from avstudio.core.errors import UserError
from avstudio.core.progress import Progress
from avstudio.core.project import Project
from avstudio.ml.arrays import disk_array, prepared_on_disk
from avstudio.ml.lipsync.crop import crop_boxes, crop_matrix, to_crop, warp

HELDOUT = 0.15
MIN_SECONDS = 4.0        # retrieval needs a few mouth shapes
TRAIN_MIN_SECONDS = 12.0  # a learned renderer: Yi et al. ask for more than 12 s of the target
VERSION = 1


@dataclass
class TargetFaces:
    size: int                # R: the crops' side in pixels (about the face's own size in the clip)
    frames: np.ndarray       # (N,) clip frames of the rows
    boxes: np.ndarray        # (T, 4) every clip frame's crop box (NaN: none)
    crops: np.ndarray        # (N, R, R, 3) uint8 (memory-mapped)
    landmarks: np.ndarray    # (N, 68, 2) the frame's own landmarks in its crop
    frontal: np.ndarray      # (N, 68, 2) and in the frontal space
    train_rows: np.ndarray
    held_rows: np.ndarray
    fps: float
    key: str
    folder: Path

    def matrix(self, frame: int) -> np.ndarray:
        return crop_matrix(self.boxes[frame], self.size)


def render_size(boxes: np.ndarray) -> int:
    """The crop side: about the face's own size in the clip (no enlarging), 96–384 px, a multiple of 32."""
    sides = boxes[np.isfinite(boxes[:, 2]), 2]
    if not len(sides):
        return 128
    return int(np.clip(32 * round(float(np.median(sides)) / 32), 96, 384))


def usable_frames(project: Project) -> tuple[np.ndarray, np.ndarray, float]:
    """(usable frames, crop boxes of every frame, fps) of the target."""
    from avstudio.analysis.face.analyse import PROFILE_YAW
    from avstudio.core import layers, roles
    from avstudio.core.tracks import Flag

    ref, _ = project.clip_media(roles.TARGET)
    pose = project.require_track(roles.TARGET, layers.HEAD_POSE)
    frontal = project.require_track(roles.TARGET, layers.FRONTAL)
    ok = (pose.arrays["flags"] != Flag.MISSING).all(1)
    fps = float(ref.fps)
    boxes = crop_boxes(pose.arrays["values"], ok, fps)
    whole = (frontal.flags != Flag.MISSING).all(1)
    usable = np.flatnonzero(ok & whole & (np.abs(pose.arrays["values"][:, 0]) <= PROFILE_YAW))
    return usable, boxes, fps


def _key(project: Project, size: int) -> str:
    from avstudio.core import layers, roles

    ref, _ = project.clip_media(roles.TARGET)
    h = hashlib.sha256(f"{ref.fingerprint}|{size}|{VERSION}".encode())
    for layer in (layers.FACE, layers.HEAD_POSE):
        t = project.find_track(roles.TARGET, layer)
        for name in sorted(t.arrays):
            h.update(t.arrays[name].tobytes())
    return h.hexdigest()[:16]


def load_target(project: Project, min_seconds: float = MIN_SECONDS, size: int | None = None) -> Iterator[Progress]:
    """Job: the target's faces (decoded once into the cache). Returns :class:`TargetFaces`."""
    from avstudio.core import layers, roles

    if project.folder is None:
        raise UserError("Save the project first: the renderers keep the target's faces in its folder.", hint="save")
    usable, boxes, fps = usable_frames(project)
    need = int(np.ceil(min_seconds * fps))
    if len(usable) < need:
        raise UserError(f"The target shows a usable face (found, not in profile) in {len(usable) / fps:.1f} s of "
                        f"its frames; this needs at least {min_seconds:.0f} s ({need} frames). Use a longer "
                        "target clip, or fix the frames where the face was not found.", hint="analyse_target_face")
    size = size or render_size(boxes[usable])
    key = _key(project, size)
    cache = Path(project.folder) / "cache" / f"lipsync-faces-{key}"
    _, path = project.clip_media(roles.TARGET)
    face = project.require_track(roles.TARGET, layers.FACE)
    frontal = project.require_track(roles.TARGET, layers.FRONTAL)
    if not (cache / "meta.json").is_file():
        yield Progress(0, len(usable), "Preparing the target's faces")
        with prepared_on_disk(cache):
            yield from _write(cache, path, usable, boxes, size)
    from avstudio.analysis.face.analyse import FACE68

    lm = np.stack([to_crop(face.points[f, list(FACE68)], crop_matrix(boxes[f], size)) for f in usable])
    n_held = max(1, int(round(HELDOUT * len(usable))))
    rows = np.arange(len(usable))
    return TargetFaces(size, usable, boxes, np.load(cache / "crops.npy", mmap_mode="r"), lm.astype(np.float32),
                       frontal.points[usable, :, :2].copy(), rows[:-n_held], rows[-n_held:], fps, key, cache)


def _write(cache: Path, path, usable: np.ndarray, boxes: np.ndarray, size: int) -> Iterator[Progress]:
    from avstudio.media.video import VideoSource

    with atomic_folder(cache) as tmp:
        crops = disk_array(tmp / "crops.npy", np.uint8, (len(usable), size, size, 3), cache)
        want = {int(f): r for r, f in enumerate(usable)}
        vs = VideoSource(path, prefetch=0, cache_mb=0)
        try:
            done = 0
            for i, rgb in vs.iter_frames(int(usable[0]), int(usable[-1]) + 1):
                r = want.get(i)
                if r is None:
                    continue
                crops[r] = warp(rgb, crop_matrix(boxes[i], size), size)
                done += 1
                if done % 25 == 0:
                    yield Progress(done, len(usable), "Preparing the target's faces")
        finally:
            vs.close()
        crops.flush()
        del crops
        (tmp / "meta.json").write_text(json.dumps({"frames": usable.tolist(), "size": size, "version": VERSION}))

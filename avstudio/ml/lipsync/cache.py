"""The render cache of lip sync, without torch (the editor reads it): each output frame is cached
under cache/lipsync/<renderer>/ by the hash of what it is made from — the renderer (and its
checkpoint), the target frame underneath, that frame's crop, and the wanted face. Editing one frame's
mouth changes one key: that frame, and no other, is made again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

VERSION = 1
RETRIEVAL = "retrieval"
REFERENCE = "reference"   # the baseline: the reference frame's lower face pasted unchanged


def painter_key(renderer: str, checkpoint: str | None, faces_key: str) -> str:
    """What a renderer's frames depend on besides their own inputs: the tier or the model and its
    checkpoint, and the target's faces (the frames it retrieves from)."""
    if renderer in (RETRIEVAL, REFERENCE):
        return f"{renderer}/{faces_key}"
    return f"{renderer}/{checkpoint}/{faces_key}"


def renderer_folder(project_path, key: str) -> Path:
    """Where the frames of a painter key are cached."""
    return Path(project_path) / "cache" / "lipsync" / key.replace("/", "-")


def frame_keys(renderer: str, under: np.ndarray, boxes: np.ndarray, faces: np.ndarray, ok: np.ndarray) -> list[str]:
    """One key per output frame: (renderer, target frame, its crop box, the wanted face or "as filmed")."""
    keys = []
    for i in range(len(under)):
        h = hashlib.sha1(f"{renderer}|{VERSION}|{int(under[i])}|{bool(ok[i])}".encode())
        b = boxes[int(under[i])]
        h.update(np.round(np.nan_to_num(b, nan=-1.0), 2).astype(np.float32).tobytes())
        if ok[i]:
            h.update(np.round(faces[i][:, :2], 2).astype(np.float32).tobytes())
        keys.append(h.hexdigest())
    return keys


def frame_path(folder: Path, key: str) -> Path:
    return folder / f"{key}.png"

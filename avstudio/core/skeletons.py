"""Skeletons and the maps between them, as data (JSON files beside this module).

A skeleton names its joints and limbs (and, where a convention exists, colours and mirror pairs for
left/right). A map says how each joint of one skeleton is computed from another's: the mean of the
listed source joints, with the smallest of their confidences. Adding a layout is adding a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from avstudio.core.tracks import Flag

DATA = Path(__file__).with_name("skeletons")


@dataclass(frozen=True)
class Skeleton:
    name: str
    joints: tuple[str, ...]
    limbs: tuple[tuple[int, int], ...] = ()
    colors: tuple[tuple[int, int, int], ...] = ()
    mirror: tuple[tuple[int, int], ...] = ()
    polylines: tuple[tuple[int, int, bool], ...] = ()
    roles: dict = field(default_factory=dict)  # "ankles", "nose", "torso", "neck" → joint indices

    @property
    def size(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        return self.joints.index(joint)


@lru_cache(maxsize=None)
def skeleton(name: str) -> Skeleton:
    path = DATA / f"{name}.json"
    if not path.is_file():
        if name.startswith("mediapipe_face") or name == "mediapipe478":
            return Skeleton(name, tuple(f"p{i}" for i in range(478)))
        raise KeyError(f"unknown skeleton {name!r}")
    d = json.loads(path.read_text())
    if "extends" in d:
        base = skeleton(d["extends"])
        return Skeleton(d["name"], base.joints + tuple(d["extra_joints"]), base.limbs, base.colors, base.mirror,
                        base.polylines, base.roles)
    roles = {k: d[k] for k in ("ankles", "nose", "torso", "neck") if k in d}
    return Skeleton(d["name"], tuple(d["joints"]), tuple(tuple(x) for x in d.get("limbs", ())),
                    tuple(tuple(c) for c in d.get("colors", ())), tuple(tuple(m) for m in d.get("mirror", ())),
                    tuple((a, b, bool(c)) for a, b, c in d.get("polylines", ())), roles)


@lru_cache(maxsize=None)
def _map_sources(name: str) -> tuple[tuple[int, ...], ...]:
    maps = json.loads((DATA / "maps.json").read_text())
    entry = maps[name]
    if "extends" in entry:
        return _map_sources(entry["extends"]) + tuple(tuple(s) for s in entry["extra_sources"])
    return tuple(tuple(s) for s in entry["sources"])


def single_sources(mapping: str) -> tuple[int, ...]:
    """The source joint of each joint of a map in which every joint copies one source joint (the
    face's iBUG 68 from the Face Mesh): editing a derived point is editing that one."""
    sources = _map_sources(mapping)
    if any(len(s) != 1 for s in sources):
        raise ValueError(f"the map {mapping} averages several joints into some of its joints")
    return tuple(s[0] for s in sources)


def map_points(points: np.ndarray, flags: np.ndarray, mapping: str) -> tuple[np.ndarray, np.ndarray]:
    """Apply a joint map to (T, J, 3) points and (T, J) flags. A derived joint is MISSING if any of
    its sources is; EDITED if any is (a user's anchor stays an anchor); else AUTO/INTERPOLATED."""
    sources = _map_sources(mapping)
    width = max(len(s) for s in sources)
    # Pad every source list to the same width by repeating its first entry: vectorised mean/min.
    idx = np.array([list(s) + [s[0]] * (width - len(s)) for s in sources])
    counts = np.array([len(s) for s in sources])
    gathered = points[:, idx, :]                                    # (T, K, width, 3)
    mask = (np.arange(width)[None, :] < counts[:, None])            # (K, width)
    xy = (gathered[..., :2] * mask[None, :, :, None]).sum(2) / counts[None, :, None]
    conf = np.where(mask[None], gathered[..., 2], np.inf).min(2)
    out = np.concatenate([xy, conf[..., None]], axis=-1).astype(np.float32)
    fl = flags[:, idx]                                              # (T, K, width)
    missing = ((fl == Flag.MISSING) & mask[None]).any(2)
    edited = ((fl == Flag.EDITED) & mask[None]).any(2)
    interp = ((fl == Flag.INTERPOLATED) & mask[None]).any(2)
    out_flags = np.full(out.shape[:2], Flag.AUTO, np.uint8)
    out_flags[interp] = Flag.INTERPOLATED
    out_flags[edited] = Flag.EDITED
    out_flags[missing] = Flag.MISSING
    out[missing] = 0.0
    return out, out_flags

"""OpenPose JSON per frame, in and out.

Out: ``<stem>_<frame:012d>_keypoints.json`` with ``pose_keypoints_2d`` (BODY_25, x y c ×25) and
``face_keypoints_2d`` (70 points), the layout OpenPose, DWPose exports and ControlNet tools read.
In: a folder of such files. The frame number comes from each file name, so missing files become
MISSING frames and nothing shifts; several people per file: the one nearest the previous frame's
subject (the largest at first). Confidences are kept; c = 0 means not detected.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np

from avstudio.core.atomic import atomic_write_json
from avstudio.core.errors import UserError
from avstudio.core.files import MIB, excerpt, read_json, user_os_error
from avstudio.core.tracks import Flag

BODY25 = 25
FACE70 = 70
_FRAME = re.compile(r"(\d+)(?:_keypoints)?\.json$")


def _flat(points: np.ndarray, flags: np.ndarray) -> list[float]:
    out = []
    for (x, y, c), f in zip(points, flags):
        if f == Flag.MISSING:
            out += [0.0, 0.0, 0.0]
        else:
            # float(np.float32) is exact in JSON, so export → import is lossless.
            out += [float(np.float32(x)), float(np.float32(y)), float(np.float32(max(c, 1e-6)))]
    return out


def check_stem(stem: str) -> str:
    """Refuse a file name stem that is not a plain name (a path would write outside the folder)."""
    if not stem or stem in (".", "..") or any(c in stem for c in "/\\\0") or len(os.fsencode(stem)) > 200:
        raise UserError(f"The file name stem '{excerpt(stem)}' must be a plain name of at most 200 bytes, without "
                        "slashes.")
    return stem


def export_openpose(folder: str | os.PathLike, stem: str, body: tuple[np.ndarray, np.ndarray],
                    face: tuple[np.ndarray, np.ndarray] | None = None, start: int = 0, stop: int | None = None):
    """Write one JSON per frame. Yields the frame index written (a job can wrap it)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise user_os_error(exc, "create the folder", folder) from exc
    pts, fl = body
    stop = len(pts) if stop is None else min(stop, len(pts))
    for i in range(start, stop):
        person = {"person_id": [-1], "pose_keypoints_2d": [], "face_keypoints_2d": [],
                  "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": [],
                  "pose_keypoints_3d": [], "face_keypoints_3d": [], "hand_left_keypoints_3d": [],
                  "hand_right_keypoints_3d": []}
        people = []
        if (fl[i] != Flag.MISSING).any():
            person["pose_keypoints_2d"] = _flat(pts[i], fl[i])
            if face is not None and (face[1][i] != Flag.MISSING).any():
                person["face_keypoints_2d"] = _flat(face[0][i], face[1][i])
            people.append(person)
        out = folder / f"{stem}_{i:012d}_keypoints.json"
        try:
            atomic_write_json(out, {"version": 1.3, "people": people})
        except OSError as exc:  # a full disk, a read-only folder: say so, and which frame stopped it
            done = f"The files of frames {start}–{i - 1} were written." if i > start else ""
            raise user_os_error(exc, "write", out, after=done) from exc
        yield i


# One frame's file: BODY_25 + face + both hands, 2D and 3D, for a crowd of people is well under this.
MAX_FILE_BYTES = 4 * MIB
# Coordinates are pixels: anything beyond this is no frame's (and would overflow float32 at 3.4e38).
MAX_COORD = 1e6


def _keypoints(path: Path, kp: list) -> np.ndarray:
    """(25, 3) x, y, c of one person's pose_keypoints_2d; a UserError for what is not that."""
    if len(kp) % 3:
        raise UserError(f"{path}: pose_keypoints_2d must be x, y, c triples.", path=str(path))
    n = len(kp) // 3
    if n != BODY25:
        other = {18: "COCO-18", 15: "MPI-15", 17: "COCO-17 (DWPose body)", 133: "COCO-WholeBody"}.get(n, f"{n}-point")
        raise UserError(f"{path} holds {other} keypoints; AV Studio imports OpenPose BODY_25 (25 points). "
                        "Export BODY_25 from OpenPose (--model_pose BODY_25).", path=str(path))
    # bool is an int in Python, and numpy would read "1.5" as a number: only real JSON numbers pass.
    if not all(type(v) in (int, float) for v in kp):
        raise UserError(f"{path}: keypoints must be numbers.", path=str(path))
    try:
        arr = np.array(kp, np.float64).reshape(n, 3)
    except OverflowError as exc:  # an integer with hundreds of digits
        raise UserError(f"{path}: a keypoint is too large a number.", path=str(path)) from exc
    if not np.isfinite(arr).all():
        raise UserError(f"{path} contains NaN or infinite keypoints.", path=str(path))
    if np.abs(arr[:, :2]).max() > MAX_COORD:
        raise UserError(f"{path}: a keypoint lies {np.abs(arr[:, :2]).max():.3g} px from the origin, beyond any "
                        f"frame (at most {MAX_COORD:.0g} px): the file is damaged.", path=str(path))
    if arr[:, 2].min() < 0:
        raise UserError(f"{path}: a confidence is negative; OpenPose writes 0 to 1 (0: not detected).",
                        path=str(path))
    arr[:, 2] = np.minimum(arr[:, 2], 1.0)  # some exporters write scores a little above 1
    return arr


def _parse_people(path: Path, data) -> list[np.ndarray]:
    if not isinstance(data, dict) or not isinstance(data.get("people"), list):
        raise UserError(f"{path} is not an OpenPose keypoint file (it has no 'people' list).", path=str(path))
    out = []
    for p in data["people"]:
        kp = p.get("pose_keypoints_2d") if isinstance(p, dict) else None
        if kp is None or kp == []:
            continue
        if not isinstance(kp, list):
            raise UserError(f"{path}: pose_keypoints_2d must be x, y, c triples.", path=str(path))
        out.append(_keypoints(path, kp))
    return out


def import_openpose(folder: str | os.PathLike, frame_count: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Read a folder of OpenPose JSON into (T, 25, 3) points and flags for a clip of ``frame_count``
    frames. Returns also a report: files read, frames with nobody, frames without a file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder of OpenPose JSON files.", path=str(folder))
    files = {}
    for p in folder.glob("*.json"):
        m = _FRAME.search(p.name)
        if m:
            idx = int(m.group(1))
            if idx in files:
                raise UserError(f"Two files in {folder} are frame {idx}: {files[idx].name} and {p.name}.",
                                path=str(folder))
            files[idx] = p
    if not files:
        raise UserError(f"{folder} has no OpenPose files (*_<frame>_keypoints.json).", path=str(folder))
    beyond = [i for i in files if i >= frame_count]
    if beyond:
        raise UserError(f"{folder} has keypoints for frame {max(beyond)}, but the clip has only {frame_count} frames "
                        f"(0..{frame_count - 1}). Is this the right clip?", path=str(folder))
    pts = np.zeros((frame_count, BODY25, 3), np.float32)
    flags = np.full((frame_count, BODY25), Flag.MISSING, np.uint8)
    empty = 0
    prev_centre = None
    for i in sorted(files):
        people = _parse_people(files[i], read_json(files[i], "OpenPose keypoint file", MAX_FILE_BYTES))
        if not people:
            empty += 1
            continue

        def centre_size(a):
            ok = a[:, 2] > 0
            if not ok.any():
                return None, 0.0
            xy = a[ok, :2]
            return xy.mean(0), float(np.ptp(xy[:, 1]) + np.ptp(xy[:, 0]))
        if prev_centre is None:
            chosen = max(people, key=lambda a: centre_size(a)[1])
        else:
            chosen = min(people, key=lambda a: math.inf if centre_size(a)[0] is None
                         else float(np.linalg.norm(centre_size(a)[0] - prev_centre)))
        c, _ = centre_size(chosen)
        if c is not None:
            prev_centre = c
        det = chosen[:, 2] > 0
        pts[i] = chosen.astype(np.float32)
        pts[i, ~det] = 0
        flags[i, det] = Flag.AUTO
    report = {"files": len(files), "frames_without_file": frame_count - len(files), "frames_without_person": empty}
    return pts, flags, report

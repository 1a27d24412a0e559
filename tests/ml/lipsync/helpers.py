"""What the lip-sync tests read back from rendered frames: the frames in output order, and the mouth
opening MediaPipe finds on them (the measure every sync check uses)."""

from pathlib import Path

import cv2
import numpy as np

from avstudio.analysis.landmarks.extract import extract_frames
from avstudio.analysis.landmarks.layouts import face68_of
from avstudio.core.progress import run_to_end
from avstudio.core.store import load_project
from avstudio.core.tracks import Flag
from avstudio.ml.lipsync import cache as lcache


def rendered(result, project_path):
    """The rendered frames in output order, and the faces they were rendered from."""
    from avstudio.ml.lipsync.render import usable_mask
    from avstudio.ml.lipsync.target import load_target
    from avstudio.retarget.face import output_faces

    p = load_project(project_path)
    faces = run_to_end(load_target(p))
    under, wanted, _, ok = output_faces(p)
    keys = lcache.frame_keys(f"{lcache.RETRIEVAL}/{faces.key}", under, faces.boxes, wanted, usable_mask(faces, under, ok))
    return [cv2.imread(str(lcache.frame_path(Path(result["cache"]), k)))[..., ::-1] for k in keys], wanted


def redetected_opening(frames, wanted) -> tuple[np.ndarray, np.ndarray]:
    """(opening, found): the inner-lip gap over the outer-eye-corner distance of the face Face Mesh
    finds on each frame (looking where the wanted face is), NaN where none is found."""
    hints = [((w[:, 0].min() + w[:, 0].max()) / 2, (w[:, 1].min() + w[:, 1].max()) / 2,
              w[:, :2].max(0).max() - w[:, :2].min(0).min()) for w in wanted]
    pts, fl = extract_frames(frames, "face", hints=hints)
    p68, f68 = face68_of(pts, fl, "mediapipe478")
    found = (f68 != Flag.MISSING).all(1)
    gap = np.linalg.norm(p68[:, 66, :2] - p68[:, 62, :2], axis=1) / np.linalg.norm(p68[:, 45, :2] - p68[:, 36, :2], axis=1)
    gap[~found] = np.nan
    return gap, found

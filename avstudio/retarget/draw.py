"""Stick figures (OpenPose BODY_25 colours) and face sketches: the images the generator learns from.

Deterministic (same input, same pixels — no randomness, fixed drawing order) and sized by resolution:
Everybody Dance Now draws limbs 4 px wide and joints 8 px in radius at 1024x512; we scale both with
the image height. Limbs are filled ellipses like OpenPose's renderer.
"""

from __future__ import annotations

import math

import numpy as np

from avstudio.core.skeletons import skeleton
from avstudio.core.tracks import Flag


def fit_transform(src_size: tuple[int, int], out_size: tuple[int, int]) -> tuple[float, float, float]:
    """(scale, dx, dy) that fits a src (w, h) frame inside out (w, h), aspect kept, centred (padding)."""
    sw, sh = src_size
    ow, oh = out_size
    s = min(ow / sw, oh / sh)
    return s, (ow - sw * s) / 2, (oh - sh * s) / 2


def apply_transform(points: np.ndarray, tf: tuple[float, float, float]) -> np.ndarray:
    s, dx, dy = tf
    out = points.astype(np.float64).copy()
    out[..., 0] = points[..., 0] * s + dx
    out[..., 1] = points[..., 1] * s + dy
    return out


def _sizes(height: int) -> tuple[int, int]:
    k = height / 512.0
    return max(1, round(4 * k)), max(1, round(8 * k))   # EDN: stick 4, joint radius 8 at 1024x512


def render_pose(points: np.ndarray, flags: np.ndarray, size: tuple[int, int], *, canvas: np.ndarray | None = None,
                min_conf: float = 0.0) -> np.ndarray:
    """Draw one BODY_25 pose (25, 3) into an RGB image of ``size`` (w, h) (or onto ``canvas``)."""
    import cv2  # here, not at the top: the networks that read these pictures are used without OpenCV

    skel = skeleton("body25")
    w, h = size
    img = np.zeros((h, w, 3), np.uint8) if canvas is None else canvas
    stick, radius = _sizes(h)
    ok = (flags != Flag.MISSING) & (points[:, 2] >= min_conf)
    for a, b in skel.limbs:
        if not (ok[a] and ok[b]):
            continue
        (x0, y0), (x1, y1) = points[a, :2], points[b, :2]
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        length = math.hypot(x1 - x0, y1 - y0) / 2
        angle = math.degrees(math.atan2(y1 - y0, x1 - x0))
        poly = cv2.ellipse2Poly((int(round(mx)), int(round(my))), (int(round(length)), stick), int(round(angle)),
                                0, 360, 1)
        cv2.fillConvexPoly(img, poly, skel.colors[b])
    for j in range(skel.size):
        if ok[j]:
            cv2.circle(img, (int(round(points[j, 0])), int(round(points[j, 1]))), radius, skel.colors[j], -1)
    return img


def render_face(points68: np.ndarray, flags68: np.ndarray, size: tuple[int, int], *,
                canvas: np.ndarray | None = None, color=(255, 255, 255)) -> np.ndarray:
    """Draw a face sketch (iBUG 68 polylines: jaw, brows, nose, eyes, lips) as in EDN's face input
    and EVP's edge maps."""
    import cv2

    skel = skeleton("face68")
    w, h = size
    img = np.zeros((h, w, 3), np.uint8) if canvas is None else canvas
    thickness = max(1, round(h / 256))
    ok = flags68[:68] != Flag.MISSING
    for a, b, closed in skel.polylines:
        idx = np.arange(a, b + 1)
        if not ok[idx].all():
            continue
        pts = np.round(points68[idx, :2]).astype(np.int32)
        cv2.polylines(img, [pts], bool(closed), color, thickness, lineType=cv2.LINE_8)
    return img


FRAME_FILL = 24  # grey of the frame area in generator inputs (the padding stays black)


def render_frame(body: tuple[np.ndarray, np.ndarray] | None, face: tuple[np.ndarray, np.ndarray] | None,
                 src_size: tuple[int, int], out_size: tuple[int, int], *, mark_frame: bool = False) -> np.ndarray:
    """Pose (and face) of one frame in source-frame pixels, fitted into ``out_size`` with padding.
    ``mark_frame`` fills the fitted frame area with dark grey: generator inputs need it, so that a
    shifted or scaled training pair still says where the background belongs."""
    tf = fit_transform(src_size, out_size)
    img = np.zeros((out_size[1], out_size[0], 3), np.uint8)
    if mark_frame:
        s, dx, dy = tf
        x0, y0 = int(round(dx)), int(round(dy))
        img[y0:out_size[1] - y0, x0:out_size[0] - x0] = FRAME_FILL
    if body is not None:
        render_pose(apply_transform(body[0], tf), body[1], out_size, canvas=img)
    if face is not None:
        render_face(apply_transform(face[0], tf), face[1], out_size, canvas=img)
    return img

"""Head pose and frontal landmarks: a rigid reference face fitted to the clip, each frame's pose
against it (a similarity: rotation, scale, translation), and landmarks with the pose removed.

MediaPipe Face Mesh gives every point a depth on the x scale. The mediapipe 0.10.21 wheel does not
ship its canonical face model (modules/face_geometry/data is empty), so the 3-D reference is fitted to
the clip: the generalized-Procrustes mean of the rigid points (eye corners, nose bridge, forehead,
temples — not the mouth, jaw or brows, which move with expression) over the clip's frames, turned to
face the camera (the eye line along x, the line from between the eyes to below the nose along y —
on frontal frames of the test clips that line leans less than 2° from the image's vertical) and scaled
so that the outer eye corners are 1 apart. A frame's pose is the similarity that best maps the
reference onto that frame's rigid points (Umeyama 1991); its inverse takes the frame's landmarks into
the frontal space where the mouth shapes of two frames, or of two people, compare.

Without depth (a face track from before depth was kept) the fit is 2-D: roll, scale and translation,
with yaw and pitch 0. Image axes: x right, y down, z away from the camera (MediaPipe's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Face Mesh indices. Rigid: they move with the skull, not with the mouth, jaw, cheeks or brows.
EYE_CORNERS = (33, 133, 362, 263)        # outer right, inner right, inner left, outer left (the person's)
NOSE = (168, 6, 197, 195, 5, 4, 1, 2, 98, 327)
FOREHEAD = (10, 151, 9, 108, 337, 67, 297)
TEMPLES = (127, 356, 234, 454, 139, 368)
RIGID = EYE_CORNERS + NOSE + FOREHEAD + TEMPLES
OUTER_EYES = (RIGID.index(33), RIGID.index(263))     # their positions within RIGID
UPRIGHT = (RIGID.index(168), RIGID.index(2))          # between the eyes → below the nose: "down"
MIN_RIGID = 6          # a frame with fewer present rigid points has no pose
GPA_ITERATIONS = 4
GPA_FRAMES = 400       # frames the reference is fitted on (evenly spaced): enough, and bounded


@dataclass
class Poses:
    """Per-frame similarity ``x_image = scale * R @ x_reference + t`` (reference units: outer eye
    corners 1 apart); ``ok`` is False where the frame has no pose. ``fit`` is the rms residual of the
    rigid points in reference units."""

    R: np.ndarray        # (T, 3, 3)
    scale: np.ndarray    # (T,)
    t: np.ndarray        # (T, 3)
    ok: np.ndarray       # (T,) bool
    fit: np.ndarray      # (T,)

    def __len__(self) -> int:
        return len(self.scale)

    def take(self, frames) -> Poses:
        return Poses(self.R[frames], self.scale[frames], self.t[frames], self.ok[frames], self.fit[frames])


def umeyama(src: np.ndarray, dst: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batched weighted similarity fit: (scale (T,), R (T, D, D), t (T, D)) minimising
    Σ w |scale R src + t − dst|² for src (K, D) or (T, K, D), dst (T, K, D), weights w (T, K)."""
    src = np.broadcast_to(src, dst.shape).astype(np.float64)
    dst = dst.astype(np.float64)
    w = w.astype(np.float64)
    total = np.maximum(w.sum(1), 1e-12)[:, None]
    ms = (w[..., None] * src).sum(1) / total
    md = (w[..., None] * dst).sum(1) / total
    sc, dc = src - ms[:, None], dst - md[:, None]
    cov = np.einsum("tk,tki,tkj->tij", w, dc, sc) / total[..., None]
    u, sv, vt = np.linalg.svd(cov)
    d = np.ones_like(sv)
    d[:, -1] = np.sign(np.linalg.det(u) * np.linalg.det(vt))
    d[d[:, -1] == 0, -1] = 1.0
    R = np.einsum("tij,tj,tjk->tik", u, d, vt)
    var = (w * (sc ** 2).sum(-1)).sum(1) / total[:, 0]
    scale = (sv * d).sum(1) / np.maximum(var, 1e-12)
    t = md - scale[:, None] * np.einsum("tij,tj->ti", R, ms)
    return scale, R, t


def _embed(points: np.ndarray) -> np.ndarray:
    """2-D points as 3-D ones with depth 0."""
    if points.shape[-1] == 3:
        return points
    return np.concatenate([points, np.zeros(points.shape[:-1] + (1,), points.dtype)], -1)


def _frontal_frame(ref: np.ndarray) -> np.ndarray:
    """The reference turned to face the camera, centred on its rigid points and scaled so that the
    outer eye corners are 1 apart."""
    ex = ref[OUTER_EYES[1]] - ref[OUTER_EYES[0]]
    ex /= np.linalg.norm(ex)
    down = ref[UPRIGHT[1]] - ref[UPRIGHT[0]]
    ey = down - (down @ ex) * ex
    ey /= np.linalg.norm(ey)
    ez = np.cross(ex, ey)  # x right, y down, z away from the camera: right-handed
    out = (ref - ref.mean(0)) @ np.stack([ex, ey, ez], 1)
    iod = np.linalg.norm(out[OUTER_EYES[1]] - out[OUTER_EYES[0]])
    return out / max(iod, 1e-9)


def fit_reference(rigid: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """(K, 3) the clip's rigid reference face from the rigid points (T, K, 3) of the frames where
    ``ok`` (T, K) holds for all of them (generalized Procrustes, ``GPA_ITERATIONS`` rounds)."""
    full = np.flatnonzero(ok.all(1))
    if not len(full):
        raise ValueError("no frame shows the whole face")
    pick = full[np.linspace(0, len(full) - 1, min(GPA_FRAMES, len(full))).astype(int)]
    shapes = rigid[pick].astype(np.float64)
    ref = _frontal_frame(shapes[len(shapes) // 2])
    weights = np.ones(shapes.shape[:2])
    for _ in range(GPA_ITERATIONS):
        s, R, t = umeyama(shapes, np.broadcast_to(ref, shapes.shape), weights)  # each frame onto ref
        aligned = s[:, None, None] * np.einsum("tij,tkj->tki", R, shapes) + t[:, None]
        ref = _frontal_frame(np.median(aligned, axis=0))
    return ref


def fit_poses(ref: np.ndarray, rigid: np.ndarray, ok: np.ndarray) -> Poses:
    """Each frame's pose: the similarity mapping ``ref`` (K, 3) onto its rigid points (T, K, 2|3),
    using the points where ``ok`` (T, K). 2-D points give a rotation in the image plane only."""
    T = len(rigid)
    flat = rigid.shape[-1] == 2
    w = ok.astype(np.float64)
    have = ok.sum(1) >= MIN_RIGID
    if flat:
        s, R2, t2 = umeyama(ref[:, :2], rigid, w)
        R = np.tile(np.eye(3), (T, 1, 1))
        R[:, :2, :2] = R2
        t = np.concatenate([t2, np.zeros((T, 1))], 1)
    else:
        s, R, t = umeyama(ref, rigid, w)
    pred = s[:, None, None] * np.einsum("tij,kj->tki", R, ref) + t[:, None]
    res = ((pred[..., :rigid.shape[-1]] - rigid) ** 2).sum(-1)
    fit = np.sqrt((w * res).sum(1) / np.maximum(w.sum(1), 1)) / np.maximum(s, 1e-9)
    bad = ~have | ~np.isfinite(s) | (s <= 0)
    s, t, fit = np.where(bad, 1.0, s), np.where(bad[:, None], 0.0, t), np.where(bad, 0.0, fit)
    R[bad] = np.eye(3)
    return Poses(R, s, t, ~bad, fit)


def frontalize(points: np.ndarray, poses: Poses) -> np.ndarray:
    """Landmarks (T, J, 2|3) in image pixels → the frontal reference space (T, J, 3). 2-D points are
    taken at the depth of the reference's plane (exact for a face turned within the image plane)."""
    p = _embed(points.astype(np.float64))
    if points.shape[-1] == 2:
        p[..., 2] = poses.t[:, None, 2]
    return np.einsum("tji,tkj->tki", poses.R, p - poses.t[:, None]) / poses.scale[:, None, None]


def repose(frontal: np.ndarray, poses: Poses) -> np.ndarray:
    """Frontal landmarks (T, J, 3) → image pixels (T, J, 3) with each frame's pose."""
    return poses.scale[:, None, None] * np.einsum("tij,tkj->tki", poses.R, frontal) + poses.t[:, None]


# ---- head-pose curves ------------------------------------------------------------------------------
POSE_CHANNELS = ("yaw", "pitch", "roll", "x", "y", "z", "scale", "fit")


def euler(R: np.ndarray) -> np.ndarray:
    """(T, 3) yaw, pitch, roll in degrees of rotations R = Rz(roll) Ry(yaw) Rx(pitch): yaw about the
    vertical axis, pitch about the horizontal one, roll in the image plane."""
    yaw = np.arcsin(np.clip(-R[:, 2, 0], -1, 1))
    pitch = np.arctan2(R[:, 2, 1], R[:, 2, 2])
    roll = np.arctan2(R[:, 1, 0], R[:, 0, 0])
    return np.degrees(np.stack([yaw, pitch, roll], 1))


def rotation(angles: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations from (T, 3) yaw, pitch, roll in degrees (the inverse of :func:`euler`)."""
    y, p, r = np.radians(angles).T
    cy, sy, cp, sp, cr, sr = np.cos(y), np.sin(y), np.cos(p), np.sin(p), np.cos(r), np.sin(r)
    one, zero = np.ones_like(y), np.zeros_like(y)
    rz = np.stack([np.stack([cr, -sr, zero], -1), np.stack([sr, cr, zero], -1), np.stack([zero, zero, one], -1)], 1)
    ry = np.stack([np.stack([cy, zero, sy], -1), np.stack([zero, one, zero], -1), np.stack([-sy, zero, cy], -1)], 1)
    rx = np.stack([np.stack([one, zero, zero], -1), np.stack([zero, cp, -sp], -1), np.stack([zero, sp, cp], -1)], 1)
    return rz @ ry @ rx


def pose_values(poses: Poses) -> np.ndarray:
    """(T, 8) the head-pose curves (POSE_CHANNELS) of poses."""
    return np.concatenate([euler(poses.R), poses.t, poses.scale[:, None], poses.fit[:, None]], 1)


def poses_from_values(values: np.ndarray, ok: np.ndarray) -> Poses:
    """Poses from head-pose curves (T, 8) (the stored track), e.g. to re-pose a driven face."""
    v = values.astype(np.float64)
    scale = np.where(ok, v[:, 6], 1.0)
    return Poses(rotation(v[:, :3]), np.maximum(scale, 1e-9), v[:, 3:6], ok.astype(bool), v[:, 7])

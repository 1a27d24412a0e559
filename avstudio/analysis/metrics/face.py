"""Face landmark metrics (EVP's definitions): LD — the mean distance between landmarks re-detected on
generated frames and the ones that drove them — and LVD, the same for their frame-to-frame
velocities; both divided by the distance between the outer eye corners of the driving face, so they
do not depend on the face's size. Computed over the lips (iBUG 48–67) and over the whole face."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avstudio.core.tracks import Flag

MOUTH = tuple(range(48, 68))
FACE = tuple(range(68))


@dataclass
class LandmarkScores:
    ld_mouth: float
    ld_face: float
    lvd_mouth: float
    lvd_face: float
    frames_missing: int   # frames where no face was re-detected (not in the means)

    def to_json(self) -> dict:
        return dict(self.__dict__)


def _eye_distance(p: np.ndarray) -> np.ndarray:
    return np.maximum(np.linalg.norm(p[:, 45, :2] - p[:, 36, :2], axis=1), 1e-6)


def _ld(pred, real, points, scale):
    return np.linalg.norm(pred[:, list(points), :2] - real[:, list(points), :2], axis=2).mean(1) / scale


def compare(pred: np.ndarray, pred_flags: np.ndarray, real: np.ndarray, real_flags: np.ndarray) -> LandmarkScores:
    """Scores of re-detected iBUG-68 landmarks (T, 68, ≥2) against the driving ones, over the frames
    where both have the whole face (velocities: over consecutive such frames)."""
    ok = (pred_flags[:, :68] != Flag.MISSING).all(1) & (real_flags[:, :68] != Flag.MISSING).all(1)
    scale = _eye_distance(real)
    if not ok.any():
        nan = float("nan")
        return LandmarkScores(nan, nan, nan, nan, int(len(pred)))
    ld_m = float(_ld(pred[ok], real[ok], MOUTH, scale[ok]).mean())
    ld_f = float(_ld(pred[ok], real[ok], FACE, scale[ok]).mean())
    pair = ok[1:] & ok[:-1]
    if pair.any():
        vp, vr = np.diff(pred[..., :2], axis=0)[pair], np.diff(real[..., :2], axis=0)[pair]
        s = scale[1:][pair]
        lvd_m = float(_ld(vp, vr, MOUTH, s).mean())
        lvd_f = float(_ld(vp, vr, FACE, s).mean())
    else:
        lvd_m = lvd_f = float("nan")
    return LandmarkScores(ld_m, ld_f, lvd_m, lvd_f, int((~ok).sum()))


def mouth_box(points: np.ndarray, pad: float = 0.4) -> tuple[int, int, int, int]:
    """x0, y0, x1, y1 around one face's lips (68, ≥2), widened by ``pad`` of their size each side."""
    m = points[list(MOUTH), :2]
    (x0, y0), (x1, y1) = m.min(0), m.max(0)
    side = max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = side * (0.5 + pad)
    return int(np.floor(cx - half)), int(np.floor(cy - half)), int(np.ceil(cx + half)), int(np.ceil(cy + half))


def offset_scores(pred: np.ndarray, real: np.ndarray, ok: np.ndarray, mouth: np.ndarray) -> dict:
    """LD / LVD of pose-normalized points (n, P, 2, in eye-corner units, so no further scaling) over
    the frames ``ok`` (velocities: consecutive such frames); ``mouth`` marks which of the P are lips."""
    if not ok.any():
        nan = float("nan")
        return {"ld_mouth": nan, "ld_face": nan, "lvd_mouth": nan, "lvd_face": nan}
    d = np.linalg.norm(pred - real, axis=-1)
    pair = ok[1:] & ok[:-1]
    v = np.linalg.norm(np.diff(pred, axis=0) - np.diff(real, axis=0), axis=-1)[pair]
    nan = float("nan")
    return {"ld_mouth": float(d[ok][:, mouth].mean()), "ld_face": float(d[ok].mean()),
            "lvd_mouth": float(v[:, mouth].mean()) if len(v) else nan, "lvd_face": float(v.mean()) if len(v) else nan}

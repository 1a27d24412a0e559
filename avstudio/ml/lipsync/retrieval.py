"""The instant renderer (Video Rewrite, Fried et al.'s search; no training): for each wanted mouth,
the target frame whose frontal mouth and jaw are nearest, warped (a thin-plate spline through the 68
landmarks) so that its landmarks land on the wanted ones. The teeth and lips are the target's own,
so they stay sharp; what it cannot do is a mouth shape the target never made.
"""

from __future__ import annotations

import functools

import numpy as np

from avstudio.retarget.face import DRIVEN_POINTS

GRID = 8          # the warp is solved on a grid this many pixels apart, then interpolated
REGULARIZE = 1.0  # thin-plate smoothing (crop pixels²): noisy landmarks do not tear the picture
JAW_WEIGHT = 0.5  # the jaw counts less than the lips when looking for the nearest mouth


class Retrieval:
    """Nearest mouths among ``rows`` of a :class:`~avstudio.ml.lipsync.target.TargetFaces`."""

    def __init__(self, faces, rows: np.ndarray):
        self.faces = faces
        self.rows = np.asarray(rows)
        if not len(self.rows):
            raise ValueError("no frames to retrieve from")
        self._w = np.array([1.0 if j >= 48 else JAW_WEIGHT for j in DRIVEN_POINTS])[:, None]
        self._db = self._features(faces.frontal[self.rows])

    def _features(self, frontal: np.ndarray) -> np.ndarray:
        return (frontal[:, list(DRIVEN_POINTS), :2] * np.sqrt(self._w)).reshape(len(frontal), -1)

    def nearest(self, frontal: np.ndarray, k: int = 1, away_from: int | None = None, gap: int = 0) -> np.ndarray | int:
        """The row whose mouth is nearest a wanted frontal face (68, ≥2) — or the ``k`` nearest, nearest
        first. ``away_from``: a clip frame whose neighbours (within ``gap`` frames) are not taken."""
        q = self._features(np.asarray(frontal, np.float64)[None])[0]
        d = ((self._db - q) ** 2).sum(1)
        if away_from is not None:
            d = np.where(np.abs(self.faces.frames[self.rows] - away_from) <= gap, np.inf, d)
        if k == 1:
            return int(self.rows[np.argmin(d)])
        return self.rows[np.argsort(d, kind="stable")[:k]]

    def paint(self, row: int, wanted: np.ndarray) -> np.ndarray:
        """The crop of ``row`` (R×R, float32) warped so that its landmarks land on ``wanted`` (68, 2 crop
        pixels of the frame being made)."""
        import cv2

        size = self.faces.size
        mx, my = tps_map(wanted, self.faces.landmarks[row], size)
        return cv2.remap(np.asarray(self.faces.crops[row]), mx, my, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE).astype(np.float32)


def _border(size: int) -> np.ndarray:
    e = np.linspace(0, size - 1, 5)
    pts = [(x, 0) for x in e] + [(x, size - 1) for x in e] + [(0, y) for y in e[1:-1]] + [(size - 1, y) for y in e[1:-1]]
    return np.asarray(pts, np.float64)


def tps_map(dst: np.ndarray, src: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(map_x, map_y) float32 (size, size) for cv2.remap: output pixel p samples the source image at
    f(p), f the thin-plate spline with f(dst_k) = src_k (and the crop's border fixed)."""
    import cv2

    border = _border(size)
    c = np.concatenate([np.asarray(dst, np.float64)[:, :2], border])
    v = np.concatenate([np.asarray(src, np.float64)[:, :2], border])
    n = len(c)
    d2 = ((c[:, None] - c[None]) ** 2).sum(-1)
    k = 0.5 * d2 * np.log(np.maximum(d2, 1e-12))
    a = np.zeros((n + 3, n + 3))
    a[:n, :n] = k + REGULARIZE * np.eye(n)
    a[:n, n] = 1
    a[:n, n + 1:] = c
    a[n, :n] = 1
    a[n + 1:, :n] = c.T
    b = np.zeros((n + 3, 2))
    b[:n] = v
    coef = np.linalg.solve(a, b)
    m = int(np.ceil((size - 1) / GRID)) + 1
    g = np.arange(m, dtype=np.float64) * GRID
    gx, gy = np.meshgrid(g, g)
    p = np.stack([gx.ravel(), gy.ravel()], 1)
    r2 = ((p[:, None] - c[None]) ** 2).sum(-1)
    u = 0.5 * r2 * np.log(np.maximum(r2, 1e-12))
    f = (u @ coef[:n] + coef[n] + p @ coef[n + 1:]).astype(np.float32)
    ix, iy = _pixel_grid(size)  # every pixel's position on the coarse grid: bilinear, exact at grid points
    mx = cv2.remap(f[:, 0].reshape(m, m), ix, iy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    my = cv2.remap(f[:, 1].reshape(m, m), ix, iy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return mx, my


@functools.lru_cache(maxsize=4)
def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(size, dtype=np.float32) / GRID
    ix, iy = np.meshgrid(x, x)
    return ix, iy

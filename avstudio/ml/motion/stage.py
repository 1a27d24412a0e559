"""Where the model looks: the stage and the window.

The *stage* is the target's frame scaled so that the model's S×S input covers ``side`` source
pixels; the *window* is the S×S square of the stage the model sees in one frame.

* When the person fills most of the frame, the stage is the whole frame fitted into S×S (aspect
  kept, padded) and the window is all of it — the classic pix2pix setup.
* When the person is small in the frame (a walker crossing a wide shot, a man in a tall motion-lab
  frame), a whole-frame model sees a 30–60 px person and cannot draw limbs. The window then follows
  the person: a square of ``side`` = 1.3 × the person's (95th percentile) extent, at a constant
  scale for the whole clip (the person keeps their size), centred on the torso (smoothed over time,
  so the crop does not jitter with the pose). The generated window is pasted into the background
  plate of the whole stage.

Window positions are integers in stage pixels, so cropping and pasting never resample. They depend
on the torso joints only: moving a wrist does not move the window (and re-renders one frame, not
its neighbours).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from avstudio.core.tracks import Flag
from avstudio.retarget.draw import FRAME_FILL, fit_transform, render_face, render_pose

MARGIN = 1.3          # window side / the person's extent (keypoints do not reach the top of the head)
MOVING_BELOW = 0.75   # follow the person when the window would be smaller than this share of the frame
SMOOTH_S = 0.3        # seconds of the centred moving average over the torso centre
TORSO = (1, 2, 5, 8, 9, 12)   # BODY_25 neck, shoulders, mid-hip, hips
MIN_POINTS = 8                # a person, not a stray point


@dataclass(frozen=True)
class Stage:
    src_size: tuple[int, int]   # the target clip's (w, h)
    size: int                   # S: the model's input/output side
    side: float                 # source pixels covered by the window
    moving: bool
    bias: tuple[float, float] = (0.0, 0.0)   # person centre − torso centre (source px), from the target

    @classmethod
    def static(cls, src_size, size: int) -> "Stage":
        return cls((int(src_size[0]), int(src_size[1])), int(size), float(max(src_size)), False)

    @classmethod
    def from_dict(cls, d: dict | None, src_size, size: int) -> "Stage":
        """The stage a model was trained with (configs from before stages, or {"moving": False}: static)."""
        if not d or not d.get("moving"):
            return cls.static(src_size, size)
        return cls(tuple(d["src_size"]), int(d["size"]), float(d["side"]), bool(d["moving"]), tuple(d["bias"]))

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @property
    def scale(self) -> float:
        if not self.moving:
            return fit_transform(self.src_size, (self.size, self.size))[0]
        return self.size / self.side

    @property
    def stage_size(self) -> tuple[int, int]:
        """(w, h) of the stage image."""
        if not self.moving:
            return self.size, self.size
        k = self.scale
        return int(round(self.src_size[0] * k)), int(round(self.src_size[1] * k))

    @property
    def content(self) -> tuple[int, int, int, int]:
        """x0, y0, x1, y1 of the picture inside the stage (a static stage is padded)."""
        if not self.moving:
            x0, y0 = (int(round(v)) for v in self.offset)
            return x0, y0, self.size - x0, self.size - y0
        w, h = self.stage_size
        return 0, 0, w, h

    @property
    def offset(self) -> tuple[float, float]:
        """Where the source frame's origin lies on the stage (a static stage's padding)."""
        if self.moving:
            return 0.0, 0.0
        _, dx, dy = fit_transform(self.src_size, (self.size, self.size))
        return dx, dy

    def to_stage(self, points: np.ndarray) -> np.ndarray:
        """Source-pixel points (…, ≥2) → stage pixels (other columns kept)."""
        out = np.array(points, np.float64, copy=True)
        if self.moving:
            out[..., :2] *= self.scale
        else:
            s, dx, dy = fit_transform(self.src_size, (self.size, self.size))
            out[..., 0] = out[..., 0] * s + dx
            out[..., 1] = out[..., 1] * s + dy
        return out

    def windows(self, points: np.ndarray, flags: np.ndarray, fps: float) -> np.ndarray:
        """(N, 2) int top-left corners of each frame's window in stage pixels, for BODY_25 tracks
        in source pixels."""
        n = len(points)
        if not self.moving or n == 0:
            return np.zeros((n, 2), np.int64)
        centre = np.full((n, 2), np.nan)
        for i in range(n):
            ok = [j for j in TORSO if flags[i, j] != Flag.MISSING]
            if ok:
                centre[i] = points[i, ok, :2].mean(0) + self.bias
        have = np.flatnonzero(~np.isnan(centre[:, 0]))
        if not len(have):
            centre[:] = np.asarray(self.src_size, np.float64) / 2
        else:  # frames without a torso: interpolated between their neighbours, held at the ends
            for c in range(2):
                centre[:, c] = np.interp(np.arange(n), have, centre[have, c])
        w = max(1, int(round(fps * SMOOTH_S)) | 1)
        if w > 1 and n > 1:
            padded = np.pad(centre, ((w // 2, w // 2), (0, 0)), mode="edge")
            kernel = np.ones(w) / w
            centre = np.stack([np.convolve(padded[:, c], kernel, mode="valid") for c in range(2)], 1)
        return np.round(centre * self.scale - self.size / 2).astype(np.int64)

    def pose_image(self, body: tuple[np.ndarray, np.ndarray] | None, face: tuple[np.ndarray, np.ndarray] | None,
                   window) -> np.ndarray:
        """The generator's input for one frame: the frame's area in dark grey (so that a shifted or
        scaled training pair still says where the picture is), the BODY_25 stick figure and the
        face sketch, as seen through ``window``."""
        s = self.size
        img = np.zeros((s, s, 3), np.uint8)
        wx, wy = int(window[0]), int(window[1])
        x0, y0, x1, y1 = self.content
        fx0, fy0, fx1, fy1 = max(0, x0 - wx), max(0, y0 - wy), min(s, x1 - wx), min(s, y1 - wy)
        if fx1 > fx0 and fy1 > fy0:
            img[fy0:fy1, fx0:fx1] = FRAME_FILL
        off = np.array([wx, wy], np.float64)
        if body is not None:
            p = self.to_stage(body[0])
            p[..., :2] -= off
            render_pose(p, body[1], (s, s), canvas=img)
        if face is not None:
            p = self.to_stage(face[0])
            p[..., :2] -= off
            render_face(p, face[1], (s, s), canvas=img)
        return img


def fit_stage(points: np.ndarray, flags: np.ndarray, src_size, size: int) -> Stage:
    """The stage for a target clip from its BODY_25 track (source pixels)."""
    ok = flags != Flag.MISSING
    usable = np.flatnonzero(ok.sum(1) >= MIN_POINTS)
    if not len(usable):
        return Stage.static(src_size, size)
    extents, offsets = [], []
    for i in usable:
        q = points[i, ok[i], :2]
        lo, hi = q.min(0), q.max(0)
        extents.append(float((hi - lo).max()))
        torso = [j for j in TORSO if ok[i, j]]
        if torso:
            offsets.append((lo + hi) / 2 - points[i, torso, :2].mean(0))
    side = max(MARGIN * float(np.percentile(extents, 95)), float(size))  # never enlarge the source
    if side >= MOVING_BELOW * max(src_size) or not offsets:
        return Stage.static(src_size, size)
    bias = np.median(np.asarray(offsets), axis=0)
    return Stage((int(src_size[0]), int(src_size[1])), int(size), side, True, (float(bias[0]), float(bias[1])))


def crop(img: np.ndarray, window, size: int) -> np.ndarray:
    """The size×size square of ``img`` (H, W, C) at ``window`` (x0, y0); outside the image is black."""
    x0, y0 = int(window[0]), int(window[1])
    h, w = img.shape[:2]
    out = np.zeros((size, size) + img.shape[2:], img.dtype)
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x0 + size), min(h, y0 + size)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = img[sy0:sy1, sx0:sx1]
    return out


def paste(dst: np.ndarray, patch: np.ndarray, window) -> np.ndarray:
    """Write ``patch`` into ``dst`` (in place) at ``window``; what falls outside is dropped."""
    x0, y0 = int(window[0]), int(window[1])
    h, w = dst.shape[:2]
    ph, pw = patch.shape[:2]
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x0 + pw), min(h, y0 + ph)
    if sx1 > sx0 and sy1 > sy0:
        dst[sy0:sy1, sx0:sx1] = patch[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0]
    return dst


def compose(background: np.ndarray, layers: np.ndarray, window, stage: Stage) -> np.ndarray:
    """A generated window (S×S RGBA: colour, and the mask as alpha) laid over ``background`` (the
    target's picture at the output size, not modified): only the window's square is resampled, so
    the background stays as sharp as it was filmed. Where the mask is below 2/255 the background is
    kept as it is (a difference of at most one grey level), so only the person's box is blended —
    ≈10 ms instead of 45 for a 1080×1920 frame, which matters on the editor's GUI thread."""
    import cv2

    out = background.copy()
    ys, xs = np.nonzero(layers[..., 3] >= 2)
    if not len(ys):
        return out
    oh, ow = background.shape[:2]
    ax, ay = ow / stage.src_size[0] / stage.scale, oh / stage.src_size[1] / stage.scale  # stage px → output px
    ox, oy = stage.offset
    x0, y0 = (int(window[0]) - ox) * ax, (int(window[1]) - oy) * ay
    # the person's box in the window, one pixel wider for the bilinear spread, in output pixels
    bx0, by0, bx1, by1 = xs.min() - 1, ys.min() - 1, xs.max() + 2, ys.max() + 2
    rx0, ry0 = max(0, int(np.floor(x0 + bx0 * ax))), max(0, int(np.floor(y0 + by0 * ay)))
    rx1, ry1 = min(ow, int(np.ceil(x0 + bx1 * ax))), min(oh, int(np.ceil(y0 + by1 * ay)))
    if rx1 <= rx0 or ry1 <= ry0:
        return out
    # pixel centres: source pixel i covers [i, i + 1), so its centre lands at (i + 0.5) * a - 0.5
    m = np.array([[ax, 0, x0 + 0.5 * ax - 0.5 - rx0], [0, ay, y0 + 0.5 * ay - 0.5 - ry0]], np.float64)
    warped = cv2.warpAffine(np.ascontiguousarray(layers), m, (rx1 - rx0, ry1 - ry0), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha = warped[..., 3].astype(np.float32) * (1 / 255)
    roi = np.ascontiguousarray(out[ry0:ry1, rx0:rx1])
    out[ry0:ry1, rx0:rx1] = cv2.blendLinear(np.ascontiguousarray(warped[..., :3]), roi, alpha, 1 - alpha)
    return out


def to_frame(stage_img: np.ndarray, stage: Stage, out_size: tuple[int, int]) -> np.ndarray:
    """A stage image (generated and pasted) → the target's picture at ``out_size`` (w, h)."""
    import cv2

    x0, y0, x1, y1 = stage.content
    return cv2.resize(np.ascontiguousarray(stage_img[y0:y1, x0:x1]), out_size, interpolation=cv2.INTER_CUBIC)

"""Follow one subject through a clip with a single-person landmark model (MediaPipe).

MediaPipe finds one person per image and, on full frames, silently switches to whoever is most
prominent (on sports2d_demo.mp4 it jumps from the man on the box to the walking woman and back).
The follower therefore:

* crops a square region around the subject and resizes it to ``crop_px`` — small people get
  upscaled (the walker in vtest_walker_crop.mp4 is ~100 px tall) and bystanders mostly fall outside;
* runs the model in tracking mode on that crop while the subject is found;
* checks every result against where the subject was (position and size): a result that jumps
  further than half the subject's size is another person, and the frame is MISSING instead;
* when the subject is lost, searches only around the last known position (the window widening with
  every lost frame) and accepts a detection there only if its size is plausible.

The initial subject is the one nearest a point the user gives (``seed``), else the person the model
detects on the full frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

VISIBLE = 0.5


class LandmarkModel(Protocol):
    def detect(self, rgb: np.ndarray, tracking: bool) -> np.ndarray | None:
        """(N, 3) landmarks: x, y normalised to the image, confidence in [0, 1] (and, for faces, a
        fourth column: depth on the x scale); None if nobody."""

    def reset(self) -> None:
        """Forget tracking state (the next tracking call detects afresh)."""


@dataclass
class Subject:
    cx: float
    cy: float
    size: float          # the larger side of the subject's box, in frame pixels
    vx: float = 0.0      # velocity in px/frame, to predict the next position
    vy: float = 0.0

    def predicted(self, frames_ahead: int = 1) -> tuple[float, float]:
        return self.cx + self.vx * frames_ahead, self.cy + self.vy * frames_ahead


def subject_box(points: np.ndarray, min_conf: float = VISIBLE) -> tuple[float, float, float] | None:
    """(cx, cy, size) of the confident points of one result, in the points' coordinates."""
    good = points[points[:, 2] >= min_conf]
    if len(good) < 4:
        good = points
    if not len(good):
        return None
    x0, y0 = good[:, :2].min(0)
    x1, y1 = good[:, :2].max(0)
    return (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0, 1.0)


def crop_square(frame: np.ndarray, cx: float, cy: float, side: float, out_px: int) -> tuple[np.ndarray, tuple]:
    """A square crop (black outside the frame) resized to ``out_px``; returns it and the transform."""
    x0, y0 = cx - side / 2, cy - side / 2
    scale = out_px / side
    m = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float32)
    interp = cv2.INTER_LINEAR if scale >= 1 else cv2.INTER_AREA
    crop = cv2.warpAffine(frame, m, (out_px, out_px), flags=interp, borderMode=cv2.BORDER_CONSTANT)
    return crop, (x0, y0, side)


def to_frame(points_norm: np.ndarray, transform: tuple) -> np.ndarray:
    """Crop-normalised landmarks → frame pixels (a depth column, on the x scale, scales with x)."""
    x0, y0, side = transform
    out = points_norm.astype(np.float32).copy()
    out[:, 0] = x0 + points_norm[:, 0] * side
    out[:, 1] = y0 + points_norm[:, 1] * side
    if out.shape[1] > 3:
        out[:, 3] = points_norm[:, 3] * side
    return out


class SubjectFollower:
    def __init__(self, model: LandmarkModel, frame_size: tuple[int, int], *, crop_px: int = 384,
                 margin: float = 1.6, max_jump: float = 0.5, size_range: tuple[float, float] = (0.55, 1.8),
                 min_conf: float = VISIBLE):
        self.model = model
        self.w, self.h = frame_size
        self.crop_px = crop_px
        self.margin = margin
        self.max_jump = max_jump
        self.size_range = size_range
        self.min_conf = min_conf
        self.subject: Subject | None = None
        self.lost_for = 0
        self.tracking = False
        self.switches_refused = 0  # results rejected as another person (for tests and the review list)

    # ---- public ---------------------------------------------------------------------------------
    def seed_point(self, x: float, y: float, frame: np.ndarray) -> np.ndarray | None:
        """Acquire the subject nearest (x, y) in ``frame``; returns its landmarks or None."""
        best = None
        for frac in (0.3, 0.5, 0.75, 1.0):
            side = frac * max(self.w, self.h)
            crop, tf = crop_square(frame, x, y, side, self.crop_px)
            pts = self.model.detect(crop, tracking=False)
            if pts is None:
                continue
            pts = to_frame(pts, tf)
            box = subject_box(pts, self.min_conf)
            if box is None:
                continue
            dist = np.hypot(box[0] - x, box[1] - y)
            if dist <= 0.6 * box[2] and (best is None or dist < best[0]):
                best = (dist, pts, box)
                break
        if best is None:
            return None
        self._accept(best[2], fresh=True)
        return best[1]

    def process(self, frame: np.ndarray) -> np.ndarray | None:
        """Landmarks of the subject in ``frame`` (frame pixels + confidence), or None (MISSING)."""
        if self.subject is None:
            pts = self._acquire_anywhere(frame)
        elif self.lost_for == 0:
            pts = self._track(frame)
            if pts is None:
                pts = self._reacquire(frame)
        elif self.lost_for < 8 or self.lost_for % 3 == 0:
            # Right after a loss search every frame; a subject gone for long (left the scene) is
            # looked for on every third frame, so empty stretches cost a third as much.
            pts = self._reacquire(frame)
        else:
            pts = None
        if pts is None:
            self.lost_for += 1
            self.tracking = False
        return pts

    # ---- internals ------------------------------------------------------------------------------
    def _plausible(self, box, radius_scale: float = 1.0) -> bool:
        s = self.subject
        px, py = s.predicted(min(self.lost_for, 5) + 1)
        jump = np.hypot(box[0] - px, box[1] - py)
        ratio = box[2] / s.size
        return (jump <= self.max_jump * s.size * radius_scale
                and self.size_range[0] <= ratio <= self.size_range[1])

    def _accept(self, box, fresh: bool = False) -> None:
        cx, cy, size = box
        s = self.subject
        if s is None or fresh or self.lost_for:
            self.subject = Subject(cx, cy, size)
        else:
            # Velocity and size are smoothed; the position is taken as measured (no lag).
            self.subject = Subject(cx, cy, 0.7 * s.size + 0.3 * size,
                                   0.5 * s.vx + 0.5 * (cx - s.cx), 0.5 * s.vy + 0.5 * (cy - s.cy))
        self.lost_for = 0

    def _track(self, frame):
        s = self.subject
        px, py = s.predicted()
        crop, tf = crop_square(frame, px, py, s.size * self.margin, self.crop_px)
        if not self.tracking:
            self.model.reset()
        pts = self.model.detect(crop, tracking=True)
        self.tracking = pts is not None
        if pts is None:
            return None
        pts = to_frame(pts, tf)
        box = subject_box(pts, self.min_conf)
        if box is None or not self._plausible(box):
            self.switches_refused += 1
            self.tracking = False
            return None
        self._accept(box)
        return pts

    def _reacquire(self, frame):
        """Search near the last known position only; the window widens while the subject is lost."""
        s = self.subject
        # The window grows while the subject stays lost, but a reappearing subject is accepted at
        # most about one body size from where it was last seen: further away is somebody else.
        grow = 1.0 + 0.1 * min(self.lost_for, 10)
        px, py = s.predicted(min(self.lost_for, 5) + 1)
        for side_scale in (self.margin, 2.5):
            crop, tf = crop_square(frame, px, py, s.size * side_scale * grow, self.crop_px)
            pts = self.model.detect(crop, tracking=False)
            if pts is None:
                continue
            pts = to_frame(pts, tf)
            box = subject_box(pts, self.min_conf)
            if box is not None and self._plausible(box, radius_scale=grow):
                self._accept(box, fresh=True)
                self.tracking = False
                return pts
            self.switches_refused += 1
        return None

    def _acquire_anywhere(self, frame):
        """No subject yet: the largest person (or face) found on the whole frame, or — for small
        subjects the model misses at full-frame scale — in overlapping half-size tiles. The tiled
        search runs on every 4th frame only while nothing is found, to bound its cost."""
        side = max(self.w, self.h)
        windows = [(self.w / 2, self.h / 2, side)]
        if self.lost_for % 4 == 0:
            tile = side / 2
            for fy in (0.25, 0.5, 0.75):
                for fx in (0.25, 0.5, 0.75):
                    windows.append((self.w * fx, self.h * fy, tile))
        best = None
        for cx, cy, win in windows:
            crop, tf = crop_square(frame, cx, cy, win, max(self.crop_px, 512) if win == side else self.crop_px)
            pts = self.model.detect(crop, tracking=False)
            if pts is None:
                continue
            pts = to_frame(pts, tf)
            box = subject_box(pts, self.min_conf)
            if box is not None and (best is None or box[2] > best[1][2]):
                best = (pts, box)
            if win == side and best is not None:
                break  # found at full-frame scale: no need for tiles
        if best is None:
            return None
        self._accept(best[1], fresh=True)
        self.tracking = False
        return best[0]

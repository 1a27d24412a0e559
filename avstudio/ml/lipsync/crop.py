"""The face crop the renderers work in, and the way back into the frame (no torch).

The crop follows the face as ml/motion/stage.py's window follows a body: a square of CROP_SIDE eye
distances centred just below the nose, turned with the head's roll, from the head-pose track; its
centre, size and angle are smoothed over SMOOTH_S seconds so the crop does not shake with the
landmarks. What a renderer paints in the crop goes back into the frame at full resolution through a
feathered lower-face mask (the union of the face as filmed and as wanted, so an opening jaw is
covered too), its colour matched to the frame around the mask's edge; outside the mask the frame
stays as filmed.
"""

from __future__ import annotations

import numpy as np

CROP_CENTRE = (0.0, 0.55)   # frontal units (outer eye corners 1 apart): just below the nose
CROP_SIDE = 2.0             # brows to below the chin, and the cheeks
SMOOTH_S = 0.2
MASK_ROW = 0.5              # the learned renderer sees the crop above this share of its height only
JAW = tuple(range(2, 15))
NOSE_BASE = (35, 34, 33, 32, 31)


def crop_boxes(pose: np.ndarray, ok: np.ndarray, fps: float) -> np.ndarray:
    """(T, 4) centre x, centre y, side (frame pixels), angle (radians) of each frame's crop, from the
    head-pose values (T, 8: analysis/face/geometry.POSE_CHANNELS); smoothed over runs of frames with
    a pose, NaN where there is none."""
    from avstudio.analysis.face import geometry

    poses = geometry.poses_from_values(pose, ok)
    centre = geometry.repose(np.tile(np.array([[[CROP_CENTRE[0], CROP_CENTRE[1], 0.0]]]), (len(pose), 1, 1)), poses)
    roll = np.radians(pose[:, 2].astype(np.float64))
    # Smooth the angle through its direction, so a wrap at ±180° does not average to 0.
    box = np.stack([centre[:, 0, 0], centre[:, 0, 1], CROP_SIDE * poses.scale, np.cos(roll), np.sin(roll)], 1)
    box[~ok] = np.nan
    w = max(1, int(round(fps * SMOOTH_S)) | 1)
    if w > 1:
        from avstudio.editing.points import true_runs
        for a, b in true_runs(ok):
            if b - a > 1:
                padded = np.pad(box[a:b], ((w // 2, w // 2), (0, 0)), mode="edge")
                kernel = np.ones(w) / w
                box[a:b] = np.stack([np.convolve(padded[:, c], kernel, "valid") for c in range(5)], 1)
    out = np.full((len(pose), 4), np.nan)
    out[:, :3] = box[:, :3]
    out[:, 3] = np.arctan2(box[:, 4], box[:, 3])
    return out


def crop_matrix(box: np.ndarray, size: int) -> np.ndarray:
    """(2, 3) the affine map from frame pixels to the size×size crop of a box."""
    cx, cy, side, angle = (float(v) for v in box)
    k = size / side
    c, s = np.cos(-angle) * k, np.sin(-angle) * k
    return np.array([[c, -s, size / 2 - c * cx + s * cy], [s, c, size / 2 - s * cx - c * cy]], np.float64)


def invert(m: np.ndarray) -> np.ndarray:
    a = np.vstack([m, [0, 0, 1]])
    return np.linalg.inv(a)[:2]


def to_crop(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Frame pixels (…, ≥2) → crop pixels (…, 2)."""
    p = np.asarray(points, np.float64)[..., :2]
    return p @ m[:, :2].T + m[:, 2]


def warp(frame: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    """The crop of a frame (bilinear; black outside the frame)."""
    import cv2

    return cv2.warpAffine(np.ascontiguousarray(frame), m, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def repaint_mask(faces, size: int) -> np.ndarray:
    """(size, size) float32 in [0, 1]: the lower face (jaw line up to under the nose) of each face
    (68, 2 crop pixels) united, then feathered inwards so that the frame's own pixels meet the
    painted ones gradually."""
    import cv2

    mask = np.zeros((size, size), np.uint8)
    for f in faces:
        poly = np.concatenate([f[list(JAW), :2], f[list(NOSE_BASE), :2]])
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 255)
    grow = max(1, size // 32)
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    soft = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), sigmaX=max(1.0, size / 40))
    return np.clip(soft, 0, 1)


def match_colour(painted: np.ndarray, filmed: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``painted`` (float32 RGB) shifted so that its mean colour on the mask's edge is the frame's
    there: lighting differences between frames (and a renderer's tint) do not show as a patch."""
    band = (mask > 0.05) & (mask < 0.6)
    if band.sum() < 16:
        return painted
    shift = filmed[band].mean(0) - painted[band].mean(0)
    return painted + shift


def blend(painted: np.ndarray, filmed: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The crop as shown: painted inside the mask (colour matched), filmed outside (uint8)."""
    p = match_colour(painted.astype(np.float32), filmed.astype(np.float32), mask)
    a = mask[..., None]
    return np.clip(p * a + filmed.astype(np.float32) * (1 - a), 0, 255).round().astype(np.uint8)


def compose(frame: np.ndarray, crop_img: np.ndarray, mask: np.ndarray, m: np.ndarray) -> np.ndarray:
    """A new frame: the crop (its colour already matched) laid into ``frame`` through ``mask``, both
    taken back to frame pixels; only the mask's box is resampled, the rest is the frame as filmed."""
    import cv2

    out = np.array(frame, copy=True)
    ys, xs = np.nonzero(mask > 1 / 255)
    if not len(ys):
        return out
    inv = invert(m)
    corners = np.array([[xs.min(), ys.min()], [xs.max() + 1, ys.min()], [xs.min(), ys.max() + 1],
                        [xs.max() + 1, ys.max() + 1]], np.float64) @ inv[:, :2].T + inv[:, 2]
    h, w = frame.shape[:2]
    x0, y0 = max(0, int(np.floor(corners[:, 0].min())) - 1), max(0, int(np.floor(corners[:, 1].min())) - 1)
    x1, y1 = min(w, int(np.ceil(corners[:, 0].max())) + 1), min(h, int(np.ceil(corners[:, 1].max())) + 1)
    if x1 <= x0 or y1 <= y0:
        return out
    back = m.copy()  # frame pixel (x0 + i, y0 + j) → crop: shift the map by the box's corner
    back[:, 2] += m[:, :2] @ np.array([x0, y0], np.float64)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    img = cv2.warpAffine(np.ascontiguousarray(crop_img), back, (x1 - x0, y1 - y0), flags=flags,
                         borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(np.ascontiguousarray(mask, np.float32), back, (x1 - x0, y1 - y0), flags=flags,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)[..., None]
    roi = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(img.astype(np.float32) * alpha + roi * (1 - alpha), 0, 255).round().astype(np.uint8)
    return out

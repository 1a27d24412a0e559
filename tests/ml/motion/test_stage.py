"""The stage: where the model looks (ml/stage.py)."""

import numpy as np
import pytest
import torch

from avstudio.core.tracks import Flag
from avstudio.ml.motion.evaluate import _shift
from avstudio.ml.motion.stage import MARGIN, Stage, compose, crop, fit_stage, paste
from avstudio.retarget.draw import render_frame

# A BODY_25 standing figure, 100 px tall, feet at y = 0, centred on x = 0.
FIGURE = np.array([
    [0, -95], [0, -80], [-12, -80], [-15, -62], [-16, -45], [12, -80], [15, -62], [16, -45], [0, -48],
    [-7, -48], [-8, -25], [-8, -2], [7, -48], [8, -25], [8, -2], [-2, -97], [2, -97], [-4, -95], [4, -95],
    [6, 0], [8, 0], [-8, 0], [-6, 0], [-4, 0], [-10, 0]], np.float64)


def walk(n=60, start=(100, 300), step=(8, 0), scale=1.0):
    pts = np.zeros((n, 25, 3))
    for i in range(n):
        pts[i, :, :2] = FIGURE * scale + np.asarray(start) + np.asarray(step) * i
        pts[i, :, 2] = 0.9
    return pts, np.full((n, 25), Flag.AUTO, np.uint8)


def test_a_small_person_gets_a_window_that_follows_them():
    pts, fl = walk()
    st = fit_stage(pts, fl, (1280, 720), 128)
    assert st.moving and st.side == pytest.approx(MARGIN * 100, rel=0.02)
    win = st.windows(pts, fl, fps=30)
    assert np.all(np.diff(win[5:-5, 0]) > 0)  # moves with the walker
    inside = st.to_stage(pts)[..., :2] - win[:, None, :]
    assert inside.min() >= 0 and inside.max() <= 128  # the whole figure is in every window
    # ≈ 128 / 1.3 px tall in the window, against 100 * 128 / 1280 = 10 px in a whole-frame model
    assert np.ptp(inside[0, :, 1]) == pytest.approx(128 / MARGIN, rel=0.03)
    w, h = st.stage_size
    assert (w, h) == (round(1280 * 128 / st.side), round(720 * 128 / st.side)) and st.content == (0, 0, w, h)
    assert Stage.from_dict(st.to_dict(), (1280, 720), 128) == st


def test_moving_a_wrist_does_not_move_the_window():
    pts, fl = walk()
    st = fit_stage(pts, fl, (1280, 720), 128)
    before = st.windows(pts, fl, fps=30)
    pts[30, 7, :2] += (40, -30)   # the left wrist
    assert np.array_equal(st.windows(pts, fl, fps=30), before)
    pts[30, 1, :2] += (40, 0)     # the neck: the torso moved
    changed = np.flatnonzero((st.windows(pts, fl, fps=30) != before).any(1))
    assert 1 <= len(changed) <= 9 and changed.min() >= 26 and changed.max() <= 34  # smoothed over ≈0.3 s


def test_frames_without_a_person_keep_the_window_between_neighbours():
    pts, fl = walk()
    fl[20:25] = Flag.MISSING
    st = fit_stage(pts, fl, (1280, 720), 128)
    win = st.windows(pts, fl, fps=30)
    assert win[19, 0] < win[22, 0] < win[26, 0]


def test_a_person_filling_the_frame_keeps_the_whole_frame_as_before():
    pts, fl = walk(n=10, start=(300, 560), step=(2, 0), scale=5.0)
    st = fit_stage(pts, fl, (720, 576), 128)
    assert not st.moving and st.stage_size == (128, 128)
    assert np.array_equal(st.windows(pts, fl, 30), np.zeros((10, 2)))
    # Identical inputs to the models trained before stages existed.
    assert np.array_equal(st.pose_image((pts[3], fl[3]), None, (0, 0)),
                          render_frame((pts[3], fl[3]), None, (720, 576), (128, 128), mark_frame=True))
    assert Stage.from_dict(None, (720, 576), 128) == st == Stage.from_dict({"moving": False}, (720, 576), 128)


def test_crop_and_paste_at_the_edges():
    img = np.arange(20 * 30 * 3, dtype=np.uint32).reshape(20, 30, 3)
    c = crop(img, (-4, 12), 10)
    assert np.array_equal(c[:8, 4:], img[12:20, 0:6]) and not c[8:].any() and not c[:, :4].any()
    dst = np.zeros_like(img)
    paste(dst, c, (-4, 12))
    assert np.array_equal(dst[12:20, 0:6], img[12:20, 0:6]) and dst[:12].sum() == 0


def test_previous_frame_moves_with_the_window():
    t = torch.arange(2 * 3 * 5 * 6, dtype=torch.float32).reshape(2, 3, 5, 6)
    s = _shift(t, 2, -1)
    assert torch.equal(s[..., 0:4, 2:6], t[..., 1:5, 0:4]) and (s[..., :, :2] == -1).all() and (s[..., 4, :] == -1).all()
    assert _shift(t, 0, 0) is t


def test_compose_lays_the_window_over_the_background_where_it_belongs():
    rng = np.random.default_rng(0)
    # A static stage of a square frame: the window is the picture, 1:1.
    st = Stage.static((128, 128), 128)
    colour = rng.integers(0, 255, (128, 128, 3), dtype=np.uint8)
    bg = rng.integers(0, 255, (128, 128, 3), dtype=np.uint8)
    opaque = np.concatenate([colour, np.full((128, 128, 1), 255, np.uint8)], 2)
    assert np.array_equal(compose(bg, opaque, (0, 0), st), colour)
    clear = opaque.copy()
    clear[..., 3] = 1  # below 2/255: the background is kept exactly
    assert np.array_equal(compose(bg, clear, (0, 0), st), bg)
    # A window following a person in a 1280x720 frame, shown at 640x360: an opaque block at window
    # pixels 40..80 lands at (window + 40..80) / scale / 2 in the output.
    st = Stage((1280, 720), 128, 256.0, True)   # scale 0.5: the window covers 256 source px
    layers = np.zeros((128, 128, 4), np.uint8)
    layers[40:80, 40:80] = (250, 10, 10, 255)
    bg = np.zeros((360, 640, 3), np.uint8)
    out = compose(bg, layers, (100, 50), st)
    red = out[..., 0] > 200
    ys, xs = np.nonzero(red)
    assert (xs.min(), xs.max() + 1, ys.min(), ys.max() + 1) == (140, 180, 90, 130)
    assert not out[~red].any() or out[~red].max() < 250  # only soft edges around the block

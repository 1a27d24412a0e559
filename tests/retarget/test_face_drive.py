"""Driving one face with another's motion, and the frame schedule, on exact numbers."""

import numpy as np
import pytest

from avstudio.analysis.face import geometry
from avstudio.core.tracks import Flag
from avstudio.retarget.face import DRIVEN_POINTS, drive, motion_scale, pose_face, schedule


def test_schedules():
    # 10 output frames at 30 fps over a 4-frame target at 15 fps: every other output frame advances.
    assert schedule(10, 30, 4, 15, "aligned").tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 3, 3]
    assert schedule(10, 30, 4, 15, "loop").tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 0, 0]
    assert schedule(8, 1, 4, 1, "pingpong").tolist() == [0, 1, 2, 3, 2, 1, 0, 1]
    assert schedule(5, 25, 100, 25, "hold", first=42).tolist() == [42] * 5
    assert schedule(4, 25, 100, 25, "aligned", first=98).tolist() == [98, 99, 99, 99]
    with pytest.raises(ValueError):
        schedule(3, 25, 10, 25, "shuffle")


def test_motion_scale_is_the_ratio_of_mouth_ranges_within_limits():
    assert motion_scale({"open": 0.1, "width": 0.05}, {"open": 0.15, "width": 0.05}) == pytest.approx((1.0, 1.5))
    assert motion_scale({"open": 0.01, "width": 0.5}, {"open": 0.2, "width": 0.01}) == (0.5, 2.0)


def test_drive_moves_the_target_neutral_face_by_the_scaled_source_motion():
    rng = np.random.default_rng(0)
    src_neutral, tgt_neutral = rng.normal(0, 0.5, (68, 3)), rng.normal(0, 0.5, (68, 3))
    src = np.repeat(src_neutral[None], 3, 0)
    src[1, 57, 1] += 0.1                       # frame 1: the lower lip drops by 0.1
    ok = np.array([True, True, False])
    out, flags = drive(src, ok, src_neutral, tgt_neutral, (1.0, 1.5))
    idx = list(DRIVEN_POINTS)
    assert np.allclose(out[0, idx, :2], tgt_neutral[idx, :2])
    assert out[1, 57, 1] == pytest.approx(tgt_neutral[57, 1] + 0.15)
    assert (flags[2] == Flag.MISSING).all() and (flags[:2, idx] == Flag.AUTO).all()
    assert (flags[:, [i for i in range(68) if i not in idx]] == Flag.MISSING).all()  # eyes, brows: the target's own


def test_pose_face_puts_driven_points_on_the_frame_and_keeps_the_rest():
    rng = np.random.default_rng(1)
    neutral = rng.normal(0, 0.5, (68, 3))
    R = geometry.rotation(np.array([[10.0, 0.0, 5.0], [0.0, 0.0, 0.0]]))
    poses = geometry.Poses(R, np.array([80.0, 80.0]), np.array([[200.0, 150.0, 0.0]] * 2), np.array([True, False]),
                           np.zeros(2))
    filmed = rng.uniform(0, 300, (2, 68, 3)).astype(np.float32)
    fl = np.zeros((2, 68), np.uint8)
    driven = np.zeros((2, 68, 3), np.float32)
    driven[:, :, :2] = neutral[:, :2]
    dflags = np.full((2, 68), Flag.MISSING, np.uint8)
    dflags[:, list(DRIVEN_POINTS)] = Flag.AUTO
    pts, flags, ok = pose_face(filmed, fl, poses, neutral, driven, dflags)
    assert ok.tolist() == [True, False]                    # frame 1 has no head pose: left as filmed
    expect = geometry.repose(neutral[None], poses.take([0]))[0]
    assert np.allclose(pts[0, list(DRIVEN_POINTS), :2], expect[list(DRIVEN_POINTS), :2], atol=1e-3)
    assert np.array_equal(pts[0, :4], filmed[0, :4]) and np.array_equal(pts[1], filmed[1])

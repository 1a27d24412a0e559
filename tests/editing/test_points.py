import numpy as np
import pytest

from avstudio.editing.points import (copy_previous, interpolate, merge_reextraction, move_keypoint,
                                            move_skeleton, set_hidden, smooth)
from avstudio.core.edits import History
from avstudio.core.errors import UserError
from avstudio.core.project import Project
from avstudio.core.tracks import Flag, PoseTrack


def walk_project(T=60, J=4, noise=0.0, seed=0):
    """Joints moving on known smooth paths (+ optional noise)."""
    rng = np.random.default_rng(seed)
    t = np.arange(T, dtype=np.float32)
    track = PoseTrack.empty(T, J, "test")
    for j in range(J):
        track.points[:, j, 0] = 100 + 3 * t + 10 * j
        track.points[:, j, 1] = 200 + 20 * np.sin(t / 8 + j)
    track.points[..., :2] += rng.normal(0, noise, (T, J, 2)).astype(np.float32)
    track.points[..., 2] = 0.9
    track.flags[:] = Flag.AUTO
    p = Project("t")
    p.add_track(track)
    return p, track


def snapshot(track):
    return track.points.copy(), track.flags.copy()


def test_move_keypoint_drag_is_one_undo_step_and_an_anchor():
    p, t = walk_project()
    h = History(p)
    before = snapshot(t)
    for k in range(12):
        h.push(move_keypoint(p, t.id, 5, 2, 300 + k, 400 + k, drag_id="d1"))
    assert len(h) == 1
    assert np.allclose(t.points[5, 2], [311, 411, 1.0]) and t.flags[5, 2] == Flag.EDITED
    h.undo()
    assert np.array_equal(t.points, before[0]) and np.array_equal(t.flags, before[1])
    h.redo()
    assert np.allclose(t.points[5, 2], [311, 411, 1.0])


def test_hide_show_and_move_skeleton():
    p, t = walk_project()
    h = History(p)
    h.push(set_hidden(p, t.id, 3, [0, 1], True))
    assert (t.flags[3, :2] == Flag.MISSING).all()
    h.push(set_hidden(p, t.id, 3, [1], False))
    assert t.flags[3, 1] == Flag.EDITED
    before = t.points[10].copy()
    for _ in range(5):
        h.push(move_skeleton(p, t.id, 10, 2.0, -1.0, drag_id="alt"))
    assert np.allclose(t.points[10, :, 0], before[:, 0] + 10) and np.allclose(t.points[10, :, 1], before[:, 1] - 5)
    assert (t.flags[10] == Flag.EDITED).all()
    n = len(h)
    h.undo()
    assert np.array_equal(t.points[10], before) and len(h) == n - 1


def test_interpolate_linear_and_cubic_between_anchors():
    p, t = walk_project()
    truth = t.points.copy()
    h = History(p)
    # Anchors at 10, 20, 30 (the user fixed them); garbage in between.
    for f in (10, 20, 30):
        h.push(move_keypoint(p, t.id, f, 0, *truth[f, 0, :2]))
    t.points[11:20, 0, :2] = 0  # garbage between the anchors (not on them)
    t.points[21:30, 0, :2] = 0
    h.push(interpolate(p, t.id, 10, 31, joints=[0], method="linear"))
    # x is linear in time: exact; y lies between anchors' values.
    assert np.allclose(t.points[11:30, 0, 0], truth[11:30, 0, 0], atol=1e-3)
    assert (t.flags[11:30, 0][[i for i in range(19) if i not in (9,)]] == Flag.INTERPOLATED).all()
    assert t.flags[20, 0] == Flag.EDITED and np.allclose(t.points[20, 0, :2], truth[20, 0, :2])
    h.undo()
    # Cubic follows the sine better than linear.
    h.push(interpolate(p, t.id, 10, 31, joints=[0], method="cubic"))
    cubic_err = np.abs(t.points[11:30, 0, 1] - truth[11:30, 0, 1]).max()
    h.undo()
    h.push(interpolate(p, t.id, 10, 31, joints=[0], method="linear"))
    linear_err = np.abs(t.points[11:30, 0, 1] - truth[11:30, 0, 1]).max()
    assert cubic_err < linear_err
    with pytest.raises(UserError):
        interpolate(p, t.id, 10, 31, method="quadratic")


def test_smoothing_reduces_jitter_and_never_moves_anchors_or_missing():
    p, t = walk_project(noise=2.0)
    clean, _ = walk_project(noise=0.0)
    truth = clean.tracks_of("pose")[0].points
    h = History(p)
    h.push(move_keypoint(p, t.id, 25, 1, 500.0, 500.0))  # an anchor far off the path
    t.flags[40, 2] = Flag.MISSING
    missing_xy = t.points[40, 2].copy()
    err_before = np.abs(t.points[..., :2] - truth[..., :2]).mean()
    for method in ("savgol", "one_euro"):
        # The sway is ~0.6 Hz: the One Euro cutoff must sit above it to keep the motion.
        edit = smooth(p, t.id, 0, 60, method, window=9, polyorder=2, fps=30.0, min_cutoff=2.0, beta=0.0)
        h.push(edit)
        assert np.allclose(t.points[25, 1], [500, 500, 1.0]) and t.flags[25, 1] == Flag.EDITED
        assert t.flags[40, 2] == Flag.MISSING and np.array_equal(t.points[40, 2], missing_xy)
        mask = np.ones((60, 4), bool)
        mask[25, 1] = mask[40, 2] = False
        err_after = np.abs(t.points[..., :2] - truth[..., :2])[mask].mean()
        assert err_after < 0.8 * err_before, method
        h.undo()
    with pytest.raises(UserError):
        smooth(p, t.id, 0, 60, "savgol", window=4)


def test_copy_previous_and_reextraction_keeps_anchors():
    p, t = walk_project()
    h = History(p)
    h.push(copy_previous(p, t.id, 7))
    assert np.array_equal(t.points[7], t.points[6]) and (t.flags[7] == Flag.EDITED).all()
    h.push(move_keypoint(p, t.id, 15, 3, 1.0, 2.0))
    fresh_pts = t.points[10:20].copy() + 5
    fresh_flags = np.full((10, 4), Flag.AUTO, np.uint8)
    h.push(merge_reextraction(p, t.id, 10, fresh_pts, fresh_flags))
    assert np.allclose(t.points[15, 3], [1, 2, 1]) and t.flags[15, 3] == Flag.EDITED
    assert np.allclose(t.points[12, 0], fresh_pts[2, 0])
    with pytest.raises(UserError):
        copy_previous(p, t.id, 0)
    # Onto a range: frames 30..34 hold frame 29's pose; one undo puts all five back.
    before = t.points.copy()
    h.push(copy_previous(p, t.id, 30, stop=35))
    assert all(np.array_equal(t.points[f], before[29]) for f in range(30, 35))
    assert np.array_equal(t.points[35], before[35]) and (t.flags[30:35] == Flag.EDITED).all()
    h.undo()
    assert np.array_equal(t.points, before)

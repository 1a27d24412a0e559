import numpy as np
import pytest

from avstudio.core.edits import ArrayEdit, CompoundEdit, History, SetSetting
from avstudio.core.project import Project
from avstudio.core.tracks import F0Track, Flag, LandmarkTrack, PoseTrack, Track


def pose_project(frames=20, joints=33):
    p = Project("t")
    t = PoseTrack.empty(frames, joints, "mediapipe33")
    t.points[:] = np.random.default_rng(0).random(t.points.shape, dtype=np.float32) * 100
    t.flags[:] = Flag.AUTO
    p.add_track(t)
    return p, t


def test_track_layouts_validate():
    t = PoseTrack.empty(5, 25, "body25")
    assert t.points.shape == (5, 25, 3) and t.flags.shape == (5, 25) and t.length == 5
    with pytest.raises(ValueError, match="float32"):
        PoseTrack({"points": np.zeros((5, 25, 3)), "flags": np.zeros((5, 25), np.uint8)}, {"skeleton": "x"})
    with pytest.raises(ValueError, match="T="):
        PoseTrack({"points": np.zeros((5, 25, 3), np.float32), "flags": np.zeros((4, 25), np.uint8)},
                  {"skeleton": "x"})
    with pytest.raises(ValueError, match="flags"):
        LandmarkTrack({"points": np.zeros((2, 4, 3), np.float32), "flags": np.full((2, 4), 9, np.uint8)},
                      {"skeleton": "face"})
    f0 = F0Track({"f0": np.array([0, 100, 0], np.float32), "voiced": np.array([0, 1, 0], np.uint8)},
                 {"frame_period_ms": 5.0})
    assert np.allclose(f0.times(), [0, 0.005, 0.01])
    with pytest.raises(ValueError, match="NaN"):
        F0Track({"f0": np.array([np.nan], np.float32), "voiced": np.array([1], np.uint8)}, {"frame_period_ms": 5.0})
    with pytest.raises(ValueError, match="unknown track kind"):
        Track.create("nope", {}, {}, "id", "")


def test_array_edit_apply_revert_exact():
    p, t = pose_project()
    before = t.points.copy(), t.flags.copy()
    h = History(p)
    h.push(ArrayEdit.make(p, t.id, "points", ([3, 4], [5, 6]), [[1, 2, 1], [3, 4, 1]]))
    h.push(ArrayEdit.make(p, t.id, "flags", ([3, 4], [5, 6]), Flag.EDITED))
    assert np.array_equal(t.points[3, 5], [1, 2, 1]) and t.flags[4, 6] == Flag.EDITED
    assert h.undo() and h.undo()
    assert np.array_equal(t.points, before[0]) and np.array_equal(t.flags, before[1])
    assert h.redo() and h.redo()
    assert np.array_equal(t.points[4, 6], [3, 4, 1])
    assert not h.redo()


def test_one_drag_merges_into_one_step():
    p, t = pose_project()
    original = t.points[2, 7].copy()
    h = History(p)
    for k in range(10):  # ten mouse-move events of one drag
        h.push(ArrayEdit.make(p, t.id, "points", ([2], [7]), [[10 + k, 20 + k, 1]], group="drag-1"))
    assert len(h) == 1
    assert np.array_equal(t.points[2, 7], [19, 29, 1])
    h.undo()
    assert np.array_equal(t.points[2, 7], original)
    # A second drag is its own step.
    h.push(ArrayEdit.make(p, t.id, "points", ([2], [7]), [[1, 1, 1]], group="drag-1"))
    h.push(ArrayEdit.make(p, t.id, "points", ([2], [7]), [[2, 2, 1]], group="drag-2"))
    assert len(h) == 2


def test_compound_and_setting_edits_and_revision():
    p, t = pose_project()
    rev = p.revision
    h = History(p)
    h.push(CompoundEdit([ArrayEdit.make(p, t.id, "flags", ([0], [0]), Flag.MISSING),
                         SetSetting("fps_override", 25)]))
    assert p.settings["fps_override"] == 25 and p.revision > rev and p.dirty
    h.undo()
    assert "fps_override" not in p.settings and t.flags[0, 0] == Flag.AUTO


def test_replace_track_edit_restores_the_previous_track():
    from avstudio.core.edits import ReplaceTrack

    p, t = pose_project()
    h = History(p)
    new = PoseTrack.empty(20, 33, "mediapipe33")
    new.id = t.id
    h.push(ReplaceTrack(new))
    assert p.tracks[t.id] is new
    h.undo()
    assert p.tracks[t.id] is t
    other = PoseTrack.empty(5, 33, "mediapipe33")
    h.push(ReplaceTrack(other))
    assert other.id in p.tracks
    h.undo()
    assert other.id not in p.tracks

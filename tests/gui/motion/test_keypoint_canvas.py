"""Hand-fixing keypoints on the canvas with real mouse events, and undo/redo through QUndoStack."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, Qt

from avstudio.core.store import save_project
from avstudio.core.tracks import Flag, PoseTrack
from avstudio.workflows.training import TrainRequest

from tests.gui.conftest import save_screenshot
from tests.gui.helpers import activate, isolated_joint, send, wait_frames, widget_pos


@pytest.fixture
def posed(window, demo_copy, qtbot):
    """The demo with a synthetic pose on the target (so no MediaPipe run is needed here)."""
    from avstudio.core.store import load_project
    p = load_project(demo_copy)
    ref = p.media_by_role("target")
    t = PoseTrack.empty(130, 33, "mediapipe33", ref.id, name="target pose")
    rng = np.random.default_rng(0)
    t.points[..., 0] = 150 + rng.random((130, 33)) * 150
    t.points[..., 1] = 100 + rng.random((130, 33)) * 200
    t.points[..., 2] = 0.9
    t.flags[:] = Flag.AUTO
    t.meta.update({"clip": "target", "layer": "pose"})
    p.add_track(t)
    save_project(p)
    window.projects.open_project(demo_copy)
    wait_frames(qtbot, window, 0)
    qtbot.waitUntil(lambda: window.views["target"].frame_index == 0, timeout=5000)
    window.pose.refresh_overlay()
    return window


def test_drag_a_keypoint_is_one_undo_step(posed, qtbot):
    w = posed
    view = w.views["target"]
    track = w.project.find_track("target", "pose")
    before = track.points.copy(), track.flags.copy()
    joint = 12
    x0, y0 = track.points[0, joint, :2]
    start = widget_pos(view, x0, y0)
    vp = view.graphics.viewport()
    send(vp, QEvent.MouseButtonPress, start)
    steps = [start + QPoint(dx, dy) for dx, dy in ((3, 2), (10, 6), (20, 12), (30, 18))]
    for p in steps:
        qtbot.wait(25)  # pyqtgraph drops move events that come faster than a real mouse sends them
        send(vp, QEvent.MouseMove, p, Qt.NoButton, Qt.LeftButton)
    send(vp, QEvent.MouseButtonRelease, steps[-1], Qt.LeftButton, Qt.NoButton)
    moved = track.points[0, joint, :2]
    assert track.flags[0, joint] == Flag.EDITED
    assert np.hypot(*(moved - [x0, y0])) > 5  # it moved with the mouse…
    end = view.view.mapSceneToView(view.graphics.mapToScene(steps[-1]))
    assert np.allclose(moved, [end.x(), end.y()], atol=1.0)  # …to where the mouse let go
    assert w.undo_stack.count() == 1 and w.projects.unsaved and w.windowTitle().startswith("Demo *")
    save_screenshot(w, "04_keypoint_dragged")
    activate(qtbot, w)
    qtbot.keyClick(w, Qt.Key_Z, Qt.ControlModifier)
    assert np.array_equal(track.points, before[0]) and np.array_equal(track.flags, before[1])
    assert not w.projects.unsaved  # back at the saved position
    qtbot.keyClick(w, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert np.allclose(track.points[0, joint, :2], moved) and track.flags[0, joint] == Flag.EDITED
    assert w.history.model().rowCount() == 2  # "Opened" + the drag


def test_alt_drag_moves_the_whole_skeleton_in_one_step_and_onion_skin(posed, qtbot):
    w = posed
    view = w.views["target"]
    track = w.project.find_track("target", "pose")
    before = track.points.copy()
    joint = isolated_joint(track)
    start = widget_pos(view, *track.points[0, joint, :2])
    vp = view.graphics.viewport()
    alt = Qt.AltModifier
    send(vp, QEvent.MouseButtonPress, start, modifiers=alt)
    steps = [start + QPoint(dx, dy) for dx, dy in ((3, 2), (10, 6), (20, 12), (30, 18))]
    for p in steps:
        qtbot.wait(25)
        send(vp, QEvent.MouseMove, p, Qt.NoButton, Qt.LeftButton, modifiers=alt)
    send(vp, QEvent.MouseButtonRelease, steps[-1], Qt.LeftButton, Qt.NoButton, modifiers=alt)
    delta = track.points[0, :, :2] - before[0, :, :2]
    a = view.view.mapSceneToView(view.graphics.mapToScene(start))
    b = view.view.mapSceneToView(view.graphics.mapToScene(steps[-1]))
    assert np.allclose(delta, [b.x() - a.x(), b.y() - a.y()], atol=1.0)  # every point, by the drag
    assert (track.flags[0] == Flag.EDITED).all() and np.array_equal(track.points[1:], before[1:])
    assert w.undo_stack.count() == 1
    w.undo_stack.undo()
    assert np.array_equal(track.points, before)
    # Onion skin (O): the previous and next frames' skeletons, faint.
    w.player.seek(3)  # 0.1 s on the source's 30 fps axis: the target's (10 fps) frame 1
    qtbot.waitUntil(lambda: view.frame_index == 1, timeout=5000)
    activate(qtbot, w)
    qtbot.keyClick(w, Qt.Key_O)
    assert w.ctx.actions['onion'].isChecked()
    prev, nxt = (item.getData()[0] for item in view.skeleton.onion)
    assert prev is not None and len(prev) > 10 and nxt is not None and len(nxt) > 10
    assert np.isclose(prev, track.points[0, :, 0][:, None]).any(1).sum() > 10  # drawn from frame 0
    qtbot.keyClick(w, Qt.Key_O)
    assert view.skeleton.onion[0].getData()[0] is None or len(view.skeleton.onion[0].getData()[0]) == 0


def test_right_click_hides_and_undo_shows(posed, qtbot):
    w = posed
    view = w.views["target"]
    track = w.project.find_track("target", "pose")
    joint = isolated_joint(track)
    x, y = track.points[0, joint, :2]
    pos = widget_pos(view, x, y)
    vp = view.graphics.viewport()
    send(vp, QEvent.MouseButtonPress, pos, Qt.RightButton, Qt.RightButton)
    send(vp, QEvent.MouseButtonRelease, pos, Qt.RightButton, Qt.NoButton)
    assert track.flags[0, joint] == Flag.MISSING
    w.undo_stack.undo()
    assert track.flags[0, joint] == Flag.AUTO


def test_click_selects_a_keypoint_and_h_hides_it(posed, qtbot):
    w = posed
    view = w.views["target"]
    track = w.project.find_track("target", "pose")
    joint = isolated_joint(track)
    pos = widget_pos(view, *track.points[0, joint, :2])
    vp = view.graphics.viewport()
    w.pose.active_clip = "target"
    send(vp, QEvent.MouseButtonPress, pos)
    send(vp, QEvent.MouseButtonRelease, pos, Qt.LeftButton, Qt.NoButton)
    assert view.skeleton.selected == joint
    assert "target" not in w.pose.subject_points  # a click on a keypoint is not a click on a person
    activate(qtbot, w)
    qtbot.keyClick(w, Qt.Key_H)
    assert track.flags[0, joint] == Flag.MISSING
    qtbot.keyClick(w, Qt.Key_H)
    assert track.flags[0, joint] == Flag.EDITED  # shown again, as a point the user set
    assert w.undo_stack.count() == 2


def test_copy_previous_and_reanalyse_a_range_from_the_timeline(posed, qtbot):
    w = posed
    w.pose.active_clip = "target"
    track = w.project.find_track("target", "pose")
    before = track.points.copy()
    w.timeline.region.setRegion((30 / 10, 34 / 10))  # frames 30..34 of the 10 fps target
    activate(qtbot, w)
    qtbot.keyClick(w, Qt.Key_C)
    assert all(np.array_equal(track.points[f], before[29]) for f in range(30, 35))
    assert (track.flags[30:35] == Flag.EDITED).all() and np.array_equal(track.points[35], before[35])
    qtbot.keyClick(w, Qt.Key_Z, Qt.ControlModifier)
    assert np.array_equal(track.points, before)
    # The timeline shows the clip's thumbnails, and a face row once there are face landmarks.
    qtbot.waitUntil(lambda: w.timeline.thumbs.image is not None, timeout=10000)
    assert w.timeline.thumbs.image.shape[0] == 40
    assert w.timeline.face_strips["target"].image is None
    face = PoseTrack.empty(130, 68, "face68", track.meta["media_id"], name="target face")
    face.flags[:60] = Flag.AUTO
    face.points[:60, :, :2] = 200 + np.random.default_rng(1).random((60, 68, 2)) * 40
    face.points[:60, :, 2] = 1.0
    face.meta.update({"clip": "target", "layer": "face"})
    w.project.add_track(face)
    w.review_rows.refresh()
    # The face landmarks are drawn over the frame too (dots and the iBUG contours).
    w.pose.refresh_overlay()
    fi = w.views["target"].face
    assert len(fi.dots.data) == 68 and len(fi.lines.getData()[0]) > 100
    strip = w.timeline.face_strips["target"].image
    assert strip.shape == (1, 130, 3) and strip[0, 10, 1] > 200 and strip[0, 100].max() < 40  # found / missing
    save_screenshot(w, "10_timeline_rows")


def test_reanalyse_a_damaged_range_keeps_the_anchor(window, demo_copy, qtbot):
    from PySide6.QtGui import QAction

    from avstudio.editing.points import move_keypoint

    w = window
    w.projects.open_project(demo_copy)
    wait_frames(qtbot, w, 0)
    w.findChild(QAction, "analyse_target_pose").trigger()
    qtbot.waitUntil(lambda: w.project.find_track("target", "pose") is not None, timeout=60000)
    track = w.project.find_track("target", "pose")
    good = track.points.copy()
    ok = (track.flags[30:35] != Flag.MISSING)
    assert ok.mean() > 0.9
    # Damage frames 30..34 (as a bad detection would), then fix one joint by hand.
    track.points[30:35, :, :2] += 40.0
    w.ctx.push(move_keypoint(w.project, track.id, 32, 5, 210.0, 120.0))
    steps = w.undo_stack.count()
    w.pose.active_clip = "target"
    w.timeline.region.setRegion((30 / 10, 34 / 10))
    activate(qtbot, w)
    qtbot.keyClick(w, Qt.Key_R, Qt.ControlModifier)
    qtbot.waitUntil(lambda: w.undo_stack.count() == steps + 1, timeout=60000)
    assert w.undo_stack.undoText() == "Re-analyse range"
    assert np.allclose(track.points[32, 5, :2], [210, 120]) and track.flags[32, 5] == Flag.EDITED
    again = ok.copy()
    again[2, 5] = False
    err = np.hypot(*(track.points[30:35, :, :2] - good[30:35, :, :2]).transpose(2, 0, 1))[again]
    assert np.median(err) < 3.0  # the detector found her where the first analysis did
    w.undo_stack.undo()
    assert np.allclose(track.points[30:35, :, :2][again], good[30:35, :, :2][again] + 40.0)


def test_saving_marks_clean(posed, qtbot):
    w = posed
    track = w.project.find_track("target", "pose")
    w.pose.move_point("target", 3, 200.0, 200.0, 77)
    assert w.projects.unsaved
    assert w.projects.save()
    assert not w.projects.unsaved and w.undo_stack.isClean()
    w.undo_stack.undo()
    assert w.projects.unsaved  # undoing past the save is a change again


def test_interpolate_a_range_from_the_timeline_and_jump_to_flags(posed, qtbot):
    w = posed
    w.pose.active_clip = "target"
    track = w.project.find_track("target", "pose")
    before = track.points.copy()
    # Anchors at frames 10 and 20 (as if the user fixed them), garbage between.
    w.pose.move_point("target", 0, 200.0, 150.0, 1)
    w.undo_stack.clear()
    from avstudio.editing.points import move_keypoint
    for f, x in ((10, 200.0), (20, 300.0)):
        move_keypoint(w.project, track.id, f, 0, x, 150.0).apply(w.project)
    w.review_rows.refresh()
    w.timeline.region.setRegion((10 / 10, 20 / 10))  # the target runs at 10 fps
    assert w.timeline.selected_frames("target") == (10, 21)
    activate(qtbot, w)
    qtbot.keyClick(w, Qt.Key_I)
    assert np.allclose(track.points[15, 0, :2], [250, 150], atol=1e-3)
    assert track.flags[15, 0] == Flag.INTERPOLATED and track.flags[10, 0] == Flag.EDITED
    qtbot.keyClick(w, Qt.Key_Z, Qt.ControlModifier)
    assert np.array_equal(track.points[11:20], before[11:20])
    # The random synthetic pose is full of jitter: the review list flags frames; F jumps forward.
    qtbot.waitUntil(lambda: not w.review_rows.pending(), timeout=10000)  # the review list is made in a job
    assert w.timeline.flagged["target"]
    here = w.views["target"].frame_index
    expected = min(f for f in w.timeline.flagged["target"] if f > here)
    # The review job's end can take the window's activation on the offscreen platform, and a shortcut
    # acts only in the active window: make it active again (a lost F left the test waiting ~1 run in 3).
    activate(qtbot, w)
    qtbot.keyClick(w, Qt.Key_F)
    qtbot.waitUntil(lambda: w.views["target"].frame_index == expected, timeout=5000)
    qtbot.keyClick(w, Qt.Key_F, Qt.ShiftModifier)
    back = max([f for f in w.timeline.flagged["target"] if f < expected], default=expected)
    qtbot.waitUntil(lambda: w.views["target"].frame_index == back, timeout=5000)
    save_screenshot(w, "05_timeline")


def test_real_pose_overlay_screenshot(window, demo_copy, qtbot):
    """The demo's target analysed for real, shown with its stick figure and timeline (README image)."""
    from avstudio.workflows.landmarks import analyse
    from avstudio.workflows.operation import run_now
    from avstudio.core.store import load_project

    p = load_project(demo_copy)
    run_now(p, analyse(p, "target", "pose"))
    save_project(p)
    window.projects.open_project(demo_copy)
    wait_frames(qtbot, window, 0)
    window.player.seek(150)  # 5 s: the walker mid-stride
    qtbot.waitUntil(lambda: window.views["target"].frame_index == 50, timeout=5000)
    window.pose.refresh_overlay()
    track = window.project.find_track("target", "pose")
    assert (track.flags[50] != Flag.MISSING).sum() > 25
    view = window.views["target"]
    view.view.setRange(xRange=(track.points[50, :, 0].min() - 60, track.points[50, :, 0].max() + 60),
                       yRange=(track.points[50, :, 1].min() - 40, track.points[50, :, 1].max() + 40))
    qtbot.wait(50)
    save_screenshot(window, "06_real_pose_overlay")


def test_analyse_from_the_menu_lands_on_the_undo_stack(window, demo_copy, qtbot):
    from PySide6.QtGui import QAction

    window.projects.open_project(demo_copy)
    wait_frames(qtbot, window, 0)
    window.findChild(QAction, "analyse_target_pose").trigger()
    qtbot.waitUntil(lambda: window.project.find_track("target", "pose") is not None, timeout=60000)
    track = window.project.find_track("target", "pose")
    assert (track.flags[:, 0] != Flag.MISSING).sum() >= 110
    assert window.undo_stack.count() == 1 and window.projects.unsaved
    assert "found in" in window.statusBar().currentMessage()
    window.undo_stack.undo()
    assert window.project.find_track("target", "pose") is None
    window.undo_stack.redo()
    # Retarget needs the source too: a clear message, no crash.
    window.findChild(QAction, "retarget").trigger()
    qtbot.waitUntil(lambda: "no pose track" in window.statusBar().currentMessage(), timeout=5000)


def test_click_a_person_then_analyse_follows_that_person(window, demo_copy, qtbot):
    from PySide6.QtGui import QAction

    from avstudio.analysis.landmarks.follow import subject_box

    window.projects.open_project(demo_copy)
    wait_frames(qtbot, window, 0)
    window.player.seek(75)
    wait_frames(qtbot, window, 75)
    view = window.views["source"]
    pos = widget_pos(view, 1268, 700)  # the walking woman on frame 75
    vp = view.graphics.viewport()
    send(vp, QEvent.MouseButtonPress, pos)
    send(vp, QEvent.MouseButtonRelease, pos, Qt.LeftButton, Qt.NoButton)
    frame, x, y = window.pose.subject_points["source"]
    assert frame == 75 and abs(x - 1268) < 5 and abs(y - 700) < 5
    window.findChild(QAction, "analyse_source_pose").trigger()
    qtbot.waitUntil(lambda: window.project.find_track("source", "pose") is not None, timeout=120000)
    track = window.project.find_track("source", "pose")
    found = np.flatnonzero(track.flags[:, 0] != Flag.MISSING)
    assert len(found) > 120
    assert min(subject_box(track.points[i])[1] for i in found) > 600  # her, never the man on the box


def test_train_from_the_gui_monitor_and_stop(window, demo_copy, qtbot):
    """Analyse the target, start training in a child process from the window, watch the curve and a
    sample arrive, press Stop: a checkpoint is saved; resuming continues the same curve."""
    from avstudio.workflows.landmarks import analyse
    from avstudio.workflows.operation import run_now
    from avstudio.core.progress import JobState
    from avstudio.core.store import load_project
    from avstudio.ml import checkpoint as ck

    p = load_project(demo_copy)
    run_now(p, analyse(p, "target", "pose"))
    save_project(p)
    window.projects.open_project(demo_copy)
    wait_frames(qtbot, window, 0)
    h = window.training.start(TrainRequest(preset="preview", device="cpu", steps=2000, model_id="gui"))
    qtbot.waitUntil(lambda: len(window.monitor.history.get("g", ([], []))[0]) >= 120, timeout=240000)
    assert window.monitor.sample_path and window.monitor.sample.image is not None
    qtbot.mouseClick(window.monitor.stop_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: h.state.finished, timeout=120000)
    assert h.state is JobState.DONE and h.result["stopped"]
    step = h.result["step"]
    assert ck.latest_checkpoint(demo_copy / "models" / "gui").name == f"ckpt-{step:08d}"
    qtbot.waitUntil(lambda: "Stopped at step" in window.jobs_panel.rows[h.id].message.text(), timeout=5000)
    assert window.jobs_panel.rows[h.id].bar.value() < 1000
    save_screenshot(window, "07_training_monitor")
    h2 = window.training.start(TrainRequest(preset="preview", device="cpu", steps=2000, model_id="gui", resume=True))
    assert window.monitor.history["g"][0][-1] == step  # the curve reloads the run's history
    qtbot.waitUntil(lambda: window.monitor.history["g"][0][-1] > step + 5, timeout=240000)
    qtbot.mouseClick(window.monitor.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: h2.state.finished, timeout=60000)
    assert h2.state is JobState.CANCELLED
    assert ck.latest_checkpoint(demo_copy / "models" / "gui").name == f"ckpt-{step:08d}"


def test_the_review_list_is_made_in_a_job_once_per_track_revision(posed, qtbot, monkeypatch):
    import threading

    from avstudio.analysis.landmarks import review

    w = posed
    calls = []
    real = review.flagged_frames
    monkeypatch.setattr(review, "flagged_frames",
                        lambda *a: calls.append(threading.current_thread() is threading.main_thread()) or real(*a))
    track = w.project.find_track("target", "pose")
    w.pose.move_point("target", 3, 210.0, 220.0, 4242)
    qtbot.waitUntil(lambda: bool(calls) and not w.review_rows.pending(), timeout=10000)
    assert calls == [False]  # on a worker thread, never the GUI thread
    key, frames = w.review_rows.flagged["target"]
    assert key == (track.id, w.project.track_revision(track.id)) and w.timeline.flagged["target"] == frames
    w.review_rows.refresh()  # nothing changed since: the cached list is drawn again, no new job
    qtbot.wait(300)
    assert calls == [False]

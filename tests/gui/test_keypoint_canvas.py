"""Hand-fixing keypoints on the canvas with real mouse events, and undo/redo through QUndoStack."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from avstudio.analysis.project_ops import find_track
from avstudio.core.store import save_project
from avstudio.core.tracks import Flag, PoseTrack

from tests.gui.conftest import save_screenshot
from tests.gui.test_main_window import wait_frames


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
    window.open_project(demo_copy)
    wait_frames(qtbot, window, 0)
    qtbot.waitUntil(lambda: window.views["target"].frame_index == 0, timeout=5000)
    window.refresh_overlay()
    return window


def send(widget, kind, pos: QPoint, button=Qt.LeftButton, buttons=Qt.LeftButton):
    ev = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons, Qt.NoModifier)
    QApplication.sendEvent(widget, ev)


def widget_pos(view, x, y) -> QPoint:
    scene = view.view.mapViewToScene(QPointF(x, y))
    return view.graphics.mapFromScene(scene)


def test_drag_a_keypoint_is_one_undo_step(posed, qtbot):
    w = posed
    view = w.views["target"]
    track = find_track(w.project, "target", "pose")
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
    assert w.undo_stack.count() == 1 and w.unsaved and w.windowTitle().startswith("Demo *")
    save_screenshot(w, "04_keypoint_dragged")
    w.activateWindow()
    qtbot.keyClick(w, Qt.Key_Z, Qt.ControlModifier)
    assert np.array_equal(track.points, before[0]) and np.array_equal(track.flags, before[1])
    assert not w.unsaved  # back at the saved position
    qtbot.keyClick(w, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert np.allclose(track.points[0, joint, :2], moved) and track.flags[0, joint] == Flag.EDITED
    assert w.history.model().rowCount() == 2  # "Opened" + the drag


def test_right_click_hides_and_undo_shows(posed, qtbot):
    w = posed
    view = w.views["target"]
    track = find_track(w.project, "target", "pose")
    x, y = track.points[0, 5, :2]
    pos = widget_pos(view, x, y)
    vp = view.graphics.viewport()
    send(vp, QEvent.MouseButtonPress, pos, Qt.RightButton, Qt.RightButton)
    send(vp, QEvent.MouseButtonRelease, pos, Qt.RightButton, Qt.NoButton)
    assert track.flags[0, 5] == Flag.MISSING
    w.undo_stack.undo()
    assert track.flags[0, 5] == Flag.AUTO


def test_saving_marks_clean(posed, qtbot):
    w = posed
    track = find_track(w.project, "target", "pose")
    w._move_point("target", 3, 200.0, 200.0, 77)
    assert w.unsaved
    assert w.save()
    assert not w.unsaved and w.undo_stack.isClean()
    w.undo_stack.undo()
    assert w.unsaved  # undoing past the save is a change again

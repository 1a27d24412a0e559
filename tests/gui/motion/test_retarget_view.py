"""The retarget view: floor and height lines dragged with the mouse move the normalized pose live,
and letting go retargets the clip in one undo step."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QAction

from avstudio.core.store import load_project, save_project
from avstudio.core.tracks import Flag, PoseTrack

from tests.gui.conftest import save_screenshot
from tests.gui.helpers import activate, send, wait_frames

# MediaPipe 33 landmark heights as fractions of the body (0 = top of head, 1 = soles).
_HEIGHT = {**{j: 0.06 for j in range(11)}, 11: 0.18, 12: 0.18, 13: 0.33, 14: 0.33, 15: 0.45, 16: 0.45,
           **{j: 0.48 for j in range(17, 23)}, 23: 0.52, 24: 0.52, 25: 0.73, 26: 0.73, 27: 0.95, 28: 0.95,
           29: 0.97, 30: 0.97, 31: 1.0, 32: 1.0}


def walking_figure(T: int, floor0: float, floor1: float, height0: float, height1: float, x: float):
    """A stick figure that walks from one depth to another: floor y and height change linearly."""
    pts = np.zeros((T, 33, 3), np.float32)
    s = np.linspace(0, 1, T)
    floor, height = floor0 + s * (floor1 - floor0), height0 + s * (height1 - height0)
    for j, h in _HEIGHT.items():
        side = -1 if j % 2 else 1
        pts[:, j, 0] = x + (0.08 * side * height if j > 10 else 0)
        pts[:, j, 1] = floor - (1 - h) * height
    pts[..., 2] = 0.95
    return pts


@pytest.fixture
def two_poses(window, demo_copy, qtbot):
    p = load_project(demo_copy)
    for role, T, fig in (("source", 230, walking_figure(230, 500, 700, 300, 420, 900)),
                         ("target", 130, walking_figure(130, 250, 330, 120, 170, 220))):
        t = PoseTrack.empty(T, 33, "mediapipe33", p.media_by_role(role).id, name=f"{role} pose")
        t.points[:] = fig
        t.flags[:] = Flag.AUTO
        t.meta.update({"clip": role, "layer": "pose"})
        p.add_track(t)
    save_project(p)
    window.projects.open_project(demo_copy)
    wait_frames(qtbot, window, 0)
    return window


def line_pos(pane, line) -> QPoint:
    rect = pane.view.viewRect()
    return pane.graphics.mapFromScene(pane.view.mapViewToScene(QPointF(rect.center().x(), line.value())))


def test_drag_a_floor_line_moves_the_pose_live_then_one_undo_step(two_poses, qtbot):
    w = two_poses
    w.findChild(QAction, "retarget").trigger()
    qtbot.waitUntil(lambda: w.project.find_track("source", "normalized") is not None, timeout=10000)
    w.findChild(QAction, "retarget_view").trigger()
    rv = w.retarget.view
    w.player.seek(100)
    qtbot.waitUntil(lambda: rv.stats is not None and rv.frame == 100, timeout=10000)
    qtbot.wait(50)  # the dock takes its height
    norm = w.project.find_track("source", "normalized")
    first = norm.points.copy()
    pose0 = rv.normalized_pose()[0].copy()
    # The middle pane shows frame 100 as the stored track has it.
    ok = norm.flags[100] != Flag.MISSING
    assert np.allclose(pose0[ok, :2], first[100, ok, :2], atol=2.0)  # stored one is median-filtered

    pane, line = rv.panes["normalized"], rv.lines[("target", "close_y")]
    y0 = line.value()
    start = line_pos(pane, line)
    vp = pane.graphics.viewport()
    steps = w.undo_stack.count()
    send(vp, QEvent.MouseMove, start, Qt.NoButton, Qt.NoButton)
    send(vp, QEvent.MouseButtonPress, start)
    for d in (4, 10, 20, 30):
        qtbot.wait(25)
        send(vp, QEvent.MouseMove, start + QPoint(0, d), Qt.NoButton, Qt.LeftButton)
    # Live: the pose moved down with the line before anything was committed.
    assert line.value() > y0 + 5
    live = rv.normalized_pose()[0]
    assert live[ok, 1].mean() > pose0[ok, 1].mean() + 2
    assert w.undo_stack.count() == steps and np.array_equal(norm.points, first)
    # The head line rode along (the height at the close position stays).
    st = rv.stats["target"]
    assert rv.line_value("target", "close_height") == pytest.approx(st["close_height"])
    send(vp, QEvent.MouseButtonRelease, start + QPoint(0, 30), Qt.LeftButton, Qt.NoButton)
    qtbot.waitUntil(lambda: w.undo_stack.count() == steps + 1, timeout=10000)
    assert w.undo_stack.undoText().startswith("Retarget: move target.close y")
    over = w.project.settings["retarget"]["overrides"]
    assert over["target.close_y"] == pytest.approx(line.value(), abs=1e-3)
    moved = w.project.find_track("source", "normalized").points
    assert moved[100, ok, 1].mean() > first[100, ok, 1].mean() + 2
    save_screenshot(w, "09_retarget_view")

    activate(qtbot, w)
    qtbot.keyClick(w, Qt.Key_Z, Qt.ControlModifier)
    assert np.array_equal(w.project.find_track("source", "normalized").points, first)
    assert line.value() == pytest.approx(y0)  # the line went back with the undo
    qtbot.keyClick(w, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)

    # Reset lines forgets the override (one more undo step).
    rv.reset_button.click()
    qtbot.waitUntil(lambda: w.undo_stack.count() == steps + 2, timeout=10000)
    assert w.project.settings["retarget"]["overrides"] == {}
    assert np.allclose(w.project.find_track("source", "normalized").points, first)


def test_height_line_and_messages(window, demo_copy, qtbot):
    w = window
    w.projects.open_project(demo_copy)
    wait_frames(qtbot, w, 0)
    w.retarget.show()
    assert "Analyse the pose of both clips" in w.retarget.view.info.text()
    assert not any(line.isVisible() for line in w.retarget.view.lines.values())

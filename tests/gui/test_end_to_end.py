"""Issue 5's end-to-end test: what a new user does with the demo project, through the widgets —
analyse both clips, fix a keypoint, undo and redo it, retarget, train the preview preset from the
Train dialog, look at the generated result, play it with a soundtrack, export an MP4 from the
Export dialog — with a screenshot of each step (tests/_artifacts/e2e_*.png)."""

import numpy as np
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QAction

from avstudio.core.progress import JobState
from avstudio.core.tracks import Flag
from avstudio.media.probe import probe

from tests.gui.conftest import save_screenshot
from tests.gui.helpers import activate, in_dialog, isolated_joint, send, wait_frames, widget_pos


def drag_line(qtbot, pane, line, dy_px: int) -> None:
    """Drag a horizontal line of a retarget pane ``dy_px`` screen pixels down with the mouse."""
    from PySide6.QtCore import QPointF

    rect = pane.view.viewRect()
    scene = pane.view.mapViewToScene(QPointF(rect.center().x(), line.value()))
    start = pane.graphics.mapFromScene(scene)
    vp = pane.graphics.viewport()
    send(vp, QEvent.MouseMove, start, Qt.NoButton, Qt.NoButton)
    send(vp, QEvent.MouseButtonPress, start)
    for d in range(3, dy_px + 1, 4):
        qtbot.wait(25)
        send(vp, QEvent.MouseMove, start + QPoint(0, d), Qt.NoButton, Qt.LeftButton)
    send(vp, QEvent.MouseButtonRelease, start + QPoint(0, dy_px), Qt.LeftButton, Qt.NoButton)


def test_new_user_walkthrough(window, demo_copy, qtbot, tmp_path):
    w = window
    w.projects.open_project(demo_copy)
    wait_frames(qtbot, w, 0)

    # 1. Analyse both clips: click the person to follow on the source, then the Analysis menu.
    w.player.seek(75)
    wait_frames(qtbot, w, 75)
    view = w.views["source"]
    pos = widget_pos(view, 1268, 700)
    vp = view.graphics.viewport()
    send(vp, QEvent.MouseButtonPress, pos)
    send(vp, QEvent.MouseButtonRelease, pos, Qt.LeftButton, Qt.NoButton)
    w.findChild(QAction, "analyse_source_pose").trigger()
    w.findChild(QAction, "analyse_target_pose").trigger()
    qtbot.waitUntil(lambda: w.project.find_track("source", "pose") is not None
                    and w.project.find_track("target", "pose") is not None, timeout=240000)
    w.player.seek(0)
    wait_frames(qtbot, w, 0)
    save_screenshot(w, "e2e_1_analysed")

    # 2. Fix a keypoint on the target by dragging it; undo and redo it with the keyboard.
    track = w.project.find_track("target", "pose")
    tview = w.views["target"]
    f = tview.frame_index
    joint = isolated_joint(track, f)
    before = track.points[f, joint].copy()
    start = widget_pos(tview, *before[:2])
    tvp = tview.graphics.viewport()
    send(tvp, QEvent.MouseButtonPress, start)
    for d in (3, 8, 14):
        qtbot.wait(25)
        send(tvp, QEvent.MouseMove, start + QPoint(d, d), Qt.NoButton, Qt.LeftButton)
    send(tvp, QEvent.MouseButtonRelease, start + QPoint(14, 14), Qt.LeftButton, Qt.NoButton)
    moved = track.points[f, joint].copy()
    assert track.flags[f, joint] == Flag.EDITED and np.hypot(*(moved[:2] - before[:2])) > 3
    activate(qtbot, w)
    qtbot.keyClick(w, Qt.Key_Z, Qt.ControlModifier)
    assert np.array_equal(track.points[f, joint], before)
    qtbot.keyClick(w, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert np.array_equal(track.points[f, joint], moved)
    save_screenshot(w, "e2e_2_keypoint_fixed")

    # 3. Retarget, then correct the target's close floor line in the retarget view by dragging it.
    w.findChild(QAction, "retarget").trigger()
    qtbot.waitUntil(lambda: w.project.find_track("source", "normalized") is not None, timeout=20000)
    w.findChild(QAction, "retarget_view").trigger()
    w.player.seek(120)
    rv = w.retarget.view
    qtbot.waitUntil(lambda: rv.stats is not None and rv.frame == 120, timeout=10000)
    qtbot.waitUntil(lambda: rv.skeletons["source"]._points is not None
                    and rv.skeletons["normalized"]._points is not None, timeout=5000)
    norm = w.project.find_track("source", "normalized")
    first = norm.points.copy()
    steps = w.undo_stack.count()
    drag_line(qtbot, rv.panes["normalized"], rv.lines[("target", "close_y")], 10)
    qtbot.waitUntil(lambda: w.undo_stack.count() == steps + 1, timeout=20000)
    over = w.project.settings["retarget"]["overrides"]
    assert set(over) == {"target.close_y"}
    moved = w.project.find_track("source", "normalized").points
    assert not np.allclose(moved, first)
    # The keys act only on the active window, and only once the line's retarget is on the stack.
    qtbot.waitUntil(lambda: w.retarget._job.state.finished, timeout=20000)
    activate(qtbot, w)
    qtbot.keyClick(w, Qt.Key_Z, Qt.ControlModifier)
    assert w.undo_stack.index() == steps, [w.undo_stack.text(i) for i in range(w.undo_stack.count())]
    assert np.array_equal(w.project.find_track("source", "normalized").points, first)
    assert not w.project.settings["retarget"]["overrides"]
    qtbot.keyClick(w, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert set(w.project.settings["retarget"]["overrides"]) == {"target.close_y"}
    save_screenshot(w, "e2e_3_retargeted")
    w.center_tabs.setCurrentIndex(0)  # back to the clips

    # 4. Train the preview preset from the Train dialog (a short run), watch the monitor.
    def fill_train(d):
        d.preset.setCurrentText("preview")
        d.device.setCurrentText("cpu")
        d.steps.setValue(60)
        d.model.setText("walk")
        d.resume.setChecked(False)
    in_dialog(qtbot, fill_train)
    w.findChild(QAction, "train").trigger()
    qtbot.waitUntil(lambda: w.monitor.handle is not None and w.monitor.handle.state.finished, timeout=300000)
    assert w.monitor.handle.state is JobState.DONE, w.monitor.handle.error
    qtbot.waitUntil(lambda: "SSIM" in w.monitor.metrics.text(), timeout=120000)  # held-out scores
    # …per checkpoint: at least one scored during the run besides the final one.
    qtbot.waitUntil(lambda: any(step == 60 for step, _ in w.monitor.metric_rows), timeout=120000)
    assert len(w.monitor.metric_rows) >= 2, w.monitor.metric_rows
    w.monitor_dock.raise_()
    save_screenshot(w, "e2e_4_trained")

    # 5. The right pane shows what the model generates from the source's motion.
    i = w.transport.right_pane.findData("walk")
    assert i > 0
    w.transport.right_pane.setCurrentIndex(i)
    w.transport.right_pane.activated.emit(i)
    qtbot.waitUntil(lambda: bool(w.generated.frames.keys) and w.generated.frames.missing() == 0, timeout=180000)
    w.player.seek(120)
    qtbot.waitUntil(lambda: w.views["source"].frame_index == 120, timeout=10000)
    img = w.views["target"].image.image
    assert img is not None and img.shape[:2] == (376, 450) and "generated by walk" in w.views["target"].title.text()
    # The timeline's generated row: every source frame rendered.
    assert w.timeline.generated.image.shape == (1, 230, 3) and "230/230" in w.timeline.generated_label.textItem.toPlainText()
    assert w.minimumSizeHint().width() <= 1366 and w.minimumSizeHint().height() <= 728  # long titles are cut
    assert w.width() <= 1366  # nothing on the way (training progress, titles) widened the window
    save_screenshot(w, "e2e_5_generated")
    # The retarget view's third pane shows the same generated frame.
    w.findChild(QAction, "retarget_view").trigger()
    qtbot.waitUntil(lambda: w.retarget.view.panes["generated"].image.image is not None, timeout=5000)
    save_screenshot(w, "e2e_5b_retarget_generated")
    w.center_tabs.setCurrentIndex(0)

    # 6. Play it with a soundtrack (the source voice); the audio device is the clock when there is one.
    w.transport.soundtrack.setCurrentIndex(w.transport.soundtrack.findData("source_voice"))
    w.transport.soundtrack.activated.emit(w.transport.soundtrack.currentIndex())
    w.player.seek(0)
    w.transport.play_button.click()
    qtbot.waitUntil(lambda: w.player.frame > 20, timeout=10000)
    w.transport.play_button.click()
    assert not w.player.playing
    save_screenshot(w, "e2e_6_playing")

    # 7. Export the generated video with the source voice from the Export dialog.
    out = tmp_path / "walk.mp4"

    def fill_export(d):
        d.clip.setCurrentIndex(d.clip.findData("model:walk:side_by_side"))
        d.audio.setCurrentIndex(d.audio.findData("source_voice"))
        d.preset.setCurrentText("ultrafast")
        d.path.setText(str(out))
    in_dialog(qtbot, fill_export)
    w.findChild(QAction, "export").trigger()
    qtbot.waitUntil(lambda: any(h.name == "Export walk.mp4" and h.state.finished for h in w.jobs.handles),
                    timeout=180000)
    h = [h for h in w.jobs.handles if h.name == "Export walk.mp4"][-1]
    assert h.state is JobState.DONE, h.error
    info = probe(out)
    assert info.video.frame_count == 230 and [a.codec for a in info.audio] == ["aac"]
    assert info.video.width > info.video.height  # source | generated
    save_screenshot(w, "e2e_7_exported")

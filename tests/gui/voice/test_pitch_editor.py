"""The pitch editor through real widgets: analyse the demo's source voice from the Voice menu, draw
with the pen (one undo step per stroke, strokes undone one by one), select a range and shift it by
an octave, switch A/B while playing — and a screenshot."""

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QMouseEvent
from PySide6.QtWidgets import QApplication

from avstudio.core.progress import JobState
from avstudio.workflows.training import TrainRequest

from tests.gui.conftest import save_screenshot
from tests.gui.helpers import activate


def send(widget, kind, pos, button=Qt.LeftButton, buttons=Qt.LeftButton):
    ev = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons, Qt.NoModifier)
    QApplication.sendEvent(widget, ev)


def plot_pos(editor, t, midi) -> QPoint:
    scene = editor.box.mapViewToScene(QPointF(t, midi))
    return editor.plot.mapFromScene(scene)


def drag(qtbot, editor, points):
    vp = editor.plot.viewport()
    pts = [plot_pos(editor, t, m) for t, m in points]
    send(vp, QEvent.MouseButtonPress, pts[0])
    for p in pts[1:]:
        qtbot.wait(25)  # pyqtgraph drops moves that come faster than a real mouse sends them
        send(vp, QEvent.MouseMove, p, Qt.NoButton, Qt.LeftButton)
    send(vp, QEvent.MouseButtonRelease, pts[-1], Qt.LeftButton, Qt.NoButton)


def test_analyse_draw_undo_shift_and_listen(window, demo_copy, qtbot):
    w = window
    assert w.projects.open_project(demo_copy)
    w.findChild(QAction, "analyse_source_voice").trigger()
    qtbot.waitUntil(lambda: w.project.find_track("source_voice", "f0") is not None, timeout=60000)
    ed = w.pitch
    qtbot.waitUntil(lambda: ed.image.image is not None, timeout=20000)  # the spectrogram arrived
    assert ed.clip == "source_voice" and w.pitch_dock.isVisible()
    track = w.project.find_track("source_voice", "f0")
    original = track.arrays["f0"].copy(), track.arrays["voiced"].copy()
    assert w.undo_stack.count() == 1  # the analysis itself is undoable

    ed.box.setRange(xRange=(1.0, 3.0), yRange=(45, 75), padding=0)
    qtbot.wait(50)
    ed.tool_buttons["pen"].click()
    drag(qtbot, ed, [(1.2, 55), (1.5, 60), (1.9, 58), (2.2, 62)])  # a fast stroke over 1 s
    f = track.arrays["f0"]
    fr = slice(int(1.25 / 0.005), int(2.15 / 0.005))
    assert track.arrays["voiced"][fr].all()  # no gap where the pointer jumped
    assert np.all(np.abs(np.diff(12 * np.log2(f[fr] / 440))) < 0.5)
    assert w.undo_stack.count() == 2
    drag(qtbot, ed, [(2.5, 50), (2.6, 52), (2.8, 50)])
    assert w.undo_stack.count() == 3
    after_first = track.arrays["f0"][fr].copy()
    activate(qtbot, w)
    qtbot.keyClick(w, Qt.Key_Z, Qt.ControlModifier)  # undoes the second stroke only
    assert np.array_equal(track.arrays["f0"][fr], after_first)
    assert np.array_equal(track.arrays["f0"][int(2.5 / 0.005):int(2.8 / 0.005)],
                          original[0][int(2.5 / 0.005):int(2.8 / 0.005)])
    qtbot.keyClick(w, Qt.Key_Z, Qt.ControlModifier)  # and the first
    assert np.array_equal(track.arrays["f0"], original[0]) and np.array_equal(track.arrays["voiced"], original[1])

    # Select a range with the mouse, shift it up an octave: F0 doubles exactly there.
    ed.tool_buttons["select"].click()
    drag(qtbot, ed, [(1.1, 60), (1.4, 60), (2.0, 60)])
    a, b = ed.selected_frames()
    assert abs(a - 220) <= 2 and abs(b - 400) <= 2
    ed.semitones.setValue(12)
    ed.op_buttons["shift"].click()
    v = original[1][a:b] > 0
    assert np.array_equal(track.arrays["f0"][a:b][v], original[0][a:b][v] * 2)
    save_screenshot(w, "08_pitch_editor")

    # Listen: A (the recording), then B (the resynthesized edit) at the same position.
    ed.play_button.click()
    qtbot.waitUntil(lambda: w.voice_player.playing, timeout=20000)
    qtbot.wait(300)
    pos = w.voice_player.position()
    assert pos > 0.1
    ed.version_buttons["resynth"].click()
    qtbot.waitUntil(lambda: w.voice_player.playing and w.voice_player.version == "resynth", timeout=20000)
    assert w.voice_player.position() >= pos - 0.05  # A/B keeps the place
    ed.play_button.click()
    assert not w.voice_player.playing
    assert all(h.state is not JobState.FAILED for h in w.jobs.handles)


def test_train_convert_and_use_the_converted_voice(window, demo_copy, qtbot):
    """Voice ▸ Train (child process, the shared training monitor with a Play-sample button), then
    Voice ▸ Convert: the converted voice is editable in the Pitch panel and offered as the video's
    soundtrack and as the export's audio."""
    from avstudio.gui.project.export_dialog import ExportDialog

    w = window
    assert w.projects.open_project(demo_copy)
    w.findChild(QAction, "analyse_source_voice").trigger()
    qtbot.waitUntil(lambda: w.project.find_track("source_voice", "f0") is not None, timeout=60000)
    h = w.training.start(TrainRequest(kind="voice", preset="vc-preview", device="cpu", steps=3, model_id="voice"))
    qtbot.waitUntil(lambda: h.state.finished, timeout=240000)
    assert h.state is JobState.DONE, h.error
    assert w.monitor.sample_button.isVisible() and w.monitor.audio_sample.endswith(".wav")
    assert w.voice.voice_models() == ["voice"]
    # The monitor scores the checkpoint the run ended on (pitch against the target speaker's).
    qtbot.waitUntil(lambda: "semitones" in w.monitor.metrics.text(), timeout=120000)
    w.findChild(QAction, "convert_voice").trigger()
    qtbot.waitUntil(lambda: w.project.find_track("converted", "f0") is not None, timeout=120000)
    ed = w.pitch
    assert ed.clip_box.findData("converted") >= 0
    assert w.transport.soundtrack.findData("converted") >= 0
    w.transport.soundtrack.setCurrentIndex(w.transport.soundtrack.findData("converted"))
    w.transport.soundtrack.activated.emit(w.transport.soundtrack.currentIndex())
    qtbot.waitUntil(lambda: w.timeline.wave.getData()[0] is not None and len(w.timeline.wave.getData()[0]) > 0,
                    timeout=20000)
    dialog = ExportDialog(w.project, 230, w)
    assert dialog.audio.findData("converted") >= 0
    # The converted voice's pitch is edited like any other, and undone.
    ed.clip_box.setCurrentIndex(ed.clip_box.findData("converted"))
    conv = w.project.find_track("converted", "f0")
    before = conv.arrays["f0"].copy()
    ed.select_seconds(1.0, 2.0)
    ed.op_buttons["shift"].click()
    assert not np.array_equal(conv.arrays["f0"], before)
    w.undo_stack.undo()
    assert np.array_equal(conv.arrays["f0"], before)

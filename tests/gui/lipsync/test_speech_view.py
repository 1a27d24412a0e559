"""Speech driving the face through real widgets: Lip Sync ▸ Drive Target Face from Speech… with a
typed transcript analyses the voice and drives the target (jobs), the viseme row appears in the Face
Curves panel, dragging a boundary with the mouse is one undo step that renders only the frames it
changes, and undo brings the old frames back from the cache."""

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QPlainTextEdit

from avstudio.core import layers
from avstudio.core.store import load_project, save_project
from avstudio.core.tracks import Flag
from avstudio.workflows.operation import run_now
from avstudio.workflows.project import set_media
from tests.conftest import media
from tests.gui.conftest import save_screenshot
from tests.gui.helpers import activate, in_dialog, send

SENTENCE = "speech/librivox_male/sense_and_sensibility_01_austen_64kb-0920.wav"
SAID = "had he married a more a amiable woman he might have been made still more respectable than he was"


@pytest.fixture
def voiced(lipsync_project):
    p = load_project(lipsync_project)
    run_now(p, set_media(p, "source_voice", str(media(SENTENCE))))
    save_project(p)
    return lipsync_project


def _plot_pos(curves, t, y):
    return curves.plot.mapFromScene(curves.box.mapViewToScene(QPointF(t, y)))


def test_drive_from_speech_then_drag_a_viseme_boundary(window, voiced, qtbot):
    w = window
    assert w.projects.open_project(voiced)
    qtbot.waitUntil(lambda: not w.clips.opening and w.player.timebase is not None, timeout=20000)

    def fill(d):
        combo = d.findChild(QComboBox, "speech_audio")
        combo.setCurrentIndex(combo.findData("source_voice"))
        d.findChild(QPlainTextEdit, "speech_transcript").setPlainText(SAID)
    in_dialog(qtbot, fill)
    w.findChild(QAction, "lipsync_speech").trigger()
    fr = w.lipsync.frames
    qtbot.waitUntil(lambda: (f := w.project.find_track("driven", layers.DRIVEN)) is not None
                    and f.meta.get("driver") == "speech", timeout=60000)
    qtbot.waitUntil(lambda: fr.plan is not None and len(fr.plan["keys"]) == 152 and fr.missing() == 0
                    and not fr.rendering, timeout=120000)
    curves = w.face_curves
    qtbot.waitUntil(lambda: curves.viseme_row() is not None and len(curves.blocks.labels) > 0, timeout=5000)
    row = curves.viseme_row()
    assert row.meta["aligned"] and row.length > 30
    keys = list(fr.plan["keys"])

    spans = row.spans()
    i = next(k for k, (a, b, n) in enumerate(spans[:-1]) if n == "aa" and b - a > 0.06 and spans[k + 1][1] - b > 0.1)
    a, b, _ = row.spans()[i]
    curves.box.setXRange(max(0.0, a - 0.4), b + 0.5, padding=0)
    qtbot.wait(50)
    vp = curves.plot.viewport()
    start, end = _plot_pos(curves, b, 0.5), _plot_pos(curves, b + 0.06, 0.5)
    steps = w.undo_stack.count()
    send(vp, QEvent.MouseMove, start, Qt.NoButton, Qt.NoButton)
    send(vp, QEvent.MouseButtonPress, start)
    for k in range(1, 6):
        qtbot.wait(25)
        send(vp, QEvent.MouseMove, start + (end - start) * (k / 5), Qt.NoButton, Qt.LeftButton)
    send(vp, QEvent.MouseButtonRelease, end, Qt.LeftButton, Qt.NoButton)
    assert w.undo_stack.count() == steps + 1          # the drag is one step
    moved = curves.viseme_row()
    assert moved.spans()[i][1] == pytest.approx(b + 0.06, abs=0.02) and moved.arrays["flags"][i] == Flag.EDITED
    qtbot.waitUntil(lambda: fr.plan is not None and fr.plan["keys"] != keys and fr.missing() == 0
                    and not fr.rendering and fr.last_render is not None, timeout=60000)
    changed = [k for k, (x, y) in enumerate(zip(keys, fr.plan["keys"])) if x != y]
    near = (a - 0.2) * 25, (spans[i + 1][1] + 0.2) * 25   # the two blocks that share the boundary, and their tails
    assert 0 < len(changed) <= 20 and near[0] <= min(changed) and max(changed) <= near[1], changed
    assert (fr.last_render["rendered"], fr.last_render["cached"]) == (len(changed), 152 - len(changed))
    save_screenshot(w, "lipsync_viseme_dragged")

    activate(qtbot, w)
    last = fr.last_render
    qtbot.keyClick(w, Qt.Key_Z, Qt.ControlModifier)
    qtbot.waitUntil(lambda: fr.plan is not None and fr.plan["keys"] == keys, timeout=20000)
    assert fr.missing() == 0 and fr.last_render is last   # the old frames came from the cache
    assert curves.viseme_row().spans()[i][1] == pytest.approx(b)

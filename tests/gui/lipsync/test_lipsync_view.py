"""The lip-sync view through real widgets, on the analysed and driven real clips: rendered frames
appear (retrieval), dragging a driven mouth point with the mouse is one undo step that renders that
frame again and no other, undo brings the old frame back (from the cache: nothing is rendered), and
a pen stroke in the Face Curves panel opens the mouth over the frames it crosses."""

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QAction

from avstudio.analysis.face.curves import CURVES
from avstudio.core.tracks import Flag
from avstudio.retarget.face import DRIVEN_POINTS
from avstudio.workflows.lipsync.drive import driven_curves

from tests.gui.conftest import save_screenshot
from tests.gui.helpers import activate, send, widget_pos


def open_lipsync(qtbot, w, project, frame=40):
    assert w.projects.open_project(project)
    qtbot.waitUntil(lambda: not w.clips.opening and w.player.timebase is not None, timeout=20000)
    w.findChild(QAction, "lipsync_view").trigger()
    w.findChild(QAction, "lipsync_render").trigger()
    fr = w.lipsync.frames
    qtbot.waitUntil(lambda: fr.plan is not None and fr.missing() == 0 and not fr.rendering, timeout=120000)
    w.player.seek(frame)
    view = w.lipsync.view
    qtbot.waitUntil(lambda: view.output_frame == frame and view.faces["driven"].xy is not None
                    and view.panes["rendered"].image.image is not None, timeout=20000)
    return fr, view


def test_drag_a_mouth_point_renders_that_frame_and_undo_brings_it_back(window, lipsync_project, qtbot):
    w = window
    fr, view = open_lipsync(qtbot, w, lipsync_project)
    keys, before = list(fr.plan["keys"]), fr.image(40).copy()
    item = view.faces["driven"]
    start = widget_pos(view.panes["driven"], *item.xy[57])  # the middle of the lower lip
    vp = view.panes["driven"].graphics.viewport()
    steps = w.undo_stack.count()
    send(vp, QEvent.MouseMove, start, Qt.NoButton, Qt.NoButton)
    send(vp, QEvent.MouseButtonPress, start)
    for d in (3, 7, 12, 16):
        qtbot.wait(25)
        send(vp, QEvent.MouseMove, start + QPoint(0, d), Qt.NoButton, Qt.LeftButton)
    send(vp, QEvent.MouseButtonRelease, start + QPoint(0, 16), Qt.LeftButton, Qt.NoButton)
    assert w.undo_stack.count() == steps + 1  # the whole drag is one step
    face = w.project.find_track("driven", "driven-face")
    edited = np.argwhere(face.flags == Flag.EDITED)
    assert len(edited) == 1 and edited[0][0] == 40 and edited[0][1] in DRIVEN_POINTS, edited  # the user's anchor
    qtbot.waitUntil(lambda: fr.plan is not None and fr.plan["keys"][40] != keys[40] and fr.missing() == 0
                    and not fr.rendering and fr.last_render is not None, timeout=60000)
    assert (fr.last_render["rendered"], fr.last_render["cached"]) == (1, 172)
    assert [k for i, k in enumerate(fr.plan["keys"]) if i != 40] == keys[:40] + keys[41:]
    qtbot.waitUntil(lambda: not np.array_equal(view.panes["rendered"].image.image, before), timeout=10000)
    save_screenshot(w, "lipsync_mouth_dragged")

    activate(qtbot, w)
    last = fr.last_render
    qtbot.keyClick(w, Qt.Key_Z, Qt.ControlModifier)
    qtbot.waitUntil(lambda: fr.plan is not None and fr.plan["keys"] == keys, timeout=20000)
    assert fr.missing() == 0 and fr.last_render is last  # the old frame came from the cache
    qtbot.waitUntil(lambda: np.array_equal(view.panes["rendered"].image.image, before), timeout=10000)


def _plot_pos(curves, t, y) -> QPoint:
    return curves.plot.mapFromScene(curves.box.mapViewToScene(QPointF(t, y)))


def test_a_pen_stroke_on_the_opening_row_opens_the_mouth(window, lipsync_project, qtbot):
    from avstudio.gui.lipsync.curves import row_y

    w = window
    open_lipsync(qtbot, w, lipsync_project)
    w.findChild(QAction, "face_curves").trigger()
    curves = w.face_curves
    qtbot.waitUntil(lambda: curves.fps() is not None, timeout=5000)
    curves.box.setXRange(0.5, 3.0, padding=0)
    qtbot.wait(50)
    curves.tool_buttons["pen"].click()
    y = float(row_y(0, [0.25], 0.0, 0.35)[0])
    vp = curves.plot.viewport()
    pts = [_plot_pos(curves, t, y) for t in (1.0, 1.3, 1.6, 2.0)]
    steps = w.undo_stack.count()
    send(vp, QEvent.MouseButtonPress, pts[0])
    for p in pts[1:]:
        qtbot.wait(25)
        send(vp, QEvent.MouseMove, p, Qt.NoButton, Qt.LeftButton)
    send(vp, QEvent.MouseButtonRelease, pts[-1], Qt.LeftButton, Qt.NoButton)
    assert w.undo_stack.count() == steps + 1  # one stroke, one step
    fps = curves.fps()
    opening = driven_curves(w.project)[:, CURVES.index("mouth_open")]
    drawn = opening[int(1.1 * fps):int(1.9 * fps)]
    assert np.allclose(drawn, 0.25, atol=0.02), drawn
    save_screenshot(w, "lipsync_curves_drawn")

"""Helpers of the GUI tests: real mouse events, positions on a clip view, waiting for frames."""

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from avstudio.core.tracks import Flag


def activate(qtbot, window) -> None:
    """Make the window the active one before sending keys (its shortcuts act only then)."""
    window.activateWindow()
    window.raise_()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)


def wait_frames(qtbot, window, frame):
    qtbot.waitUntil(lambda: not window.clips.opening, timeout=20000)  # clips open as jobs

    def shown():
        return all(v.frame_index is not None for r, v in window.views.items() if r in window.clips.loaders) and \
            window.views["source"].frame_index == frame
    qtbot.waitUntil(shown, timeout=10000)


def send(widget, kind, pos: QPoint, button=Qt.LeftButton, buttons=Qt.LeftButton, modifiers=Qt.NoModifier):
    ev = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons, modifiers)
    QApplication.sendEvent(widget, ev)


def widget_pos(view, x, y) -> QPoint:
    scene = view.view.mapViewToScene(QPointF(x, y))
    return view.graphics.mapFromScene(scene)


def isolated_joint(track, f=0) -> int:
    """The joint farthest from all others (small views draw neighbouring joints on top of each other)."""
    present = np.flatnonzero(track.flags[f] != Flag.MISSING)
    p = track.points[f, present, :2]
    d = np.hypot(*(p[:, None] - p[None]).transpose(2, 0, 1)) + np.eye(len(p)) * 1e9
    return int(present[np.argmax(d.min(1))])


def in_dialog(qtbot, fill):
    """Run ``fill(dialog)`` on the next modal dialog, then press its OK button."""
    def act():
        d = QApplication.activeModalWidget()
        if d is None:
            QTimer.singleShot(50, act)
            return
        fill(d)
        d.findChild(QDialogButtonBox).button(QDialogButtonBox.Ok).click()
    QTimer.singleShot(50, act)

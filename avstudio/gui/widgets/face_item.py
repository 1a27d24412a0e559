"""An iBUG-68 face drawn over a picture (contours and points), with some of its points draggable — the
lips and the lower jaw, which lip sync drives. One drag is one undo step (its moves share a drag id);
the other points are drawn small and cannot be grabbed."""

from __future__ import annotations

import itertools

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

from avstudio.core.skeletons import skeleton
from avstudio.core.tracks import Flag

_drag_ids = itertools.count(1)
EDITABLE_BRUSH = pg.mkBrush(255, 170, 60, 235)
ANCHOR_PEN = pg.mkPen("w", width=2)
FIXED_BRUSH = pg.mkBrush(170, 235, 255, 200)


class EditableFaceItem(pg.ScatterPlotItem):
    """Emits ``pointMoved(joint, x, y, drag_id)`` while a point is dragged and ``dragFinished(drag_id)``."""

    pointMoved = Signal(int, float, float, int)
    dragFinished = Signal(int)

    def __init__(self, colour=(120, 220, 255, 200)):
        super().__init__(pxMode=True)
        self.skel = skeleton("face68")
        self.lines = pg.PlotDataItem(connect="pairs", pen=pg.mkPen(colour, width=1.3))
        self.lines.setAcceptedMouseButtons(Qt.NoButton)
        self.lines.setZValue(6)
        self.setZValue(12)
        self.xy: np.ndarray | None = None  # (68, 2) shown; not "points": ScatterPlotItem.points() is a method
        self.editable = np.zeros(68, bool)
        self._drag: int | None = None
        self._drag_id = 0

    def attach(self, view: pg.ViewBox) -> None:
        view.addItem(self.lines)
        view.addItem(self)

    def set_face(self, points: np.ndarray | None, flags: np.ndarray | None, editable=None) -> None:
        """Show a face (68, ≥2 in the picture's pixels; None clears); ``editable`` (68,) bool says which
        points can be dragged."""
        self.xy = None if points is None else np.asarray(points)[:, :2]
        if points is None:
            self.setData([])
            self.lines.setData([], [])
            return
        present = flags != Flag.MISSING
        self.editable = (np.zeros(68, bool) if editable is None else np.asarray(editable, bool)) & present
        xs, ys = [], []
        for a, b, closed in self.skel.polylines:
            idx = list(range(a, b + 1)) + ([a] if closed else [])
            for i, j in zip(idx, idx[1:]):
                if present[i] and present[j]:
                    xs += [self.xy[i, 0], self.xy[j, 0]]
                    ys += [self.xy[i, 1], self.xy[j, 1]]
        self.lines.setData(xs, ys)
        shown = np.flatnonzero(present)
        edit = self.editable[shown]
        anchors = flags[shown] == Flag.EDITED
        self.setData(x=self.xy[shown, 0], y=self.xy[shown, 1], data=shown,
                     size=np.where(edit, np.where(anchors, 9, 7), 3),
                     brush=[EDITABLE_BRUSH if e else FIXED_BRUSH for e in edit],
                     pen=[ANCHOR_PEN if a and e else pg.mkPen(None) for a, e in zip(anchors, edit)])

    def joint_at(self, pos) -> int | None:
        for spot in self.pointsAt(pos):
            j = int(spot.data())
            if self.editable[j]:
                return j
        return None

    def mouseDragEvent(self, ev) -> None:
        if ev.button() != Qt.LeftButton:
            ev.ignore()
            return
        if ev.isStart():
            j = self.joint_at(ev.buttonDownPos())
            if j is None:
                ev.ignore()
                return
            self._drag, self._drag_id = j, next(_drag_ids)
        if self._drag is None:
            ev.ignore()
            return
        ev.accept()
        p = ev.pos()
        self.pointMoved.emit(self._drag, float(p.x()), float(p.y()), self._drag_id)
        if ev.isFinish():
            self.dragFinished.emit(self._drag_id)
            self._drag = None

    def mouseClickEvent(self, ev) -> None:
        if ev.button() == Qt.LeftButton and self.joint_at(ev.pos()) is not None:
            ev.accept()
            return
        ev.ignore()

"""The editable stick figure over a clip view (pyqtgraph items in the clip's ViewBox).

Points are the stored 33 MediaPipe landmarks; colour shows confidence (red → green), anchors the
user placed (EDITED) are larger with a white ring, INTERPOLATED points are hollow, MISSING ones are
not drawn. Drag a point to move it (one undo step per drag); right-click hides it; Alt-drag moves
the whole skeleton. Onion skin: the previous and next frames' skeletons, faint (orange before, blue
after).
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor

from avstudio.core.skeletons import skeleton
from avstudio.core.tracks import Flag

_drag_ids = itertools.count(1)


def conf_colour(c: float) -> QColor:
    c = float(np.clip(c, 0, 1))
    return QColor.fromHsvF(0.33 * c, 0.85, 0.95)


CONF_LEVELS = 20  # confidence colours are drawn in 21 steps


@functools.lru_cache(maxsize=None)
def _brush(level: int):
    return pg.mkBrush(conf_colour(level / CONF_LEVELS))


@functools.lru_cache(maxsize=None)
def _pen(level: int):
    return pg.mkPen(conf_colour(level / CONF_LEVELS), width=1.5)


_HOLLOW = pg.mkBrush(None)
_WHITE_RING = pg.mkPen("w", width=2.5)


class SkeletonItem(pg.ScatterPlotItem):
    """Emits pointMoved(joint, x, y, drag_id) while dragging and pointToggled(joint) on right-click."""

    pointMoved = Signal(int, float, float, int)
    skeletonMoved = Signal(float, float, int)  # dx, dy since the last move, drag id (Alt-drag)
    dragFinished = Signal(int)
    pointToggled = Signal(int)

    def __init__(self, skeleton_name: str = "mediapipe33"):
        super().__init__(pxMode=True)
        self.skel = skeleton(skeleton_name)
        self.limbs = pg.PlotDataItem(connect="pairs", pen=pg.mkPen((230, 230, 230, 170), width=2))
        self.limbs.setZValue(5)
        self.setZValue(10)
        self._points = None
        self._flags = None
        self._drag_joint: int | None = None
        self._drag_id = 0
        self._whole = False
        self.selected: int | None = None  # the joint touched last (H hides it)
        self.onion = [pg.PlotDataItem(connect="pairs", pen=pg.mkPen(colour, width=1.5))
                      for colour in ((255, 170, 60, 110), (90, 180, 255, 110))]
        for item in self.onion:
            item.setZValue(4)

    def attach(self, view: pg.ViewBox) -> None:
        for item in self.onion:
            view.addItem(item)
        view.addItem(self.limbs)
        view.addItem(self)

    def _limb_lines(self, points, flags) -> tuple[list, list]:
        present = flags != Flag.MISSING
        xs, ys = [], []
        for a, b in self.skel.limbs:
            if present[a] and present[b]:
                xs += [points[a, 0], points[b, 0]]
                ys += [points[a, 1], points[b, 1]]
        return xs, ys

    def set_onion(self, before=None, after=None) -> None:
        """Faint skeletons of neighbouring frames: ``before``/``after`` are (points, flags) or None."""
        for item, pose in zip(self.onion, (before, after)):
            item.setData(*(self._limb_lines(*pose) if pose is not None else ([], [])))

    def set_pose(self, points: np.ndarray | None, flags: np.ndarray | None) -> None:
        self._points, self._flags = points, flags
        if points is None:
            self.setData([])
            self.limbs.setData([], [])
            return
        joints = np.flatnonzero(flags != Flag.MISSING)
        edited = flags[joints] == Flag.EDITED
        interp = flags[joints] == Flag.INTERPOLATED
        # Runs on every frame shown: arrays and cached brushes, not a dict per spot (4 ms → <1 ms).
        levels = np.clip(np.round(points[joints, 2] * CONF_LEVELS), 0, CONF_LEVELS).astype(int)
        brushes = [_HOLLOW if i else _brush(c) for i, c in zip(interp, levels)]
        pens = [_WHITE_RING if e else _pen(c) for e, c in zip(edited, levels)]
        self.setData(x=points[joints, 0], y=points[joints, 1], data=joints, size=np.where(edited, 13, 9),
                     brush=brushes, pen=pens)
        self.limbs.setData(*self._limb_lines(points, flags))

    def joint_at(self, pos) -> int | None:
        hits = self.pointsAt(pos)
        return int(hits[0].data()) if len(hits) else None

    def mouseDragEvent(self, ev) -> None:
        if ev.button() != Qt.LeftButton:
            ev.ignore()
            return
        if ev.isStart():
            joint = self.joint_at(ev.buttonDownPos())
            if joint is None:
                ev.ignore()
                return
            self._drag_joint, self._drag_id = joint, next(_drag_ids)
            self.selected = joint
            self._whole = bool(ev.modifiers() & Qt.AltModifier)
        if self._drag_joint is None:
            ev.ignore()
            return
        ev.accept()
        p = ev.pos()
        if self._whole:
            last = ev.lastPos()
            self.skeletonMoved.emit(float(p.x() - last.x()), float(p.y() - last.y()), self._drag_id)
        else:
            self.pointMoved.emit(self._drag_joint, float(p.x()), float(p.y()), self._drag_id)
        if ev.isFinish():
            self.dragFinished.emit(self._drag_id)
            self._drag_joint = None

    def mouseClickEvent(self, ev) -> None:
        if ev.button() == Qt.LeftButton:
            joint = self.joint_at(ev.pos())
            if joint is not None:
                ev.accept()
                self.selected = joint
                return
        if ev.button() == Qt.RightButton:
            joint = self.joint_at(ev.pos())
            if joint is not None:
                ev.accept()
                self.pointToggled.emit(joint)
                return
        ev.ignore()


class FaceItem:
    """The face landmarks over a clip (iBUG 68 contours: jaw, brows, nose, eyes, lips) — drawn, not
    edited; faint so the body's keypoints stay the thing to grab."""

    def __init__(self):
        self.skel = skeleton("face68")
        self.lines = pg.PlotDataItem(connect="pairs", pen=pg.mkPen((120, 220, 255, 200), width=1.2))
        self.dots = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(170, 235, 255, 220), pxMode=True)
        for item in (self.lines, self.dots):
            item.setZValue(3)
            item.setAcceptedMouseButtons(Qt.NoButton)

    def attach(self, view: pg.ViewBox) -> None:
        view.addItem(self.lines)
        view.addItem(self.dots)

    def set_face(self, points: np.ndarray | None, flags: np.ndarray | None) -> None:
        if points is None:
            self.lines.setData([], [])
            self.dots.setData([])
            return
        present = flags != Flag.MISSING
        xs, ys = [], []
        for a, b, closed in self.skel.polylines:
            idx = list(range(a, b + 1)) + ([a] if closed else [])
            for i, j in zip(idx, idx[1:]):
                if present[i] and present[j]:
                    xs += [points[i, 0], points[j, 0]]
                    ys += [points[i, 1], points[j, 1]]
        self.lines.setData(xs, ys)
        self.dots.setData(x=points[present, 0], y=points[present, 1])

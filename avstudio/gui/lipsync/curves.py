"""The Face Curves panel: the driven face on the output timeline, one row per curve — the mouth's
opening, width and rounding (drawn with the pen, a line or the smoothing brush, as the Pitch panel
edits F0: a drawn curve moves the lips, one undo step per stroke), and, read from the target frames
under each output frame, the eyes' openness, the head pose and the frame schedule. Dragging with the
Select tool chooses the frames the Lip Sync menu's range commands act on. When speech drives the face,
the bottom row shows its viseme blocks: drag a boundary to move it, click a block to choose it for
the Lip Sync menu's viseme commands (split, merge, delete, relabel); each is one undo step that
re-drives the frames it changes."""

from __future__ import annotations

import uuid
from fractions import Fraction

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from avstudio.analysis.face.curves import CURVES, EDITABLE
from avstudio.core import layers, roles
from avstudio.core.errors import UserError

# (row label, what it shows, its value range); the top row first.
ROWS = (("opening", "mouth_open", (0.0, 0.35)), ("width", "mouth_width", (0.3, 0.8)),
        ("rounding", "lip_round", (0.15, 0.9)), ("eyes", "eyes", (0.0, 0.4)), ("head", "head", (-30.0, 30.0)),
        ("schedule", "schedule", (0.0, 1.0)), ("visemes", "visemes", (0.0, 1.0)))
VISEME_ROW = len(ROWS) - 1
EDGE_PX = 6     # a press this close to a viseme boundary drags it
TOOLS = {"select": "Select frames for the Lip Sync menu's range commands",
         "pen": "Draw a mouth curve: the lips follow", "line": "Drag a straight line of a mouth curve",
         "smooth": "Brush over a mouth curve to smooth it"}
BRUSH_FRAMES = 6


def row_y(row: int, values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Plot y of values in a row (row 0 at the top)."""
    base = len(ROWS) - 1 - row
    return base + 0.1 + 0.8 * (np.asarray(values, np.float64) - lo) / (hi - lo)


def value_at(row: int, y: float) -> float:
    lo, hi = ROWS[row][2]
    base = len(ROWS) - 1 - row
    return lo + (y - base - 0.1) / 0.8 * (hi - lo)


class _Box(pg.ViewBox):
    def __init__(self, panel):
        super().__init__(enableMenu=False)
        self.panel = panel
        self.setMouseEnabled(x=True, y=False)

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.LeftButton and self.panel.click(self.mapSceneToView(ev.scenePos())):
            ev.accept()
            return
        super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None):
        if ev.button() != Qt.LeftButton or axis is not None:
            return super().mouseDragEvent(ev, axis)
        ev.accept()
        pos = self.mapSceneToView(ev.scenePos())
        if ev.isStart():
            self.panel.stroke_start(self.mapSceneToView(ev.buttonDownScenePos()))
        self.panel.stroke_move(pos)
        if ev.isFinish():
            self.panel.stroke_end(pos)


class FaceCurves(QWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.tool = "select"
        self._stroke = None
        bar = QHBoxLayout()
        self.tool_group = QButtonGroup(self)
        self.tool_buttons = {}
        for name, tip in TOOLS.items():
            b = QToolButton()
            b.setText(name.capitalize())
            b.setToolTip(tip)
            b.setObjectName(f"face_tool_{name}")
            b.setCheckable(True)
            b.clicked.connect(lambda _=False, n=name: self.set_tool(n))
            self.tool_group.addButton(b)
            self.tool_buttons[name] = b
            bar.addWidget(b)
        self.tool_buttons["select"].setChecked(True)
        self.status = QLabel("")
        self.status.setObjectName("muted")
        bar.addWidget(self.status, 1)
        self.box = _Box(self)
        self.plot = pg.PlotWidget(viewBox=self.box)
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.getAxis("left").setTicks([[(len(ROWS) - 1 - i + 0.5, label) for i, (label, _, _) in enumerate(ROWS)]])
        self.plot.setYRange(0, len(ROWS), padding=0)
        self.plot.setMinimumHeight(140)
        self.curves = {name: self.plot.plot(pen=pg.mkPen(c, width=2), connect="finite")
                       for name, c in (("mouth_open", (255, 170, 60)), ("mouth_width", (255, 120, 120)),
                                       ("lip_round", (230, 120, 255)), ("eyes", (120, 220, 255)),
                                       ("yaw", (120, 255, 160)), ("pitch", (255, 230, 120)),
                                       ("roll", (160, 160, 255)), ("schedule", (200, 200, 200)))}
        self.preview = self.plot.plot(pen=pg.mkPen("w", width=1, style=Qt.DashLine))
        self.blocks = VisemeBlocks(self.plot)
        self.chosen_at: float | None = None   # the time of the chosen viseme block (edits renumber blocks)
        self.region = pg.LinearRegionItem(brush=(76, 158, 235, 60))
        self.region.hide()
        self.plot.addItem(self.region)
        self.playhead = pg.InfiniteLine(0, pen=pg.mkPen((255, 255, 255, 160)))
        self.plot.addItem(self.playhead)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(bar)
        lay.addWidget(self.plot, 1)
        ctx.events.trackChanged.connect(lambda _t, clip, layer: (clip in (roles.DRIVEN, roles.TARGET)
                                                                 or layer == layers.VISEMES) and self.refresh())
        ctx.projectChanged.connect(self.refresh)
        ctx.player.frameChanged.connect(self._follow)
        self.refresh()

    # ---- data ----------------------------------------------------------------------------------
    def fps(self) -> float | None:
        p = self.ctx.project
        face = p.find_track(roles.DRIVEN, layers.DRIVEN) if p is not None else None
        return float(Fraction(*face.meta["fps"])) if face is not None else None

    def refresh(self) -> None:
        from avstudio.workflows.lipsync.drive import driven_curves

        fps = self.fps()
        if fps is None:
            for c in self.curves.values():
                c.setData([], [])
            self.status.setText("Drive the target's face (Lip Sync menu) to see and draw its mouth curves.")
            return
        p = self.ctx.project
        values = driven_curves(p)
        t = np.arange(len(values)) / fps
        for row, (_, name, (lo, hi)) in enumerate(ROWS[:3]):
            self.curves[name].setData(t, row_y(row, values[:, CURVES.index(name)], lo, hi))
        sched = p.require_track(roles.DRIVEN, layers.SCHEDULE).arrays["values"][:, 0]
        target = p.find_track(roles.TARGET, layers.HEAD_POSE)
        curves = p.find_track(roles.TARGET, layers.FACE_CURVES)
        under = np.clip(sched.round().astype(int), 0, (target.length - 1) if target is not None else 0)
        if curves is not None:
            eyes = 0.5 * (curves.curve("eye_left") + curves.curve("eye_right"))
            self.curves["eyes"].setData(t, row_y(3, eyes[under], *ROWS[3][2]))
        if target is not None:
            for name in ("yaw", "pitch", "roll"):
                self.curves[name].setData(t, row_y(4, np.clip(target.curve(name)[under], -30, 30), *ROWS[4][2]))
            self.curves["schedule"].setData(t, row_y(5, sched / max(1, target.length - 1), 0, 1))
        self.blocks.show(self.viseme_row(), self.chosen_block)
        self.status.setText(f"{len(values)} output frames at {fps:.2f} fps · the lips follow what you draw")

    def speech_clip(self) -> str | None:
        """The clip whose speech drives the face, if speech drives it."""
        p = self.ctx.project
        face = p.find_track(roles.DRIVEN, layers.DRIVEN) if p is not None else None
        return face.meta.get("speech") if face is not None and face.meta.get("driver") == "speech" else None

    def viseme_row(self):
        clip = self.speech_clip()
        return self.ctx.project.find_track(clip, layers.VISEMES) if clip else None

    @property
    def chosen_block(self) -> int | None:
        """The viseme block the user clicked, found again by its time after any edit."""
        from avstudio.editing.segments import block_at

        row = self.viseme_row()
        return None if row is None or self.chosen_at is None else block_at(row, self.chosen_at)

    def _follow(self, _frame) -> None:
        tb = self.ctx.player.timebase
        if tb is not None:
            self.playhead.setValue(tb.frame_to_seconds(self.ctx.player.frame))

    def selected_frames(self) -> tuple[int, int] | None:
        fps = self.fps()
        if fps is None or not self.region.isVisible():
            return None
        a, b = self.region.getRegion()
        a, b = int(round(a * fps)), int(round(b * fps)) + 1
        return (max(0, a), b) if b > a else None

    def select_seconds(self, a: float, b: float) -> None:
        self.region.setRegion((a, b))
        self.region.show()

    # ---- mouse tools ------------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        self.tool = tool
        self.tool_buttons[tool].setChecked(True)

    def _row(self, y: float) -> int:
        return int(np.clip(len(ROWS) - 1 - np.floor(y), 0, len(ROWS) - 1))

    def stroke_start(self, pos) -> None:
        fps = self.fps()
        if fps is None:
            self._stroke = None
            return
        row = self._row(pos.y())
        name = ROWS[row][1]
        if row == VISEME_ROW:
            edge = self._edge_at(pos.x())
            self._stroke = None if edge is None else {"row": row, "name": name, "edge": edge}
            if edge is None:
                self.status.setText("Drag a boundary between viseme blocks to move it; click a block to choose it.")
            return
        if self.tool != "select" and name not in EDITABLE:
            self.status.setText("Only the mouth's opening, width and rounding are drawn: the rest is the target's own.")
            self._stroke = None
            return
        self._stroke = {"row": row, "name": name, "id": uuid.uuid4().hex[:8], "x0": pos.x(),
                        "last": (pos.x() * fps, value_at(row, pos.y()))}
        if self.tool == "select":
            self.select_seconds(pos.x(), pos.x())

    def _push(self, frames, values) -> None:
        from avstudio.workflows.lipsync.drive import driven, set_curve_values

        face, _ = driven(self.ctx.project)
        frames = np.asarray(frames, np.intp)
        keep = (frames >= 0) & (frames < face.length)
        if not keep.any():
            return
        s = self._stroke
        try:
            edit = set_curve_values(self.ctx.project, frames[keep], s["name"], np.asarray(values)[keep], stroke=s["id"])
        except UserError as exc:
            self.status.setText(exc.message)
            return
        if edit is not None:
            self.ctx.push(edit)

    def stroke_move(self, pos) -> None:
        s, fps = self._stroke, self.fps()
        if s is None or fps is None:
            return
        if "edge" in s:
            self.preview.setData([pos.x(), pos.x()], [0.0, 1.0])
            return
        point = (pos.x() * fps, value_at(s["row"], pos.y()))
        if self.tool == "select":
            self.region.setRegion(sorted((s["x0"], pos.x())))
        elif self.tool == "pen":
            (fa, va), (fb, vb) = sorted((s["last"], point))
            frames = np.arange(int(np.ceil(fa - 0.5)), int(np.floor(fb + 0.5)) + 1)
            w = np.clip((frames - fa) / (fb - fa), 0, 1) if fb > fa else np.zeros(len(frames))
            self._push(frames, (1 - w) * va + w * vb)
            s["last"] = point
        elif self.tool == "line":
            (f0, v0), row = s["last"], s["row"]
            self.preview.setData([f0 / fps, pos.x()], row_y(row, [v0, point[1]], *ROWS[row][2]))
        elif self.tool == "smooth":
            from avstudio.workflows.lipsync.drive import driven_curves

            f = int(round(point[0]))
            frames = np.arange(f - BRUSH_FRAMES, f + BRUSH_FRAMES + 1)
            curve = driven_curves(self.ctx.project)[:, CURVES.index(s["name"])]
            ok = (frames >= 0) & (frames < len(curve))
            frames = frames[ok]
            vals = curve[frames]
            good = np.isfinite(vals)
            if good.sum() >= 3:
                smooth = np.convolve(np.where(good, vals, np.nanmean(vals)), np.ones(5) / 5, "same")
                self._push(frames[good], smooth[good])

    def stroke_end(self, pos) -> None:
        s, fps = self._stroke, self.fps()
        if s is not None and "edge" in s:
            self.preview.setData([], [])
            self._stroke = None
            i, edge = s["edge"]
            self.edit_visemes("move", i, edge, float(pos.x()))
            return
        if s is not None and fps is not None and self.tool == "line":
            self.preview.setData([], [])
            (fa, va), fb = s["last"], pos.x() * fps
            vb = value_at(s["row"], pos.y())
            lo, hi = sorted((fa, fb))
            frames = np.arange(int(np.ceil(lo)), int(np.floor(hi)) + 1)
            w = np.clip((frames - fa) / (fb - fa), 0, 1) if fb != fa else np.zeros(len(frames))
            self._push(frames, (1 - w) * va + w * vb)
        self._stroke = None

    # ---- the viseme row ---------------------------------------------------------------------------
    def _edge_at(self, t: float) -> tuple[int, str] | None:
        """(block, "start"|"end") of the viseme boundary within EDGE_PX of time ``t``, or None."""
        row = self.viseme_row()
        if row is None or not row.length:
            return None
        tol = EDGE_PX * self.box.viewPixelSize()[0]
        starts, ends = row.arrays["start"], row.arrays["end"]
        ds, de = np.abs(starts - t), np.abs(ends - t)
        i, j = int(np.argmin(ds)), int(np.argmin(de))
        if min(ds[i], de[j]) > tol:
            return None
        return (j, "end") if de[j] <= ds[i] else (i, "start")

    def click(self, pos) -> bool:
        """A click on the viseme row chooses the block under it (True: the click was the row's)."""
        if self._row(pos.y()) != VISEME_ROW or self.viseme_row() is None:
            return False
        from avstudio.editing.segments import block_at

        self.chosen_at = float(pos.x()) if block_at(self.viseme_row(), float(pos.x())) is not None else None
        self.blocks.show(self.viseme_row(), self.chosen_block)
        if self.chosen_block is not None:
            a, b, n = self.viseme_row().spans()[self.chosen_block]
            self.status.setText(f"Viseme '{n}' {a:.2f}–{b:.2f} s: split, merge, delete or relabel it from the Lip "
                                "Sync menu.")
        return True

    def edit_visemes(self, op: str, *args) -> bool:
        """One edit of the viseme row (workflows.lipsync.visemes.edit_row) onto the undo stack."""
        from avstudio.workflows.lipsync.visemes import edit_row

        clip = self.speech_clip()
        if clip is None:
            self.status.setText("Drive the target's face from speech first (Lip Sync menu).")
            return False
        try:
            edit = edit_row(self.ctx.project, clip, op, *args)
        except UserError as exc:
            self.status.setText(exc.message)
            return False
        self.ctx.push(edit)
        if len(edit.edits) == 1 and self.ctx.project.require_track(roles.DRIVEN, layers.DRIVEN).meta.get(
                "speech_model", "visemes") != "visemes":
            self.status.setText(f"{edit.text}: the face is driven by a learned model — drive it from speech again to "
                                "use the new visemes.")
        return True


class VisemeBlocks:
    """The viseme row's drawing: one outline per block, the labels of the blocks in view (at most
    MAX_LABELS, reused as the view moves: a long recording has thousands), the chosen block filled."""

    MAX_LABELS = 300

    def __init__(self, plot):
        self.plot, self.row = plot, None
        self.outline = plot.plot(pen=pg.mkPen((120, 200, 255), width=1), connect="finite")
        self.fill = pg.LinearRegionItem(brush=(120, 200, 255, 70), movable=False)
        self.fill.hide()
        plot.addItem(self.fill)
        self.labels: list = []   # the labels shown
        self._pool: list = []
        plot.getViewBox().sigXRangeChanged.connect(lambda *_: self._label())

    def show(self, row, chosen: int | None = None) -> None:
        self.row = row if row is not None and row.length else None
        if self.row is None:
            self.outline.setData([], [])
            self.fill.hide()
            self._label()
            return
        a, b = row.arrays["start"], row.arrays["end"]
        nan = np.full(len(a), np.nan)
        self.outline.setData(np.stack([a, a, b, b, a, nan], 1).ravel(),
                             np.tile([0.1, 0.9, 0.9, 0.1, 0.1, np.nan], len(a)))
        self._label()
        if chosen is not None and 0 <= chosen < len(a):
            self.fill.setRegion((float(a[chosen]), float(b[chosen])))
            self.fill.show()
        else:
            self.fill.hide()

    def _label(self) -> None:
        for item in self.labels:
            item.hide()
        self.labels = []
        if self.row is None:
            return
        x0, x1 = self.plot.getViewBox().viewRange()[0]
        a, b = self.row.arrays["start"], self.row.arrays["end"]
        idx = np.flatnonzero((b >= x0) & (a <= x1))[:self.MAX_LABELS]
        while len(self._pool) < len(idx):
            item = pg.TextItem("", color=(200, 230, 255), anchor=(0, 0.5))
            self.plot.addItem(item)
            self._pool.append(item)
        names, labels = self.row.labels, self.row.arrays["label"]
        for item, i in zip(self._pool, idx):
            item.setText(names[int(labels[i])])
            item.setPos(float(a[i]), 0.5)
            item.show()
            self.labels.append(item)

"""The retarget view: source frame | source pose normalized into the target | generated frame.

The normalization statistics (Everybody Dance Now's floor lines at the far and close positions,
and the person's height at each) are drawn as horizontal lines over the source and target pictures.
Dragging one updates the middle pane live (the current frame is normalized on the fly); letting go
re-runs the retarget with that value as an override — one undo step, kept in the project until
"Reset lines". The third pane shows the active model's frame for the same moment (re-rendered in the
background after the retarget changed the poses).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from avstudio.core.errors import UserError
from avstudio.gui.widgets.clip_view import FramePane

# (statistic, what the line marks, colour). Height lines sit at floor − height (the head).
LINES = (("far_y", "far floor", (255, 196, 60)), ("close_y", "close floor", (255, 120, 40)),
         ("far_height", "far head", (120, 210, 255)), ("close_height", "close head", (60, 150, 255)))
FLOOR_OF = {"far_height": "far_y", "close_height": "close_y"}


class RetargetView(QWidget):
    """Emits ``overrideChosen({"target.far_y": 412.0})`` when a line is let go, ``resetRequested``
    for Reset lines and ``showGenerated`` for the button that turns on the generated preview."""

    overrideChosen = Signal(dict)
    resetRequested = Signal()
    showGenerated = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        from avstudio.gui.widgets.skeleton_item import SkeletonItem

        self.panes = {"source": FramePane("Source"), "normalized": FramePane("Normalized into the target"),
                      "generated": FramePane("Generated")}
        row = QHBoxLayout()
        row.setSpacing(6)
        for pane in self.panes.values():
            row.addWidget(pane, 1)
        self.skeletons = {"source": SkeletonItem(), "normalized": SkeletonItem("body25")}
        for name, item in self.skeletons.items():
            item.attach(self.panes[name].view)
            item.setAcceptedMouseButtons(Qt.NoButton)  # keypoints are fixed in the clip views
        self.lines: dict[tuple[str, str], pg.InfiniteLine] = {}
        for side, pane in (("source", "source"), ("target", "normalized")):
            for field, text, colour in LINES:
                line = pg.InfiniteLine(angle=0, movable=True, pen=pg.mkPen(colour, width=2),
                                       hoverPen=pg.mkPen((255, 255, 255), width=3),
                                       label=text, labelOpts={"position": 0.04 if field.startswith("far") else 0.8,
                                                              "color": colour, "anchors": [(0, 1), (0, 1)]})
                line.setZValue(20)
                line.setToolTip(f"Drag the {side}'s {text} line: the normalized pose follows; let go to retarget")
                line.sigDragged.connect(lambda _l, s=side, f=field: self._dragged(s, f))
                line.sigPositionChangeFinished.connect(lambda _l, s=side, f=field: self._released(s, f))
                self.panes[pane].view.addItem(line)
                self.lines[(side, field)] = line
        self.info = QLabel("")
        self.info.setObjectName("muted")
        self.info.setWordWrap(True)
        self.reset_button = QPushButton("Reset lines")
        self.reset_button.setToolTip("Forget the lines you moved: measure them from the poses again")
        self.reset_button.clicked.connect(self.resetRequested)
        self.generate_button = QPushButton("Show generated")
        self.generate_button.setToolTip("Show what the newest model makes of this pose (G in the main view)")
        self.generate_button.clicked.connect(self.showGenerated)
        bar = QHBoxLayout()
        bar.addWidget(self.info, 1)
        bar.addWidget(self.generate_button)
        bar.addWidget(self.reset_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(row, 1)
        lay.addLayout(bar)
        self.stats: dict | None = None       # {"source": {...}, "target": {...}} with overrides
        self.pose: tuple | None = None       # source BODY_25 (points, flags)
        self.frame: int | None = None        # the source frame shown
        self.setToolTip("Everybody Dance Now's normalization: floor lines and head heights at the far and "
                        "close positions, for the source and the target. Drag a line to correct it.")
        self.set_data(None, None)

    # ---- data -----------------------------------------------------------------------------------
    def set_data(self, stats: dict | None, pose, message: str = "") -> None:
        """New statistics (None: not available, ``message`` says why) and the source pose (BODY_25)."""
        self.stats, self.pose = stats, pose
        for line in self.lines.values():
            line.setVisible(stats is not None)
        self.reset_button.setEnabled(stats is not None)
        if stats is None:
            self.panes["normalized"].set_note(message)
            self.info.setText(message)
            self.skeletons["normalized"].set_pose(None, None)
            return
        self.panes["normalized"].set_note("")
        self._place_lines()
        self._update_pose()
        s, t = stats["source"], stats["target"]
        self.info.setText(f"Source floor {s['far_y']:.0f}–{s['close_y']:.0f} px, height {s['far_height']:.0f}–"
                          f"{s['close_height']:.0f} px  →  target floor {t['far_y']:.0f}–{t['close_y']:.0f} px, "
                          f"height {t['far_height']:.0f}–{t['close_height']:.0f} px")

    def _place_lines(self) -> None:
        for (side, field), line in self.lines.items():
            st = self.stats[side]
            line.blockSignals(True)
            line.setValue(st[FLOOR_OF[field]] - st[field] if field in FLOOR_OF else st[field])
            line.blockSignals(False)

    def line_value(self, side: str, field: str) -> float:
        """The statistic a line stands for at its current position."""
        y = float(self.lines[(side, field)].value())
        if field in FLOOR_OF:
            return float(self.lines[(side, FLOOR_OF[field])].value()) - y
        return y

    def _dragged(self, side: str, field: str) -> None:
        if self.stats is None:
            return
        st = self.stats[side]
        st[field] = self.line_value(side, field)
        if field in FLOOR_OF.values():  # the head line rides along: the height stays
            for h, floor in FLOOR_OF.items():
                if floor == field:
                    line = self.lines[(side, h)]
                    line.blockSignals(True)
                    line.setValue(st[field] - st[h])
                    line.blockSignals(False)
        self._update_pose()

    def _released(self, side: str, field: str) -> None:
        if self.stats is not None:
            self.overrideChosen.emit({f"{side}.{field}": self.line_value(side, field)})

    # ---- frames ---------------------------------------------------------------------------------
    def on_screen(self) -> bool:
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def show_clip_frame(self, role: str, index: int, rgb: np.ndarray) -> None:
        # Always kept current, also while the tab is hidden (a tab just switched to may not count as
        # visible until it is laid out): showing a picture is cheap (no pixel work, see FramePane).
        if role == "source":
            self.frame = index
            self.panes["source"].set_image(rgb)
            self._update_pose()
        else:  # the target's picture, dimmed, under the normalized pose
            self.panes["normalized"].set_image(rgb, dim=0.55)

    def set_source_pose(self, points, flags, skeleton_name: str) -> None:
        item = self.skeletons["source"]
        if item.skel.name != skeleton_name:
            from avstudio.core.skeletons import skeleton
            item.skel = skeleton(skeleton_name)
        item.set_pose(points, flags)

    def set_generated(self, rgb: np.ndarray | None, note: str = "") -> None:
        pane = self.panes["generated"]
        pane.set_image(rgb)
        pane.set_note(note if rgb is None else "")
        pane.title.setText("Generated" + (f" — {note}" if rgb is not None and note else ""))
        self.generate_button.setVisible(rgb is None)

    def _update_pose(self) -> None:
        from avstudio.retarget.body import ClipStats, normalize

        item = self.skeletons["normalized"]
        f = self.frame
        if self.stats is None or self.pose is None or f is None or f >= len(self.pose[0]):
            item.set_pose(None, None)
            return
        try:
            out, fl, _ = normalize(self.pose[0][f:f + 1], self.pose[1][f:f + 1],
                                   ClipStats.from_json(self.stats["source"]), ClipStats.from_json(self.stats["target"]))
        except (UserError, ValueError, ZeroDivisionError):
            item.set_pose(None, None)
            return
        item.set_pose(out[0], fl[0])

    def normalized_pose(self):
        """(points, flags) of the current frame as the middle pane shows it."""
        return self.skeletons["normalized"]._points, self.skeletons["normalized"]._flags

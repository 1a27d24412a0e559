"""The lip-sync view: the source's face | the driven face over the target frame under it | the rendered
frame. The lips and the lower jaw can be dragged in the first two panes (the source's own face, and
the face the target is made to make); a drag is one undo step, and only the frame it changed is
rendered again."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from avstudio.gui.widgets.clip_view import FramePane
from avstudio.gui.widgets.face_item import EditableFaceItem


class LipSyncView(QWidget):
    """Emits ``sourcePointMoved`` / ``drivenPointMoved`` (joint, x, y in the pane's picture pixels,
    drag id), ``driveRequested`` and ``rendererChosen(name or "")``."""

    sourcePointMoved = Signal(int, float, float, int)
    drivenPointMoved = Signal(int, float, float, int)
    driveRequested = Signal()
    rendererChosen = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.panes = {"source": FramePane("Source face"), "driven": FramePane("Driven face over the target"),
                      "rendered": FramePane("Rendered")}
        row = QHBoxLayout()
        row.setSpacing(6)
        for pane in self.panes.values():
            row.addWidget(pane, 1)
        self.faces = {"source": EditableFaceItem(), "driven": EditableFaceItem((255, 200, 120, 220))}
        for name, item in self.faces.items():
            item.attach(self.panes[name].view)
        self.faces["source"].pointMoved.connect(self.sourcePointMoved)
        self.faces["driven"].pointMoved.connect(self.drivenPointMoved)
        self.info = QLabel("")
        self.info.setObjectName("muted")
        self.info.setWordWrap(True)
        self.renderer = QComboBox()
        self.renderer.setToolTip("What paints the rendered pane: the target's own nearest mouth (retrieval, no "
                                 "training) or a trained face renderer")
        self.renderer.activated.connect(lambda _: self.rendererChosen.emit(self.renderer.currentData() or ""))
        self.drive_button = QPushButton("Drive from the source")
        self.drive_button.setToolTip("Make the target's face do what the source's face does (one undo step)")
        self.drive_button.clicked.connect(self.driveRequested)
        bar = QHBoxLayout()
        bar.addWidget(self.info, 1)
        bar.addWidget(self.drive_button)
        bar.addWidget(self.renderer)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(row, 1)
        lay.addLayout(bar)
        self.output_frame: int | None = None   # the driven (output) frame on screen
        self.target_frame: int | None = None   # the target frame under it

    def on_screen(self) -> bool:
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def fill_renderers(self, models: list[str], current: str | None) -> None:
        self.renderer.blockSignals(True)
        self.renderer.clear()
        self.renderer.addItem("Not rendered", "")
        self.renderer.addItem("Retrieval (instant)", "retrieval")
        for m in models:
            self.renderer.addItem(f"Face renderer — {m}", m)
        self.renderer.setCurrentIndex(max(0, self.renderer.findData(current or "")))
        self.renderer.blockSignals(False)

    def show_source(self, rgb: np.ndarray | None, face=None, flags=None, editable=None) -> None:
        self.panes["source"].set_image(rgb)
        self.faces["source"].set_face(face, flags, editable)

    def show_driven(self, rgb: np.ndarray | None, face=None, flags=None, editable=None, note: str = "") -> None:
        pane = self.panes["driven"]
        pane.set_note(note if rgb is None else "")
        pane.set_image(rgb, dim=0.8)
        self.faces["driven"].set_face(face, flags, editable)

    def show_rendered(self, rgb: np.ndarray | None, title: str = "", note: str = "") -> None:
        pane = self.panes["rendered"]
        pane.set_image(rgb)
        pane.set_note(note if rgb is None else "")
        pane.title.setText("Rendered" + (f" — {title}" if title else ""))

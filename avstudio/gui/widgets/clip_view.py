"""One clip on screen: a title, the frame (zoom and pan with the mouse), and a drop target."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QSizePolicy, QStackedLayout, QVBoxLayout, QWidget

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"}
AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".m4a", ".aac", ".opus"}


def dropped_paths(event) -> list[Path]:
    if not event.mimeData().hasUrls():
        return []
    return [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]


class FramePane(QWidget):
    """A title over a picture (zoom and pan with the mouse) or, in its place, a message."""

    def __init__(self, title: str, parent=None):
        super().__init__(parent)
        self.title = QLabel(title)
        self.title.setObjectName("clipTitle")
        # A long file name is cut off rather than widening the window past the screen.
        self.title.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.graphics = pg.GraphicsLayoutWidget()
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view.setDefaultPadding(0.0)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.placeholder = QLabel("")
        self.placeholder.setAlignment(Qt.AlignCenter)
        self.placeholder.setObjectName("muted")
        self.placeholder.setWordWrap(True)
        self.stack = QStackedLayout()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.graphics)
        self.stack.setCurrentWidget(self.graphics)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        lay.addWidget(self.title)
        lay.addLayout(self.stack, 1)
        self._size: tuple[int, int] | None = None

    def set_note(self, text: str) -> None:
        """A message in place of the picture ("" shows the picture again)."""
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder if text else self.graphics)

    def set_image(self, rgb: np.ndarray | None, dim: float = 1.0) -> None:
        """Show a picture (``dim`` < 1 darkens it, by opacity over the dark background: no pixel
        arithmetic); the view fits it when its size changes."""
        if rgb is None:
            self.image.clear()
            return
        self.image.setOpacity(dim)
        self.image.setImage(rgb, autoLevels=False, levels=None)
        size = rgb.shape[1], rgb.shape[0]
        if size != self._size:
            self._size = size
            self.view.setRange(xRange=(0, size[0]), yRange=(0, size[1]), padding=0)


class ClipView(FramePane):
    """Shows frames of one role (source or target). Emits ``mediaDropped(role, path)``."""

    mediaDropped = Signal(str, str)
    pointPicked = Signal(float, float)  # a left click on the picture (frame pixels)

    def __init__(self, role: str, parent=None):
        super().__init__(role.title(), parent)
        self.role = role
        self.frame_index: int | None = None
        self.setAcceptDrops(True)
        self.placeholder.setText(f"Drop a {role} video here\nor use File ▸ Set {role.title()} Clip…")
        self.stack.setCurrentWidget(self.placeholder)
        self.setToolTip(f"The {role} clip. Scroll to zoom, drag to pan, double-click to fit.")
        self.graphics.scene().sigMouseClicked.connect(self._clicked)
        from avstudio.gui.widgets.skeleton_item import FaceItem, SkeletonItem
        self.skeleton = SkeletonItem()
        self.skeleton.attach(self.view)
        self.face = FaceItem()
        self.face.attach(self.view)

    def set_skeleton(self, name: str) -> None:
        """Switch the overlay's layout (MediaPipe 33 from analysis, BODY_25 from an OpenPose import)."""
        from avstudio.core.skeletons import skeleton
        self.skeleton.skel = skeleton(name)

    def set_clip(self, name: str | None, size: tuple[int, int] | None, missing: bool = False) -> None:
        self._size = size
        self.frame_index = None
        if name is None:
            self.title.setText(self.role.title())
            self.stack.setCurrentWidget(self.placeholder)
            self.image.clear()
            return
        self.title.setText(f"{self.role.title()} — {name}" + ("  (missing: relink it)" if missing else ""))
        if missing or size is None:
            self.placeholder.setText(f"{name} was not found.\nUse File ▸ Relink Missing Media…")
            self.stack.setCurrentWidget(self.placeholder)
            return
        self.stack.setCurrentWidget(self.graphics)
        self.image.setImage(np.zeros((size[1], size[0], 3), np.uint8), autoLevels=False, levels=None)
        self.view.autoRange(padding=0)

    def show_frame(self, index: int, rgb: np.ndarray) -> None:
        # levels=None everywhere for uint8 RGB: pyqtgraph then draws it as is; levels=(0, 255) costs a
        # per-pixel rescale (≈3 ms a 720p frame, on the GUI thread).
        self.frame_index = index
        self.image.setImage(rgb, autoLevels=False, levels=None)

    def _clicked(self, event) -> None:
        if event.double():
            self.view.autoRange(padding=0)
        elif event.button() == Qt.LeftButton and not event.isAccepted() and self._size is not None:
            p = self.view.mapSceneToView(event.scenePos())
            if 0 <= p.x() < self._size[0] and 0 <= p.y() < self._size[1]:
                self.pointPicked.emit(float(p.x()), float(p.y()))

    # ---- drag & drop ----------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        paths = dropped_paths(event)
        if paths and paths[0].suffix.lower() in VIDEO_SUFFIXES:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        paths = dropped_paths(event)
        if paths:
            self.mediaDropped.emit(self.role, str(paths[0]))
            event.acceptProposedAction()

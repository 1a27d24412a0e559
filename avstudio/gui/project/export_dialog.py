"""Export dialog: a clip, both side by side, the generated video of a trained model (alone, beside
the source, or with its pose drawn over it), or the lip-synced target (retrieval or a face renderer,
alone or beside the driver); audio source, range, height, quality. Runs as a job."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLineEdit, QPushButton, QSpinBox, QWidget)

from avstudio.core import layers, roles
from avstudio.core.project import Project
from avstudio.media.export import PRESETS
from avstudio.workflows.project import ExportRequest

QUALITY = {"High (CRF 16)": 16, "Good (CRF 20)": 20, "Small (CRF 26)": 26, "Lossless (CRF 0)": 0}


class ExportDialog(QDialog):
    def __init__(self, project: Project, frame_count: int, parent=None, models: list[str] | None = None,
                 face_renderers: list[str] | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export Video")
        self.project = project
        self.clip = QComboBox()
        for key, label in (("source", "Source clip"), ("target", "Target clip"),
                           ("side_by_side", "Source | Target side by side")):
            if key == "side_by_side" or project.media_by_role(key):
                self.clip.addItem(label, key)
        for model in models or []:
            for layout, label in (("generated", "Generated"), ("side_by_side", "Source | Generated"),
                                  ("pose_overlay", "Generated + pose overlay")):
                self.clip.addItem(f"{label} — model {model}", f"model:{model}:{layout}")
        for renderer in face_renderers or []:
            name = "retrieval" if renderer == "retrieval" else f"face renderer {renderer}"
            for layout, label in (("generated", "Lip sync"), ("side_by_side", "Driver | Lip sync")):
                self.clip.addItem(f"{label} — {name}", f"face:{renderer}:{layout}")
        self.audio = QComboBox()
        self.audio.addItem("The clip's own soundtrack", "clip")
        for role in roles.VOICE_ROLES:
            if project.media_by_role(role):
                self.audio.addItem(roles.label(role).capitalize(), role)
        if project.find_track(roles.CONVERTED, layers.AUDIO) is not None:
            self.audio.addItem("Converted voice", "converted")
        self.audio.addItem("No audio", "none")
        self.start = QSpinBox()
        self.end = QSpinBox()
        for s in (self.start, self.end):
            s.setRange(0, max(0, frame_count))
        self.end.setValue(frame_count)
        self.height_box = QComboBox()
        for label, h in (("Original", None), ("1080p", 1080), ("720p", 720), ("480p", 480), ("360p", 360)):
            self.height_box.addItem(label, h)
        self.fps = QComboBox()
        for label, value in (("Original", None), ("24", 24.0), ("25", 25.0), ("30", 30.0), ("60", 60.0)):
            self.fps.addItem(label, value)
        self.fps.setToolTip("Output frame rate: frames are picked by time (skipped or repeated)")
        self.quality = QComboBox()
        for label, crf in QUALITY.items():
            self.quality.addItem(label, crf)
        self.preset = QComboBox()
        self.preset.addItems(PRESETS)
        self.preset.setCurrentText("medium")
        self.preset.setToolTip("Slower presets make smaller files at the same quality")
        self.path = QLineEdit(str(self._default_output()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        path_widget = QWidget()
        path_widget.setLayout(row)
        form = QFormLayout(self)
        form.addRow("Video", self.clip)
        form.addRow("Audio", self.audio)
        form.addRow("From frame", self.start)
        form.addRow("To frame (excl.)", self.end)
        form.addRow("Height", self.height_box)
        form.addRow("Frame rate", self.fps)
        form.addRow("Quality", self.quality)
        form.addRow("x264 preset", self.preset)
        form.addRow("Save as", path_widget)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _default_output(self) -> Path:
        base = Path(self.project.folder).parent if self.project.folder else Path.home()
        return base / f"{self.project.name}-export.mp4"

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export video", self.path.text(), "MP4 video (*.mp4)")
        if path:
            self.path.setText(path if path.lower().endswith(".mp4") else path + ".mp4")

    def render_request(self) -> dict | None:
        """Arguments of workflows.motion.render_video (``kind`` "motion") or workflows.lipsync.models
        .render_video (``kind`` "lipsync") when a generated layout is chosen, else None."""
        key = self.clip.currentData() or ""
        if not key.startswith(("model:", "face:")):
            return None
        what, model, layout = key.split(":", 2)
        crf = self.quality.currentData()
        return {"kind": "motion" if what == "model" else "lipsync", "model_id": model, "out": self.path.text(),
                "audio": self.audio.currentData(), "height": self.height_box.currentData(), "crf": crf,
                "preset": self.preset.currentText(), "layout": layout}

    def request(self) -> ExportRequest:
        return ExportRequest(out=self.path.text(), clip=self.clip.currentData(), audio=self.audio.currentData(),
                             start=self.start.value(), end=self.end.value(), height=self.height_box.currentData(),
                             fps=self.fps.currentData(), crf=self.quality.currentData(),
                             preset=self.preset.currentText())

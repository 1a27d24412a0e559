"""The dialog that starts (or resumes) a training run of any kind of model: preset, device, steps,
model name. The kind's presets and their tip come from ml/kinds.py."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QSpinBox

from avstudio.workflows.training import TrainRequest


class TrainDialog(QDialog):
    def __init__(self, kind, models: list[str], parent=None):
        super().__init__(parent)
        self.kind = kind
        presets = kind.presets
        self.setWindowTitle(f"Train {kind.noun}")
        self.preset = QComboBox()
        self.preset.addItems(list(presets))
        self.preset.setCurrentText(kind.default_preset)
        self.preset.setToolTip(kind.preset_tip)
        self.device = QComboBox()
        self.device.setEditable(True)
        self.device.addItems(["auto", "cpu", "cuda", "cuda:0", "cuda:1", "mps"])
        self.steps = QSpinBox()
        self.steps.setRange(1, 10_000_000)
        self.steps.setValue(presets[self.preset.currentText()]["steps"])
        self.preset.currentTextChanged.connect(lambda p: self.steps.setValue(presets[p]["steps"]))
        self.model = QLineEdit()
        self.model.setPlaceholderText("a new name (default: the date and time)")
        self.resume = QCheckBox("Resume this model's last checkpoint")
        self.resume.setEnabled(bool(models))
        if models:
            self.model.setText(models[-1])
        form = QFormLayout(self)
        form.addRow("Preset", self.preset)
        form.addRow("Device", self.device)
        form.addRow("Steps", self.steps)
        form.addRow("Model", self.model)
        form.addRow("", self.resume)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Train")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def request(self) -> TrainRequest:
        return TrainRequest(kind=self.kind.name, preset=self.preset.currentText(),
                            device=self.device.currentText().strip() or "auto", steps=self.steps.value(),
                            model_id=self.model.text().strip() or None, resume=self.resume.isChecked())

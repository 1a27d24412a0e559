"""The Voice menu: analyse a voice (WORLD, in a child process), convert the source voice with the
newest voice model, the pitch editor and its tools, and pitch curves as CSV. Results land on the
undo stack; the pitch editor follows them through the project's change events."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from avstudio.core import models, roles
from avstudio.gui.actions import ActionSpec
from avstudio.workflows import voice


class VoicePanel(QObject):
    def __init__(self, ctx, editor, parent=None):
        super().__init__(parent)
        self.ctx, self.editor = ctx, editor
        self.show_dock = lambda: None  # set by the window: bring the Pitch dock up, tall enough

    def actions(self) -> list:
        v = "Voice"
        out = [(ActionSpec(f"analyse_{clip}", v, "analyse", f"Analyse {roles.title(clip)}",
                           "WORLD analysis: pitch (Harvest), spectral envelope, aperiodicity"),
                lambda c=clip: self.analyse(c)) for clip in roles.VOICE_ROLES]
        out += [(ActionSpec(f"analyse_{clip}", v, "analyse", f"Analyse the {roles.title(clip)} Clip's Voice",
                            f"WORLD analysis of the voice in the {roles.label(clip)}'s soundtrack"),
                 lambda c=clip: self.analyse(c)) for clip in roles.VIDEO_ROLES]
        out.append((ActionSpec("convert_voice", v, "model", "Convert Source Voice", "Convert the source voice with the "
                               "newest voice model (its pitch stays editable)"), self.convert))
        out.append((ActionSpec("pitch_editor", v, "pitch", "Pitch Editor", "Show the Pitch panel"), self.show))
        for tool, text, tip in (("pen", "Pitch Pen", "Draw the pitch curve in the Pitch panel"),
                                ("line", "Pitch Line", "Drag a straight line of pitch"),
                                ("smooth", "Pitch Smoothing Brush", "Brush over the pitch curve to smooth it"),
                                ("select", "Pitch Range Select", "Select a time range of the pitch curve")):
            out.append((ActionSpec(f"f0_{tool}", v, "pitch", text, tip), lambda t=tool: self.use_tool(t)))
        out += [(ActionSpec("import_pitch", v, "interop", "Import Pitch (CSV)…", "Set the shown voice's pitch from a "
                            "CSV of time_s, f0_hz, voiced"), self.import_dialog),
                (ActionSpec("export_pitch", v, "interop", "Export Pitch (CSV)…", "Write the shown voice's pitch as "
                            "CSV (time_s, f0_hz, voiced)"), self.export_dialog)]
        return out

    def show(self) -> None:
        self.show_dock()

    def use_tool(self, tool: str) -> None:
        self.editor.set_tool(tool)
        self.show()

    def analyse(self, clip: str):
        """WORLD analysis of a voice clip; the pitch editor shows it when it lands."""
        return self.ctx.run(voice.analyse, clip, on_done=lambda _r: self._show_clip(clip))

    def _show_clip(self, clip: str) -> None:
        self.editor.fill_clips()
        self.show()

    def voice_models(self) -> list[str]:
        p = self.ctx.project
        return models.model_ids(p.folder, models.VOICE) if p is not None else []

    def convert(self, model_id: str | None = None):
        """The source voice through the newest (or the given) voice model: the project's converted voice."""
        ms = self.voice_models()
        model_id = model_id or (ms[-1] if ms else None)
        if model_id is None:
            self.ctx.error("No voice model", "Train a voice model first.", hint="train_voice")
            return None
        return self.ctx.run(voice.convert, model_id, roles.SOURCE_VOICE, on_done=lambda _r: self._show_clip("converted"))

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.ctx.window, "Import pitch", str(Path.home()), "CSV (*.csv)")
        if path:
            self.ctx.run(voice.import_f0, self.editor.clip, path)

    def export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.ctx.window, "Export pitch", str(Path.home() / "pitch.csv"),
                                              "CSV (*.csv)")
        if path:
            self.ctx.run(voice.export_f0, self.editor.clip, path)

"""Speech in the editor: Lip Sync ▸ Drive Target Face from Speech… (the driving sound — a voice, the
converted voice or a clip's soundtrack — and an optional transcript, typed or imported; analysing it
and driving the face run as jobs, one after the other) and the viseme row's commands on the block
chosen in the Face Curves panel: split at the playhead, merge with the next, delete, relabel."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QInputDialog,
                               QLabel, QMessageBox, QPlainTextEdit, QPushButton, QVBoxLayout)

from avstudio.core import roles
from avstudio.core.errors import UserError
from avstudio.gui.actions import ActionSpec


def speech_choices(project) -> list[tuple[str, str]]:
    """(clip, label) of the clips whose sound can drive the face."""
    from avstudio.workflows.lipsync.speech import speech_file

    out = []
    for clip in (roles.SOURCE_VOICE, roles.CONVERTED, roles.TARGET_VOICE, roles.SOURCE, roles.TARGET):
        try:
            speech_file(project, clip)
        except UserError:
            continue
        out.append((clip, roles.label(clip).capitalize()))
    return out


class SpeechDialog(QDialog):
    """Which sound drives the face, and what is said in it."""

    def __init__(self, choices, mouth_models=(), parent=None):
        super().__init__(parent)
        self.setWindowTitle("Drive the Target's Face from Speech")
        self.audio = QComboBox()
        self.audio.setObjectName("speech_audio")
        for clip, label in choices:
            self.audio.addItem(label, clip)
        self.model = QComboBox()
        self.model.setObjectName("speech_model")
        self.model.addItem("Viseme model (no training)", "visemes")
        for m in mouth_models:
            self.model.addItem(f"Learned: {m}", m)
        self.model.setToolTip("Where the mouth shapes come from: the target's own frames chosen per viseme, or a "
                              "speech → mouth model trained on the target's own speech (Lip Sync ▸ Train Speech → "
                              "Mouth Model…)")
        self.transcript = QPlainTextEdit()
        self.transcript.setObjectName("speech_transcript")
        self.transcript.setPlaceholderText("What is said (English), to align the phones exactly. Leave it empty to "
                                           "recognize them from the sound.")
        load = QPushButton("Import Transcript…")
        load.clicked.connect(self._import)
        form = QFormLayout()
        form.addRow("Driving sound", self.audio)
        form.addRow("Mouth from", self.model)
        form.addRow("Transcript", self.transcript)
        form.addRow("", load)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        note = QLabel("The viseme model takes each mouth shape from the target's own frames (no training); a "
                      "learned model predicts them from the sound. Fix any viseme block in the Face Curves panel "
                      "afterwards.")
        note.setWordWrap(True)
        note.setObjectName("muted")
        lay.addWidget(note)
        lay.addWidget(buttons)

    def _import(self) -> None:
        from avstudio.workflows.lipsync.speech import read_transcript

        path, _ = QFileDialog.getOpenFileName(self, "Import Transcript", "", "Text (*.txt);;All files (*)")
        if not path:
            return
        try:
            self.transcript.setPlainText(read_transcript(path))
        except UserError as exc:
            QMessageBox.warning(self, "Cannot import the transcript", exc.message)

    def choice(self) -> tuple[str, str | None, str]:
        text = self.transcript.toPlainText().strip()
        return self.audio.currentData(), (text or None), self.model.currentData()


class SpeechPanel(QObject):
    def __init__(self, ctx, curves, lipsync, parent=None):
        super().__init__(parent)
        self.ctx, self.curves, self.lipsync = ctx, curves, lipsync
        self.show_curves = lambda: None   # set by the window: bring the Face Curves panel up

    def actions(self) -> list:
        m = "Lip Sync"
        return [(ActionSpec("lipsync_speech", m, "drive", "Drive Target Face from Speech…", "Make the target say "
                            "what a voice says: phones and visemes from the sound, mouths from the target's own "
                            "frames"), self.ask),
                (ActionSpec("viseme_split", m, "visemes", "Split Viseme at Playhead", "Cut the chosen viseme block "
                            "in two at the playhead"), self.split),
                (ActionSpec("viseme_merge", m, "visemes", "Merge Viseme with Next", "Join the chosen viseme block "
                            "with the one after it"), lambda: self._edit("merge")),
                (ActionSpec("viseme_delete", m, "visemes", "Delete Viseme", "Remove the chosen viseme block (its "
                            "time becomes silence)"), lambda: self._edit("delete")),
                (ActionSpec("viseme_relabel", m, "visemes", "Relabel Viseme…", "Give the chosen block another "
                            "viseme"), self.relabel)]

    # ---- driving from speech ---------------------------------------------------------------------
    def ask(self) -> None:
        p = self.ctx.project
        if p is None:
            self.ctx.error("No project", "Open a project first.")
            return
        choices = speech_choices(p)
        if not choices:
            self.ctx.error("No speech to drive from", "Add a voice recording (File ▸ Set Source Voice…) or a clip "
                           "with sound first.")
            return
        from avstudio.core import models

        dialog = SpeechDialog(choices, models.model_ids(p.folder, models.MOUTH) if p.folder else [], self.ctx.window)
        if dialog.exec() == QDialog.Accepted:
            self.drive(*dialog.choice())

    def drive(self, clip: str, transcript: str | None = None, model: str = "visemes"):
        """Analyse ``clip``'s speech, then drive the target's face from it with the viseme model or a
        speech → mouth model (two jobs, two undo steps)."""
        from avstudio.workflows.lipsync.speech import analyse_speech

        return self.ctx.run(analyse_speech, clip, transcript, on_done=lambda _r: self._analysed(clip, model))

    def _analysed(self, clip: str, model: str) -> None:
        if model == "visemes":
            from avstudio.workflows.lipsync.visemes import drive_from_speech

            self.ctx.run(drive_from_speech, clip, on_done=lambda _r: self._driven())
        else:
            from avstudio.workflows.lipsync.mouth import predict

            self.ctx.run(predict, clip, model, on_done=lambda _r: self._driven())

    def _driven(self) -> None:
        self.lipsync._driven()
        self.show_curves()
        self.curves.refresh()

    # ---- the viseme row ------------------------------------------------------------------------------
    def _chosen(self) -> int | None:
        if self.curves.viseme_row() is None:
            self.ctx.error("No viseme row", "Drive the target's face from speech first.", hint="lipsync_speech")
            return None
        if self.curves.chosen_block is None:
            self.ctx.error("No viseme chosen", "Click a block in the visemes row of the Face Curves panel first.")
            return None
        return self.curves.chosen_block

    def _edit(self, op: str, *args) -> None:
        i = self._chosen()
        if i is not None:
            self.curves.edit_visemes(op, i, *args)

    def split(self) -> None:
        tb = self.ctx.player.timebase
        if tb is not None:
            self._edit("split", float(tb.frame_to_seconds(self.ctx.player.frame)))

    def relabel(self) -> None:
        i = self._chosen()
        if i is None:
            return
        from avstudio.analysis.speech.visemes import table

        names = [f"{n} — {v.text}" for n, v in table().items()]
        current = self.curves.viseme_row().spans()[i][2]
        item, ok = QInputDialog.getItem(self.ctx.window, "Relabel Viseme", "Viseme:", names,
                                        [n.split(" — ")[0] for n in names].index(current), False)
        if ok:
            self.curves.edit_visemes("relabel", i, item.split(" — ")[0])

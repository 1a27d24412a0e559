"""Training from the editor, for every kind of model: the Train dialogs, starting or resuming a run in a
child process (saving the project first: training reads it from disk), the monitor following it, and
scoring each checkpoint it saves on held-out data while training goes on (one at a time, niced, in
a child process), then the checkpoint it ends on."""

from __future__ import annotations

from PySide6.QtCore import QObject

from avstudio.core import models
from avstudio.core.errors import UserError
from avstudio.core.progress import JobState
from avstudio.gui.actions import ActionSpec
from avstudio.ml.kinds import MODEL_KINDS
from avstudio.workflows import training


class TrainingController(QObject):
    def __init__(self, ctx, monitor, parent=None):
        super().__init__(parent)
        self.ctx, self.monitor = ctx, monitor
        self.show_monitor = lambda: None  # set by the window: bring the Training dock up
        self.runs: dict[str, tuple[str, str, str]] = {}  # job id of a run → (kind, project folder, model id)
        self._scoring = None
        ctx.jobs.progressed.connect(monitor.progressed)
        ctx.jobs.progressed.connect(self._checkpoint_saved)
        ctx.jobs.finished.connect(monitor.finished)

    def actions(self) -> list:
        return [(ActionSpec("train", "Analysis", "model", "Train…", "Train (or resume) a model of the target person"),
                 lambda: self.train_dialog(models.MOTION)),
                (ActionSpec("train_voice", "Voice", "model", "Train Voice Model…", "Train CycleGAN-VC2 from the source "
                            "voice to the target voice"), lambda: self.train_dialog(models.VOICE)),
                (ActionSpec("train_lipsync", "Lip Sync", "model", "Train Face Renderer…", "Train a renderer of the "
                            "target's face on its own frames (analyse the target's face first)"),
                 lambda: self.train_dialog(models.LIPSYNC)),
                (ActionSpec("train_mouth", "Lip Sync", "model", "Train Speech → Mouth Model…", "Learn how the "
                            "target's mouth moves with its own speech (analyse its face and speech first)"),
                 lambda: self.train_dialog(models.MOUTH)),
                (ActionSpec("train_expert", "Lip Sync", "model", "Train Lip-Sync Expert…", "Learn which sound goes "
                            "with which mouth for the target (its own speech): it reads the offset of any lip sync"),
                 lambda: self.train_dialog(models.EXPERT))]

    def model_ids(self, kind: str) -> list[str]:
        p = self.ctx.project
        return models.model_ids(p.folder, kind) if p is not None else []

    def train_dialog(self, kind: str) -> None:
        from avstudio.gui.training.dialog import TrainDialog

        if self.ctx.project is None:
            return
        dialog = TrainDialog(MODEL_KINDS[kind], self.model_ids(kind), self.ctx.window)
        if dialog.exec():
            self.start(dialog.request())

    def start(self, request: training.TrainRequest):
        """Train (or resume) in a child process; the monitor follows the run."""
        handle = self.ctx.run(training.train, request, on_end=self._ended)
        if handle is None:
            return None
        self.runs[handle.id] = (request.kind, str(self.ctx.project.folder), request.model_id)
        run = models.RunFolder.of(self.ctx.project.folder, request.model_id)
        self.monitor.watch(handle, run.losses_file if request.resume else None)
        self.show_monitor()
        return handle

    def _watched(self, handle):
        """(kind, model id) of the run the monitor follows, when it belongs to the open project."""
        kind, folder, model_id = self.runs.get(handle.id, (None, None, None))
        p = self.ctx.project
        if kind is None or handle is not self.monitor.handle or p is None or str(p.folder) != folder:
            return None
        return kind, model_id

    def _ended(self, handle) -> None:
        watched = self._watched(handle) if handle is not None else None
        if handle is not None:
            self.runs.pop(handle.id, None)
        self.ctx.events.modelsChanged.emit()
        if watched is not None and handle.state is JobState.DONE:
            self.evaluate(watched[1], watched[0])

    def _checkpoint_saved(self, handle, progress) -> None:
        """A run saved a checkpoint: score it while training goes on (the training runs niced, so this
        costs it little). One at a time; while one is being scored, the next is skipped."""
        path = (progress.data or {}).get("checkpoint")
        watched = self._watched(handle) if path else None
        if watched is None or (self._scoring is not None and not self._scoring.state.finished):
            return
        self.evaluate(watched[1], watched[0], checkpoint=path, quiet=True)

    def evaluate(self, model_id: str, kind: str, checkpoint: str | None = None, quiet: bool = False):
        """Score a checkpoint (the newest without one); the monitor shows it beside the baseline. A score
        taken while training goes on says a failure in the status line, not in a dialog."""
        try:
            op = training.evaluate(self.ctx.project, model_id, device="cpu", checkpoint=checkpoint, quiet=quiet)
        except UserError as exc:
            self.ctx.status(f"Cannot score {model_id}: {exc.message}")
            return None
        self._scoring = self.ctx.start(op, on_done=lambda m: self.monitor.show_metrics(kind, m), quiet_failure=quiet)
        return self._scoring

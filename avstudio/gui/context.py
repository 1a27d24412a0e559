"""The editor context every panel shares instead of reaching into the window (SLEAP's CommandContext,
Glue's Application): the open project, the undo stack, the jobs, the player, the change events, and
the ways to run an operation, push an edit, say something (status line, error box) or ask."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QMessageBox

from avstudio.core.errors import UserError
from avstudio.core.progress import JobState
from avstudio.core.project import Project
from avstudio.gui.events import ProjectEvents
from avstudio.gui.jobs.manager import JobManager
from avstudio.gui.undo import push_edit
from avstudio.gui.widgets.playback import Player
from avstudio.workflows.operation import Operation

log = logging.getLogger("avstudio.gui")


class EditorContext(QObject):
    projectChanged = Signal()  # another project was opened (or the project closed)

    def __init__(self, window, settings, ask: bool = True):
        super().__init__(window)
        self.window = window          # the parent of dialogs, the owner of the status bar
        self.settings = settings
        self.ask = ask                # False in tests: dialogs that would block take their default answer
        self.project: Project | None = None
        self.undo_stack = QUndoStack(window)
        self.jobs = JobManager(window)
        self.events = ProjectEvents(self)
        self.player = Player(window)
        self.actions: dict = {}       # id → QAction, once the menus are built
        self.save_for_job = lambda: True  # set by the project controller: save before a job reads the disk

    # ---- the project -------------------------------------------------------------------------
    def set_project(self, project: Project | None) -> None:
        self.project = project
        self.undo_stack.clear()
        self.projectChanged.emit()

    def push(self, edit) -> None:
        """Apply a core edit through the undo stack (its changes go out as events)."""
        if self.project is not None:
            push_edit(self.undo_stack, self.project, edit, self.events)

    def push_made(self, make) -> None:
        """Build an edit with ``make()`` and push it: a UserError is shown, "nothing to change" said."""
        try:
            edit = make()
        except UserError as exc:
            self.error("Cannot do that", exc)
            return
        if edit is None:
            self.status("Nothing to change in that range.", 5000)
            return
        self.push(edit)

    # ---- saying and asking -------------------------------------------------------------------
    def status(self, message: str, ms: int = 10000) -> None:
        for line in message.splitlines()[1:]:
            log.warning("%s", line)
        self.window.statusBar().showMessage(message.splitlines()[0] if message else "", ms)

    def hint_text(self, hint: str | None) -> str:
        action = self.actions.get(hint) if hint else None
        return f" ({action.data().path})" if action is not None else ""

    def with_hint(self, message: str, hint: str | None) -> str:
        """The message with the menu path of its fix, inside its last sentence."""
        text = self.hint_text(hint)
        return message[:-1] + text + "." if text and message.endswith(".") else message + text

    def error(self, title: str, exc: Exception | str, details: str | None = None, *, hint: str | None = None,
              logged: bool = False) -> None:
        message = exc.message if isinstance(exc, UserError) else str(exc)
        details = details or (exc.details if isinstance(exc, UserError) else None)
        message = self.with_hint(message, hint or (exc.hint if isinstance(exc, UserError) else None))
        if not logged:
            log.error("%s: %s", title, message)
        self.window.statusBar().showMessage(message, 10000)
        if self.ask:
            box = QMessageBox(QMessageBox.Warning, title, message, parent=self.window)
            if details:
                box.setDetailedText(details)
            box.exec()

    def confirm(self, title: str, question: str, default: bool = True) -> bool:
        if not self.ask:
            return default
        yes, no = QMessageBox.Yes, QMessageBox.No
        return QMessageBox.question(self.window, title, question, yes | no, yes if default else no) == yes

    # ---- running operations ------------------------------------------------------------------
    def run(self, factory, *args, on_done=None, on_end=None, **kwargs):
        """Build an operation of the open project and start it (saving first when its job reads the
        project from disk); a UserError while building it is shown, not raised. ``on_done(result)``
        runs after its edit is on the undo stack; ``on_end(handle)`` after any end (done, failed,
        cancelled). Returns the job handle, or None."""
        if self.project is None:
            self.error("No project", "Open a project, or drop a source and a target video on the two panes.")
            return None
        if getattr(factory, "needs_saved", False) and not self.save_for_job():
            return None
        if getattr(factory, "needs_folder", False) and self.project.folder is None and not self.save_for_job():
            return None
        try:
            op = factory(self.project, *args, **kwargs)
        except UserError as exc:
            self.error("Cannot do that", exc)
            if on_end is not None:
                on_end(None)
            return None
        return self.start(op, on_done, on_end)

    def start(self, op: Operation, on_done=None, on_end=None, quiet_failure: bool = False):
        """Start an operation built on the open project; its result becomes an edit of that project.
        A failure is shown in a dialog (in the status line only, with ``quiet_failure``: background work
        the user did not ask for just now)."""
        project = self.project

        def finished(handle) -> None:
            try:
                apply(handle)
            finally:
                if on_end is not None:
                    on_end(handle)

        def apply(handle) -> None:
            if handle.state is JobState.FAILED:
                if quiet_failure:
                    self.status(f"{op.name}: {handle.error}")
                else:
                    self.error(op.name, handle.error or "Failed", handle.error_details, hint=handle.error_hint,
                               logged=True)
            if handle.state is not JobState.DONE or self.project is not project:
                return  # cancelled, failed, or another project was opened meanwhile
            try:
                self.push(op.edit(project, handle.result))
            except UserError as exc:
                self.error(op.name, exc)
                return
            self.status(op.describe(handle.result))
            if on_done is not None:
                on_done(handle.result)
        return self.jobs.start(op, on_finished=finished)

"""Core edits on Qt's undo stack: one QUndoCommand per edit; a drag's edits merge into one step.
After every apply and revert the project's changes go out as typed events (gui/events.py)."""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand, QUndoStack

from avstudio.core.edits import Edit
from avstudio.core.project import Project

MERGEABLE = 1  # QUndoStack only asks commands with equal ids to merge; merge keys decide the rest


class EditCommand(QUndoCommand):
    def __init__(self, project: Project, edit: Edit, events=None):
        super().__init__(edit.text)
        self.project, self.edit, self.events = project, edit, events

    def _run(self, change) -> None:
        snap = self.project.snapshot()
        change(self.project)
        if self.events is not None:
            self.events.emit_changes(self.project.changes_since(snap))

    def redo(self) -> None:
        # QUndoStack.push calls redo() once: that is where a new edit is applied.
        self._run(self.edit.apply)

    def undo(self) -> None:
        self._run(self.edit.revert)

    def id(self) -> int:
        return -1 if self.edit.merge_key is None else MERGEABLE

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, EditCommand) or other.edit.merge_key != self.edit.merge_key:
            return False
        return self.edit.merge(other.edit)


def push_edit(stack: QUndoStack, project: Project, edit: Edit | None, events=None) -> None:
    """Apply ``edit`` through the undo stack (None: nothing to do)."""
    if edit is not None:
        stack.push(EditCommand(project, edit, events))

"""Core edits on Qt's undo stack: one QUndoCommand per edit; a drag's edits merge into one step."""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand, QUndoStack

from avstudio.core.edits import Edit
from avstudio.core.project import Project

_merge_ids: dict = {}


def _merge_id(key) -> int:
    """QUndoCommand.id() must be an int: map each merge key to a stable small number."""
    if key is None:
        return -1
    return _merge_ids.setdefault(key, len(_merge_ids) + 1)


class EditCommand(QUndoCommand):
    def __init__(self, project: Project, edit: Edit, on_change=None):
        super().__init__(edit.text)
        self.project, self.edit, self.on_change = project, edit, on_change

    def redo(self) -> None:
        # QUndoStack.push calls redo() once: that is where a new edit is applied.
        self.edit.apply(self.project)
        if self.on_change:
            self.on_change(self.edit)

    def undo(self) -> None:
        self.edit.revert(self.project)
        if self.on_change:
            self.on_change(self.edit)

    def id(self) -> int:
        return _merge_id(self.edit.merge_key)

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, EditCommand) or other.edit.merge_key != self.edit.merge_key:
            return False
        return self.edit.merge(other.edit)


def push_edit(stack: QUndoStack, project: Project, edit: Edit | None, on_change=None) -> None:
    """Apply ``edit`` through the undo stack (None: nothing to do)."""
    if edit is not None:
        stack.push(EditCommand(project, edit, on_change))

"""Edits: small undoable changes to a project, storing diffs rather than snapshots.

``apply`` and ``revert`` are exact inverses. ``merge_key`` lets a run of edits (one drag of a
keypoint, one pen stroke) collapse into one undo step: the GUI's ``QUndoCommand.mergeWith`` calls
:meth:`Edit.merge`. Core owns the logic; the GUI only wraps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Hashable

import numpy as np

if TYPE_CHECKING:
    from avstudio.core.project import Project


class Edit:
    text: str = "Edit"

    def apply(self, project: Project) -> None:
        raise NotImplementedError

    def revert(self, project: Project) -> None:
        raise NotImplementedError

    @property
    def merge_key(self) -> Hashable | None:
        """Edits with equal, non-None keys may merge into one undo step."""
        return None

    def merge(self, later: Edit) -> bool:
        """Absorb ``later`` (already applied) into self; True if merged."""
        return False


def _as_index(index: tuple) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(i, dtype=np.intp) for i in index)


@dataclass(eq=False)
class ArrayEdit(Edit):
    """Set elements of one array of one track: ``array[index] = new`` (advanced indexing with a
    tuple of equal-length integer arrays, one per leading axis). ``old`` is captured by :meth:`make`."""

    track_id: str
    array: str
    index: tuple[np.ndarray, ...]
    old: np.ndarray
    new: np.ndarray
    text: str = "Edit"
    group: Hashable | None = None  # e.g. a drag id: edits of one gesture share it

    @classmethod
    def make(cls, project: Project, track_id: str, array: str, index: tuple, new: Any,
             text: str = "Edit", group: Hashable | None = None) -> ArrayEdit:
        arr = project.track(track_id).arrays[array]
        idx = _as_index(index)
        old = arr[idx].copy()
        new_arr = np.broadcast_to(np.asarray(new, dtype=arr.dtype), old.shape).copy()
        return cls(track_id, array, idx, old, new_arr, text, group)

    def _write(self, project: Project, values: np.ndarray) -> None:
        track = project.track(self.track_id)
        track.arrays[self.array][self.index] = values
        project.mark_track_changed(self.track_id)

    def apply(self, project: Project) -> None:
        self._write(project, self.new)

    def revert(self, project: Project) -> None:
        self._write(project, self.old)

    @property
    def merge_key(self) -> Hashable | None:
        if self.group is None:
            return None
        return ("array", self.track_id, self.array, self.group)

    def merge(self, later: Edit) -> bool:
        if not isinstance(later, ArrayEdit) or later.merge_key != self.merge_key or self.merge_key is None:
            return False
        if len(later.index) != len(self.index):
            return False
        if all(np.array_equal(a, b) for a, b in zip(self.index, later.index)):
            self.new = later.new.copy()  # one drag of the same points: keep the first old, the last new
            return True
        # One stroke over different elements (a pen stroke): the union of both; where they overlap,
        # the first edit's old value and the later edit's new value.
        if self.new.shape[:1] != (len(self.index[0]),) or later.new.shape[:1] != (len(later.index[0]),):
            return False  # only element-wise index lists can be united
        mine = {k: i for i, k in enumerate(zip(*(a.tolist() for a in self.index)))}
        new = self.new.copy()
        add = []
        for j, k in enumerate(zip(*(a.tolist() for a in later.index))):
            i = mine.get(k)
            if i is None:
                add.append(j)
            else:
                new[i] = later.new[j]
        add = np.asarray(add, np.intp)
        self.index = tuple(np.concatenate([a, b[add]]) for a, b in zip(self.index, later.index))
        self.old = np.concatenate([self.old, later.old[add]])
        self.new = np.concatenate([new, later.new[add]])
        return True


@dataclass(eq=False)
class CompoundEdit(Edit):
    """Several edits applied in order and reverted in reverse order, as one undo step."""

    edits: list[Edit]
    text: str = "Edit"

    def apply(self, project: Project) -> None:
        for e in self.edits:
            e.apply(project)

    def revert(self, project: Project) -> None:
        for e in reversed(self.edits):
            e.revert(project)


class GestureEdit(CompoundEdit):
    """A compound edit of one gesture (a drag, a pen or brush stroke): later pieces of the same
    gesture (equal ``key``) merge into it, so the gesture is one undo step."""

    def __init__(self, edits, text, key):
        super().__init__(edits, text)
        self._key = key

    @property
    def merge_key(self):
        return self._key

    def merge(self, later) -> bool:
        if not isinstance(later, GestureEdit) or later._key != self._key or len(later.edits) != len(self.edits):
            return False
        return all(a.merge(b) for a, b in zip(self.edits, later.edits))


_MISSING = object()


@dataclass(eq=False)
class SetSetting(Edit):
    """Change one project setting (``None``-safe: an absent key is restored as absent)."""

    key: str
    new: Any
    old: Any = _MISSING
    text: str = "Change setting"

    def apply(self, project: Project) -> None:
        if self.old is _MISSING:
            self.old = project.settings.get(self.key, _MISSING)
        project.settings[self.key] = self.new
        project.touch()

    def revert(self, project: Project) -> None:
        if self.old is _MISSING:
            project.settings.pop(self.key, None)
        else:
            project.settings[self.key] = self.old
        project.touch()

    @property
    def merge_key(self) -> Hashable | None:
        return ("setting", self.key)

    def merge(self, later: Edit) -> bool:
        if isinstance(later, SetSetting) and later.key == self.key:
            self.new = later.new
            return True
        return False


@dataclass(eq=False)
class ReplaceTrack(Edit):
    """Put a whole track into the project (a new analysis, an import), replacing the track with the
    same id if there is one; revert restores exactly what was there before."""

    track: object  # avstudio.core.tracks.Track
    text: str = "Replace track"
    _old: object = None
    _had_old: bool = False

    def apply(self, project: Project) -> None:
        self._had_old = self.track.id in project.tracks
        self._old = project.tracks.get(self.track.id)
        project.replace_track(self.track)

    def revert(self, project: Project) -> None:
        if self._had_old:
            project.replace_track(self._old)
        else:
            project.remove_track(self.track.id)


@dataclass(eq=False)
class SetMedia(Edit):
    """Use a media file in a role (a new reference, or a relinked one with the old id); revert puts back
    exactly the references it replaced."""

    ref: object  # avstudio.core.project.MediaRef
    text: str = "Set media"
    _replaced: list = None

    def apply(self, project: Project) -> None:
        self._replaced = project.put_media(self.ref)

    def revert(self, project: Project) -> None:
        project.remove_media(self.ref.id)
        for old in self._replaced or []:
            project.put_media(old)


class History:
    """A plain undo/redo list for headless use (CLI scripts, tests). The GUI uses QUndoStack."""

    def __init__(self, project: Project):
        self.project = project
        self._done: list[Edit] = []
        self._undone: list[Edit] = []

    def push(self, edit: Edit) -> None:
        edit.apply(self.project)
        self._undone.clear()
        if self._done and edit.merge_key is not None and self._done[-1].merge_key == edit.merge_key:
            if self._done[-1].merge(edit):
                return
        self._done.append(edit)

    def undo(self) -> bool:
        if not self._done:
            return False
        edit = self._done.pop()
        edit.revert(self.project)
        self._undone.append(edit)
        return True

    def redo(self) -> bool:
        if not self._undone:
            return False
        edit = self._undone.pop()
        edit.apply(self.project)
        self._done.append(edit)
        return True

    def __len__(self) -> int:
        return len(self._done)

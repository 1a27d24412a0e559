"""An operation: one user action, written once for both front ends (the editor and the CLI).

It knows its job (a generator function, named "avstudio.module:function" so a child process can
import it), where the job runs, whether it reads the project from disk (so unsaved changes must be
saved first), how its result becomes an edit of the project, and its one-line summary. The job never
changes the project: ``apply`` does, on the thread that owns the project — the editor through its
undo stack, the CLI through :class:`avstudio.core.edits.History` — so a menu item and a command give
the same project.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field
from typing import Any, Callable

from avstudio.core.edits import Edit
from avstudio.core.project import Project


class Runs(str, enum.Enum):
    """Where a kind of work runs in the editor. Decided by the work, never by the call site."""

    THREAD = "thread"    # I/O, decoding and numpy: a worker thread of the editor
    PROCESS = "process"  # MediaPipe, WORLD analysis, torch: they would hold the GIL (stalling the
    #                      GUI thread) and must be killable with their children


@dataclass
class Operation:
    name: str
    job: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    runs: Runs = Runs.THREAD
    needs_saved: bool = False
    apply: Callable[[Project, Any], Edit | None] | None = None
    summary: Callable[[Any], str] | None = None
    quiet: bool = False  # routine work: leaves the jobs panel by itself when it succeeds

    def edit(self, project: Project, result: Any) -> Edit | None:
        """The edit that puts ``result`` into ``project`` (None: the result changes nothing in it)."""
        return self.apply(project, result) if self.apply is not None else None

    def describe(self, result: Any) -> str:
        return self.summary(result) if self.summary is not None else f"{self.name}: done."


def needs_saved_project(factory):
    """Mark an operation factory whose job reads the project from disk: the editor saves unsaved
    changes (asking for a folder when there is none) before it builds the operation."""
    @functools.wraps(factory)
    def build(*args, **kwargs) -> Operation:
        op = factory(*args, **kwargs)
        op.needs_saved = True
        return op
    build.needs_saved = True
    return build


def needs_project_folder(factory):
    """Mark an operation factory whose job writes into the project's folder (a cache): the editor asks
    where to save a project that has no folder yet before it builds the operation."""
    factory.needs_folder = True
    return factory


def run_now(project: Project, op: Operation, history=None):
    """Run an operation to its end on this thread and apply its edit (through ``history`` when given):
    scripts, tests and benchmarks. Returns the job's result."""
    from avstudio.core.progress import run_to_end
    from avstudio.jobs.worker import resolve

    result = run_to_end(resolve(op.job)(*op.args, **op.kwargs))
    edit = op.edit(project, result)
    if edit is not None:
        history.push(edit) if history is not None else edit.apply(project)
    return result


def folder_of(project: Project) -> str:
    """The saved project's folder, for jobs that read it from disk."""
    from avstudio.core.errors import ProjectError

    if project.folder is None:
        raise ProjectError("Save the project first: this step reads it from its folder.")
    return str(project.folder)

"""Errors a user can act on.

Every boundary (media open, project load, model load, device) turns library exceptions into one of
these, so the GUI can show ``message`` in a dialog and the CLI can print it without a traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix: which file, what is wrong, what to do.

    ``details`` holds the underlying technical text (shown on demand, never as the headline).
    ``hint`` names the action that fixes it (an action id such as "analyse_target_pose"): the editor
    shows it as a menu path, the CLI as a command — lower layers never spell out either.
    """

    def __init__(self, message: str, *, path: str | None = None, details: str | None = None,
                 hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.details = details
        self.hint = hint

    def __str__(self) -> str:  # what the CLI prints and the GUI shows
        return self.message


class MediaError(UserError):
    """A media file cannot be opened, decoded or written."""


class ProjectError(UserError):
    """A project folder cannot be read or written."""


class SchemaError(ProjectError):
    """A project written by a newer AV Studio, or with a schema this version cannot read."""


class MissingMediaError(ProjectError):
    """A media file a project refers to is not where it was; the user must relink it."""

    def __init__(self, message: str, *, path: str | None = None, media_id: str | None = None,
                 details: str | None = None, hint: str | None = "relink"):
        super().__init__(message, path=path, details=details, hint=hint)
        self.media_id = media_id


class JobError(UserError):
    """A background job failed in a way the user should hear about."""


class Cancelled(Exception):
    """Raised inside a job when the user cancelled it. Not a failure, so not a UserError."""

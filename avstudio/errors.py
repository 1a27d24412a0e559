"""``avstudio.errors`` is the public name of the user-facing error types (they live in core)."""

from avstudio.core.errors import (  # noqa: F401
    Cancelled,
    JobError,
    MediaError,
    MissingMediaError,
    ProjectError,
    SchemaError,
    UserError,
)

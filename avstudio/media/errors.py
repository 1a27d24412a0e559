"""Turn PyAV/FFmpeg exceptions into MediaErrors a user can act on."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import av

from avstudio.core.errors import MediaError


def check_readable(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.exists():
        raise MediaError(f"{p} does not exist. Check the path, or relink the media if it moved.", path=str(p))
    if p.is_dir():
        raise MediaError(f"{p} is a folder, not a media file.", path=str(p))
    if p.stat().st_size == 0:
        raise MediaError(f"{p} is empty (0 bytes): the file was not written completely. "
                         "Export or copy it again.", path=str(p))
    return p


@contextlib.contextmanager
def media_errors(path: str | os.PathLike, action: str = "read"):
    """Re-raise FFmpeg errors as MediaError naming the file and what to do."""
    try:
        yield
    except MediaError:
        raise
    except av.error.FileNotFoundError as exc:
        raise MediaError(f"{path} does not exist.", path=str(path), details=repr(exc)) from exc
    except av.error.PermissionError as exc:
        raise MediaError(f"No permission to {action} {path}.", path=str(path), details=repr(exc)) from exc
    except (av.error.InvalidDataError, av.error.EOFError) as exc:
        raise MediaError(
            f"{path} is not a media file FFmpeg can {action}, or it is damaged or truncated. "
            "Check that it plays in a media player; re-export or re-download it.",
            path=str(path), details=repr(exc)) from exc
    except av.error.FFmpegError as exc:
        raise MediaError(f"Could not {action} {path}: {exc}.", path=str(path), details=repr(exc)) from exc
    except OSError as exc:
        raise MediaError(f"Could not {action} {path}: {exc.strerror or exc}.", path=str(path),
                         details=repr(exc)) from exc

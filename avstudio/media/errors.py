"""Turn PyAV/FFmpeg exceptions into MediaErrors a user can act on.

FFmpeg's errors carry an errno; the operating system's ones (a full disk, a read-only folder, no
permission) are worded once, in core/files. EPERM from FFmpeg itself is not the operating system:
it is FFmpeg refusing a file (a concat list or playlist pointing at files it may not open).
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

import av

from avstudio.core.errors import MediaError
from avstudio.core.files import check_regular_file, user_os_error


def check_readable(path: str | os.PathLike) -> Path:
    """Refuse, before FFmpeg opens it, what is not a non-empty regular file (FFmpeg would wait forever
    on a FIFO, or read /dev/zero for ever)."""
    p = Path(path)
    if not os.path.lexists(p) or (p.is_symlink() and not p.exists()):
        raise MediaError(f"{p} does not exist. Check the path, or relink the media if it moved.", path=str(p))
    st = check_regular_file(p, "media file", cls=MediaError)
    if st.st_size == 0:
        raise MediaError(f"{p} is empty (0 bytes): the file was not written completely. "
                         "Export or copy it again.", path=str(p))
    return p


# A header naming a codec or format FFmpeg has no decoder for: a damaged header, or a format FFmpeg
# does not read — either way the file cannot be used.
_HEADER_FAULTS = (av.error.DecoderNotFoundError, av.error.DemuxerNotFoundError)
_READING = ("read", "open", "decode")


def _damaged(path, action: str, exc: Exception) -> MediaError:
    return MediaError(f"{path} is not a media file FFmpeg can {action}, or it is damaged or truncated. "
                      "Check that it plays in a media player; re-export or re-download it.",
                      path=str(path), details=repr(exc))


@contextlib.contextmanager
def media_errors(path: str | os.PathLike, action: str = "read"):
    """Re-raise FFmpeg and operating-system errors as MediaError naming the file and what to do."""
    try:
        yield
    except MediaError:
        raise
    except (av.error.InvalidDataError, av.error.EOFError, *_HEADER_FAULTS) as exc:
        raise _damaged(path, action, exc) from exc
    except av.error.FFmpegError as exc:
        if exc.errno == errno.EPERM:
            raise MediaError(f"FFmpeg refused to {action} {path}: it is a list of other files (a playlist or a "
                             "concat list) or uses a protocol it may not open. Give the media file itself.",
                             path=str(path), details=repr(exc)) from exc
        if exc.errno == errno.EINVAL and action.split()[0] in _READING:
            raise _damaged(path, action, exc) from exc  # e.g. a header's channel count no decoder opens
        raise user_os_error(exc, action, path, cls=MediaError) from exc
    except OSError as exc:
        raise user_os_error(exc, action, path, cls=MediaError) from exc

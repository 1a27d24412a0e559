"""Arrays on disk that training writes into (the prepared frames of a dataset, the target's faces).

Writing into a memory-mapped file is not a write Python sees: the file is sparse until each page is
touched, and on a full disk the kernel answers the page fault with SIGBUS, which kills the process
with no message (exit 135). So every such file has its blocks allocated before it is mapped: a full
disk is then an OSError, and a message, before anything is written.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

import numpy as np

from avstudio.core.files import user_os_error

# posix_fallocate's answers when the file system cannot allocate ahead (the mapping is then as before).
_CANNOT_ALLOCATE = (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS)
_AFTER = "The training data could not be prepared there."


def disk_array(path: Path, dtype, shape: tuple[int, ...], shown: Path | None = None) -> np.memmap:
    """A new .npy file of ``shape`` mapped in memory for writing, its space on disk taken first (a
    UserError saying the disk is full, naming ``shown`` or ``path``, when it is not there)."""
    try:
        array = np.lib.format.open_memmap(path, "w+", dtype, shape)
        if hasattr(os, "posix_fallocate"):
            with open(path, "rb+") as f:
                try:
                    os.posix_fallocate(f.fileno(), 0, os.fstat(f.fileno()).st_size)
                except OSError as exc:
                    if exc.errno not in _CANNOT_ALLOCATE:
                        raise
    except OSError as exc:
        raise user_os_error(exc, "write", shown or path, after=_AFTER) from exc
    return array


@contextlib.contextmanager
def prepared_on_disk(folder: Path):
    """Preparing the training data in ``folder``: an operating-system error (a full disk) as a message."""
    try:
        yield
    except OSError as exc:
        raise user_os_error(exc, "write", folder, after=_AFTER) from exc

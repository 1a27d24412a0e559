"""One writer per project: an advisory lock on ``<project>/.avstudio-lock``.

The editor holds it while a project is open in it; a command that changes a project (an import, an
analysis, a retarget) holds it from loading to saving. A second process that wants to change the
same project is refused at once with a message naming the holder, instead of saving over the other's
edits. The operating system drops the lock when its process ends, however it ends (a crash, kill -9),
so a stale lock cannot outlive its holder; the file itself stays and is harmless.

Reading a project (a training run, an evaluation, an export) takes no lock. Where the platform has
no ``fcntl`` (Windows) or the folder cannot hold a lock file (a read-only disk), the lock is a no-op
and the save-time check in core/store.py (the project on disk changed since it was loaded) still
refuses to overwrite another writer's work.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from avstudio.core.errors import ProjectError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK_FILE = ".avstudio-lock"
_HOLDER_LIMIT = 4096


class ProjectLockedError(ProjectError):
    """Another process is changing (or has open) the project."""


def _holder(path: Path) -> str:
    """Who holds the lock, in words, from what the holder wrote into the file."""
    try:
        with open(path, "rb") as f:
            info = json.loads(f.read(_HOLDER_LIMIT).decode("utf-8"))
        when = time.strftime("%H:%M:%S", time.localtime(float(info["since"])))
        return f"{info['owner']} (process {int(info['pid'])}, since {when})"
    except (OSError, ValueError, KeyError, TypeError, OverflowError):
        return "another AV Studio process"


class ProjectLock:
    """The lock of one project folder, held by this process until :meth:`release`."""

    def __init__(self, folder: Path, fd: int | None, owner: str = ""):
        self.folder = Path(folder)
        self.owner = owner
        self._fd = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def covers(self, folder) -> bool:
        """This lock is held on ``folder`` (compared as the same folder on disk)."""
        if self._fd is None:
            return False
        try:
            return os.path.samefile(self.folder, folder)
        except OSError:
            return False

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)  # closing drops the flock
            except OSError:
                pass
            self._fd = None

    def __enter__(self) -> ProjectLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def acquire(folder, owner: str, *, wait_s: float = 0.0) -> ProjectLock:
    """Lock ``folder`` for ``owner`` ("the editor", "avstudio pose import"); raise
    ProjectLockedError naming the holder when another process has it (after ``wait_s`` seconds of
    retrying: a save in another process takes milliseconds). A lock that cannot be taken for another
    reason (no fcntl, a read-only folder) is returned not held."""
    folder = Path(folder)
    path = folder / LOCK_FILE
    if fcntl is None or not folder.is_dir():
        return ProjectLock(folder, None, owner)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return ProjectLock(folder, None, owner)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise ProjectLockedError(
                    f"The project {folder} is being changed by {_holder(path)}. Close it there, or wait for that "
                    "command to finish, then try again; nothing was changed.", path=str(folder)) from None
            time.sleep(0.05)
        except OSError:
            os.close(fd)
            return ProjectLock(folder, None, owner)
    info = json.dumps({"owner": owner, "pid": os.getpid(), "since": time.time()}).encode("utf-8")
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, info, 0)
    except OSError:
        pass  # the lock holds without its note
    return ProjectLock(folder, fd, owner)

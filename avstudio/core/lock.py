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
import stat
import threading
import time
from pathlib import Path

from avstudio.core.errors import ProjectError
from avstudio.core.files import excerpt

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK_FILE = ".avstudio-lock"
_HOLDER_LIMIT = 4096


class ProjectLockedError(ProjectError):
    """Another process is changing (or has open) the project."""


def _holder(fd: int) -> str:
    """Who holds the lock, in words, from what the holder wrote into the file (read through our own
    descriptor: the file was checked to be a regular one when it was opened)."""
    try:
        info = json.loads(os.pread(fd, _HOLDER_LIMIT, 0).decode("utf-8"))
        when = time.strftime("%H:%M:%S", time.localtime(float(info["since"])))
        return f"{excerpt(str(info['owner']), 80)} (process {int(info['pid'])}, since {when})"
    except (OSError, ValueError, KeyError, TypeError, OverflowError):
        return "another AV Studio process"


def _open_lock_file(path: Path) -> int | None:
    """The lock file's descriptor — never through a link (a project from elsewhere could point it at
    any file, which the holder's note would overwrite), never a FIFO or device; None when it is not a
    plain file we may open."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


# The folders this process holds, by real path: [fd, holders]. A lock is one per process — a command
# running two operations on a project takes it twice — and flock would refuse the second fd.
_HELD: dict[str, list] = {}
_HELD_LOCK = threading.Lock()


class ProjectLock:
    """This process's hold on one project folder, until :meth:`release`."""

    def __init__(self, folder: Path, fd: int | None, owner: str = "", key: str | None = None):
        self.folder = Path(folder)
        self.owner = owner
        self._fd = fd
        self._key = key

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
        if self._fd is None:
            return
        with _HELD_LOCK:
            held = _HELD.get(self._key)
            if held is not None:
                held[1] -= 1
                if held[1] > 0:
                    self._fd = None
                    return
                del _HELD[self._key]
            try:
                os.close(self._fd)  # closing drops the flock
            except OSError:
                pass
            self._fd = None

    def __enter__(self) -> ProjectLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _flock(fd: int, folder: Path, wait_s: float) -> bool:
    """Take the flock on ``fd`` (retrying ``wait_s`` seconds); False where the file system has none."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise ProjectLockedError(
                    f"The project {folder} is being changed by {_holder(fd)}. Close it there, or "
                    "wait for that command to finish, then try again; nothing was changed.", path=str(folder)) from None
            time.sleep(0.05)
        except OSError:
            return False


def acquire(folder, owner: str, *, wait_s: float = 0.0) -> ProjectLock:
    """Lock ``folder`` for ``owner`` ("the editor", "avstudio pose import"); raise
    ProjectLockedError naming the holder when another process has it (after ``wait_s`` seconds of
    retrying: a save in another process takes milliseconds). A folder this process holds already gets
    one more holder. A lock that cannot be taken for another reason (no fcntl, a read-only folder) is
    returned not held."""
    folder = Path(folder)
    if fcntl is None or not folder.is_dir():
        return ProjectLock(folder, None, owner)
    key = os.path.realpath(folder)
    with _HELD_LOCK:  # one acquisition at a time in this process
        if key in _HELD:
            _HELD[key][1] += 1
            return ProjectLock(folder, _HELD[key][0], owner, key)
        fd = _open_lock_file(folder / LOCK_FILE)
        if fd is None:
            return ProjectLock(folder, None, owner)
        try:
            taken = _flock(fd, folder, wait_s)
        except BaseException:
            os.close(fd)
            raise
        if not taken:
            os.close(fd)
            return ProjectLock(folder, None, owner)
        info = json.dumps({"owner": owner, "pid": os.getpid(), "since": time.time()}).encode("utf-8")
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, info, 0)
        except OSError:
            pass  # the lock holds without its note
        _HELD[key] = [fd, 1]
        return ProjectLock(folder, fd, owner, key)

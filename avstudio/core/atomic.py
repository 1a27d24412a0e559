"""Atomic file writes: temp file in the same folder, fsync, rename, fsync the folder.

A reader (or a process restarted after a crash) sees either the old file or the new one, never a
torn mix. Temp names start with ``.tmp-`` so leftovers are recognisable and removable.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

TEMP_PREFIX = ".tmp-"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp makes 0600 files; what we write is the user's, with the permissions their umask gives.
FILE_MODE = 0o666 & ~_umask()


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), FILE_MODE)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


def atomic_write_json(path: str | os.PathLike, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, another user's
        return True
    return True


def remove_orphaned_temp(folder: Path) -> None:
    """Remove the temp folders of :func:`atomic_folder` whose process is gone (a kill mid-way leaves
    them; a cache of training data is hundreds of MB). Those of live processes — another training run
    filling its own cache beside — are left alone."""
    if not folder.is_dir():
        return
    for p in folder.glob(TEMP_PREFIX + "*"):
        pid = p.name[len(TEMP_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)


@contextlib.contextmanager
def atomic_folder(final: Path):
    """Fill a folder that appears whole or not at all (a cache of decoded frames): yields a temp
    folder beside ``final`` (named with this process's id); on success it replaces ``final``, on any
    failure it is removed."""
    remove_orphaned_temp(final.parent)
    tmp = final.parent / f"{TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def remove_temp_files(folder: Path) -> None:
    """Remove ``.tmp-*`` leftovers of writes that were interrupted."""
    if not folder.is_dir():
        return
    for p in folder.glob(TEMP_PREFIX + "*"):
        try:
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink()
        except OSError:
            pass

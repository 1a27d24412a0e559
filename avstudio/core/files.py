"""Reading and writing the files a user hands us, safely: bounded reads, outputs that appear whole or
not at all, and one wording for operating-system errors.

Every file a user can open, import or drop may be a FIFO (reading it waits forever), a link to
/dev/zero (reading it never ends), or a gigabyte where a kilobyte was expected; every output may
land on a full disk, a read-only folder or a path another process writes at the same time. The
functions here are the one place those cases are handled, so each reader and writer says the same
thing about them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import uuid
from pathlib import Path

from avstudio.core.atomic import TEMP_PREFIX, fsync_dir
from avstudio.core.errors import UserError

KIB = 1 << 10
MIB = 1 << 20
GIB = 1 << 30

# errno -> (what happened, what to do), in the user's words.
_OS_ERRORS = {
    errno.ENOSPC: ("the disk is full", "free some disk space or choose a folder on another disk"),
    errno.EDQUOT: ("the disk quota is used up", "free some space or choose another folder"),
    errno.EACCES: ("no permission", "choose a folder you may write to, or change the file's permissions"),
    errno.EPERM: ("the operation is not permitted", "choose a folder you may write to, or change the file's permissions"),
    errno.EROFS: ("the disk is read-only", "choose a folder on a writable disk"),
    errno.ENOENT: ("it or its folder does not exist", "check the path"),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "check the path"),
    errno.EISDIR: ("it is a folder", "give a file name"),
    errno.ENAMETOOLONG: ("the name is too long", "choose a shorter name"),
    errno.EEXIST: ("it already exists", "choose another name"),
    errno.EIO: ("the disk reported an input/output error", "check the disk, or use another one"),
    errno.EFBIG: ("the file grew larger than this system allows", "choose a folder on another disk, or write less"),
}
# What to do differs when a file is read: there is no folder to choose.
_READ_ADVICE = {
    errno.EACCES: "make the file readable for you, or copy it somewhere you may read it",
    errno.EPERM: "make the file readable for you, or copy it somewhere you may read it",
}


def os_error_text(exc: OSError, *, reading: bool = False) -> str:
    """'what happened: what to do' for an OSError (its own text when the errno is not one of ours)."""
    what = _OS_ERRORS.get(exc.errno)
    if what is None:
        return exc.strerror or str(exc)
    advice = _READ_ADVICE.get(exc.errno, what[1]) if reading else what[1]
    return f"{what[0]}; {advice}"


def user_os_error(exc: OSError, doing: str, path, *, after: str = "", cls=UserError) -> UserError:
    """A UserError for ``exc`` raised while ``doing`` (e.g. "write") ``path``."""
    tail = f" {after}" if after else ""
    text = os_error_text(exc, reading=doing.split()[0] in ("read", "open", "decode"))
    return cls(f"Could not {doing} {path}: {text}.{tail}", path=str(path), details=repr(exc))


def check_regular_file(path: Path, what: str, limit: int | None = None, *, cls=UserError) -> os.stat_result:
    """Refuse what is not a regular file (a folder, a FIFO, a device such as /dev/zero) and, with
    ``limit``, a file larger than ``limit`` bytes — before anything opens it. ``cls``: the UserError
    subclass raised (MediaError for media files)."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError as exc:
        raise user_os_error(exc, "read", path, cls=cls) from exc
    if stat.S_ISDIR(st.st_mode):
        raise cls(f"{path} is a folder, not a {what}.", path=str(path))
    if not stat.S_ISREG(st.st_mode):
        raise cls(f"{path} is not a regular file (a pipe, a device or a socket), so it cannot be read "
                  f"as a {what}.", path=str(path))
    if limit is not None and st.st_size > limit:
        raise cls(f"{path} is {st.st_size / MIB:.1f} MiB, more than any {what} "
                  f"({limit / MIB:.1f} MiB at most): it is not one, or it is damaged.", path=str(path))
    return st


def read_limited(path, what: str, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (read bounded even if it grows)."""
    path = Path(path)
    check_regular_file(path, what, limit)
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise user_os_error(exc, "read", path) from exc
    if len(data) > limit:
        raise UserError(f"{path} grew past {limit / MIB:.1f} MiB while it was read; it is not a {what}.",
                        path=str(path))
    return data


def read_json(path, what: str, limit: int):
    """The JSON document of a small file, read bounded by size and type (read_limited); a UserError
    naming the file when it is not UTF-8 JSON or is nested beyond reason."""
    import json

    data = read_limited(path, what, limit)
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise UserError(f"{path} is not a readable {what}: not a text (UTF-8) JSON file.", path=str(path)) from exc
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the parser goes
        raise UserError(f"{path} is not a readable {what}: not valid JSON ({excerpt(str(exc), 120)}).", path=str(path),
                        details=repr(exc)) from exc


def excerpt(text: str, limit: int = 60) -> str:
    """A short, escaped piece of a file's text for a message (never a whole line of someone's file)."""
    text = text if len(text) <= limit else text[:limit] + "…"
    return ascii(text)[1:-1] if not text.isprintable() else text


def check_output_path(path, what: str = "file", suffixes: tuple[str, ...] | None = None) -> Path:
    """Refuse, before any work, an output path that cannot be written: a file where its folder (or a
    folder above) should be, a folder or a device (/dev/null: a rename would replace it) in its
    place, a name too long, or (with ``suffixes``, lower case with the dot) an extension no writer
    here handles. A missing folder is fine: atomic_output makes it."""
    path = Path(path)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise UserError(f"Cannot write {path}: a {what} is written as {', '.join(suffixes)}; name it with one of "
                        "these extensions.", path=str(path))
    try:
        above = path.absolute().parent
        while not os.path.lexists(above) and above != above.parent:
            above = above.parent
        if not above.is_dir():
            raise UserError(f"Cannot write {path}: {above} is a file, not a folder.", path=str(path))
        st = path.stat() if os.path.lexists(path) else None
    except OSError as exc:
        raise user_os_error(exc, "write", path) from exc
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise UserError(f"Cannot write {path}: it is a folder. Give a file name.", path=str(path))
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise UserError(f"Cannot write {path}: it is a device, a pipe or a socket, not a file. Give a file name.",
                        path=str(path))
    if len(os.fsencode(path.name)) > 255:
        raise UserError(f"Cannot write {excerpt(path.name)}: the name is longer than 255 bytes. Choose a shorter "
                        "name.", path=str(path))
    return path


@contextlib.contextmanager
def atomic_output(path, what: str = "file"):
    """Write an output file (an export, a converted sound) that appears whole or not at all: yields a
    temporary path beside ``path`` with the same suffix (encoders pick the format from it); on
    success it is renamed over ``path``, on failure removed. Two writers of one path never see each
    other's half-written file: the last one to finish wins. A missing folder is made."""
    path = check_output_path(path, what)
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise user_os_error(exc, "create the folder of", path) from exc
    tmp = folder / f"{TEMP_PREFIX}{uuid.uuid4().hex[:8]}-{path.name[-60:]}"
    try:
        yield tmp
        os.replace(tmp, path)
        fsync_dir(folder)
    except OSError as exc:
        _remove(tmp)
        raise user_os_error(exc, "write", path) from exc
    except BaseException:
        _remove(tmp)
        raise


def _remove(p: Path) -> None:
    try:
        p.unlink()
    except OSError:
        pass

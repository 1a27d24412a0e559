"""One track's arrays on disk: ``tracks/<id>.npz``, an uncompressed NumPy archive, and its sha256.

Reading checks every member's declared shape against its size before NumPy allocates anything: a
track file is read from a project that may come from anywhere, and a header declaring terabytes (or
a compressed zip bomb) must be a message, not an out-of-memory kill. Nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np

from avstudio.core.atomic import atomic_write_bytes
from avstudio.core.errors import ProjectError
from avstudio.core.files import read_limited
from avstudio.core.tracks import Track


ARRAY_FILE_LIMIT = 4 << 30  # a two-hour face track is 1.2 GB


def arrays_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def track_bytes(track: Track) -> bytes:
    return arrays_bytes(track.arrays)


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An archive of arrays (a cache beside the tracks) written whole under its name."""
    atomic_write_bytes(path, arrays_bytes(arrays))


def read_array_file(path: Path, what: str = "array file") -> dict[str, np.ndarray]:
    """The arrays of an archive this app wrote, read bounded and checked like a track file."""
    return read_arrays(read_limited(path, what, ARRAY_FILE_LIMIT), path)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _damaged(where: Path, why: str, exc: BaseException | None = None) -> ProjectError:
    return ProjectError(
        f"The track file {where} is damaged and cannot be read ({why}). Open one of the project's autosave copies "
        "instead (each folder in its autosave/ folder is a whole project), or remove the track.",
        path=str(where), details=repr(exc) if exc else None)


def _member_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: Path) -> None:
    """Refuse a member whose declared array does not fill it exactly — a zip bomb or a header that
    declares terabytes would otherwise be allocated before a single byte is read."""
    if info.compress_type != zipfile.ZIP_STORED or not info.filename.endswith(".npy"):
        raise _damaged(where, f"{info.filename!r} is not an array AV Studio wrote")
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(f)
        if dtype.hasobject:
            raise _damaged(where, "it holds Python objects")
        declared = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
        if f.tell() + declared != info.file_size:
            raise _damaged(where, f"{info.filename} declares {declared} bytes but holds {info.file_size - f.tell()}")


def read_arrays(data: bytes, where: Path) -> dict[str, np.ndarray]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            names = [i.filename for i in infos]
            if len(set(names)) != len(names) or len(names) > 64:
                raise _damaged(where, "its arrays are listed twice or are too many")
            for info in infos:
                _member_header(zf, info, where)
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except ProjectError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, KeyError, TypeError,
            MemoryError, OverflowError, AttributeError) as exc:
        raise _damaged(where, "not an archive of arrays" if isinstance(exc, zipfile.BadZipFile) else
                       type(exc).__name__, exc) from exc

"""F0 curves as CSV: ``time_s,f0_hz,voiced`` with a header, one row per frame.

Import resamples any time grid onto the track's 5 ms grid (nearest row within half a step of the
source spacing; frames the file does not cover keep their values) and rejects what would corrupt
the curve: NaN/inf, negative Hz, unsorted or repeated times, non-numeric cells, times in milliseconds
under a seconds header (a ``time_ms`` column is read as such). The file is read bounded (size, type)
and a message quotes at most a short, escaped piece of it.
"""

from __future__ import annotations

import csv
import io
import os
from array import array
from pathlib import Path

import numpy as np

from avstudio.core.errors import UserError
from avstudio.core.files import MIB, atomic_output, excerpt, read_limited
from avstudio.core.tracks import F0Track

HEADER = ("time_s", "f0_hz", "voiced")
TIME_COLUMNS = {"time_s": 1.0, "time_ms": 1e-3}   # accepted first columns → seconds per unit
# Five hours of 5 ms frames; a file beyond either bound is not an F0 curve (and would fill memory).
MAX_BYTES = 64 * MIB
MAX_ROWS = 4_000_000


def export_f0_csv(track: F0Track, path: str | os.PathLike) -> Path:
    t = track.times()
    f0 = np.where(track.arrays["voiced"] > 0, track.arrays["f0"], 0.0)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    for ti, fi, vi in zip(t, f0, track.arrays["voiced"]):
        w.writerow((f"{ti:.4f}", f"{fi:.3f}", int(vi)))
    with atomic_output(path, "CSV file") as tmp:
        tmp.write_bytes(buf.getvalue().encode("utf-8"))
    return Path(path)


def _text(p: Path) -> str:
    data = read_limited(p, "F0 CSV file", MAX_BYTES)
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # spreadsheets save "Unicode text" as UTF-16
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{p.name} is not a text CSV file.", path=str(p)) from exc


def _row_values(p: Path, n: int, r: list[str], has_voiced: bool) -> tuple[float, float, float]:
    def bad(why: str):
        return UserError(f"{p.name}, line {n}: {why}, got '{excerpt(','.join(r), 40)}'.", path=str(p))
    try:
        t, f = float(r[0]), float(r[1])
        v = float(r[2]) if has_voiced and len(r) > 2 and r[2].strip() else float(f > 0)
    except (ValueError, IndexError):
        raise bad("expected numbers 'time_s,f0_hz,voiced'") from None
    if not (np.isfinite(t) and np.isfinite(f) and np.isfinite(v)):
        raise bad("NaN or infinite value (write 0 Hz and voiced 0 for unvoiced frames)")
    if f < 0 or t < 0:
        raise bad("negative time or frequency")
    if v not in (0, 1):
        raise bad("voiced must be 0 or 1")
    return t, f, v


def read_f0_csv(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(time_s, f0_hz, voiced) arrays of a CSV; a UserError naming the line on anything wrong. A first
    column named time_ms is read as milliseconds."""
    p = Path(path)
    reader = csv.reader(io.StringIO(_text(p)))
    times, f0s, voiced = array("d"), array("d"), bytearray()
    head = None
    try:
        for r in reader:
            if not r or not any(c.strip() for c in r):
                continue
            if head is None:
                head = [c.strip().lower() for c in r]
                if len(head) < 2 or head[0] not in TIME_COLUMNS or head[1] != HEADER[1]:
                    raise UserError(f"{p.name} must start with the header 'time_s,f0_hz,voiced' (found "
                                    f"'{excerpt(','.join(r), 24)}').", path=str(p))
                has_voiced, unit = len(head) > 2 and head[2] == "voiced", TIME_COLUMNS[head[0]]
                continue
            t, f, v = _row_values(p, reader.line_num, r, has_voiced)
            t *= unit
            if times and t <= times[-1]:
                raise UserError(f"{p.name}, line {reader.line_num}: times must increase (found {t:g} after "
                                f"{times[-1]:g}).", path=str(p))
            if len(times) >= MAX_ROWS:
                raise UserError(f"{p.name} has more than {MAX_ROWS:,} rows: more than any F0 curve.", path=str(p))
            times.append(t)
            f0s.append(f)
            voiced.append(bool(v) and f > 0)
    except csv.Error as exc:  # a field over 128 kB, an unclosed quote at the end
        raise UserError(f"{p.name}, line {reader.line_num}: not a CSV row ({exc}).", path=str(p)) from None
    if head is None:
        raise UserError(f"{p.name} is empty.", path=str(p))
    if not times:
        raise UserError(f"{p.name} has a header but no rows.", path=str(p))
    return np.frombuffer(times), np.frombuffer(f0s), np.frombuffer(bytes(voiced), np.uint8).astype(bool)


def _check_seconds(path, t: np.ndarray, duration: float) -> None:
    """Refuse a time column written in milliseconds under a time_s header: as seconds it runs far past
    the sound, as milliseconds it fits it, at a frame spacing of a few milliseconds."""
    spacing = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    if t[-1] > 2 * duration + 1 and t[-1] / 1000 <= 1.1 * duration + 0.05 and 0.5 <= spacing <= 100:
        raise UserError(f"{Path(path).name}: its times run to {t[-1]:g}, but the sound lasts {duration:.2f} s: they "
                        "look like milliseconds. The time_s column is in seconds: divide it by 1000, or name the "
                        "column time_ms.", path=str(path))


def f0_from_csv(track: F0Track, path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frames, f0, voiced) of ``track`` that the CSV sets, on the track's grid."""
    t, f, v = read_f0_csv(path)
    grid = track.times()
    _check_seconds(path, t, float(track.length * float(track.meta["frame_period_ms"]) / 1000))
    spacing = float(np.median(np.diff(t))) if len(t) > 1 else float(track.meta["frame_period_ms"]) / 1000
    idx = np.clip(np.searchsorted(t, grid), 1, len(t) - 1) if len(t) > 1 else np.zeros(len(grid), int)
    if len(t) > 1:
        left = t[idx - 1]
        idx = np.where(np.abs(grid - left) <= np.abs(t[idx] - grid), idx - 1, idx)
    near = np.abs(t[idx] - grid) <= max(spacing, float(track.meta["frame_period_ms"]) / 1000) / 2 + 1e-9
    frames = np.flatnonzero(near)
    if not len(frames):
        raise UserError(f"{Path(path).name} covers no time of this audio ({t[0]:.2f}–{t[-1]:.2f} s vs "
                        f"0–{grid[-1]:.2f} s).", path=str(path))
    return frames, f[idx[frames]], v[idx[frames]]

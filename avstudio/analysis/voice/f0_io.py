"""F0 curves as CSV: ``time_s,f0_hz,voiced`` with a header, one row per frame.

Import resamples any time grid onto the track's 5 ms grid (nearest row within half a step of the
source spacing; frames the file does not cover keep their values) and rejects what would corrupt
the curve: NaN/inf, negative Hz, unsorted or repeated times, non-numeric cells.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from avstudio.core.atomic import atomic_write_bytes
from avstudio.core.errors import UserError
from avstudio.core.tracks import F0Track

HEADER = ("time_s", "f0_hz", "voiced")
MAX_BYTES = 200 * 1024 * 1024


def export_f0_csv(track: F0Track, path: str | os.PathLike) -> Path:
    t = track.times()
    f0 = np.where(track.arrays["voiced"] > 0, track.arrays["f0"], 0.0)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    for ti, fi, vi in zip(t, f0, track.arrays["voiced"]):
        w.writerow((f"{ti:.4f}", f"{fi:.3f}", int(vi)))
    p = Path(path)
    atomic_write_bytes(p, buf.getvalue().encode("utf-8"))
    return p


def read_f0_csv(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(time_s, f0_hz, voiced) arrays of a CSV; a UserError naming the line on anything wrong."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p} does not exist.", path=str(p))
    if p.stat().st_size > MAX_BYTES:
        raise UserError(f"{p.name} is too large for an F0 curve ({p.stat().st_size >> 20} MB).", path=str(p))
    try:
        text = p.read_text("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{p.name} is not a text CSV file.", path=str(p)) from exc
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if r and any(c.strip() for c in r)]
    if not rows:
        raise UserError(f"{p.name} is empty.", path=str(p))
    head = [c.strip().lower() for c in rows[0]]
    if head[:2] != list(HEADER[:2]):
        raise UserError(f"{p.name} must start with the header 'time_s,f0_hz,voiced' (found {','.join(rows[0])!r}).",
                        path=str(p))
    has_voiced = len(head) > 2 and head[2] == "voiced"
    times, f0s, voiced = [], [], []
    for n, r in enumerate(rows[1:], start=2):
        try:
            t, f = float(r[0]), float(r[1])
            v = int(float(r[2])) if has_voiced and len(r) > 2 and r[2].strip() else int(f > 0)
        except (ValueError, IndexError):
            raise UserError(f"{p.name}, line {n}: expected numbers 'time_s,f0_hz,voiced', got {','.join(r)!r}.",
                            path=str(p)) from None
        if not (np.isfinite(t) and np.isfinite(f)):
            raise UserError(f"{p.name}, line {n}: NaN or infinite value. Write 0 Hz and voiced 0 for unvoiced frames.",
                            path=str(p))
        if f < 0 or t < 0:
            raise UserError(f"{p.name}, line {n}: negative time or frequency.", path=str(p))
        if v not in (0, 1):
            raise UserError(f"{p.name}, line {n}: voiced must be 0 or 1.", path=str(p))
        if times and t <= times[-1]:
            raise UserError(f"{p.name}, line {n}: times must increase (found {t} after {times[-1]}).", path=str(p))
        times.append(t)
        f0s.append(f)
        voiced.append(v and f > 0)
    if not times:
        raise UserError(f"{p.name} has a header but no rows.", path=str(p))
    return np.asarray(times), np.asarray(f0s), np.asarray(voiced, bool)


def f0_from_csv(track: F0Track, path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frames, f0, voiced) of ``track`` that the CSV sets, on the track's grid."""
    t, f, v = read_f0_csv(path)
    grid = track.times()
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

"""Text for people: durations, ETAs, timecodes. One formatting for the CLI and the GUI."""

from __future__ import annotations


def duration(seconds: float | None) -> str:
    """m:ss, or h:mm:ss from an hour on; "--:--" when unknown."""
    if seconds is None:
        return "--:--"
    s = int(round(max(0.0, seconds)))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def eta(seconds: float | None) -> str:
    """ "ETA 1:05" (empty when unknown)."""
    return "" if seconds is None else f"ETA {duration(seconds)}"


def timecode(seconds: float) -> str:
    """mm:ss.ss for the transport."""
    m, s = divmod(max(0.0, seconds), 60)
    return f"{int(m):02d}:{s:05.2f}"

"""Process priority for background work."""

from __future__ import annotations

import os


def lower_priority() -> None:
    """Background work yields the CPU to the editor: with AVSTUDIO_NICE set (the GUI sets it for its
    child processes) this process runs at that niceness, so training on every core does not make the
    GUI thread wait for a time slice (stalls of 50–100 ms on 2 cores otherwise)."""
    try:
        n = int(os.environ.get("AVSTUDIO_NICE", "0"))
    except ValueError:
        return
    if n > 0 and hasattr(os, "nice"):
        try:
            os.nice(n)
        except OSError:
            pass

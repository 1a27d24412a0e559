"""What tests of hostile input share: a deadline that turns a hang into a failure of the case."""

from __future__ import annotations

import signal
from contextlib import contextmanager


class Hang(Exception):
    """The code under test did not answer in time (a FIFO read, an endless file, a lock)."""


@contextmanager
def deadline(seconds: float):
    """Raise Hang in the main thread when the block runs longer than ``seconds`` (SIGALRM)."""
    def ring(signum, frame):
        raise Hang(f"no answer within {seconds} s")
    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)

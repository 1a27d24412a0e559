"""Progress written to a log (issue 16): plain lines every 10 % and at least every 30 s, so a long
training run piped to a file never goes silent for half an hour."""

import io
from types import SimpleNamespace

from avstudio.cli import common


def test_a_log_gets_a_line_every_30_seconds_even_when_progress_is_slow(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(common.time, "monotonic", lambda: clock[0])
    stream = io.StringIO()
    bar = common.ProgressBar(stream)
    assert not bar.tty
    handle = SimpleNamespace(eta=600.0)
    for k in range(0, 200):  # 1 % of progress per minute: 10 % takes 10 minutes
        clock[0] += 5.0
        bar.update(handle, SimpleNamespace(fraction=k / 6000, message=f"step {k}"))
    lines = stream.getvalue().splitlines()
    assert 30 <= len(lines) <= 36, lines  # 1,000 s of work: one line per 30 s
    assert "step" in lines[-1] and "ETA" in lines[-1]

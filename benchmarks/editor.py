"""Editor benchmarks (issue 5): the longest GUI-thread stall while jobs run, and scrub latency on a
long 720p clip — the real MainWindow, offscreen, driven the way a user drives it.

A GUI-thread stall is measured with a 5 ms repeating QTimer: every gap between two ticks beyond the
interval is time the event loop could not answer the user. The baseline is the same timer in the
same window with nothing running. Scrubbing drags the slider at mouse rate (60 Hz) across the clip;
the latency of a frame is the time from its request to the moment it is on screen. The baseline is
a bare PyAV seek + decode of the same frames, one after another (what one displayed frame costs at
least).
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

E_BEGIN, E_END = "<!-- editor-benchmarks:begin -->", "<!-- editor-benchmarks:end -->"
TICK_MS = 5


class StallMeter:
    """Gaps between ticks of a 5 ms GUI-thread timer."""

    def __init__(self, parent):
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self._last = None
        self.timer = QTimer(parent)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    def _tick(self):
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append((now - self._last) * 1000)
        self._last = now

    def start(self):
        self.gaps, self._last = [], None
        self.timer.start()

    def stop(self) -> dict:
        self.timer.stop()
        g = np.array(self.gaps) if self.gaps else np.zeros(1)
        return {"max": float(g.max()), "p99": float(np.percentile(g, 99)), "n": len(self.gaps)}


def _spin(app, seconds: float, until=None) -> bool:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        if until is not None and until():
            return True
        time.sleep(0.001)
    return until is None


def _window(app, tmp: Path):
    from PySide6.QtCore import QSettings

    from avstudio.gui.main_window import MainWindow
    from avstudio.gui.widgets.theme import apply_theme

    apply_theme(app)
    w = MainWindow(settings=QSettings(str(tmp / "settings.ini"), QSettings.IniFormat), ask=False)
    w.resize(1366, 768)
    w.show()
    return w


def _opened(w) -> bool:
    return not w.clips.opening and "source" in w.clips.loaders and w.views["source"].frame_index is not None


def stall_rows(app, tmp: Path, quick: bool) -> list[tuple]:
    """Longest stall: idle (baseline), during pose analysis (child processes), during training (child
    process, the monitor plotting losses and sample images), during generating the preview (a child
    process)."""
    from avstudio.gui.app import DEMO
    from avstudio.workflows.training import TrainRequest

    demo = tmp / "Demo.avproj"
    shutil.copytree(DEMO, demo)
    w = _window(app, tmp)
    w.projects.open_project(demo)
    _spin(app, 30, lambda: _opened(w))
    meter = StallMeter(w)
    rows = []

    meter.start()
    _spin(app, 3 if quick else 10)
    idle = meter.stop()

    meter.start()
    w.pose.analyse("target", "pose")
    w.pose.analyse("source", "pose")
    _spin(app, 300, lambda: w.project.find_track("source", "pose") is not None
          and w.project.find_track("target", "pose") is not None)
    analysis = meter.stop()
    rows.append(("Longest GUI-thread stall: pose analysis of both demo clips (child processes)", idle, analysis))

    w.retarget.retarget()
    _spin(app, 30, lambda: w.project.find_track("source", "normalized") is not None)
    meter.start()
    w.player.toggle()  # playing at the same time: frames decode and draw while training reports
    handle = w.training.start(TrainRequest(preset="preview", device="cpu", steps=60 if quick else 300,
                                           model_id="bench"))
    _spin(app, 900, lambda: handle.state.finished)
    w.player.pause()
    training = meter.stop()
    rows.append(("Longest GUI-thread stall: training the preview preset (child process) while playing",
                 idle, training))

    meter.start()
    w.generated.show_generated("bench")
    _spin(app, 300, lambda: bool(w.generated.frames.keys) and w.generated.frames.missing() == 0
          and not w.generated.frames.rendering)
    render = meter.stop()
    rows.append(("Longest GUI-thread stall: generating the preview frames (child process)", idle, render))
    w.close()
    return [(name, f"{b['max']:.0f} ms (p99 {b['p99']:.0f} ms)", f"{o['max']:.0f} ms (p99 {o['p99']:.0f} ms)",
             "≤ 50 ms" + (" ✓" if o["max"] <= 50 else " ✗")) for name, b, o in rows]


def scrub_rows(app, tmp: Path, clip: Path, quick: bool) -> list[tuple]:
    from avstudio.workflows.project import create_project
    from benchmarks.run import SHARED, bare_seek_latencies, pct

    folder = create_project(tmp / "Long", source=clip, target=SHARED / "body" / "vtest_walker_crop.mp4").folder
    w = _window(app, tmp)
    t0 = time.perf_counter()
    w.projects.open_project(folder)
    _spin(app, 120, lambda: _opened(w))
    opened = time.perf_counter() - t0
    loader = w.clips.loaders["source"]
    n = loader.source.frame_count
    requested: dict[int, float] = {}
    shown: list[tuple[int, float]] = []
    loader.frameReady.connect(lambda i, _img: shown.append((i, time.perf_counter())))
    meter = StallMeter(w)
    rows = []
    for name, span, seconds in (("fast drag across the whole clip", n - 1, 4.0),
                                ("slow drag, one frame per mouse move", 240, 4.0)):
        start = random.Random(1).randrange(0, n - span)
        steps = int(seconds * 60)
        requested.clear()
        shown.clear()
        meter.start()
        t_begin = time.perf_counter()
        for k in range(steps):
            target = start + int(round(span * k / (steps - 1)))
            requested.setdefault(target, time.perf_counter())
            w.transport.scrub.setValue(target)  # what dragging the slider does
            _spin(app, max(0.0, t_begin + (k + 1) / 60 - time.perf_counter()))
        _spin(app, 2.0, lambda: bool(shown) and shown[-1][0] == target)
        # From the last mouse move (the request of the final frame) to that frame on screen.
        settle = (shown[-1][1] - requested[target]) * 1000 if shown and shown[-1][0] == target else float("nan")
        stall = meter.stop()
        lat = [t - requested[i] for i, t in shown if i in requested]  # s, exact frames
        updates = len(shown) / seconds
        rows.append((name, lat, updates, stall, settle))
    w.close()

    rng = random.Random(7)
    idx = [rng.randrange(n) for _ in range(10 if quick else 30)]
    bare = bare_seek_latencies(clip, idx)
    minutes = n / 30 / 60
    out = [(f"Open a {minutes:.0f}-minute 720p clip in the editor (probe, packet index, first frame)",
            "—", f"{opened * 1000:.0f} ms", "")]
    for name, lat, updates, stall, settle in rows:
        out.append((f"Scrub, {name} ({minutes:.0f} min 720p, keyframe every 2 s): exact-frame latency p50 / p95; "
                    "pictures on screen per second (keyframe previews included); exact frame after the mouse stops",
                    f"{pct(bare, 50):.0f} / {pct(bare, 95):.0f} ms (one random seek + decode)",
                    f"{pct(lat, 50):.0f} / {pct(lat, 95):.0f} ms; {updates:.0f} pictures/s; {settle:.0f} ms; "
                    f"longest GUI stall {stall['max']:.0f} ms", ""))
    return out


def editor_main(quick: bool) -> list[tuple]:
    from PySide6.QtWidgets import QApplication

    from avstudio.gui.qtenv import sanitize_qt_env
    from benchmarks.run import OUT, make_test_video

    sanitize_qt_env()
    app = QApplication.instance() or QApplication([])
    minutes = 1 if quick else 10
    clip = make_test_video(OUT / f"720p_{minutes}min_gop60.mp4", 60, frames=minutes * 60 * 30, pingpong=True)
    with tempfile.TemporaryDirectory() as tmp:
        rows = scrub_rows(app, Path(tmp), clip, quick)
    with tempfile.TemporaryDirectory() as tmp:
        rows += stall_rows(app, Path(tmp), quick)
    return rows

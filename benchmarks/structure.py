"""Issue 12's measurements: how fast the `avstudio` command starts (beside a bare Python start), and
how long one edit of a pose freezes the editor's GUI thread when both clips hold 10-minute pose
tracks (beside the idle timer; the old editor computed the review list of both tracks on the GUI
thread after every edit, timed here as the baseline too).

    .venv/bin/python benchmarks/run.py --only structure
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

S_BEGIN, S_END = "<!-- structure-benchmarks:begin -->", "<!-- structure-benchmarks:end -->"
ROOT = Path(__file__).resolve().parents[1]


def _wall(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, cwd=ROOT)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def cli_rows(clip: Path, quick: bool) -> list[tuple]:
    n = 3 if quick else 7
    py = sys.executable
    bare = _wall([py, "-c", "pass"], n)
    numpy_ = _wall([py, "-c", "import numpy"], n)
    helps = _wall([py, "-m", "avstudio", "--help"], n)
    info = _wall([py, "-m", "avstudio", "info", str(clip)], n)
    return [("`avstudio --help` (imports no torch, MediaPipe or Qt)", f"{bare * 1000:.0f} ms (`python -c pass`)",
             f"{helps * 1000:.0f} ms", ""),
            ("`avstudio info CLIP` (PyAV probe)", f"{numpy_ * 1000:.0f} ms (`python -c 'import numpy'`)",
             f"{info * 1000:.0f} ms", "")]


def _long_track(project, role: str, frames: int, rng):
    """A 10-minute MediaPipe-33 pose track: the demo target's real analysis, tiled, with jitter."""
    from avstudio.core.tracks import PoseTrack

    z = np.load(ROOT / "tests" / "ml" / "fixtures" / "legacy" / "target_pose.npz")
    reps = -(-frames // len(z["points"]))
    pts = np.tile(z["points"], (reps, 1, 1))[:frames].copy()
    pts[..., :2] += rng.normal(0, 1.5, pts[..., :2].shape).astype(np.float32)
    t = PoseTrack({"points": pts, "flags": np.tile(z["flags"], (reps, 1))[:frames].copy()},
                  {"skeleton": "mediapipe33", "clip": role, "layer": "pose",
                   "media_id": project.media_by_role(role).id}, name=f"{role} pose")
    project.add_track(t)
    return t


def edit_rows(app, tmp: Path, clip: Path, quick: bool) -> list[tuple]:
    from avstudio.analysis.landmarks.layouts import body25
    from avstudio.analysis.landmarks.review import review
    from avstudio.core.store import save_project
    from avstudio.editing.points import interpolate, move_keypoint
    from avstudio.workflows.project import create_project
    from benchmarks.editor import StallMeter, _opened, _spin, _window

    project = create_project(tmp / "Long", source=clip, target=clip)
    frames = project.media_by_role("source").frame_count
    rng = np.random.default_rng(0)
    tracks = [_long_track(project, role, frames, rng) for role in ("source", "target")]
    save_project(project)
    t0 = time.perf_counter()
    for t in tracks:
        review(*body25(t))
    old_gui = (time.perf_counter() - t0) * 1000  # what every edit cost the old editor's GUI thread
    w = _window(app, tmp)
    w.projects.open_project(project.folder)
    _spin(app, 120, lambda: _opened(w))
    _spin(app, 30, lambda: not w.review_rows.pending())
    meter = StallMeter(w)
    meter.start()
    _spin(app, 3 if quick else 8)
    idle = meter.stop()
    p = w.project
    src = p.find_track("source", "pose")
    mid = frames // 2
    edits = [lambda k: move_keypoint(p, src.id, 100 + k, 12, 400.0 + k, 300.0, drag_id=900 + k),
             lambda k: interpolate(p, src.id, mid + 50 * k, mid + 40 + 50 * k)]
    stalls = []
    for k in range(4 if quick else 10):
        for make in edits:
            meter.start()
            w.ctx.push(make(k))
            _spin(app, 0.4, lambda: not w.review_rows.pending())
            w.undo_stack.undo()
            _spin(app, 0.4, lambda: not w.review_rows.pending())
            stalls.append(meter.stop()["max"])
    w.close()
    minutes = frames / 30 / 60
    return [(f"GUI-thread stall per edit or undo, two {minutes:.0f}-minute pose tracks (move a keypoint, interpolate "
             f"a range, undo each; review list in a job): longest of {len(stalls)}; median",
             f"idle timer {idle['max']:.0f} ms (p99 {idle['p99']:.0f}); the old editor's review of both tracks on "
             f"the GUI thread after every edit: {old_gui:.0f} ms",
             f"{max(stalls):.0f} ms; {statistics.median(stalls):.0f} ms", "≤ 50 ms" + (" ✓" if max(stalls) <= 50 else " ✗"))]


def structure_main(quick: bool) -> list[tuple]:
    from PySide6.QtWidgets import QApplication

    from avstudio.gui.qtenv import sanitize_qt_env
    from benchmarks.run import OUT, make_test_video

    sanitize_qt_env()
    app = QApplication.instance() or QApplication([])
    minutes = 1 if quick else 10
    clip = make_test_video(OUT / f"720p_{minutes}min_gop60.mp4", 60, frames=minutes * 60 * 30, pingpong=True)
    rows = cli_rows(clip, quick)
    tmp = Path(tempfile.mkdtemp())
    try:
        rows += edit_rows(app, tmp, clip, quick)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows

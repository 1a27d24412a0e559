"""The issue-3 command line on the demo project: analyze → fix → re-analyze a range → retarget →
render → OpenPose export/import."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from avstudio.editing.points import move_keypoint
from avstudio.core.store import load_project, save_project
from avstudio.core.tracks import Flag
from avstudio.gui.app import DEMO
from avstudio.media.probe import probe

ROOT = Path(__file__).resolve().parents[1]


def cli(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-m", "avstudio", *map(str, args)], capture_output=True, text=True,
                       env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli") / "Demo.avproj"
    shutil.copytree(DEMO, d)
    return d


def test_full_pose_chain(demo, tmp_path, artifacts):
    out = cli("analyze", "pose", demo, "--clip", "target")
    assert "found in" in out
    out = cli("analyze", "pose", demo, "--clip", "source", "--seed", 75, 1268, 700)
    found = int(out.split("found in ")[1].split("/")[0])
    assert found >= 140
    # A user fixes one keypoint, then re-analyses a range around it: the anchor survives.
    p = load_project(demo)
    src = p.find_track("source", "pose")
    move_keypoint(p, src.id, 100, 27, 1111.0, 922.0).apply(p)
    save_project(p)
    before = load_project(demo).find_track("source", "pose").points.copy()
    out = cli("analyze", "pose", demo, "--start", 90, "--end", 120)
    assert "anchors kept" in out
    p = load_project(demo)
    src = p.find_track("source", "pose")
    assert np.allclose(src.points[100, 27], [1111, 922, 1]) and src.flags[100, 27] == Flag.EDITED
    assert np.array_equal(src.points[:90], before[:90]) and np.array_equal(src.points[120:], before[120:])
    # Retarget, render, export.
    out = cli("retarget", demo)
    assert "frames normalized from ankles" in out
    assert "retarget" in load_project(demo).settings
    video = tmp_path / "norm.mp4"
    cli("render-pose", demo, "--normalized", "-o", video, "-q", "--frames-dir", tmp_path / "png")
    assert probe(video).video.frame_count == 230 and (probe(video).video.width, probe(video).video.height) == (450, 376)
    cli("render-pose", demo, "--clip", "source", "--size", "512x288", "--frames-dir", tmp_path / "src_png", "-q")
    shutil.copy(tmp_path / "src_png" / "pose_000100.png", artifacts / "demo_source_pose_frame100.png")
    shutil.copy(tmp_path / "png" / "pose_000100.png", artifacts / "demo_normalized_pose_frame100.png")
    js = tmp_path / "json"
    cli("pose", "export", demo, "-o", js)
    first = json.loads(next(iter(sorted(js.glob("*.json")))).read_text())
    assert first["version"] == 1.3
    before = load_project(demo).find_track("source", "pose")
    from avstudio.analysis.landmarks.layouts import body25
    b_pts, b_fl = body25(before)
    out = cli("pose", "import", demo, js, "--clip", "source")
    imported = load_project(demo).find_track("source", "pose")
    assert imported.meta["skeleton"] == "body25"
    ok = b_fl != Flag.MISSING
    assert np.array_equal(imported.flags != Flag.MISSING, ok) and np.array_equal(imported.points[ok], b_pts[ok])


def test_face_analysis_on_a_clip_without_faces_is_clean(demo):
    out = cli("analyze", "face", demo, "--clip", "target")
    assert "found in 0/130" in out

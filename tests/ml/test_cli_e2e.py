"""Issue 4's end-to-end command line: new project → analyze both clips → retarget → train preview →
render → an MP4 with the source's audio, checked."""

import os
import subprocess
import sys
from pathlib import Path

from avstudio.media.probe import probe

from tests.conftest import media

ROOT = Path(__file__).resolve().parents[2]


def cli(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-m", "avstudio", *map(str, args)], capture_output=True, text=True, env=env,
                       timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout


def test_new_analyze_retarget_train_render(tmp_path):
    proj = tmp_path / "Dance.avproj"
    cli("new", tmp_path / "Dance", "--source", media("body/sports2d_demo.mp4"),
        "--target", media("body/vtest_walker_crop.mp4"))
    cli("analyze", "pose", proj, "--clip", "target", "-q")
    cli("analyze", "pose", proj, "--clip", "source", "--seed", 75, 1268, 700, "-q")
    cli("retarget", proj)
    out = cli("train", proj, "--preset", "preview", "--steps", 60, "--model", "m", "--device", "cpu", "-q")
    assert "Model m: step 60" in out
    video = tmp_path / "out.mp4"
    out = cli("render", proj, "--model", "m", "-o", video, "--preset", "ultrafast", "-q")
    assert "Generated 230 frames" in out
    info = probe(video)
    src = probe(media("body/sports2d_demo.mp4"))
    assert info.video.frame_count == src.video.frame_count == 230
    assert abs(info.video.duration - src.video.duration) < 1e-6
    assert [a.codec for a in info.audio] == ["aac"] and abs(info.audio[0].duration - src.video.duration) < 0.1

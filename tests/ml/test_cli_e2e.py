"""Issue 4's end-to-end command line: new project → analyze both clips → retarget → train preview →
render → an MP4 with the source's audio, checked. Then issue 6's: analyze both voices → train a
voice model (short) → convert → the converted voice muxed into the rendered MP4, checked."""

import os
import subprocess
import sys

import numpy as np
from pathlib import Path

from avstudio.media.audio import load_audio
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
        "--target", media("body/vtest_walker_crop.mp4"),
        "--source-voice", media("speech/asterisk_g722_allison_en_female/demo-echotest.flac"),
        "--target-voice", media("speech/asterisk_g722_carlo_it_male/demo-echotest.flac"))
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

    # The voice: analyse, train CycleGAN-VC2 briefly, convert, render with the converted voice.
    out = cli("voice", "analyze", proj, "--clip", "source_voice", "-q")
    assert "Analysed the source voice:" in out and "voiced" in out
    cli("voice", "analyze", proj, "--clip", "target_voice", "-q")
    out = cli("voice", "train", proj, "--steps", 6, "--model", "v", "--device", "cpu", "-q")
    assert "Voice model v: step 6" in out
    out = cli("voice", "convert", proj, "--model", "v", "-q")
    wav = out.strip().split(": ", 1)[1]
    video2 = tmp_path / "converted.mp4"
    out = cli("render", proj, "--model", "m", "-o", video2, "--audio", "converted", "--preset", "ultrafast",
              "--layout", "side_by_side", "-q")
    assert "Generated 0 frames, 230 reused" in out  # the frames come from the cache
    info = probe(video2)
    assert info.video.frame_count == 230 and [a.codec for a in info.audio] == ["aac"]
    assert (info.video.width, info.video.height) == (668 + 450, 376)  # source (scaled) | generated
    assert abs(info.audio[0].duration - info.video.duration) < 0.1
    # The soundtrack is the converted voice: its loudness envelope follows the converted WAV's.
    muxed = load_audio(video2, 16000).samples
    conv = load_audio(wav, 16000).samples[:len(muxed)]
    env = lambda x: np.sqrt(np.convolve(x[:len(conv)] ** 2, np.ones(800) / 800, "valid"))[::160]  # noqa: E731
    assert np.corrcoef(env(muxed), env(conv))[0, 1] > 0.9


def test_converted_voice_lipsynced_onto_the_target(tmp_path):
    """Issue 14's chain on the command line: source speech → the voice converted to the target's →
    the target's face lip-synced to the converted voice → an MP4 whose soundtrack is that voice."""
    proj = tmp_path / "Say.avproj"
    cli("new", tmp_path / "Say", "--target", media("face/forensics_movie-hello.mp4"),
        "--source-voice", media("speech/asterisk_g722_allison_en_female/confbridge-mute-extended.flac"),
        "--target-voice", media("speech/asterisk_g722_carlo_it_male/demo-nogo.flac"))
    for clip in ("source_voice", "target_voice"):
        cli("voice", "analyze", proj, "--clip", clip, "--method", "dio", "-q")
    cli("voice", "train", proj, "--steps", 40, "--model", "v", "--device", "cpu", "-q")  # after 4 it is noise
    wav = cli("voice", "convert", proj, "--model", "v", "-q").strip().split(": ", 1)[1]
    cli("lipsync", "analyze", proj, "--clip", "target", "-q")
    out = cli("lipsync", "phonemes", proj, "--clip", "converted", "-q")
    assert "Speech of the converted voice: 11.2 s" in out and "no speech" not in out.lower(), out
    assert int(out.split(" viseme blocks")[0].rsplit(" ", 1)[1]) > 10, out
    out = cli("lipsync", "predict", proj, "--audio", "converted")
    assert out.startswith("Drove 335 frames") and "pingpong" in out, out   # 11.15 s at 30 fps over an 8.3 s target
    video = tmp_path / "said.mp4"
    cli("lipsync", "render", proj, "-o", video, "--preset", "ultrafast", "--height", 360, "-q")
    info = probe(video)
    assert info.video.frame_count == 335 and [a.codec for a in info.audio] == ["aac"]
    assert abs(info.audio[0].duration - info.video.duration) < 0.15
    muxed = load_audio(video, 16000).samples
    conv = load_audio(wav, 16000).samples[:len(muxed)]
    env = lambda x: np.sqrt(np.convolve(x[:len(conv)] ** 2, np.ones(800) / 800, "valid"))[::160]  # noqa: E731
    assert np.corrcoef(env(muxed), env(conv))[0, 1] > 0.9

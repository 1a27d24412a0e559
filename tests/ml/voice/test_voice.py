"""CycleGAN-VC2 on the two real Asterisk speakers: shapes, exact resume, graceful stop, conversion
onto the target's pitch, and the bad inputs of training."""

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from avstudio.core.errors import UserError
from avstudio.core.progress import run_to_end
from avstudio.media.audio import load_audio
from avstudio.workflows.project import create_project
from avstudio.ml.voice.evaluate import evaluate_voice
from avstudio.ml.voice.nets import Generator212, PatchDiscriminator2d
from avstudio.ml.voice.train import train_voice

from tests.conftest import media

ALLISON = "speech/asterisk_g722_allison_en_female"
CARLO = "speech/asterisk_g722_carlo_it_male"
FILES = ["demo-echotest.flac", "vm-opts-full.flac", "conf-usermenu.flac"]


def speakers():
    return ([str(media(f"{ALLISON}/{f}")) for f in FILES], [str(media(f"{CARLO}/{f}")) for f in FILES])


@pytest.fixture
def project(tmp_path):
    create_project(tmp_path / "Voice")
    return str(tmp_path / "Voice.avproj")


def test_networks_keep_the_feature_shape():
    g, d = Generator212(36, 0.25), PatchDiscriminator2d(36, 0.25)
    for t in (128, 132, 400):
        x = torch.randn(2, 1, 36, t)
        assert g(x).shape == x.shape
    assert d(torch.randn(1, 1, 36, 128)).shape == (1, 1, 9, 16)
    full = Generator212(36, 1.0)
    # The paper's 2-1-2D generator: 2D 128 → 256 → 1D 2304 → 256, residual blocks at 512.
    assert full.to1d[0].in_channels == 2304 and full.to1d[0].out_channels == 256
    assert full.res[0].body[0].out_channels == 1024  # 512 channels, gated


def _weights(project, model):
    d = sorted((Path(project) / "models" / model).glob("ckpt-*"))[-1]
    return load_file(str(d / "weights.safetensors"))


def test_train_resume_exactly_stop_and_convert_onto_the_target_pitch(project):
    src, tgt = speakers()
    out = run_to_end(train_voice(project, src, tgt, "vc-preview", steps=8, model_id="straight", device="cpu"))
    assert out["step"] == 8 and not out["stopped"]
    run_to_end(train_voice(project, src, tgt, "vc-preview", steps=4, model_id="resumed", device="cpu"))
    run_to_end(train_voice(project, [], [], "vc-preview", steps=8, model_id="resumed", resume=True, device="cpu"))
    a, b = _weights(project, "straight"), _weights(project, "resumed")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    losses = [line for line in (Path(project) / "models/resumed/losses.jsonl").read_text().splitlines()]
    assert len(losses) == 8  # the resumed run continued the curve

    class StopAfter:
        def __init__(self, n):
            self.n = n

        @property
        def stop_requested(self):
            self.n -= 1
            return self.n < 0

    res = run_to_end(train_voice(project, src, tgt, "vc-preview", steps=50, model_id="stopped", device="cpu",
                                 handle=StopAfter(3)))
    assert res["stopped"] and res["step"] == 3
    assert (Path(project) / "models/stopped/ckpt-00000003/weights.safetensors").is_file()

    # Converted speech's log-F0 mean lands within a semitone of the target speaker's.
    m = run_to_end(evaluate_voice(project, "straight", device="cpu"))
    assert abs(m["converted"]["mean_offset_semitones"]) < 1.0
    assert abs(m["baseline_unconverted"]["mean_offset_semitones"]) > 2.0  # the two voices really differ
    sim = m["speaker_similarity"]
    assert 0 <= sim["unconverted_vs_target"] < 0.8 and 0 <= sim["converted_vs_target"] <= 1
    sample = sorted((Path(project) / "models/straight/samples").glob("*.wav"))[-1]
    audio = load_audio(sample)
    assert audio.duration > 1.0 and np.isfinite(audio.samples).all() and np.abs(audio.samples).max() > 0.01


def test_bad_training_input_gets_messages(project, tmp_path):
    import soundfile as sf

    src, tgt = speakers()
    short = tmp_path / "short"
    short.mkdir()
    x, fs = sf.read(src[0])
    sf.write(str(short / "a.wav"), x[:int(0.3 * fs)], fs)
    with pytest.raises(UserError, match="needs at least"):
        run_to_end(train_voice(project, [str(short)], tgt[:1], "vc-preview", steps=2, device="cpu"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="holds no audio"):
        run_to_end(train_voice(project, [str(empty)], tgt[:1], "vc-preview", steps=2, device="cpu"))
    silent = tmp_path / "silent"
    silent.mkdir()
    sf.write(str(silent / "s.wav"), np.zeros(fs * 2), fs)
    with pytest.raises(UserError, match="usable speech"):
        run_to_end(train_voice(project, [str(silent)], tgt[:1], "vc-preview", steps=2, device="cpu"))
    one = tmp_path / "one"
    one.mkdir()
    sf.write(str(one / "a.wav"), x, fs)
    msgs = []
    gen = train_voice(project, [str(one)], tgt[:1], "vc-preview", steps=1, model_id="one", device="cpu")
    try:
        while True:
            msgs.append(next(gen).message)
    except StopIteration as stop:
        assert any("single short recording" in w for w in stop.value["warnings"])
    with pytest.raises(UserError, match="exists already"):
        run_to_end(train_voice(project, src[:1], tgt[:1], "vc-preview", steps=1, model_id="one", device="cpu"))
    with pytest.raises(UserError, match="is a 'vc-preview' checkpoint, not 'vc'"):
        run_to_end(train_voice(project, [], [], "vc", steps=2, model_id="one", resume=True, device="cpu"))


def test_speaker_encoder_tells_the_two_speakers_apart():
    from avstudio.analysis.voice.speech import load_speech
    from avstudio.ml.voice import speaker

    src, tgt = speakers()
    a = [speaker.embed(load_speech(f).samples) for f in src[:2]]
    b = [speaker.embed(load_speech(f).samples) for f in tgt[:2]]
    same = min(float(np.dot(a[0], a[1])), float(np.dot(b[0], b[1])))
    other = max(float(np.dot(x, y)) for x in a for y in b)
    assert same > 0.85 and other < 0.75, (same, other)  # measured 0.95 vs 0.59–0.64

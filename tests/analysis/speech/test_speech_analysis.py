"""Speech as lip sync reads it, on real recordings: features on the video grid, voice activity that
finds speech and none in silence, phones aligned to a transcript or recognized, and a viseme for every
phone the aligner can produce."""

from pathlib import Path

import numpy as np
import pytest

from avstudio.analysis.speech import features, phones, vad, visemes
from avstudio.analysis.voice.speech import load_speech
from avstudio.core.errors import UserError
from tests.conftest import media

LIBRIVOX = "speech/librivox_male/sense_and_sensibility_01_austen_64kb-0880.wav"
SAID = "he was not an ill disposed young man"


@pytest.fixture(scope="module")
def reading():
    return load_speech(media(LIBRIVOX), 16000).samples


def test_log_mel_and_mfcc_are_on_wav2lips_grid(reading):
    mel = features.log_mel(reading)
    assert mel.shape == (len(reading) // features.HOP + 1, 80) and mel.dtype == np.float32
    mf = features.mfcc(mel)
    assert mf.shape == (len(mel), 13)
    energy = mel.mean(1)
    assert np.corrcoef(energy, mf[:, 0])[0, 1] > 0.99   # c0 is the mean log energy, scaled


def test_loudness_of_a_tone_is_its_rms_level():
    t = np.arange(16000 * 2) / 16000
    x = 0.5 * np.sin(2 * np.pi * 220 * t)
    x[16000:] = 0
    db = features.loudness(x, 16000, 25.0, 60)
    assert db[:24] == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.1)
    assert (db[26:50] == features.FLOOR_DB).all() and (db[50:] == features.FLOOR_DB).all()   # silence, then past the end


def test_voice_activity_finds_speech_and_no_speech_in_silence():
    jfk = load_speech(media("speech/jfk/jfk.wav"), 16000).samples
    prob = vad.speech_probability(jfk)
    spans = vad.speech_segments(prob, len(jfk) / 16000)
    talk = sum(b - a for a, b in spans)
    assert 5.0 < talk < 10.5 and len(spans) >= 3          # 11 s with pauses between the phrases
    rng = np.random.default_rng(0)
    hiss = 0.001 * rng.standard_normal(16000 * 3)
    assert vad.speech_segments(vad.speech_probability(hiss), 3.0) == []


def test_the_vad_does_not_change_the_processs_torch_threads():
    import torch

    before = torch.get_num_threads()
    vad.speech_probability(np.zeros(16000, np.float32))
    assert torch.get_num_threads() == before


def test_a_transcript_is_aligned_word_by_word(reading):
    al = phones.align(reading, SAID + ".")
    assert al.aligned and [w for *_, w in al.words] == SAID.split()
    starts = [a for a, *_ in al.phones]
    assert starts == sorted(starts) and al.phones[-1][1] <= len(reading) / 16000 + 0.01
    man = next((a, b) for a, b, w in al.words if w == "man")
    inside = [p for a, b, p in al.phones if man[0] <= a < man[1]]
    assert inside == ["M", "AE", "N"]


def test_words_outside_the_dictionary_are_left_out_and_named(reading):
    al = phones.align(reading, "he was not an ill disposed young man zorblax")
    assert al.skipped == ["zorblax"] and len(al.words) == 8


def test_a_transcript_of_nothing_known_is_refused(reading):
    with pytest.raises(UserError, match="dictionary"):
        phones.align(reading, "zorblax quuxly")


def test_phones_are_recognized_without_a_transcript(reading):
    al = phones.recognize(reading)
    assert not al.aligned and len(al.phones) > 15
    assert {"M", "N"} & {p for *_, p in al.phones}


def test_every_phone_of_the_dictionary_has_a_viseme():
    from pocketsphinx import get_model_path

    base = set()
    for line in Path(get_model_path("en-us/cmudict-en-us.dict")).read_text(errors="replace").splitlines():
        base.update(line.split()[1:])
    assert len(base) == 39
    table = visemes.table()
    named = {p for v in table.values() for p in v.phones}
    assert base <= named, base - named
    assert visemes.of_phone("M") == visemes.BILABIAL and visemes.of_phone("SIL") == visemes.SILENCE


def test_phones_become_viseme_blocks_with_silence_between():
    blocks = visemes.from_phones([(0.0, 0.1, "SIL"), (0.1, 0.2, "M"), (0.2, 0.25, "B"), (0.25, 0.4, "AA"),
                                  (0.4, 0.5, "SIL"), (0.5, 0.6, "S")])
    assert blocks == [(0.1, 0.25, "PP"), (0.25, 0.4, "aa"), (0.5, 0.6, "SS")]

from fractions import Fraction

import av
import numpy as np
import pytest
import soundfile as sf

from avstudio.core.errors import MediaError
from avstudio.core.progress import run_to_end
from avstudio.jobs.thread_runner import ThreadRunner
from avstudio.core.progress import JobState
from avstudio.media.audio import Audio, load_audio, write_audio
from avstudio.media.export import ExportSettings, export_video
from avstudio.media.probe import probe
from avstudio.media.video import VideoSource

from tests.conftest import media


@pytest.mark.parametrize("rate", [16000, 22050, 24000, 44100])
def test_load_speech_at_requested_rate(speech, rate):
    a = load_audio(speech, rate)
    assert a.sample_rate == rate and a.samples.dtype == np.float32 and a.samples.ndim == 1
    assert a.duration == pytest.approx(11.0, abs=0.01)
    assert 0.01 < np.abs(a.samples).max() <= 1.0


def test_flac_and_video_soundtrack():
    flac = media("speech/asterisk_g722_allison_en_female/demo-echotest.flac")
    ref, sr = sf.read(flac, dtype="float32")
    a = load_audio(flac)
    assert a.sample_rate == sr and np.allclose(a.samples, ref, atol=1e-4)
    v = load_audio(media("face/forensics_movie-hello.mp4"), 16000, mono=False)
    assert v.samples.shape[1] == 2 and v.duration == pytest.approx(8.32, abs=0.05)


def test_audio_bad_inputs(tmp_path, walker):
    zero = tmp_path / "zero.wav"
    sf.write(zero, np.zeros(0, np.float32), 16000)
    with pytest.raises(MediaError, match="no audio samples") as err:
        load_audio(zero)
    assert str(zero) in str(err.value)
    with pytest.raises(MediaError, match="no audio stream"):
        load_audio(walker)
    (tmp_path / "e.wav").write_bytes(b"")
    with pytest.raises(MediaError, match="empty"):
        load_audio(tmp_path / "e.wav")


def test_write_audio_round_trip(tmp_path):
    a = Audio(np.sin(np.linspace(0, 200, 16000)).astype(np.float32) * 0.5, 16000)
    out = write_audio(tmp_path / "t.wav", a)
    b = load_audio(out)
    assert np.allclose(a.samples, b.samples, atol=1e-4)


def test_export_frames_and_audio_to_mp4(tmp_path, walker, speech):
    out = tmp_path / "out" / "w.mp4"
    with VideoSource(walker) as vs:
        frames = [f.copy() for _, f in vs.iter_frames(0, 50)]
    audio = load_audio(speech, 44100)
    result = run_to_end(export_video(out, frames, 50, ExportSettings(fps=Fraction(10), crf=12, preset="veryfast"),
                                     audio))
    assert result == out
    info = probe(out)
    assert info.video.codec == "h264" and info.video.frame_count == 50 and info.video.fps == 10
    assert [(a.codec, a.sample_rate) for a in info.audio] == [("aac", 44100)]
    assert info.audio[0].duration == pytest.approx(5.0, abs=0.05)
    # Decoded frames are close to what went in (CRF 12).
    with VideoSource(out) as back:
        err = np.abs(back.get_frame(25).astype(int) - frames[25].astype(int)).mean()
    assert err < 3.0
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"


def test_export_odd_size_and_cancel_leaves_nothing(tmp_path):
    frames = (np.full((33, 47, 3), i, np.uint8) for i in range(1000))
    out = tmp_path / "c.mp4"
    h = ThreadRunner().submit(export_video, out, frames, 1000, ExportSettings(preset="ultrafast"), name="export")
    while h.progress is None or h.progress.done < 20:
        h.wait(0.01)
    h.cancel()
    assert h.wait(10)
    assert h.state is JobState.CANCELLED
    assert list(tmp_path.iterdir()) == []
    run_to_end(export_video(out, (np.zeros((33, 47, 3), np.uint8) for _ in range(3)), 3))
    assert (probe(out).video.width, probe(out).video.height) == (48, 34)


def test_export_rejects_bad_settings(tmp_path):
    with pytest.raises(MediaError, match="CRF"):
        run_to_end(export_video(tmp_path / "a.mp4", [], 1, ExportSettings(crf=80)))
    with pytest.raises(MediaError, match="mp4"):
        run_to_end(export_video(tmp_path / "a.avi", [], 1))
    with pytest.raises(MediaError, match="same size|one size"):
        run_to_end(export_video(tmp_path / "a.mp4", [np.zeros((8, 8, 3), np.uint8), np.zeros((4, 4, 3), np.uint8)], 2))
    assert not list(tmp_path.iterdir())

"""Damaged and unusual media, and outputs that cannot be written (issue 16): every fault is a
MediaError or UserError saying what is wrong and what to do — never a traceback — and every output
appears whole or not at all."""

from __future__ import annotations

import errno
import os
import struct
import subprocess
import sys
import textwrap
import time
from fractions import Fraction

import av
import numpy as np
import pytest
import soundfile as sf

from avstudio.core.errors import MediaError, UserError
from avstudio.core.progress import JobState, run_to_end
from avstudio.jobs.thread_runner import ThreadRunner
from avstudio.media.audio import Audio, load_audio, write_audio
from avstudio.media.errors import media_errors
from avstudio.media.export import ExportSettings, export_video
from avstudio.media.probe import probe
from avstudio.media.video import VideoSource
from avstudio.workflows.project import media_summary
from tests.conftest import media


def test_mp4s_cut_near_their_end_are_described_or_refused(tmp_path):
    """psychopy_testMovie.mp4 keeps its index (moov) at the end: cut there, a stream's header is lost
    (2,997 bytes short it names no codec, which was an AttributeError in probe)."""
    data = media("face/psychopy_testMovie.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    for short in [2997, *range(1, 6000, 41)]:
        cut.write_bytes(data[:-short])
        try:
            info = probe(cut)
        except MediaError as exc:
            assert "damaged" in exc.message or "truncated" in exc.message or "not a media file" in exc.message
            continue
        assert info.video is None or info.video.frame_count > 0
    cut.write_bytes(data[:-2997])
    with pytest.raises(MediaError, match="audio stream #1 is damaged"):
        probe(cut)


def _wav_with_fmt(tmp_path, name: str, offset: int, value: int, fmt: str):
    sf.write(tmp_path / "ok.wav", np.zeros(1600, np.float32), 16000, subtype="PCM_16")
    data = bytearray((tmp_path / "ok.wav").read_bytes())
    struct.pack_into(fmt, data, data.find(b"fmt ") + offset, value)
    (tmp_path / name).write_bytes(bytes(data))
    return tmp_path / name


# offsets in the fmt chunk: id 0, size 4, format tag 8, channels 10, rate 12, byte rate 16, align 20, bits 22
@pytest.mark.parametrize("offset,value,fmt", [(8, 0, "<H"), (8, 0xFFFF, "<H"), (22, 0, "<H"), (22, 99, "<H"),
                                              (10, 0, "<H"), (12, 0, "<I"), (4, 1, "<I")])
def test_a_wav_with_a_bad_fmt_chunk_is_damaged_not_a_traceback(tmp_path, offset, value, fmt):
    bad = _wav_with_fmt(tmp_path, "bad.wav", offset, value, fmt)
    with pytest.raises(MediaError, match="damaged"):
        probe(bad)
    with pytest.raises(MediaError, match="damaged"):
        load_audio(bad, 16000)


def _mp3_with_cover(tmp_path):
    """An MP3 with cover art: an ID3v2.3 APIC frame (a real photo, JPEG) in front of real speech
    encoded by libsndfile — what FFmpeg shows as an attached-picture video stream."""
    speech, rate = sf.read(media("speech/jfk/jfk.wav"), dtype="float32")
    sf.write(tmp_path / "plain.mp3", speech[:rate * 2], rate, format="MP3", subtype="MPEG_LAYER_III")
    body = b"\x00image/jpeg\x00\x03\x00" + media("body/darknet_person.jpg").read_bytes()
    frame = b"APIC" + struct.pack(">I", len(body)) + b"\x00\x00" + body
    size = bytes((len(frame) >> s) & 0x7F for s in (21, 14, 7, 0))  # ID3 sizes are 7 bits a byte
    out = tmp_path / "cover.mp3"
    out.write_bytes(b"ID3\x03\x00\x00" + size + frame + (tmp_path / "plain.mp3").read_bytes())
    return out


def test_an_mp3_with_cover_art_is_a_sound_not_a_damaged_video(tmp_path):
    mp3 = _mp3_with_cover(tmp_path)
    with av.open(str(mp3)) as c:  # the test's premise: FFmpeg sees the picture as a video stream
        assert c.streams.video and c.streams.video[0].disposition & av.stream.Disposition.attached_pic
    info = probe(mp3)
    assert info.video is None and [a.codec for a in info.audio] == ["mp3float"]
    assert media_summary(mp3, "source_voice")["audio"]
    assert load_audio(mp3, 16000).duration == pytest.approx(2.0, abs=0.1)
    with pytest.raises(MediaError, match="no video stream"):
        media_summary(mp3, "source")


def test_errors_are_worded_by_errno(tmp_path):
    concat = tmp_path / "list.ffconcat"
    concat.write_text("ffconcat version 1.0\nfile /etc/passwd\n")
    with pytest.raises(MediaError) as err:
        probe(concat)
    assert "refused" in err.value.message and "permission" not in err.value.message.lower()
    cases = [(OSError(errno.ENOSPC, "No space left on device"), "write", "disk is full"),
             (PermissionError(errno.EACCES, "Permission denied"), "write", "no permission"),
             (av.error.PermissionError(errno.EACCES, "Permission denied"), "open", "readable"),
             (av.error.OSError(errno.ENOSPC, "No space left on device"), "encode", "free some disk space")]
    for exc, action, says in cases:
        with pytest.raises(MediaError, match=says) as err:
            with media_errors(tmp_path / "x.mp4", action):
                raise exc
        assert ("disk space" in err.value.message) == (exc.errno == errno.ENOSPC)


def _frames(value: int, n: int, pause: float = 0.0):
    for _ in range(n):
        time.sleep(pause)  # a slow renderer: the two exports below write at the same time
        yield np.full((64, 96, 3), value, np.uint8)


def test_two_exports_to_one_file_both_finish_and_leave_one_whole_video(tmp_path):
    out = tmp_path / "same.mp4"
    runner = ThreadRunner()
    handles = [runner.submit(export_video, out, _frames(v, 100, 0.003), 100, ExportSettings(preset="ultrafast"),
                             name=f"e{v}") for v in (40, 200)]
    for h in handles:
        assert h.wait(120)
        assert h.state is JobState.DONE, h.error
    with VideoSource(out, prefetch=0) as vs:
        assert vs.frame_count == 100 and int(vs.get_frame(99).mean()) in range(30, 211)
    assert [p.name for p in tmp_path.iterdir()] == ["same.mp4"]


def test_exports_into_a_full_disk_say_so_and_leave_nothing(tmp_path):
    """RLIMIT_FSIZE makes the encoder's writes fail as a full disk does; the export is a message."""
    script = textwrap.dedent(f"""
        import resource, signal, sys
        import numpy as np
        from avstudio.core.errors import UserError
        from avstudio.core.progress import run_to_end
        from avstudio.media.audio import Audio, write_audio
        from avstudio.media.export import ExportSettings, export_video
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
        noise = np.random.default_rng(0).integers(0, 255, (240, 320, 3), np.uint8)
        for make in (lambda: run_to_end(export_video({str(tmp_path / 'v.mp4')!r}, (noise for _ in range(30)), 30,
                                                     ExportSettings(preset="ultrafast", crf=0))),
                     lambda: write_audio({str(tmp_path / 'a.wav')!r}, Audio(np.zeros(160000, np.float32), 16000))):
            try:
                make()
            except UserError as exc:
                print("REFUSED", exc.message)
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert r.stdout.count("REFUSED Could not write") == 2, r.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".mp3"])
def test_sounds_are_written_in_every_format_the_extension_names(tmp_path, suffix):
    rate = 22050
    tone = Audio((0.3 * np.sin(np.arange(rate) * 2 * np.pi * 220 / rate)).astype(np.float32), rate)
    out = write_audio(tmp_path / f"tone{suffix}", tone)
    back = load_audio(out)
    assert back.sample_rate == rate and back.duration == pytest.approx(1.0, abs=0.06)
    spectrum = np.abs(np.fft.rfft(back.samples[:rate // 2]))
    assert abs(np.argmax(spectrum) * 2 - 220) <= 4  # the tone survives lossy coding
    assert [p.name for p in tmp_path.iterdir()] == [f"tone{suffix}"]


def test_outputs_that_cannot_be_written_are_refused_first(tmp_path):
    tone = Audio(np.zeros(1600, np.float32), 16000)
    with pytest.raises(UserError, match=r"\.wav, \.flac, \.ogg"):
        write_audio(tmp_path / "x.aac", tone)
    (tmp_path / "file").write_text("a file")
    with pytest.raises(UserError, match="is a file, not a folder"):
        write_audio(tmp_path / "file" / "x.wav", tone)
    assert write_audio(tmp_path / "new" / "sub" / "x.flac", tone).is_file()  # a missing folder is made


def test_exporting_onto_a_device_is_refused(tmp_path):
    link = tmp_path / "null.mp4"
    link.symlink_to("/dev/null")
    with pytest.raises(UserError, match="device"):
        run_to_end(export_video(link, _frames(0, 2), 2, ExportSettings(fps=Fraction(10))))
    assert link.is_symlink()


def test_a_fifo_or_a_device_is_refused_before_ffmpeg_waits_on_it(tmp_path):
    from tests.hostile import deadline

    fifo = tmp_path / "clip.mp4"
    os.mkfifo(fifo)
    (tmp_path / "zero.wav").symlink_to("/dev/zero")
    with deadline(10):
        for path in (fifo, tmp_path / "zero.wav"):
            with pytest.raises(MediaError, match="not a regular file"):
                probe(path)
            with pytest.raises(MediaError, match="not a regular file"):
                load_audio(path)

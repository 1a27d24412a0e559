"""Scrubbing through the frame loader: far jumps show the keyframe before the target first, the
exact frame follows when the mouse stops, and every picture is the frame it says it is."""

import av
import numpy as np

from avstudio.gui.widgets.frame_loader import FrameLoader
from avstudio.media.video import VideoSource


def gop_clip(path, frames=300, gop=30, size=(96, 64)):
    """Each frame's number is written in its first row (grey level), keyframes every ``gop``."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
        s.options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "crf": "0"}
        for i in range(frames):
            img = np.zeros((size[1], size[0], 3), np.uint8)
            img[:, :] = (i * 7) % 251
            c.mux(s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        c.mux(s.encode(None))
    return path


def test_fast_scrub_shows_keyframes_then_the_exact_frame(qtbot, tmp_path):
    source = VideoSource(gop_clip(tmp_path / "gop.mp4"), prefetch=0)
    loader = FrameLoader(source)
    shown = []
    loader.frameReady.connect(lambda i, img: shown.append((i, int(img[0, 0, 0]))))
    try:
        for target in (57, 145, 233, 289):  # far jumps, faster than the loader can follow
            loader.request(target)
        qtbot.waitUntil(lambda: bool(shown) and shown[-1][0] == 289, timeout=10000)
        # Every picture is the frame it claims (the grey level encodes the frame number).
        assert all(abs(grey - (i * 7) % 251) <= 2 for i, grey in shown), shown
        # A keyframe (a multiple of 30) came before the exact frame of the far jump.
        assert loader.keyframes_shown >= 1 and any(i % 30 == 0 and i != 289 for i, _ in shown), shown
        # Frame by frame from there: exact frames, no keyframe detour.
        before = loader.keyframes_shown
        for target in (290, 291, 292):
            loader.request(target)
            qtbot.waitUntil(lambda t=target: shown[-1][0] == t, timeout=5000)
        assert loader.keyframes_shown == before
    finally:
        loader.close()

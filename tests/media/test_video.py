import random
import threading

import av
import numpy as np
import pytest

from avstudio.media.probe import probe
from avstudio.media.video import VideoSource

from tests.conftest import media


@pytest.mark.parametrize("rel,samples", [("body/sports2d_demo.mp4", 60), ("body/vtest_walker_crop.mp4", 60),
                                         ("face/forensics_movie-hello.mp4", 40)])
def test_random_access_equals_sequential_decoding(rel, samples):
    path = media(rel)
    # Ground truth from a bare PyAV loop, independent of our code.
    with av.open(str(path)) as c:
        truth = [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]
    with VideoSource(path, cache_mb=0, prefetch=0) as vs:
        assert vs.frame_count == len(truth)
        order = random.Random(7).sample(range(len(truth)), samples)
        order += [len(truth) - 1, 0, 1, len(truth) // 2, len(truth) // 2 + 1]  # edges and a forward step
        for i in order:
            assert np.array_equal(vs.get_frame(i), truth[i]), f"frame {i} of {rel} differs"
        assert vs.seeks > 0
        assert [i for i, _ in vs.iter_frames(5, 9)] == [5, 6, 7, 8]
        assert all(np.array_equal(f, truth[i]) for i, f in vs.iter_frames(len(truth) - 3))


def test_sequential_reads_do_not_seek(walker):
    with VideoSource(walker, cache_mb=0, prefetch=0) as vs:
        vs.get_frame(0)
        seeks = vs.seeks
        for i in range(1, 40):
            vs.get_frame(i)
        assert vs.seeks == seeks


def test_cache_is_bounded_in_bytes_and_hits(sports2d):
    frame_bytes = 1768 * 994 * 3
    with VideoSource(sports2d, cache_mb=10 * frame_bytes / 2**20, prefetch=0) as vs:
        for i in range(30):
            vs.get_frame(i)
        assert vs.cache.nbytes <= 10 * frame_bytes and len(vs.cache) == 10
        decoded = vs.decoded
        vs.get_frame(29)
        assert vs.decoded == decoded and vs.cache.hits >= 1
        assert not vs.get_frame(29).flags.writeable  # shared frames cannot be scribbled on


def test_prefetch_fills_the_next_frames(walker):
    with VideoSource(walker, prefetch=8) as vs:
        vs.get_frame(10)
        for _ in range(200):
            if 18 in vs.cache:
                break
            threading.Event().wait(0.01)
        assert all(i in vs.cache for i in range(11, 19))
        decoded = vs.decoded
        for i in range(11, 19):
            vs.get_frame(i, prefetch=False)
        assert vs.decoded == decoded


def test_concurrent_random_reads_stay_exact(walker):
    with av.open(str(walker)) as c:
        truth = [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]
    errors = []
    with VideoSource(walker, cache_mb=4, prefetch=4) as vs:
        def reader(seed):
            rng = random.Random(seed)
            for _ in range(40):
                i = rng.randrange(len(truth))
                if not np.array_equal(vs.get_frame(i), truth[i]):
                    errors.append(i)
        threads = [threading.Thread(target=reader, args=(s,)) for s in range(3)]
        [t.start() for t in threads]
        [t.join() for t in threads]
    assert errors == []


def test_truncated_file_with_index_up_front(tmp_path, walker):
    """moov first (faststart), data cut: the index holds the frames that are there — the clip's own
    10 fps, not a variable rate made of the holes B-frames leave at the cut (issue 16: "80/9 fps,
    variable frame rate") — and every one of them decodes, the last included."""
    fast = tmp_path / "fast.mp4"
    with av.open(str(walker)) as src, av.open(str(fast), "w", options={"movflags": "faststart"}) as dst:
        s_in = src.streams.video[0]
        s_out = dst.add_stream_from_template(s_in)
        for pkt in src.demux(s_in):
            if pkt.dts is None:
                continue
            pkt.stream = s_out
            dst.mux(pkt)
    cut = tmp_path / "cut.mp4"
    for fraction in (0.16, 0.6, 0.98):
        cut.write_bytes(fast.read_bytes()[: int(fast.stat().st_size * fraction)])
        info = probe(cut).video
        assert (info.fps, info.vfr) == (10, False) and info.frame_count < 130
        with VideoSource(cut, prefetch=0) as vs:
            assert vs.get_frame(3).shape == (376, 450, 3)
            assert vs.get_frame(vs.frame_count - 1).shape == (376, 450, 3)
            assert len(list(vs.iter_frames())) == vs.frame_count
            with pytest.raises(IndexError):
                vs.get_frame(vs.frame_count)

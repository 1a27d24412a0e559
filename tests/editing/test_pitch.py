"""F0 editing operations on a real pitch curve: exact semitone shifts, gap-free pen strokes that
undo as one step, smoothing, octave fixing, voicing, reset, CSV in and out (with bad files)."""

import numpy as np
import pytest

from avstudio.analysis.voice import world
from avstudio.core.pitch import hz_to_midi
from avstudio.editing import pitch as f0_ops
from avstudio.analysis.voice.f0_io import export_f0_csv, f0_from_csv, read_f0_csv
from avstudio.analysis.voice.speech import load_speech
from avstudio.core.edits import History
from avstudio.core.errors import UserError
from avstudio.core.project import Project
from avstudio.core.tracks import F0Track

from tests.conftest import media


@pytest.fixture(scope="module")
def curve():
    x = load_speech(media("speech/asterisk_g722_allison_en_female/vm-opts-full.flac")).samples[:16000 * 4]
    f0, _, _ = world.analyze_segment(x, 16000, "dio", spectra=False)
    return f0.astype(np.float32)


@pytest.fixture
def proj(curve):
    p = Project("t")
    meta = {"frame_period_ms": 5.0, "sample_rate": 16000}
    voiced = (curve > 0).astype(np.uint8)
    t = p.add_track(F0Track({"f0": curve.copy(), "voiced": voiced.copy()}, {**meta, "layer": "f0"}))
    a = p.add_track(F0Track({"f0": curve.copy(), "voiced": voiced.copy()}, {**meta, "layer": "f0-analysed"}))
    return p, t.id, a.id


def test_shift_by_twelve_semitones_doubles_f0_exactly(proj, curve):
    p, tid, _ = proj
    h = History(p)
    h.push(f0_ops.shift(p, tid, 100, 500, 12))
    f0 = p.track(tid).arrays["f0"]
    v = curve[100:500] > 0
    assert v.sum() > 50
    assert np.array_equal(f0[100:500][v], curve[100:500][v] * 2)
    assert np.array_equal(f0[:100], curve[:100]) and np.array_equal(f0[500:], curve[500:])
    assert np.array_equal(f0[100:500][~v], curve[100:500][~v])  # unvoiced frames stay 0
    h.undo()
    assert np.array_equal(p.track(tid).arrays["f0"], curve)


def test_fast_pen_stroke_leaves_no_gap_and_undoes_as_one_step(proj, curve):
    p, tid, _ = proj
    h = History(p)
    # Three pointer positions far apart (a fast stroke) → every frame between is drawn.
    positions = [(200.2, 180.0), (260.7, 240.0), (331.0, 150.0)]
    for a, b in zip(positions[:-1], positions[1:]):
        h.push(f0_ops.pen(p, tid, [a, b], stroke="s1"))
    t = p.track(tid)
    assert t.arrays["voiced"][200:332].all()
    st = hz_to_midi(t.arrays["f0"][200:332])
    assert np.all(np.abs(np.diff(st)) < 0.2)  # continuous, no jump or hole
    assert abs(t.arrays["f0"][260] - 240) < 3 and abs(t.arrays["f0"][331] - 150) < 1
    h.push(f0_ops.pen(p, tid, [(400, 300.0), (410, 310.0)], stroke="s2"))  # a second stroke
    assert len(h) == 2
    h.undo()
    assert np.array_equal(p.track(tid).arrays["f0"][400:411], curve[400:411])
    assert abs(p.track(tid).arrays["f0"][260] - 240) < 3  # the first stroke is still there
    h.undo()
    assert np.array_equal(p.track(tid).arrays["f0"], curve)
    assert np.array_equal(p.track(tid).arrays["voiced"], (curve > 0).astype(np.uint8))
    h.redo()
    assert p.track(tid).arrays["voiced"][200:332].all()


def test_line_smooth_octave_voicing_reset(proj, curve):
    p, tid, aid = proj
    h = History(p)
    h.push(f0_ops.line(p, tid, (50, 100.0), (70, 400.0)))
    f = p.track(tid).arrays["f0"]
    assert abs(f[50] - 100) < 0.01 and abs(f[70] - 400) < 0.01 and abs(f[60] - 200) < 0.5  # straight in semitones
    # Octave errors: double a few frames inside a voiced run, fix them.
    v = np.flatnonzero(curve > 0)
    run = v[(v > 300) & (v < 700)][20:26]
    bad = curve.copy()
    bad[run] *= 2
    p.track(tid).arrays["f0"][:] = bad
    h.push(f0_ops.fix_octaves(p, tid, 300, 700))
    assert np.allclose(p.track(tid).arrays["f0"][run], curve[run], rtol=1e-5)
    # Smoothing keeps voicing and lowers frame-to-frame jitter.
    before = p.track(tid).arrays["f0"].copy()
    h.push(f0_ops.smooth(p, tid, 0, len(curve), width=9))
    after = p.track(tid).arrays["f0"]
    assert np.array_equal(after > 0, before > 0)
    vv = (before[1:] > 0) & (before[:-1] > 0)
    jitter = lambda a: np.abs(np.diff(hz_to_midi(a)))[vv].mean()  # noqa: E731
    assert jitter(after) < 0.7 * jitter(before)
    # Unvoiced then voiced again takes the analysed values back.
    h.push(f0_ops.set_voiced(p, tid, 300, 400, False))
    assert not p.track(tid).arrays["voiced"][300:400].any() and (p.track(tid).arrays["f0"][300:400] == 0).all()
    h.push(f0_ops.set_voiced(p, tid, 300, 400, True, analysed_id=aid))
    assert p.track(tid).arrays["voiced"][300:400].all()
    m = curve[300:400] > 0
    assert np.array_equal(p.track(tid).arrays["f0"][300:400][m], curve[300:400][m])
    h.push(f0_ops.reset(p, tid, aid, 0, len(curve)))
    assert np.array_equal(p.track(tid).arrays["f0"], curve)
    with np.errstate(divide="raise", invalid="raise"):
        f0_ops.smooth(p, tid, 0, len(curve))  # never log(0) on unvoiced frames
    with pytest.raises(UserError):
        f0_ops.shift(p, tid, 500, 400, 1)


def test_csv_round_trip_and_bad_files(proj, curve, tmp_path):
    p, tid, _ = proj
    t = p.track(tid)
    path = export_f0_csv(t, tmp_path / "f0.csv")
    frames, f0, voiced = f0_from_csv(t, path)
    assert np.array_equal(frames, np.arange(t.length))
    assert np.allclose(f0, curve, atol=1e-3) and np.array_equal(voiced, curve > 0)
    # A coarser grid (10 ms) covering part of the clip sets only the frames it covers.
    (tmp_path / "coarse.csv").write_text("time_s,f0_hz,voiced\n1.00,200,1\n1.01,210,1\n1.02,0,0\n")
    frames, f0, voiced = f0_from_csv(t, tmp_path / "coarse.csv")
    assert frames.min() == 199 and frames.max() == 205 and list(voiced[-2:]) == [False, False]
    bad = {
        "nan.csv": ("time_s,f0_hz,voiced\n0,100,1\n0.005,nan,1\n", "NaN"),
        "unsorted.csv": ("time_s,f0_hz,voiced\n0.01,100,1\n0.005,100,1\n", "increase"),
        "header.csv": ("a,b,c\n0,1,1\n", "header"),
        "text.csv": ("time_s,f0_hz,voiced\n0,abc,1\n", "line 2"),
        "neg.csv": ("time_s,f0_hz,voiced\n0,-5,1\n", "negative"),
        "empty.csv": ("", "empty"),
    }
    for name, (text, match) in bad.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(UserError, match=match):
            read_f0_csv(tmp_path / name)
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x01garbage")
    with pytest.raises(UserError):
        read_f0_csv(tmp_path / "bin.csv")
    (tmp_path / "far.csv").write_text("time_s,f0_hz,voiced\n100,200,1\n100.005,200,1\n")
    with pytest.raises(UserError, match="covers no time"):
        f0_from_csv(t, tmp_path / "far.csv")

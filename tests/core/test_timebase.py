from fractions import Fraction

import numpy as np
import pytest

from avstudio.core.timebase import Timebase


def test_cfr_ntsc_round_trip_is_exact():
    tb = Timebase(Fraction(30000, 1001), 1000)
    for f in [0, 1, 29, 30, 500, 999]:
        assert tb.seconds_to_frame(tb.frame_to_seconds(f)) == f
        assert tb.sample_to_frame(tb.frame_to_sample(f, 48000), 48000) == f
    assert tb.frame_to_seconds(30) == pytest.approx(1.001)
    assert tb.duration == pytest.approx(1000 * 1.001 / 30)


def test_time_inside_a_frame_maps_to_that_frame():
    tb = Timebase(Fraction(25), 100)
    assert tb.seconds_to_frame(0.039) == 0
    assert tb.seconds_to_frame(0.04) == 1
    assert tb.seconds_to_frame(-3) == 0
    assert tb.seconds_to_frame(99) == 99


def test_vfr_uses_real_timestamps():
    ts = [0.0, 0.033, 0.1, 0.2, 0.21]
    tb = Timebase.from_timestamps(Fraction(30), ts)
    assert tb.is_vfr
    assert tb.frame_to_seconds(2) == 0.1
    assert tb.seconds_to_frame(0.15) == 2
    assert tb.seconds_to_frame(0.205) == 3
    assert tb.seconds_to_frame(0.1) == 2
    assert Timebase.from_json(tb.to_json()) == tb


def test_rejects_bad_values():
    with pytest.raises(ValueError):
        Timebase(Fraction(0), 10)
    with pytest.raises(ValueError):
        Timebase(Fraction(30), 3, (0.0, 0.1))
    assert np.isclose(Timebase(Fraction(30), 0).duration, 0)

import random
from fractions import Fraction

from avstudio.core.timebase import Timebase
from avstudio.gui.widgets.playback import Player, SilentClock


class FakeTime:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_video_follows_the_clock_without_drift_over_30s(qapp):
    """Irregular GUI ticks (a busy event loop) must never make video lag or lead the clock by a frame:
    the frame shown is always the clock's frame, and late ticks drop frames instead of drifting."""
    now = FakeTime()
    player = Player(clock=SilentClock(now))
    tb = Timebase(Fraction(30000, 1001), 30 * 40)
    player.set_timebase(tb)
    shown = []
    player.frameChanged.connect(shown.append)
    player.play()
    rng = random.Random(3)
    start = now.t
    worst = 0.0
    while now.t - start < 30.0:
        now.t += rng.choice([0.004, 0.008, 0.016, 0.050, 0.120])  # jittery, sometimes stalled ticks
        player.tick()
        clock_t = now.t - start
        expected = tb.seconds_to_frame(clock_t)
        assert player.frame == expected
        # Drift: the shown frame's time vs the clock, in frames (under one frame by construction).
        worst = max(worst, (clock_t - tb.frame_to_seconds(player.frame)) * float(tb.fps))
    assert worst < 1.0
    assert player.dropped > 0  # stalls were absorbed by dropping frames
    assert shown == sorted(shown)  # never went backwards
    player.pause()


def test_pause_seek_step_and_end(qapp):
    now = FakeTime()
    player = Player(clock=SilentClock(now))
    tb = Timebase(Fraction(10), 20)
    player.set_timebase(tb)
    player.seek(5)
    player.play()
    now.t += 0.35
    player.tick()
    assert player.frame == 8
    player.pause()
    now.t += 5
    player.tick()
    assert player.frame == 8
    player.step(-3)
    assert player.frame == 5 and not player.playing
    player.play()
    now.t += 10  # past the end: stops on the last frame
    player.tick()
    assert player.frame == 19 and not player.playing
    player.play()  # play at the end restarts from the beginning
    assert player.frame == 0

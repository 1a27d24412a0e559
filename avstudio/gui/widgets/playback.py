"""Playback: a clock, and a player that shows the frame the clock says.

The audio output is the master clock when there is one: video asks it for the time and shows the
frame for that time, dropping frames rather than drifting. Without an audio device (CI, servers,
muted sessions) a silent clock based on the monotonic timer takes its place.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QTimer, Signal
from PySide6.QtMultimedia import QAudio, QAudioFormat, QAudioSink, QMediaDevices

from avstudio.core.timebase import Timebase
from avstudio.media.audio import Audio

log = logging.getLogger("avstudio.playback")


class SilentClock:
    """Wall-clock time while playing; ``now`` is injectable for tests."""

    has_audio = False

    def __init__(self, now=time.monotonic):
        self._now = now
        self._base = 0.0
        self._started: float | None = None

    def start(self, position: float) -> None:
        self._base, self._started = position, self._now()

    def pause(self) -> None:
        self._base = self.position()
        self._started = None

    def seek(self, position: float) -> None:
        self._base = position
        if self._started is not None:
            self._started = self._now()

    def position(self) -> float:
        if self._started is None:
            return self._base
        return self._base + (self._now() - self._started)

    def close(self) -> None:
        pass


class AudioClock:
    """Plays PCM through QAudioSink; time is what the device has consumed (the audio master)."""

    has_audio = True

    def __init__(self, audio: Audio, parent: QObject | None = None):
        self.rate = audio.sample_rate
        self.channels = min(2, audio.channels)
        pcm = audio.samples.reshape(len(audio.samples), -1)[:, : self.channels]
        self._bytes = QByteArray((np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes())
        self._frame_bytes = 2 * self.channels
        fmt = QAudioFormat()
        fmt.setSampleRate(self.rate)
        fmt.setChannelCount(self.channels)
        fmt.setSampleFormat(QAudioFormat.Int16)
        self.sink = QAudioSink(QMediaDevices.defaultAudioOutput(), fmt, parent)
        self.buffer = QBuffer(parent)
        self.buffer.setData(self._bytes)
        self.buffer.open(QIODevice.ReadOnly)
        self._base = 0.0
        self._playing = False

    def start(self, position: float) -> None:
        self._base = max(0.0, position)
        offset = int(self._base * self.rate) * self._frame_bytes
        self.buffer.seek(min(offset, self._bytes.size()))
        self.sink.start(self.buffer)
        self._playing = True

    def pause(self) -> None:
        self._base = self.position()
        self.sink.stop()
        self._playing = False

    def seek(self, position: float) -> None:
        if self._playing:
            self.sink.stop()
            self.start(position)
        else:
            self._base = max(0.0, position)

    def position(self) -> float:
        if not self._playing:
            return self._base
        return self._base + self.sink.processedUSecs() / 1e6

    @property
    def failed(self) -> bool:
        return self.sink.error() not in (QAudio.NoError, QAudio.UnderrunError)

    def close(self) -> None:
        self.sink.stop()
        self.buffer.close()


def audio_output_available() -> bool:
    return not QMediaDevices.defaultAudioOutput().isNull()


class Player(QObject):
    """Drives the current frame from a clock. Emits ``frameChanged`` only when the frame changes."""

    frameChanged = Signal(int)
    playingChanged = Signal(bool)

    TICK_MS = 8  # poll the clock at ~120 Hz: a frame is shown at most 8 ms late

    def __init__(self, parent=None, clock=None):
        super().__init__(parent)
        self.clock = clock or SilentClock()
        self.timebase: Timebase | None = None
        self.frame = 0
        self.playing = False
        self.dropped = 0  # frames skipped to keep up with the clock
        self._timer = QTimer(self)
        self._timer.setInterval(self.TICK_MS)
        self._timer.timeout.connect(self.tick)

    def set_timebase(self, timebase: Timebase | None) -> None:
        self.pause()
        self.timebase = timebase
        self.frame = 0
        self.clock.seek(0.0)
        self.frameChanged.emit(0)

    def set_clock(self, clock) -> None:
        was_playing = self.playing
        position = self.clock.position()
        self.pause()
        self.clock.close()
        self.clock = clock
        self.clock.seek(position)
        if was_playing:
            self.play()

    @property
    def frame_count(self) -> int:
        return self.timebase.frame_count if self.timebase else 0

    def play(self) -> None:
        if not self.timebase or self.playing:
            return
        if self.frame >= self.frame_count - 1:
            self.seek(0)
        self.clock.start(self.timebase.frame_to_seconds(self.frame))
        self.playing = True
        self._timer.start()
        self.playingChanged.emit(True)

    def pause(self) -> None:
        if not self.playing:
            return
        self.clock.pause()
        self.playing = False
        self._timer.stop()
        self.playingChanged.emit(False)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def seek(self, frame: int) -> None:
        if not self.timebase:
            return
        frame = max(0, min(int(frame), self.frame_count - 1))
        self.clock.seek(self.timebase.frame_to_seconds(frame))
        self._set_frame(frame)

    def step(self, delta: int) -> None:
        self.pause()
        self.seek(self.frame + delta)

    def tick(self) -> None:
        if not self.timebase:
            return
        if getattr(self.clock, "failed", False):
            log.warning("Audio output failed; continuing with a silent clock")
            self.set_clock(SilentClock())
            return
        t = self.clock.position()
        frame = self.timebase.seconds_to_frame(t)
        if t >= self.timebase.duration:
            self._set_frame(self.frame_count - 1)
            self.pause()
            return
        if frame != self.frame:
            if frame > self.frame + 1:
                self.dropped += frame - self.frame - 1
            self._set_frame(frame)

    def _set_frame(self, frame: int) -> None:
        if frame != self.frame:
            self.frame = frame
            self.frameChanged.emit(frame)

"""Plays one voice clip in one of its versions — A: the recording, B: the WORLD resynthesis of its
(edited) F0, C: the converted voice — and switches versions at the same position (A/B listening).
The audio device is the clock; without one a silent clock keeps the playhead moving."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from avstudio.core import layers, roles
from avstudio.core.progress import JobState
from avstudio.gui.widgets.playback import AudioClock, SilentClock, audio_output_available

log = logging.getLogger("avstudio.voice")
VERSIONS = ("original", "resynth", "converted")


class VoicePlayer(QObject):
    stateChanged = Signal(bool)

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.clip: str | None = None
        self.version = "original"
        self.clock = None
        self.duration = 0.0
        self.playing = False
        self._pos = 0.0
        self._job = None
        self._timer = QTimer(self)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self._check_end)
        self.has_device = audio_output_available()  # before any job runs (see SoundtrackPanel)
        ctx.projectChanged.connect(self.stop_clock)

    def audio_path(self, clip: str | None) -> Path | None:
        """The sound file of a voice clip: its recording, or the converted voice's rendered audio."""
        p = self.ctx.project
        if p is None or clip is None:
            return None
        if clip == roles.CONVERTED:
            t = p.find_track(roles.CONVERTED, layers.AUDIO)
            return Path(p.folder) / t.meta["file"] if t is not None and p.folder else None
        ref = p.media_by_role(clip)
        return p.media_path(ref.id) if ref is not None else None

    def position(self) -> float:
        return self.clock.position() if self.clock is not None and self.playing else self._pos

    def toggle(self, clip: str) -> None:
        if self.playing and clip == self.clip:
            self.pause()
        else:
            if clip != self.clip:
                self._pos = 0.0
            self.play(clip)

    def play_file(self, path: str) -> None:
        """Listen to an audio file (a training sample) from its start."""
        self.stop_clock()
        self.clip, self._pos = None, 0.0
        self._start(None, "file", path)

    def play(self, clip: str, at: float | None = None) -> None:
        self.stop_clock()
        self.clip = clip
        if at is not None:
            self._pos = at
        original = self.audio_path(clip) if clip != roles.CONVERTED else None
        version = "converted" if clip == roles.CONVERTED and self.version == "original" else self.version
        self._start(clip, version, str(original) if original else None)

    def _start(self, clip, version, original) -> None:
        from avstudio.workflows.voice import voice_audio_job

        self._job = self.ctx.jobs.run(voice_audio_job, self.ctx.project, clip, version, original,
                                      name=f"Prepare {version} audio", quiet=True, on_finished=self._loaded)

    def _loaded(self, handle) -> None:
        if handle is not self._job:
            return
        if handle.state is JobState.FAILED:
            self.ctx.error("Cannot play this voice", handle.error or "failed", handle.error_details, logged=True)
        if handle.state is not JobState.DONE:
            return
        audio = handle.result
        self.duration = audio.duration
        try:
            self.clock = AudioClock(audio, self) if self.has_device else SilentClock()
        except Exception as exc:  # noqa: BLE001 - a broken device must not stop listening
            log.warning("Audio output unavailable (%s); using a silent clock", exc)
            self.clock = SilentClock()
        self.clock.start(min(self._pos, self.duration))
        self.playing = True
        self._timer.start()
        self.stateChanged.emit(True)

    def switch(self, version: str) -> None:
        """A/B: keep the position, change what is heard."""
        self.version = version
        if self.playing and self.clip is not None:
            self._pos = self.position()
            self.play(self.clip)

    def pause(self) -> None:
        self._pos = self.position()
        self.stop_clock()
        self.stateChanged.emit(False)

    def stop_clock(self) -> None:
        if self.clock is not None:
            self.clock.pause()
            self.clock.close()
        self.clock = None
        self.playing = False
        self._timer.stop()

    def _check_end(self) -> None:
        if self.playing and self.position() >= self.duration:
            self._pos = 0.0
            self.stop_clock()
            self.stateChanged.emit(False)

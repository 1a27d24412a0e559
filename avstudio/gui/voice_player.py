"""Plays one voice clip in one of its versions — A: the recording, B: the WORLD resynthesis of its
(edited) F0, C: the converted voice — and switches versions at the same position (A/B listening).
The audio device is the clock; without one a silent clock keeps the playhead moving."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal

from avstudio.core.progress import JobState, Progress
from avstudio.gui.playback import AudioClock, SilentClock, audio_output_available

log = logging.getLogger("avstudio.voice")
VERSIONS = ("original", "resynth", "converted")


def voice_audio_job(project, clip: str, version: str, original_path: str | None):
    """Job: the Audio of one version of a voice clip (``version`` "file": ``original_path`` itself)."""
    from avstudio.media.audio import load_audio

    if version == "file":
        yield Progress(0, 1, "Loading the sample")
        return load_audio(original_path)
    if version == "original":
        if original_path is None:
            from avstudio.core.errors import UserError
            raise UserError("This voice has no recording of its own (it is a conversion): play B or C.")
        yield Progress(0, 1, "Loading the recording")
        return load_audio(original_path)
    from avstudio.analysis.voice_ops import resynthesize
    res = yield from resynthesize(project, "converted" if version == "converted" else clip)
    return load_audio(res["path"])


class VoicePlayer(QObject):
    stateChanged = Signal(bool)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
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
        window.jobs.finished.connect(self._loaded)  # queued onto the GUI thread

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
        self._start_job(None, "file", path)

    def play(self, clip: str, at: float | None = None) -> None:
        self.stop_clock()
        self.clip = clip
        if at is not None:
            self._pos = at
        editor = getattr(self.window, "f0_editor", None)
        original = editor.audio_path(clip) if editor is not None and clip != "converted" else None
        version = self.version
        if clip == "converted" and version == "original":
            version = "converted"
        self._start_job(clip, version, str(original) if original else None)

    def _start_job(self, clip, version, original) -> None:
        self._job = self.window.jobs.run(voice_audio_job, self.window.project, clip, version, original,
                                         name=f"Prepare {version} audio", quiet=True)


    def _loaded(self, handle) -> None:
        if handle is not self._job:
            return
        if handle.state is not JobState.DONE:
            if handle.state is JobState.FAILED:
                self.window.show_error("Cannot play this voice", handle.error or "failed", handle.error_details)
            return
        audio = handle.result
        self.duration = audio.duration
        try:
            self.clock = AudioClock(audio, self) if audio_output_available() else SilentClock()
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

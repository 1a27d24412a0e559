"""What plays with the video: the transport's soundtrack chooser (the playback clip's own sound, the
voice recordings, the converted voice), its waveform on the timeline, and the audio clock. The audio
output is the master clock when there is a device; without one a silent clock keeps time."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject

from avstudio.core import layers, roles
from avstudio.core.progress import JobState
from avstudio.gui.widgets.playback import AudioClock, SilentClock, audio_output_available
from avstudio.workflows.project import soundtracks

log = logging.getLogger("avstudio.gui")


class SoundtrackPanel(QObject):
    def __init__(self, ctx, clips, transport, timeline, parent=None):
        super().__init__(parent)
        self.ctx, self.clips, self.timeline = ctx, clips, timeline
        self.combo, self.clock_label = transport.soundtrack, transport.clock_label
        self._audio_job = self._wave_job = None
        self._loaded: tuple | None = None  # (choice, file) loaded last: a refill that changes nothing reloads nothing
        # Asked once, here, before any job runs: QtMultimedia's device query loads libraries with the
        # GIL held, and a job thread importing an extension module at that moment deadlocks with it.
        self.has_device = audio_output_available()
        self.combo.activated.connect(lambda _: self.load())
        clips.playbackClipChanged.connect(self._playback_clip_changed)
        ctx.events.mediaChanged.connect(lambda _role: self.refill())
        ctx.events.trackChanged.connect(lambda _t, clip, layer: clip == roles.CONVERTED and layer == layers.AUDIO
                                        and self.refill())

    def _playback_clip_changed(self, role: str) -> None:
        if not role:  # the clips are reopened (another project, other media): load afresh
            self._loaded = None
        self.refill(load=True)

    def tracks(self):
        return soundtracks(self.ctx.project, self.clips.playback_clip or None)

    def refill(self, load: bool = False) -> None:
        """The choices as the project has them now (the choice kept when it is still there)."""
        current = self.combo.currentData()
        self.combo.blockSignals(True)
        self.combo.clear()
        for key, label, _ in self.tracks():
            self.combo.addItem(label, key)
        i = self.combo.findData(current)
        self.combo.setCurrentIndex(i if i >= 0 else 0)
        self.combo.blockSignals(False)
        if load or self.combo.currentData() != current:
            self.load(again=False)

    def load(self, again: bool = True) -> None:
        """Load the chosen sound: its waveform for the timeline, and the audio clock when a device exists."""
        path = {k: p for k, _, p in self.tracks()}.get(self.combo.currentData())
        if not again and self._loaded == (self.combo.currentData(), path):
            return
        self._loaded = (self.combo.currentData(), path)
        self.clock_label.setText("")
        self.ctx.player.set_clock(SilentClock())
        self._wave_job = self._audio_job = None
        if path is None:
            self.timeline.set_waveform(None)
            self.clock_label.setText("no soundtrack")
            return
        from avstudio.media.waveform import waveform_job

        label = self.combo.currentText().lower()
        self._wave_job = self.ctx.jobs.run(waveform_job, str(path), name=f"Waveform of {path.name}", quiet=True,
                                           on_finished=lambda h: self._waveform(h, label))
        if not self.has_device:
            self.clock_label.setText("no audio device: silent clock")
            log.info("No audio output device: playback uses a silent clock")
            return
        from avstudio.media.audio import playback_audio_job

        self._audio_job = self.ctx.jobs.run(playback_audio_job, path, name=f"Load audio of {path.name}", quiet=True,
                                            on_finished=self._audio_loaded)

    def _waveform(self, handle, label: str) -> None:
        if handle is self._wave_job and handle.state is JobState.DONE:
            self.timeline.set_waveform(*handle.result, label=label)

    def _audio_loaded(self, handle) -> None:
        if handle is not self._audio_job or handle.state is not JobState.DONE:
            return
        try:
            self.ctx.player.set_clock(AudioClock(handle.result, self))
            self.clock_label.setText("audio clock")
        except Exception as exc:  # noqa: BLE001 - a broken audio device must not stop playback
            log.warning("Audio output unavailable (%s); using a silent clock", exc)

"""The transport bar: step back, play/pause, step forward, the scrub slider, the timecode, what the
right pane shows, what sound plays, and which clock drives playback. It follows the player."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

from avstudio.core import textfmt
from avstudio.gui.actions import ActionSpec


class Transport(QWidget):
    def __init__(self, player, timeline, parent=None):
        super().__init__(parent)
        self.player, self.timeline = player, timeline
        style = self.style()
        self.play_button = self._button(style.standardIcon(QStyle.SP_MediaPlay), "Play / pause (Space)", player.toggle)
        back = self._button(style.standardIcon(QStyle.SP_MediaSeekBackward), "Previous frame (←); 10 frames with Ctrl+←",
                            lambda: player.step(-1))
        fwd = self._button(style.standardIcon(QStyle.SP_MediaSeekForward), "Next frame (→); 10 frames with Ctrl+→",
                           lambda: player.step(1))
        self.scrub = QSlider(Qt.Horizontal)
        self.scrub.setToolTip("Scrub through the clip")
        self.scrub.valueChanged.connect(self._scrubbed)
        self.timecode = QLabel("--:--.-- / --:--.--")
        self.timecode.setObjectName("timecode")
        self.right_pane = self._combo("right_pane", 14, "What the right pane shows: the target clip, or what a trained "
                                                        "model generates from the source's motion (G switches A/B)")
        self.soundtrack = self._combo("soundtrack", 13, "What plays with the video: the clip's own sound, a voice, "
                                                        "or the converted voice")
        self.clock_label = QLabel("")
        self.clock_label.setObjectName("muted")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for w in (back, self.play_button, fwd):
            lay.addWidget(w)
        lay.addWidget(self.scrub, 1)
        for w in (self.timecode, self.right_pane, self.soundtrack, self.clock_label):
            lay.addWidget(w)
        player.frameChanged.connect(self.show_frame)
        player.playingChanged.connect(self._playing)
        timeline.seekRequested.connect(self._seek_seconds)

    def _button(self, icon, tip: str, slot) -> QToolButton:
        b = QToolButton()
        b.setIcon(icon)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        return b

    @staticmethod
    def _combo(name: str, width: int, tip: str) -> QComboBox:
        c = QComboBox()
        c.setObjectName(name)
        c.setMinimumContentsLength(width)
        c.setToolTip(tip)
        return c

    def actions(self) -> list:
        p, m = self.player, "Playback"
        spec = [("play", "Play / Pause", "Play or pause", p.toggle),
                ("next", "Next Frame", "One frame forward", lambda: p.step(1)),
                ("prev", "Previous Frame", "One frame back", lambda: p.step(-1)),
                ("next10", "Forward 10 Frames", "Ten frames forward", lambda: p.step(10)),
                ("prev10", "Back 10 Frames", "Ten frames back", lambda: p.step(-10)),
                ("first", "First Frame", "Go to the first frame", lambda: p.step(-10**9)),
                ("last", "Last Frame", "Go to the last frame", lambda: p.step(10**9))]
        return [(ActionSpec(i, m, "transport", text, tip), slot) for i, text, tip, slot in spec]

    def _scrubbed(self, value: int) -> None:
        if value != self.player.frame:
            self.player.seek(value)

    def _seek_seconds(self, seconds: float) -> None:
        if self.player.timebase is not None:
            self.player.seek(self.player.timebase.seconds_to_frame(seconds))

    def _playing(self, playing: bool) -> None:
        icon = QStyle.SP_MediaPause if playing else QStyle.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))

    def show_frame(self, frame: int) -> None:
        tb = self.player.timebase
        self.scrub.blockSignals(True)
        self.scrub.setRange(0, max(0, tb.frame_count - 1) if tb else 0)
        self.scrub.setValue(frame)
        self.scrub.blockSignals(False)
        if tb is None:
            self.timecode.setText("--:--.-- / --:--.--")
            return
        t = tb.frame_to_seconds(frame)
        self.timeline.set_time(t)
        self.timecode.setText(f"{textfmt.timecode(t)} / {textfmt.timecode(tb.duration)}   frame {frame + 1}/"
                              f"{tb.frame_count}")

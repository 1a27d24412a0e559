"""The pitch editor: a voice clip's spectrogram on a semitone axis with its F0 curve drawn over it,
edited with the mouse (pen, straight line, smoothing brush: gui/voice/pitch_tools.py; one undo step
per stroke) and with range operations (shift by semitones, fix octave jumps, voiced/unvoiced, reset to
the analysis). Its A / B / C buttons play the recording, the WORLD resynthesis of the edited curve, or
the converted voice, switching at the same position.

Every change goes through core edits (avstudio/editing/pitch.py) on the undo stack; the spectrogram is
computed in a job, never on the GUI thread.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSizePolicy,
                               QToolButton, QVBoxLayout, QWidget)

from avstudio.core import layers, roles
from avstudio.core.errors import UserError
from avstudio.core.pitch import hz_to_midi, midi_to_hz, note_name
from avstudio.core.progress import JobState
from avstudio.editing import pitch as pitch_ops
from avstudio.gui.voice.pitch_tools import TOOL_CLASSES, TOOLS
from avstudio.gui.widgets.theme import icon
from avstudio.media.spectrogram import MIDI_HI, MIDI_LO

RANGE_OPS = (("shift", "Shift", "Transpose the selected range by the semitones on the left"),
             ("octave", "Fix octaves", "Fold octave jumps in the range back onto the curve"),
             ("smooth_range", "Smooth", "Smooth the whole selected range"),
             ("voiced", "Voiced", "Mark the range voiced (pitch from the analysis)"),
             ("unvoiced", "Unvoiced", "Mark the range unvoiced (no pitch)"),
             ("reset", "Reset", "Put the range back to the analysed curve"))
VERSIONS = (("original", "A: Original", "Play the recording"),
            ("resynth", "B: Resynthesized", "Play the edited curve through WORLD"),
            ("converted", "C: Converted", "Play the converted voice"))


class _EditBox(pg.ViewBox):
    """Left drags edit with the current tool; right drag pans, the wheel zooms (both axes)."""

    def __init__(self, editor: PitchEditor):
        super().__init__()
        self.editor = editor

    def mouseDragEvent(self, ev, axis=None):
        if ev.button() != Qt.LeftButton or axis is not None:
            if ev.button() == Qt.RightButton:
                # Pan with the right button (the default right drag is a zoom).
                ev.accept()
                delta = self.mapToView(ev.pos()) - self.mapToView(ev.lastPos())
                self.translateBy(x=-delta.x(), y=-delta.y())
                return
            return super().mouseDragEvent(ev, axis)
        ev.accept()
        if ev.isStart():
            self.editor.stroke_start(self.mapSceneToView(ev.buttonDownScenePos()))
        self.editor.stroke_move(self.mapSceneToView(ev.scenePos()))
        if ev.isFinish():
            self.editor.stroke_end(self.mapSceneToView(ev.scenePos()))

    def raiseContextMenu(self, ev):
        return  # the right button pans


def _tool_button(text: str, tip: str, name: str, slot, checkable: bool = False) -> QToolButton:
    b = QToolButton()
    b.setText(text)
    b.setToolTip(tip)
    b.setObjectName(name)
    b.setCheckable(checkable)
    b.clicked.connect(lambda _=False: slot())
    return b


class PitchEditor(QWidget):
    def __init__(self, ctx, voice_player, parent=None):
        super().__init__(parent)
        self.ctx, self.voice_player = ctx, voice_player
        self.clip = roles.SOURCE_VOICE
        self.tool = "pen"
        self.gesture = None
        self._spec_job = None
        self._spec_key = None
        self.brush_frames = 12
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(self._toolbar())
        self._build_plot()
        lay.addWidget(self.plot, 1)
        lay.addLayout(self._listen_bar())
        self._head_timer = QTimer(self)
        self._head_timer.setInterval(40)
        self._head_timer.timeout.connect(self._follow)
        self._head_timer.start()
        ctx.projectChanged.connect(self.fill_clips)
        ctx.events.trackChanged.connect(self._track_changed)

    # ---- building ------------------------------------------------------------------------------
    def _toolbar(self) -> QHBoxLayout:
        self.clip_box = QComboBox()
        self.clip_box.setToolTip("Which voice to show and edit")
        self.clip_box.setMinimumContentsLength(14)
        self.clip_box.currentIndexChanged.connect(lambda _: self.set_clip(self.clip_box.currentData()))
        bar = QHBoxLayout()
        bar.addWidget(self.clip_box)
        self.tool_group = QButtonGroup(self)
        self.tool_buttons = {}
        for name, (text, tip) in TOOLS.items():
            b = _tool_button(text, f"{text}: {tip}", f"f0_tool_{name}", lambda n=name: self.set_tool(n), True)
            b.setIcon(icon(name))
            b.setToolButtonStyle(Qt.ToolButtonIconOnly)  # the name is in the tooltip: the bar fits 1366 px
            self.tool_group.addButton(b)
            self.tool_buttons[name] = b
            bar.addWidget(b)
        self.tool_buttons["pen"].setChecked(True)
        self.snap = QCheckBox("Snap")
        self.snap.setToolTip("Snap drawn pitch to whole semitones")
        bar.addWidget(self.snap)
        bar.addSpacing(12)
        self.semitones = QDoubleSpinBox()
        self.semitones.setRange(-24, 24)
        self.semitones.setSingleStep(1)
        self.semitones.setValue(12)
        self.semitones.setSuffix(" st")
        self.semitones.setToolTip("Semitones to shift the selected range by")
        bar.addWidget(self.semitones)
        self.op_buttons = {op: _tool_button(text, tip, f"f0_op_{op}", lambda o=op: self.range_op(o))
                           for op, text, tip in RANGE_OPS}
        for b in self.op_buttons.values():
            bar.addWidget(b)
        bar.addStretch(1)
        return bar

    def _build_plot(self) -> None:
        self.box = _EditBox(self)
        self.plot = pg.PlotWidget(viewBox=self.box)
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.setLabel("left", "pitch")
        self.plot.showGrid(x=False, y=True, alpha=0.25)
        self.plot.setMinimumHeight(110)
        self.plot.getAxis("left").setTicks([[(m, f"{note_name(m)} {midi_to_hz(m):.0f}")
                                             for m in range(MIDI_LO, MIDI_HI + 1) if m % 12 in (0, 9)],
                                            [(m, "") for m in range(MIDI_LO, MIDI_HI + 1)]])
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("inferno"))
        self.plot.addItem(self.image)
        self.analysed_curve = self.plot.plot(pen=pg.mkPen((160, 160, 160, 140), width=1, style=Qt.DashLine),
                                             connect="finite")
        self.curve = self.plot.plot(pen=pg.mkPen((90, 200, 255), width=2.5), connect="finite")
        self.preview = self.plot.plot(pen=pg.mkPen((255, 255, 255), width=1, style=Qt.DashLine))
        self.region = pg.LinearRegionItem(brush=(76, 158, 235, 70))
        self.region.hide()
        self.plot.addItem(self.region)
        self.playhead = pg.InfiniteLine(0, pen=pg.mkPen((255, 255, 255, 160)))
        self.plot.addItem(self.playhead)
        self.box.setLimits(yMin=MIDI_LO, yMax=MIDI_HI)

    def _listen_bar(self) -> QHBoxLayout:
        listen = QHBoxLayout()  # under the plot, beside the status line
        self.status = QLabel("Analyse a voice to see and edit its pitch.")
        self.status.setObjectName("muted")
        self.status.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # long lines never widen the window
        listen.addWidget(self.status, 1)
        self.play_group = QButtonGroup(self)
        self.version_buttons = {}
        for v, text, tip in VERSIONS:
            b = _tool_button(text, tip + " (switching keeps the position)", f"f0_play_{v}",
                             lambda name=v: self.voice_player.switch(name), True)
            self.play_group.addButton(b)
            self.version_buttons[v] = b
            listen.addWidget(b)
        self.version_buttons["original"].setChecked(True)
        self.play_button = _tool_button("Play", "Play / pause this voice", "f0_play",
                                        lambda: self.voice_player.toggle(self.clip))
        listen.addWidget(self.play_button)
        return listen

    # ---- data ------------------------------------------------------------------------------
    @property
    def project(self):
        return self.ctx.project

    def track(self, layer: str = layers.F0):
        return self.project.find_track(self.clip, layer) if self.project is not None else None

    def frame_seconds(self) -> float:
        t = self.track()
        return float(t.meta["frame_period_ms"]) / 1000.0 if t is not None else 0.005

    def _track_changed(self, _tid: str, clip: str, layer: str) -> None:
        if layer in (layers.F0, layers.F0_ANALYSED):
            self.fill_clips() if clip != self.clip or self.clip_box.findData(clip) < 0 else self.refresh()

    def fill_clips(self) -> None:
        """The voices that have an F0 curve (or could be analysed)."""
        current, p = self.clip, self.project
        self.clip_box.blockSignals(True)
        self.clip_box.clear()
        for clip in roles.PITCH_CLIPS:
            ref = p.media_by_role(clip) if p is not None and clip != roles.CONVERTED else None
            if p is not None and (p.find_track(clip, layers.F0) is not None or (ref is not None and ref.has_audio)):
                self.clip_box.addItem(roles.label(clip).capitalize(), clip)
        self.clip_box.setCurrentIndex(max(0, self.clip_box.findData(current)))
        self.clip_box.blockSignals(False)
        if self.clip_box.count():
            self.set_clip(self.clip_box.currentData())
        else:
            self.refresh()

    def set_clip(self, clip: str | None) -> None:
        if clip is None:
            return
        self.clip = clip
        self.region.hide()
        self.refresh(reset_view=True)

    def set_tool(self, tool: str) -> None:
        self.tool = tool
        self.tool_buttons[tool].setChecked(True)

    def refresh(self, *_args, reset_view: bool = False) -> None:
        t = self.track()
        if t is None:
            for curve in (self.curve, self.analysed_curve):
                curve.setData([], [])
            self.image.clear()
            self._spec_key = None
            has_media = self.clip != roles.CONVERTED and self.project is not None and self.project.media_by_role(self.clip)
            hint = self.ctx.hint_text(f"analyse_{self.clip}") if has_media else ""
            self.status.setText(f"The {roles.label(self.clip)} has no pitch curve yet: "
                                + (f"analyse it{hint}." if has_media else "convert a voice first."))
            return
        times = t.times()
        f0 = np.where(t.arrays["voiced"] > 0, t.arrays["f0"], 0)
        self.curve.setData(times, hz_to_midi(f0))
        a = self.track(layers.F0_ANALYSED)
        if a is not None and a.length == t.length:
            self.analysed_curve.setData(times, hz_to_midi(a.arrays["f0"]))
        voiced = f0[f0 > 0]
        edited = int((a is not None and a.length == t.length) and (a.arrays["f0"] != t.arrays["f0"]).sum())
        self.status.setText(f"{roles.label(self.clip).capitalize()}: {t.length * self.frame_seconds():.2f} s, "
                            f"{(f0 > 0).mean():.0%} voiced, median {np.median(voiced) if len(voiced) else 0:.0f} Hz, "
                            f"{edited} frames edited · {t.meta.get('method', '')} at {t.meta.get('sample_rate')} Hz")
        if reset_view:
            lo = np.nanmin(hz_to_midi(voiced)) if len(voiced) else 48
            hi = np.nanmax(hz_to_midi(voiced)) if len(voiced) else 72
            self.box.setRange(xRange=(0, times[-1] if len(times) else 1), yRange=(lo - 5, hi + 5), padding=0)
        self._update_spectrogram(t)

    def _update_spectrogram(self, t) -> None:
        from avstudio.media.spectrogram import spectrogram_job

        path = self.voice_player.audio_path(self.clip)
        key = (str(path), t.meta.get("sample_rate"), self.frame_seconds())
        if path is None or key == self._spec_key:
            return
        self._spec_key = key
        self._spec_job = self.ctx.jobs.run(spectrogram_job, str(path), int(t.meta.get("sample_rate", 16000)),
                                           self.frame_seconds() * 1000, name=f"Spectrogram of {path.name}",
                                           quiet=True, on_finished=lambda h: self._spectrogram_done(h, key))

    def _spectrogram_done(self, handle, key) -> None:
        if handle is not self._spec_job or handle.state is not JobState.DONE or key != self._spec_key:
            return
        spec = handle.result
        top = float(np.percentile(spec, 99.5))
        self.image.setImage(spec, levels=(top - 70, top))
        self.image.setRect(QRectF(0, MIDI_LO, spec.shape[1] * self.frame_seconds(), MIDI_HI - MIDI_LO))
        self.image.setZValue(-10)

    # ---- mouse editing -------------------------------------------------------------------------
    def _point(self, pos) -> tuple[float, float]:
        m = round(pos.y()) if self.snap.isChecked() else pos.y()
        return pos.x() / self.frame_seconds(), float(midi_to_hz(m))

    def push(self, edit) -> None:
        if edit is not None:
            self.ctx.push(edit)

    def stroke_start(self, pos) -> None:
        t = self.track()
        self.gesture = TOOL_CLASSES[self.tool](self, t, self._point(pos), pos) if t is not None else None

    def stroke_move(self, pos) -> None:
        if self.gesture is not None and self.track() is not None:
            self.gesture.move(self._point(pos), pos)

    def stroke_end(self, pos) -> None:
        if self.gesture is not None and self.track() is not None:
            self.gesture.end(self._point(pos), pos)
        self.gesture = None

    # ---- range operations ----------------------------------------------------------------------
    def selected_frames(self) -> tuple[int, int] | None:
        if self.track() is None or not self.region.isVisible():
            return None
        fp = self.frame_seconds()
        a, b = self.region.getRegion()
        a, b = int(round(a / fp)), int(round(b / fp)) + 1
        return (a, b) if b > a else None

    def select_seconds(self, a: float, b: float) -> None:
        self.region.setRegion((a, b))
        self.region.show()

    def range_op(self, op: str) -> None:
        t, rng = self.track(), self.selected_frames()
        if t is None or rng is None:
            self.status.setText("Select a range first (Select tool, drag over the curve).")
            return
        p, a = self.project, self.track(layers.F0_ANALYSED)
        try:
            edit = {
                "shift": lambda: pitch_ops.shift(p, t.id, *rng, self.semitones.value()),
                "octave": lambda: pitch_ops.fix_octaves(p, t.id, *rng),
                "smooth_range": lambda: pitch_ops.smooth(p, t.id, *rng),
                "voiced": lambda: pitch_ops.set_voiced(p, t.id, *rng, True, a.id if a is not None else None),
                "unvoiced": lambda: pitch_ops.set_voiced(p, t.id, *rng, False),
                "reset": lambda: pitch_ops.reset(p, t.id, a.id, *rng) if a is not None else None,
            }[op]()
        except UserError as exc:
            self.status.setText(exc.message)
            return
        if edit is None:
            self.status.setText("Nothing to change in that range.")
            return
        self.push(edit)

    def _follow(self) -> None:
        vp = self.voice_player
        if vp.clip == self.clip:
            self.playhead.setValue(vp.position())
            self.play_button.setText("Pause" if vp.playing else "Play")

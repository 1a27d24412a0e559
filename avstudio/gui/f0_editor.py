"""The pitch editor: a voice clip's spectrogram on a semitone axis with its F0 curve drawn over it,
edited with the mouse (pen, straight line, smoothing brush; one undo step per stroke) and with range
operations (shift by semitones, fix octave jumps, voiced/unvoiced, reset to the analysis). It plays
the original, the WORLD resynthesis of the edited curve, or the converted voice, switching A/B at
the same position.

Every change goes through core edits (avstudio.analysis.f0_ops) on the window's undo stack; the
spectrogram and the resynthesis are computed in jobs, never on the GUI thread.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QToolButton,
                               QVBoxLayout, QWidget)

from avstudio.analysis import f0_ops
from avstudio.core.errors import UserError
from avstudio.core.progress import JobState, Progress
from avstudio.gui.theme import icon

MIDI_LO, MIDI_HI = 28, 88  # E1 (41 Hz) … E6 (1.3 kHz)
ROWS_PER_SEMITONE = 4
NOTE_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
CLIP_LABELS = {"source_voice": "Source voice", "target_voice": "Target voice", "source": "Source clip audio",
               "target": "Target clip audio", "converted": "Converted voice"}
TOOLS = {"select": ("Select", "Drag to select a time range for the range operations (R)"),
         "pen": ("Pen", "Draw the pitch: every frame the stroke passes over is set (P)"),
         "line": ("Line", "Drag a straight line of pitch (L)"),
         "smooth": ("Smooth", "Brush over the curve to smooth it (B)")}


def hz_to_midi(hz):
    hz = np.asarray(hz, np.float64)
    return 69.0 + 12.0 * np.log2(np.where(hz > 0, hz, np.nan) / 440.0)


def midi_to_hz(m):
    return 440.0 * 2.0 ** ((np.asarray(m, np.float64) - 69.0) / 12.0)


def spectrogram_job(path: str, sample_rate: int, frame_period_ms: float = 5.0):
    """Job: log-magnitude spectrogram of an audio file on the semitone grid (rows MIDI_LO…MIDI_HI)."""
    from avstudio.media.audio import load_audio

    yield Progress(0, 2, f"Spectrogram of {Path(path).name}")
    x = load_audio(path, sample_rate).samples
    hop = int(round(sample_rate * frame_period_ms / 1000))
    n_fft = 2048 if sample_rate > 16000 else 1024
    pad = np.pad(x, (n_fft // 2, n_fft // 2))
    frames = 1 + (len(pad) - n_fft) // hop
    window = np.hanning(n_fft).astype(np.float32)
    bins = midi_to_hz(np.arange(MIDI_LO * ROWS_PER_SEMITONE, MIDI_HI * ROWS_PER_SEMITONE) / ROWS_PER_SEMITONE)
    pos = bins * n_fft / sample_rate
    lo = np.floor(pos).astype(int)
    w = (pos - lo).astype(np.float32)
    out = np.empty((len(bins), frames), np.float32)
    step = 2048
    for a in range(0, frames, step):  # in blocks: bounded memory on long audio
        b = min(frames, a + step)
        idx = np.arange(a, b)[:, None] * hop + np.arange(n_fft)[None, :]
        mag = np.abs(np.fft.rfft(pad[idx] * window, axis=1))
        spec = (1 - w) * mag[:, lo] + w * mag[:, lo + 1]
        out[:, a:b] = (20 * np.log10(spec + 1e-6)).T
    yield Progress(2, 2, "Spectrogram ready")
    return out


class _EditBox(pg.ViewBox):
    """Left drags edit with the current tool; right drag pans, the wheel zooms (both axes)."""

    def __init__(self, editor: F0Editor):
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


class F0Editor(QWidget):
    """Needs a window with ``project``, ``undo_stack``, ``jobs`` and ``push(edit)``."""

    changed = Signal()

    def __init__(self, window, parent=None):
        super().__init__(parent)
        self.window = window
        self.clip = "source_voice"
        self.tool = "pen"
        self._stroke = None
        self._anchor = None
        self._last = None
        self._spec_job = None
        self._spec_key = None
        self.brush_frames = 12

        self.clip_box = QComboBox()
        self.clip_box.setToolTip("Which voice to show and edit")
        self.clip_box.setMinimumContentsLength(14)
        self.clip_box.currentIndexChanged.connect(lambda _: self.set_clip(self.clip_box.currentData()))
        bar = QHBoxLayout()
        bar.addWidget(self.clip_box)
        self.tool_group = QButtonGroup(self)
        self.tool_buttons = {}
        for name, (text, tip) in TOOLS.items():
            b = QToolButton()
            b.setText(text)
            b.setIcon(icon(name))
            b.setToolButtonStyle(Qt.ToolButtonIconOnly)  # the name is in the tooltip: the bar fits 1366 px
            b.setCheckable(True)
            b.setToolTip(f"{text}: {tip}")
            b.setObjectName(f"f0_tool_{name}")
            self.tool_group.addButton(b)
            b.clicked.connect(lambda _=False, n=name: self.set_tool(n))
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
        self.op_buttons = {}
        for op, text, tip in (("shift", "Shift", "Transpose the selected range by the semitones on the left"),
                              ("octave", "Fix octaves", "Fold octave jumps in the range back onto the curve"),
                              ("smooth_range", "Smooth", "Smooth the whole selected range"),
                              ("voiced", "Voiced", "Mark the range voiced (pitch from the analysis)"),
                              ("unvoiced", "Unvoiced", "Mark the range unvoiced (no pitch)"),
                              ("reset", "Reset", "Put the range back to the analysed curve")):
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.setObjectName(f"f0_op_{op}")
            b.clicked.connect(lambda _=False, o=op: self.range_op(o))
            self.op_buttons[op] = b
            bar.addWidget(b)
        bar.addStretch(1)
        listen = QHBoxLayout()  # under the plot, beside the status line
        self.play_group = QButtonGroup(self)
        self.version_buttons = {}
        for v, text, tip in (("original", "A: Original", "Play the recording"),
                             ("resynth", "B: Resynthesized", "Play the edited curve through WORLD"),
                             ("converted", "C: Converted", "Play the converted voice")):
            b = QToolButton()
            b.setText(text)
            b.setCheckable(True)
            b.setToolTip(tip + " (switching keeps the position)")
            b.setObjectName(f"f0_play_{v}")
            self.play_group.addButton(b)
            b.clicked.connect(lambda _=False, name=v: self.window.voice_player.switch(name))
            self.version_buttons[v] = b
            listen.addWidget(b)
        self.version_buttons["original"].setChecked(True)
        self.play_button = QToolButton()
        self.play_button.setText("Play")
        self.play_button.setToolTip("Play / pause this voice")
        self.play_button.setObjectName("f0_play")
        self.play_button.clicked.connect(lambda: self.window.voice_player.toggle(self.clip))
        listen.addWidget(self.play_button)

        self.box = _EditBox(self)
        self.plot = pg.PlotWidget(viewBox=self.box)
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.setLabel("left", "pitch")
        self.plot.showGrid(x=False, y=True, alpha=0.25)
        self.plot.setMinimumHeight(110)
        ax = self.plot.getAxis("left")
        ax.setTicks([[(m, f"{NOTE_NAMES[m % 12]}{m // 12 - 1} {midi_to_hz(m):.0f}") for m in range(MIDI_LO, MIDI_HI + 1)
                      if m % 12 in (0, 9)],
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
        self.status = QLabel("Analyse a voice (Voice ▸ Analyse) to see and edit its pitch.")
        self.status.setObjectName("muted")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(bar)
        lay.addWidget(self.plot, 1)
        listen.insertWidget(0, self.status, 1)
        lay.addLayout(listen)
        self._head_timer = QTimer(self)
        self._head_timer.setInterval(40)
        self._head_timer.timeout.connect(self._follow)
        self._head_timer.start()
        window.jobs.finished.connect(self._spectrogram_done)

    # ---- data ------------------------------------------------------------------------------
    @property
    def project(self):
        return self.window.project

    def track(self, layer: str = "f0"):
        from avstudio.analysis.project_ops import find_track
        return find_track(self.project, self.clip, layer) if self.project is not None else None

    def fill_clips(self) -> None:
        """The voices that have an F0 curve (or could be analysed)."""
        current = self.clip
        self.clip_box.blockSignals(True)
        self.clip_box.clear()
        for clip, label in CLIP_LABELS.items():
            from avstudio.analysis.project_ops import find_track
            has = self.project is not None and (find_track(self.project, clip, "f0") is not None
                                                or (clip != "converted" and self.project.media_by_role(clip)
                                                    and self.project.media_by_role(clip).probe.get("audio")))
            if has:
                self.clip_box.addItem(label, clip)
        i = self.clip_box.findData(current)
        self.clip_box.setCurrentIndex(max(0, i))
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

    def audio_path(self, clip: str | None = None) -> Path | None:
        clip = clip or self.clip
        p = self.project
        if p is None:
            return None
        if clip == "converted":
            from avstudio.analysis.project_ops import find_track
            t = find_track(p, "converted", "audio")
            return Path(p.folder) / t.meta["file"] if t is not None and p.folder else None
        ref = p.media_by_role(clip)
        return p.media_path(ref.id) if ref is not None else None

    def refresh(self, *_args, reset_view: bool = False) -> None:
        t = self.track()
        if t is None:
            self.curve.setData([], [])
            self.analysed_curve.setData([], [])
            self.image.clear()
            self._spec_key = None
            has_media = self.clip != "converted" and self.project is not None and self.project.media_by_role(self.clip)
            self.status.setText(f"The {CLIP_LABELS.get(self.clip, self.clip).lower()} has no pitch curve yet: "
                                + ("Voice ▸ Analyse." if has_media else "convert a voice first."))
            return
        times = t.times()
        f0 = np.where(t.arrays["voiced"] > 0, t.arrays["f0"], 0)
        self.curve.setData(times, hz_to_midi(f0))
        a = self.track("f0-analysed")
        if a is not None and a.length == t.length:
            self.analysed_curve.setData(times, hz_to_midi(a.arrays["f0"]))
        voiced = f0[f0 > 0]
        edited = int((a is not None and a.length == t.length) and (a.arrays["f0"] != t.arrays["f0"]).sum())
        self.status.setText(f"{CLIP_LABELS.get(self.clip, self.clip)}: {t.length * 0.005:.2f} s, "
                            f"{(f0 > 0).mean():.0%} voiced, median {np.median(voiced) if len(voiced) else 0:.0f} Hz, "
                            f"{edited} frames edited · {t.meta.get('method', '')} at {t.meta.get('sample_rate')} Hz")
        if reset_view:
            lo = np.nanmin(hz_to_midi(voiced)) if len(voiced) else 48
            hi = np.nanmax(hz_to_midi(voiced)) if len(voiced) else 72
            self.box.setRange(xRange=(0, times[-1] if len(times) else 1), yRange=(lo - 5, hi + 5), padding=0)
        self._update_spectrogram(t)

    def _update_spectrogram(self, t) -> None:
        path = self.audio_path()
        key = (str(path), t.meta.get("sample_rate"))
        if path is None or key == self._spec_key or self.window.jobs is None:
            return
        self._spec_key = key
        self._spec_job = self.window.jobs.run(spectrogram_job, str(path), int(t.meta.get("sample_rate", 16000)),
                                              name=f"Spectrogram of {path.name}", quiet=True)
        self._spec_job.key = key

    def _spectrogram_done(self, handle) -> None:
        if handle is not self._spec_job or handle.state is not JobState.DONE or handle.key != self._spec_key:
            return
        spec = handle.result
        top = float(np.percentile(spec, 99.5))
        self.image.setImage(spec, levels=(top - 70, top))
        dur = spec.shape[1] * 0.005
        self.image.setRect(QRectF(0, MIDI_LO, dur, MIDI_HI - MIDI_LO))
        self.image.setZValue(-10)

    # ---- mouse editing -------------------------------------------------------------------------
    def _point(self, pos) -> tuple[float, float]:
        t = self.track()
        fp = float(t.meta["frame_period_ms"]) / 1000.0 if t is not None else 0.005
        m = pos.y()
        if self.snap.isChecked():
            m = round(m)
        return pos.x() / fp, float(midi_to_hz(m))

    def _push(self, edit) -> None:
        if edit is not None:
            self.window.push(edit, self.refresh)

    def stroke_start(self, pos) -> None:
        t = self.track()
        if t is None:
            return
        self._stroke = uuid.uuid4().hex[:8]
        self._anchor = self._last = self._point(pos)
        if self.tool == "select":
            self.region.setRegion((pos.x(), pos.x()))
            self.region.show()
        elif self.tool == "pen":
            self._push(f0_ops.pen(self.project, t.id, [self._last], stroke=self._stroke))

    def stroke_move(self, pos) -> None:
        t = self.track()
        if t is None or self._stroke is None:
            return
        p = self._point(pos)
        if self.tool == "pen":
            self._push(f0_ops.pen(self.project, t.id, [self._last, p], stroke=self._stroke))
        elif self.tool == "line":
            fp = float(t.meta["frame_period_ms"]) / 1000.0
            self.preview.setData([self._anchor[0] * fp, p[0] * fp], hz_to_midi([self._anchor[1], p[1]]))
        elif self.tool == "smooth":
            f = int(round(p[0]))
            try:
                self._push(f0_ops.smooth(self.project, t.id, f - self.brush_frames, f + self.brush_frames,
                                         stroke=self._stroke))
            except UserError:
                pass  # brushing outside the curve
        elif self.tool == "select":
            a = self._anchor[0] * float(t.meta["frame_period_ms"]) / 1000.0
            self.region.setRegion(sorted((a, pos.x())))
        self._last = p

    def stroke_end(self, pos) -> None:
        t = self.track()
        if t is not None and self._stroke is not None and self.tool == "line":
            self.preview.setData([], [])
            self._push(f0_ops.line(self.project, t.id, self._anchor, self._point(pos)))
        self._stroke = None

    # ---- range operations ----------------------------------------------------------------------
    def selected_frames(self) -> tuple[int, int] | None:
        t = self.track()
        if t is None or not self.region.isVisible():
            return None
        fp = float(t.meta["frame_period_ms"]) / 1000.0
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
        p, a = self.project, self.track("f0-analysed")
        try:
            edit = {
                "shift": lambda: f0_ops.shift(p, t.id, *rng, self.semitones.value()),
                "octave": lambda: f0_ops.fix_octaves(p, t.id, *rng),
                "smooth_range": lambda: f0_ops.smooth(p, t.id, *rng),
                "voiced": lambda: f0_ops.set_voiced(p, t.id, *rng, True, a.id if a is not None else None),
                "unvoiced": lambda: f0_ops.set_voiced(p, t.id, *rng, False),
                "reset": lambda: f0_ops.reset(p, t.id, a.id, *rng) if a is not None else None,
            }[op]()
        except UserError as exc:
            self.status.setText(exc.message)
            return
        if edit is None:
            self.status.setText("Nothing to change in that range.")
            return
        self._push(edit)

    def _follow(self) -> None:
        vp = getattr(self.window, "voice_player", None)
        if vp is not None and vp.clip == self.clip:
            self.playhead.setValue(vp.position())
            self.play_button.setText("Pause" if vp.playing else "Play")

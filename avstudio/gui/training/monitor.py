"""The training monitor: live loss curves of one run, its newest sample (an image, or audio to play
for voice models), Stop (saves a checkpoint), Cancel (keeps the last one), and the held-out scores of
each checkpoint beside a trivial baseline.

Training runs in a child process, so it can be killed as a process group and never competes with the
GUI thread; progress arrives as JSON lines and samples as files the trainer writes beside its
checkpoints.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from avstudio.core.progress import JobState

LOSS_COLOURS = {"g": (76, 158, 235), "d": (229, 83, 75), "l1": (87, 171, 90), "g_gan": (220, 180, 60),
                "fm": (170, 110, 220), "vgg": (200, 200, 200), "face_g": (120, 200, 200), "face_d": (200, 120, 120),
                "cycle": (87, 171, 90), "identity": (220, 180, 60), "adv": (170, 110, 220), "adv2": (120, 200, 200)}


class TrainingMonitor(QWidget):
    """Live view of one training run: loss curves, the latest sample (an image, or audio for voice
    models), Stop / Cancel."""

    playSample = Signal(str)  # path of an audio sample to listen to

    def __init__(self, parent=None):
        super().__init__(parent)
        self.handle = None
        self.title = QLabel("No training run.")
        self.title.setWordWrap(True)  # "step 1200/5000 · 3.1 it/s · ETA …" must not widen the window
        self.title.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "step")
        self.plot.setLogMode(y=True)
        self.plot.addLegend(offset=(5, 5))
        self.plot.setMinimumHeight(100)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.history: dict[str, tuple[list, list]] = {}
        self.sample = pg.ImageView()
        self.sample.ui.histogram.hide()
        self.sample.ui.roiBtn.hide()
        self.sample.ui.menuBtn.hide()
        self.sample.setMinimumHeight(80)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Finish now and save a checkpoint (resume later)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Abandon the run; the last saved checkpoint is kept")
        self.stop_button.clicked.connect(self.stop)
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.title, 1)
        self.sample_button = QPushButton("Play sample")
        self.sample_button.setToolTip("Listen to the newest converted sample")
        self.sample_button.hide()
        self.sample_button.clicked.connect(lambda: self.audio_sample and self.playSample.emit(self.audio_sample))
        self.audio_sample: str | None = None
        buttons.addWidget(self.sample_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.cancel_button)
        self.metrics = QLabel("")
        self.metrics.setObjectName("muted")
        self.metrics.setWordWrap(True)
        self.metrics.setToolTip("Scores of each saved checkpoint on the held-out data, beside a trivial baseline")
        self.metric_rows: list[tuple[int, str]] = []
        lay = QVBoxLayout(self)
        lay.addLayout(buttons)
        lay.addWidget(self.metrics)
        lay.addWidget(self.plot, 2)
        lay.addWidget(self.sample, 1)
        self._enable(False)
        self.sample_path: str | None = None

    def _enable(self, on: bool) -> None:
        self.stop_button.setEnabled(on)
        self.cancel_button.setEnabled(on)

    def watch(self, handle, loss_log: Path | None = None) -> None:
        """Follow a run; with ``loss_log`` (a resumed model) the curve starts from its history."""
        self.handle = handle
        self.curves.clear()
        self.history.clear()
        self.plot.clear()
        self.title.setText(f"{handle.name}: starting…")
        self.audio_sample = None
        self.sample_button.hide()
        self.metrics.setText("")
        self.metric_rows = []
        if loss_log is not None:
            from avstudio.core.models import RunFolder

            for row in RunFolder(loss_log.parent).losses():
                self._add(row["step"], {k: v for k, v in row.items() if k != "step"})
        self._enable(True)

    def _add(self, step: int, losses: dict) -> None:
        for name, value in losses.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                continue  # a log row from elsewhere may hold anything; NaN is not > 0 either
            xs, ys = self.history.setdefault(name, ([], []))
            xs.append(step)
            ys.append(value)

    def progressed(self, handle, progress) -> None:
        if handle is not self.handle:
            return
        data = progress.data or {}
        if "losses" in data:
            self._add(data["step"], data["losses"])
            self._redraw()
        self.title.setText(f"{handle.name}: {progress.message}")
        if data.get("audio_sample"):
            self.audio_sample = data["audio_sample"]
            self.sample_button.show()
            self.sample_button.setText(f"Play sample (step {data.get('step')})")
        if data.get("sample") and data["sample"] != self.sample_path:
            img = cv2.imread(data["sample"])
            if img is not None:
                self.sample_path = data["sample"]
                self.sample.setImage(np.ascontiguousarray(img[..., ::-1]), autoLevels=False,
                                     levels=(0, 255))

    def _redraw(self) -> None:
        for name, (xs, ys) in self.history.items():
            if name not in self.curves:
                self.curves[name] = self.plot.plot(name=name, pen=pg.mkPen(LOSS_COLOURS.get(name, (200, 200, 200)),
                                                                           width=1.5))
            self.curves[name].setData(xs, ys)

    def finished(self, handle) -> None:
        if handle is not self.handle:
            return
        self._enable(False)
        if handle.state is JobState.DONE:
            r = handle.result or {}
            how = "stopped and saved" if r.get("stopped") else "finished"
            self.title.setText(f"{handle.name}: {how} at step {r.get('step')}")
        elif handle.state is JobState.CANCELLED:
            self.title.setText(f"{handle.name}: cancelled (the last checkpoint is kept)")
        else:
            self.title.setText(f"{handle.name}: failed — {handle.error}")

    def show_metrics(self, kind: str, m: dict) -> None:
        """Held-out scores of a checkpoint: the baseline, then one line per checkpoint of the run (the
        newest four)."""
        from avstudio.workflows.training import WORKFLOWS

        flow = WORKFLOWS[kind]
        self.metric_rows = [r for r in self.metric_rows if r[0] != m["step"]]
        self.metric_rows.append((m["step"], flow.score_line(m)))
        self.metric_rows.sort()
        self.metrics.setText(flow.baseline_line(m) + "\n" + "\n".join(text for _, text in self.metric_rows[-4:]))

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.request_stop()
            self.title.setText(f"{self.handle.name}: stopping, saving a checkpoint…")
            self.stop_button.setEnabled(False)

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self._enable(False)

"""The timeline, on one time axis (seconds), top to bottom: the video's thumbnails, the soundtrack's
waveform, one row per clip (pose and, thinner below it, face landmarks) and the generated output.

A clip row is a heat strip of the mean keypoint confidence per frame (dark where the subject is
MISSING), with the review list's flagged frames as red ticks and the user's anchors (EDITED) as
white diamonds; the face strip under it the same for the face landmarks. The generated row shows
which frames the active model has rendered (blue) and which are still to come (grey). A draggable
playhead follows playback and seeks; a range selection feeds the range operations (interpolate,
smooth, re-analyse, copy previous). Wheel zooms, drag scrolls.
"""

from __future__ import annotations

import warnings

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal

from avstudio.core import roles
from avstudio.core.tracks import Flag

ROWS = roles.VIDEO_ROLES
WAVE_Y = len(ROWS) + 0.5      # the waveform's centre line
THUMBS_Y = len(ROWS) + 1.05   # the thumbnail strip's bottom
GENERATED_Y = -1              # the generated output's row


def confidence_strip(points: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """(1, T, 3) uint8 RGB: red→green by mean confidence, near-black where nothing is present."""
    present = flags != Flag.MISSING
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames with nobody: NaN, drawn dark below
        conf = np.where(present, points[..., 2], np.nan)
        mean = np.nanmean(conf, axis=1) if conf.size else np.zeros(0)
    mean = np.nan_to_num(mean, nan=-1.0)
    rgb = np.zeros((len(mean), 3), np.uint8)
    ok = mean >= 0
    c = np.clip(mean[ok], 0, 1)
    rgb[ok, 0] = (255 * (1 - c)).astype(np.uint8)
    rgb[ok, 1] = (200 * c + 40).astype(np.uint8)
    rgb[ok, 2] = 40
    rgb[~ok] = (28, 28, 32)
    return rgb[None]


class Timeline(pg.PlotWidget):
    seekRequested = Signal(float)          # seconds
    rangeChanged = Signal(float, float)    # seconds

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMouseEnabled(x=True, y=False)
        self.setMenuEnabled(False)
        self.hideAxis("left")
        self.setLabel("bottom", "time", units="s")
        self.setYRange(GENERATED_Y + 0.1, THUMBS_Y + 0.95, padding=0)
        self.setMinimumHeight(150)
        self.setMaximumHeight(210)
        self.setToolTip("Pose confidence per frame (green high, red low, dark = no subject); red ticks: frames to "
                        "review; white diamonds: your anchors. Drag the blue range to select frames for I "
                        "(interpolate) and S (smooth). Wheel zooms.")
        self.strips = {}
        self.face_strips = {}
        self.flags_items = {}
        self.anchor_items = {}
        self.flagged: dict[str, list[int]] = {r: [] for r in ROWS}
        self.fps: dict[str, float] = {}
        for row, role in enumerate(ROWS):
            img = pg.ImageItem(axisOrder="row-major")
            self.addItem(img)
            self.strips[role] = img
            face = pg.ImageItem(axisOrder="row-major")
            self.addItem(face)
            self.face_strips[role] = face
            label = pg.TextItem(role, color=(200, 200, 200), anchor=(0, 0))
            label.setPos(0, len(ROWS) - row)
            self.addItem(label)
            ticks = pg.ScatterPlotItem(symbol="t1", size=8, brush=pg.mkBrush(230, 70, 60), pen=None)
            anchors = pg.ScatterPlotItem(symbol="d", size=9, brush=pg.mkBrush(255, 255, 255), pen=None)
            self.addItem(ticks)
            self.addItem(anchors)
            self.flags_items[role], self.anchor_items[role] = ticks, anchors
        # The soundtrack (what plays with the video) as a peak envelope in the top row.
        self.wave = pg.PlotDataItem(pen=pg.mkPen((120, 190, 255), width=1), fillLevel=WAVE_Y,
                                    brush=pg.mkBrush(76, 158, 235, 90))
        self.wave_low = pg.PlotDataItem(pen=pg.mkPen((120, 190, 255), width=1), fillLevel=WAVE_Y,
                                        brush=pg.mkBrush(76, 158, 235, 90))
        # Voices can be longer than the clips: the waveform does not widen the view.
        self.plotItem.vb.addItem(self.wave, ignoreBounds=True)
        self.plotItem.vb.addItem(self.wave_low, ignoreBounds=True)
        self.wave_label = pg.TextItem("", color=(200, 200, 200), anchor=(0, 0))
        self.wave_label.setPos(0, len(ROWS) + 1)
        self.addItem(self.wave_label)
        # Thumbnails of the clip and the generated frames' state: stretched over the clip's duration.
        self.thumbs = pg.ImageItem(axisOrder="row-major")
        self.thumbs.setOpacity(0.85)
        self.plotItem.vb.addItem(self.thumbs, ignoreBounds=True)
        self.generated = pg.ImageItem(axisOrder="row-major")
        self.addItem(self.generated)
        self.generated_label = pg.TextItem("", color=(200, 200, 200), anchor=(0, 0))
        self.generated_label.setPos(0, GENERATED_Y + 1)
        self.addItem(self.generated_label)
        self.playhead = pg.InfiniteLine(0, movable=True, pen=pg.mkPen((76, 158, 235), width=2))
        self.playhead.sigDragged.connect(lambda line: self.seekRequested.emit(float(line.value())))
        self.addItem(self.playhead)
        self.region = pg.LinearRegionItem((0, 0), brush=pg.mkBrush(76, 158, 235, 50))
        self.region.setZValue(-5)
        self.region.sigRegionChangeFinished.connect(lambda r: self.rangeChanged.emit(*r.getRegion()))
        self.addItem(self.region)

    def _row(self, role: str) -> int:
        return len(ROWS) - 1 - ROWS.index(role)

    def set_track(self, role: str, points: np.ndarray | None, flags: np.ndarray | None, fps: float) -> None:
        """The clip's pose row: confidence per frame and the user's anchors (None clears the row)."""
        row = self._row(role)
        img = self.strips[role]
        if points is None:
            img.clear()
            self.anchor_items[role].setData([])
            self.set_flagged(role, [])
            return
        self.fps[role] = fps
        img.setImage(confidence_strip(points, flags), autoLevels=False, levels=None)
        img.setRect(0, row + 0.35, len(points) / fps, 0.5)
        anchors = np.flatnonzero((flags == Flag.EDITED).any(1))
        self.anchor_items[role].setData(list(anchors / fps), [row + 0.5] * len(anchors))

    def set_flagged(self, role: str, frames: list[int]) -> None:
        """The frames on the clip's review list (red ticks; F / Shift+F jump between them)."""
        fps = self.fps.get(role, 1.0)
        self.flagged[role] = sorted(frames)
        self.flags_items[role].setData([f / fps for f in self.flagged[role]],
                                       [self._row(role) + 0.9] * len(self.flagged[role]))

    def set_face(self, role: str, points: np.ndarray | None, flags: np.ndarray | None, fps: float) -> None:
        """The face landmarks' confidence strip, thin, under the clip's pose row (None clears it)."""
        strip = self.face_strips[role]
        if points is None:
            strip.clear()
            return
        row = self._row(role)
        strip.setImage(confidence_strip(points, flags), autoLevels=False, levels=None)
        strip.setRect(0, row + 0.1, len(points) / fps, 0.2)

    def set_thumbnails(self, strip: np.ndarray | None, duration: float = 0.0) -> None:
        if strip is None:
            self.thumbs.clear()
            return
        self.thumbs.setImage(strip, autoLevels=False, levels=None)
        self.thumbs.setRect(0, THUMBS_Y, duration, 0.85)

    def set_generated(self, rendered: np.ndarray | None, fps: float = 1.0, label: str = "") -> None:
        """Which frames the active model has generated (True) and which are still to come (False)."""
        if rendered is None or not len(rendered):
            self.generated.clear()
            self.generated_label.setText("")
            return
        rgb = np.where(rendered[:, None], np.array([[76, 158, 235]], np.uint8), np.array([[70, 72, 78]], np.uint8))
        self.generated.setImage(rgb[None], autoLevels=False, levels=None)
        self.generated.setRect(0, GENERATED_Y + 0.35, len(rendered) / fps, 0.5)
        self.generated_label.setText(label)

    def set_duration(self, seconds: float) -> None:
        """Show the whole clip (called when a clip opens)."""
        if seconds > 0:
            self.setXRange(0, seconds, padding=0.01)

    def set_waveform(self, times=None, peaks=None, label: str = "") -> None:
        """Peak envelope (0..1) of the soundtrack at ``times`` seconds; None clears the row."""
        if times is None or peaks is None or not len(peaks):
            self.wave.setData([], [])
            self.wave_low.setData([], [])
            self.wave_label.setText("")
            return
        mid = WAVE_Y
        amp = 0.45 * np.clip(peaks / max(float(peaks.max()), 1e-6), 0, 1)
        self.wave.setData(times, mid + amp)
        self.wave_low.setData(times, mid - amp)
        self.wave_label.setText(label)

    def set_time(self, seconds: float) -> None:
        self.playhead.setValue(seconds)

    def selected_frames(self, role: str) -> tuple[int, int] | None:
        a, b = self.region.getRegion()
        fps = self.fps.get(role)
        if not fps or b - a <= 0:
            return None
        return int(round(a * fps)), int(round(b * fps)) + 1

    def next_flagged(self, role: str, frame: int, direction: int = 1) -> int | None:
        frames = self.flagged.get(role) or []
        if direction > 0:
            later = [f for f in frames if f > frame]
            return later[0] if later else None
        earlier = [f for f in frames if f < frame]
        return earlier[-1] if earlier else None

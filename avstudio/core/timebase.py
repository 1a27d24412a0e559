"""Frames ↔ seconds ↔ audio samples.

Constant-frame-rate clips convert with the exact fps fraction. Variable-frame-rate clips carry the
real presentation time of every frame, and conversions go through those timestamps, so frame N is
always the frame the decoder shows at that time.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

#: WORLD features use a 5 ms frame period (CycleGAN-VC2 and the F0 editor).
WORLD_FRAME_PERIOD_MS = 5.0


@dataclass(frozen=True)
class Timebase:
    """The time axis of one video clip.

    ``fps`` is the nominal rate as an exact fraction. ``timestamps`` (seconds, one per frame, first
    frame at 0.0) is set only for variable-frame-rate clips; it is then authoritative.
    """

    fps: Fraction
    frame_count: int
    timestamps: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        if self.frame_count < 0:
            raise ValueError("frame_count must not be negative")
        if self.timestamps is not None and len(self.timestamps) != self.frame_count:
            raise ValueError("one timestamp per frame is required")

    @classmethod
    def from_timestamps(cls, fps: Fraction, timestamps: np.ndarray | list[float]) -> Timebase:
        ts = np.asarray(timestamps, dtype=np.float64)
        ts = ts - ts[0] if len(ts) else ts
        return cls(Fraction(fps), len(ts), tuple(float(t) for t in ts))

    @property
    def is_vfr(self) -> bool:
        return self.timestamps is not None

    @property
    def frame_duration(self) -> float:
        return float(1 / self.fps)

    @property
    def duration(self) -> float:
        """Seconds from the first frame's start to the last frame's end."""
        if self.frame_count == 0:
            return 0.0
        if self.timestamps is not None:
            return self.timestamps[-1] + self.frame_duration
        return float(Fraction(self.frame_count) / self.fps)

    def frame_to_seconds(self, frame: int) -> float:
        """Start time of ``frame``."""
        if self.timestamps is not None:
            if 0 <= frame < self.frame_count:
                return self.timestamps[frame]
            # Past either end, continue at the nominal rate.
            edge = 0 if frame < 0 else self.frame_count - 1
            return self.timestamps[edge] + (frame - edge) * self.frame_duration
        return float(Fraction(frame) / self.fps)

    def seconds_to_frame(self, seconds: float) -> int:
        """The frame shown at ``seconds`` (clamped to the clip)."""
        if self.frame_count == 0:
            return 0
        if self.timestamps is not None:
            # Tolerate float noise: a time a hair before a frame's start belongs to that frame.
            index = bisect_right(self.timestamps, seconds + 1e-9) - 1
        else:
            index = int(np.floor(Fraction(seconds).limit_denominator(10**9) * self.fps + Fraction(1, 10**6)))
        return int(min(max(index, 0), self.frame_count - 1))

    def frame_to_sample(self, frame: int, sample_rate: int) -> int:
        """The first audio sample at or after the start of ``frame``."""
        if self.timestamps is None:
            # Exact rational arithmetic: ceil(frame * rate / fps), so the sample lies inside the frame.
            return -((-frame * sample_rate * self.fps.denominator) // self.fps.numerator)
        return int(np.ceil(self.frame_to_seconds(frame) * sample_rate - 1e-6))

    def sample_to_frame(self, sample: int, sample_rate: int) -> int:
        if self.timestamps is None and self.frame_count:
            index = (sample * self.fps.numerator) // (sample_rate * self.fps.denominator)
            return int(min(max(index, 0), self.frame_count - 1))
        return self.seconds_to_frame(sample / sample_rate)

    def to_json(self) -> dict:
        out: dict = {"fps": [self.fps.numerator, self.fps.denominator], "frame_count": self.frame_count}
        if self.timestamps is not None:
            out["timestamps"] = list(self.timestamps)
        return out

    @classmethod
    def from_json(cls, data: dict) -> Timebase:
        num, den = data["fps"]
        ts = data.get("timestamps")
        return cls(Fraction(int(num), int(den)), int(data["frame_count"]),
                   tuple(float(t) for t in ts) if ts is not None else None)

"""Track types and their array layouts (see DESIGN.md, "Project on disk").

A track is a few named numpy arrays plus a small JSON-able ``meta`` dict. Each kind declares its
arrays (dtype and shape pattern) and is validated on creation and on load, so a damaged or foreign
file is refused with a message instead of flowing into the editor.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar

import numpy as np


class Flag(IntEnum):
    """Per-point state of a keypoint or landmark."""

    AUTO = 0          # as the analysis produced it
    EDITED = 1        # a user's anchor: smoothing, interpolation and re-analysis never move it
    INTERPOLATED = 2  # filled in between anchors
    MISSING = 3       # not detected / hidden: coordinates are meaningless


# Shape patterns: "T" is the track's length (shared by all its arrays), other letters are free
# per-array dimensions (J joints, D coefficients, B bins), digits are fixed sizes.
@dataclass
class Track:
    """Base class: subclasses set ``kind`` and ``schema``."""

    kind: ClassVar[str] = ""
    schema: ClassVar[dict[str, tuple[str, str]]] = {}

    arrays: dict[str, np.ndarray] = field(repr=False)
    meta: dict = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    name: str = ""

    def __post_init__(self) -> None:
        self.validate()

    # ---- validation -------------------------------------------------------------------------
    def validate(self) -> None:
        missing = set(self.schema) - set(self.arrays)
        if missing:
            raise ValueError(f"{self.kind} track lacks array(s): {', '.join(sorted(missing))}")
        extra = set(self.arrays) - set(self.schema)
        if extra:
            raise ValueError(f"{self.kind} track has unknown array(s): {', '.join(sorted(extra))}")
        sizes: dict[str, int] = {}
        for name, (dtype, pattern) in self.schema.items():
            arr = self.arrays[name]
            if not isinstance(arr, np.ndarray):
                raise ValueError(f"{name} must be a numpy array")
            if arr.dtype != np.dtype(dtype):
                raise ValueError(f"{name} must be {dtype}, got {arr.dtype}")
            if arr.ndim != len(pattern):
                raise ValueError(f"{name} must have {len(pattern)} dimensions ({pattern}), got shape {arr.shape}")
            for dim, size in zip(pattern, arr.shape):
                if dim.isdigit():
                    if size != int(dim):
                        raise ValueError(f"{name} has shape {arr.shape}, expected {pattern}")
                elif sizes.setdefault(dim, size) != size:
                    raise ValueError(f"{name} has {dim}={size} but another array has {dim}={sizes[dim]}")
            if arr.dtype.kind == "f" and name in self.finite_arrays and not np.isfinite(arr).all():
                raise ValueError(f"{name} contains NaN or infinite values")

    finite_arrays: ClassVar[tuple[str, ...]] = ()

    @property
    def length(self) -> int:
        first = next(iter(self.schema))
        return int(self.arrays[first].shape[0])

    def copy(self) -> Track:
        return type(self)({k: v.copy() for k, v in self.arrays.items()}, dict(self.meta), self.id, self.name)

    # ---- (de)serialization --------------------------------------------------------------------
    def index_entry(self) -> dict:
        return {"kind": self.kind, "name": self.name, "meta": self.meta, "length": self.length}

    @staticmethod
    def create(kind: str, arrays: dict[str, np.ndarray], meta: dict, track_id: str, name: str) -> Track:
        try:
            cls = TRACK_KINDS[kind]
        except KeyError:
            raise ValueError(f"unknown track kind {kind!r}") from None
        return cls(arrays, meta, track_id, name)


@dataclass
class PointTrack(Track):
    """Points per frame: ``points`` (T, J, 3) float32 = x, y in source-frame pixels + confidence in
    [0, 1]; ``flags`` (T, J) uint8 of :class:`Flag`. ``meta['skeleton']`` names the layout."""

    schema: ClassVar[dict[str, tuple[str, str]]] = {
        "points": ("float32", "TJ3"),
        "flags": ("uint8", "TJ"),
    }

    @classmethod
    def empty(cls, frames: int, joints: int, skeleton: str, media_id: str | None = None,
              name: str = "") -> PointTrack:
        """A track with every point MISSING."""
        points = np.zeros((frames, joints, 3), np.float32)
        flags = np.full((frames, joints), Flag.MISSING, np.uint8)
        return cls({"points": points, "flags": flags}, {"skeleton": skeleton, "media_id": media_id}, name=name)

    @property
    def points(self) -> np.ndarray:
        return self.arrays["points"]

    @property
    def flags(self) -> np.ndarray:
        return self.arrays["flags"]

    def validate(self) -> None:
        super().validate()
        if "skeleton" not in self.meta:
            raise ValueError(f"{self.kind} track needs meta['skeleton']")
        flags = self.arrays["flags"]
        if flags.size and flags.max() > max(Flag):
            raise ValueError("flags hold values that are not keypoint flags")
        present = flags != Flag.MISSING
        if not np.isfinite(self.arrays["points"][present]).all():
            raise ValueError("points contain NaN or infinite values where not MISSING")


@dataclass
class PoseTrack(PointTrack):
    kind: ClassVar[str] = "pose"


@dataclass
class LandmarkTrack(PointTrack):
    kind: ClassVar[str] = "landmarks"


@dataclass
class F0Track(Track):
    """Pitch on the WORLD grid: ``f0`` (N,) float32 in Hz (0 where unvoiced), ``voiced`` (N,) uint8.
    ``meta['frame_period_ms']`` (5.0) and ``meta['sample_rate']`` place it in time."""

    kind: ClassVar[str] = "f0"
    schema: ClassVar[dict[str, tuple[str, str]]] = {
        "f0": ("float32", "T"),
        "voiced": ("uint8", "T"),
    }
    finite_arrays: ClassVar[tuple[str, ...]] = ("f0",)

    def validate(self) -> None:
        super().validate()
        if float(self.meta.get("frame_period_ms", 0)) <= 0:
            raise ValueError("f0 track needs a positive meta['frame_period_ms']")
        if (self.arrays["f0"] < 0).any():
            raise ValueError("f0 holds negative frequencies")

    def times(self) -> np.ndarray:
        return np.arange(self.length) * (float(self.meta["frame_period_ms"]) / 1000.0)


@dataclass
class FeatureTrack(Track):
    """Frame-wise features: ``values`` (N, D) float32 — MCEPs and aperiodicity on the WORLD grid, the
    log-mel spectrum and MFCCs of speech on Wav2Lip's 12.5 ms grid. ``meta['feature']`` says which,
    ``meta['frame_period_ms']`` places the rows in time."""

    kind: ClassVar[str] = "features"
    schema: ClassVar[dict[str, tuple[str, str]]] = {"values": ("float32", "TD")}
    finite_arrays: ClassVar[tuple[str, ...]] = ("values",)


@dataclass
class AudioTrack(Track):
    """A reference to audio: a media file of the project (``meta['media_id']``, optional
    ``meta['stream']``) or a rendered file under the project (``meta['file']``). No arrays."""

    kind: ClassVar[str] = "audio"
    schema: ClassVar[dict[str, tuple[str, str]]] = {}

    @property
    def length(self) -> int:
        return 0

    def validate(self) -> None:
        super().validate()
        if not (self.meta.get("media_id") or self.meta.get("file")):
            raise ValueError("an audio track needs meta['media_id'] or meta['file']")


@dataclass
class CurveTrack(Track):
    """Named curves per video frame: ``values`` (T, C) float32, ``flags`` (T, C) uint8 of
    :class:`Flag` per value (MISSING where the curve is undefined: no face on that frame; EDITED
    where the user set it). ``meta['channels']`` names the C curves (head pose: yaw, pitch, …)."""

    kind: ClassVar[str] = "curves"
    schema: ClassVar[dict[str, tuple[str, str]]] = {
        "values": ("float32", "TC"),
        "flags": ("uint8", "TC"),
    }

    @classmethod
    def empty(cls, frames: int, channels, name: str = "", **meta) -> CurveTrack:
        channels = list(channels)
        values = np.zeros((frames, len(channels)), np.float32)
        flags = np.full((frames, len(channels)), Flag.MISSING, np.uint8)
        return cls({"values": values, "flags": flags}, {"channels": channels, **meta}, name=name)

    @property
    def channels(self) -> list[str]:
        return list(self.meta["channels"])

    def channel(self, name: str) -> int:
        try:
            return self.channels.index(name)
        except ValueError:
            raise ValueError(f"the {self.name or self.kind} track has no curve {name!r}") from None

    def curve(self, name: str) -> np.ndarray:
        """(T,) float64 values of one curve, NaN where MISSING."""
        c = self.channel(name)
        out = self.arrays["values"][:, c].astype(np.float64)
        out[self.arrays["flags"][:, c] == Flag.MISSING] = np.nan
        return out

    def validate(self) -> None:
        super().validate()
        channels = self.meta.get("channels")
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels) \
                or len(channels) != self.arrays["values"].shape[1] or len(set(channels)) != len(channels):
            raise ValueError("a curves track needs meta['channels']: one distinct name per column of values")
        flags = self.arrays["flags"]
        if flags.size and flags.max() > max(Flag):
            raise ValueError("flags hold values that are not point flags")
        if not np.isfinite(self.arrays["values"][flags != Flag.MISSING]).all():
            raise ValueError("values contain NaN or infinite values where not MISSING")


@dataclass
class SegmentTrack(Track):
    """Labelled time spans of a clip's sound, in seconds from its start: phones, words, visemes,
    speech. ``start`` and ``end`` (T,) float64, ``label`` (T,) int16 indexing ``meta['labels']``,
    ``flags`` (T,) uint8 of :class:`Flag` (EDITED: a block the user touched, kept by re-alignment).
    Spans are sorted and do not overlap; gaps between them are silence."""

    kind: ClassVar[str] = "segments"
    schema: ClassVar[dict[str, tuple[str, str]]] = {
        "start": ("float64", "T"),
        "end": ("float64", "T"),
        "label": ("int16", "T"),
        "flags": ("uint8", "T"),
    }
    finite_arrays: ClassVar[tuple[str, ...]] = ("start", "end")
    OVERLAP = 1e-6   # seconds: rounding between neighbours is not an overlap

    @classmethod
    def make(cls, spans, labels, name: str = "", **meta) -> SegmentTrack:
        """From (start, end, label name) triples; ``labels`` names every label in order."""
        labels = list(labels)
        index = {n: i for i, n in enumerate(labels)}
        spans = sorted(spans, key=lambda s: s[0])
        arrays = {"start": np.array([s[0] for s in spans], np.float64),
                  "end": np.array([s[1] for s in spans], np.float64),
                  "label": np.array([index[s[2]] for s in spans], np.int16),
                  "flags": np.full(len(spans), Flag.AUTO, np.uint8)}
        return cls(arrays, {"labels": labels, **meta}, name=name)

    @property
    def labels(self) -> list[str]:
        return list(self.meta["labels"])

    def spans(self) -> list[tuple[float, float, str]]:
        names = self.labels
        return [(float(a), float(b), names[int(k)])
                for a, b, k in zip(self.arrays["start"], self.arrays["end"], self.arrays["label"])]

    def validate(self) -> None:
        super().validate()
        labels = self.meta.get("labels")
        if not isinstance(labels, list) or not all(isinstance(n, str) for n in labels):
            raise ValueError("a segments track needs meta['labels']: a list of label names")
        if len(labels) > 4096 or len(set(labels)) != len(labels):
            raise ValueError("meta['labels'] must name at most 4096 distinct labels")
        duration = self.meta.get("duration", 0.0)
        if not isinstance(duration, (int, float)) or not 0 <= duration <= 86400 * 7:
            raise ValueError("meta['duration'] must be a number of seconds (0 to a week)")
        a, b, k = self.arrays["start"], self.arrays["end"], self.arrays["label"]
        if len(k) and (k.min() < 0 or k.max() >= len(labels)):
            raise ValueError("label holds values that name no label")
        if (a < 0).any() or (b < a).any():
            raise ValueError("a segment ends before it starts, or starts before 0 s")
        if duration and len(b) and b.max() > duration + 0.05:
            raise ValueError("a segment ends after the sound does")
        if len(a) > 1 and (a[1:] < b[:-1] - self.OVERLAP).any():
            raise ValueError("segments overlap or are not in time order")
        flags = self.arrays["flags"]
        if flags.size and flags.max() > max(Flag):
            raise ValueError("flags hold values that are not flags")


TRACK_KINDS: dict[str, type[Track]] = {
    cls.kind: cls for cls in (PoseTrack, LandmarkTrack, F0Track, FeatureTrack, AudioTrack, CurveTrack, SegmentTrack)
}

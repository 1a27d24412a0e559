"""Undoable edits of labelled time spans (a SegmentTrack: the visemes row, phones, words): move a
boundary, relabel, split, merge, delete — each one undo step, a drag of one boundary merged into one —
and the merge of a re-alignment that keeps every block the user touched (EDITED), as re-analysis keeps
keypoint anchors.

Every edit replaces the track's arrays whole (a split or a merge changes how many spans there are),
so an edit stores the arrays before and after; tracks of spans are small (a few per second)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable

import numpy as np

from avstudio.core.edits import Edit
from avstudio.core.errors import UserError
from avstudio.core.project import Project
from avstudio.core.tracks import Flag, SegmentTrack

MIN_SPAN_S = 0.02   # a block shorter than this cannot be made by moving a boundary or splitting


@dataclass(eq=False)
class SpansEdit(Edit):
    """Put new arrays into a segments track; revert puts the old ones back."""

    track_id: str
    new: dict
    text: str = "Edit blocks"
    key: Hashable | None = None   # a drag: later moves of the same drag merge into this step
    old: dict | None = None

    def apply(self, project: Project) -> None:
        track = project.track(self.track_id)
        if self.old is None:
            self.old = {k: v.copy() for k, v in track.arrays.items()}
        track.arrays = {k: v.copy() for k, v in self.new.items()}
        project.mark_track_changed(self.track_id)

    def revert(self, project: Project) -> None:
        project.track(self.track_id).arrays = {k: v.copy() for k, v in self.old.items()}
        project.mark_track_changed(self.track_id)

    @property
    def merge_key(self) -> Hashable | None:
        return None if self.key is None else ("spans", self.track_id, self.key)

    def merge(self, later: Edit) -> bool:
        if isinstance(later, SpansEdit) and self.key is not None and later.merge_key == self.merge_key:
            self.new = later.new
            return True
        return False


def _arrays(track: SegmentTrack) -> dict:
    return {k: v.copy() for k, v in track.arrays.items()}


def _check(track: SegmentTrack, i: int) -> int:
    if not 0 <= int(i) < track.length:
        raise UserError(f"There is no block {int(i) + 1} (the row has {track.length}).")
    return int(i)


def _label(track: SegmentTrack, label: str) -> int:
    try:
        return track.labels.index(label)
    except ValueError:
        raise UserError(f"{label!r} is not a label of this row: use {', '.join(track.labels)}.") from None


def _name(track: SegmentTrack, i: int) -> str:
    return track.labels[int(track.arrays["label"][i])]


def _validated(track: SegmentTrack, arrays: dict, text: str, key=None) -> SpansEdit:
    SegmentTrack(arrays, track.meta, track.id, track.name)   # raises on overlap or reversed spans
    return SpansEdit(track.id, arrays, text, key)


def move_edge(track: SegmentTrack, i: int, edge: str, t: float, drag: Hashable | None = None) -> SpansEdit:
    """Move the start or end of block ``i`` to ``t`` seconds. A shared boundary moves both blocks;
    the time is clamped so no block gets shorter than MIN_SPAN_S or crosses its neighbour."""
    i = _check(track, i)
    a = _arrays(track)
    s, e = a["start"], a["end"]
    joined_next = i + 1 < len(s) and abs(s[i + 1] - e[i]) < 1e-6
    joined_prev = i > 0 and abs(e[i - 1] - s[i]) < 1e-6
    if edge == "end":
        hi = (e[i + 1] if joined_next else s[i + 1]) - MIN_SPAN_S if i + 1 < len(s) else np.inf
        if hi < s[i] + MIN_SPAN_S:
            raise UserError("There is no room to move this boundary: the blocks beside it are too short.")
        t = float(np.clip(t, s[i] + MIN_SPAN_S, hi))
        e[i] = t
        if joined_next:
            s[i + 1] = t
        touched = [i, i + 1] if joined_next else [i]
    elif edge == "start":
        lo = (s[i - 1] if joined_prev else e[i - 1]) + MIN_SPAN_S if i > 0 else 0.0
        if lo > e[i] - MIN_SPAN_S:
            raise UserError("There is no room to move this boundary: the blocks beside it are too short.")
        t = float(np.clip(t, lo, e[i] - MIN_SPAN_S))
        s[i] = t
        if joined_prev:
            e[i - 1] = t
        touched = [i - 1, i] if joined_prev else [i]
    else:
        raise ValueError(f"edge must be start or end, not {edge!r}")
    a["flags"][touched] = Flag.EDITED
    return _validated(track, a, f"Move the {edge} of '{_name(track, i)}'", drag)


def relabel(track: SegmentTrack, i: int, label: str) -> SpansEdit:
    i = _check(track, i)
    a = _arrays(track)
    old = _name(track, i)
    a["label"][i], a["flags"][i] = _label(track, label), Flag.EDITED
    return _validated(track, a, f"Relabel '{old}' as '{label}'")


def split(track: SegmentTrack, i: int, t: float) -> SpansEdit:
    """Cut block ``i`` in two at ``t`` (both halves keep its label)."""
    i = _check(track, i)
    a = _arrays(track)
    s, e = a["start"][i], a["end"][i]
    if not s + MIN_SPAN_S <= t <= e - MIN_SPAN_S:
        raise UserError(f"Split inside the block: between {s + MIN_SPAN_S:.2f} s and {e - MIN_SPAN_S:.2f} s.")
    for k in a:
        a[k] = np.insert(a[k], i + 1, a[k][i])
    a["end"][i], a["start"][i + 1] = t, t
    a["flags"][[i, i + 1]] = Flag.EDITED
    return _validated(track, a, f"Split '{_name(track, i)}'")


def merge(track: SegmentTrack, i: int) -> SpansEdit:
    """Join block ``i`` with the next one (the gap between them included), keeping block ``i``'s label."""
    i = _check(track, i)
    if i + 1 >= track.length:
        raise UserError("The last block has no next block to merge with.")
    a = _arrays(track)
    a["end"][i] = a["end"][i + 1]
    a["flags"][i] = Flag.EDITED
    for k in a:
        a[k] = np.delete(a[k], i + 1)
    return _validated(track, a, f"Merge '{_name(track, i)}' with '{_name(track, i + 1)}'")


SILENCE = "sil"


def delete(track: SegmentTrack, i: int) -> SpansEdit:
    """Make block ``i``'s time silence: on a row that names silence (the visemes) the block becomes a
    silence block the user placed, so a re-analysis keeps it silent; elsewhere it is removed."""
    i = _check(track, i)
    name = _name(track, i)
    if SILENCE in track.labels:
        a = _arrays(track)
        a["label"][i], a["flags"][i] = track.labels.index(SILENCE), Flag.EDITED
        return _validated(track, a, f"Delete '{name}' (silence there)")
    a = {k: np.delete(v, i) for k, v in _arrays(track).items()}
    return _validated(track, a, f"Delete '{name}'")


def block_at(track: SegmentTrack, t: float) -> int | None:
    """The block that holds time ``t``, or None (silence)."""
    s, e = track.arrays["start"], track.arrays["end"]
    hit = np.flatnonzero((s <= t) & (t < e))
    return int(hit[0]) if len(hit) else None


def keep_touched(old: SegmentTrack | None, new: SegmentTrack, start: float = 0.0, stop: float = np.inf) -> SegmentTrack:
    """``new`` (a fresh alignment) inside [start, stop), ``old`` outside it (a block across an edge of the
    range keeps its outside part), and every block of ``old`` the user touched (EDITED) kept where it is: fresh blocks that overlap a kept one are cut back to
    the part outside it (or dropped). Labels are matched by name."""
    if old is None:
        return new
    labels = list(dict.fromkeys(old.labels + new.labels))
    kept = []
    for (a, b, n), f in zip(old.spans(), old.arrays["flags"]):
        if f == Flag.EDITED or b <= start or a >= stop:
            kept.append((a, b, n, f))
            continue
        for lo, hi in ((a, min(b, start)), (max(a, stop), b)):   # a block across the range's edge: its outside part
            if hi - lo >= MIN_SPAN_S:
                kept.append((lo, hi, n, f))
    fresh = [(max(a, start), min(b, stop), n) for a, b, n in new.spans() if b > start and a < stop]
    pieces = []
    for a, b, n in fresh:
        for ka, kb, _kn, _kf in kept:
            if ka < b and a < kb:           # overlap: keep the longer free part of the fresh block
                left, right = (a, min(b, ka)), (max(a, kb), b)
                a, b = max(left, right, key=lambda p: p[1] - p[0])
        if b - a >= MIN_SPAN_S:
            pieces.append((a, b, n, Flag.AUTO))
    spans = sorted(kept + pieces)
    meta = {k: v for k, v in {**old.meta, **new.meta}.items() if k != "labels"}
    out = SegmentTrack.make([(a, b, n) for a, b, n, _ in spans], labels, new.name, **meta)
    out.arrays["flags"][:] = [f for *_, f in spans]
    out.id = old.id
    return out

"""Edits of a row of labelled blocks (the viseme row): each is one undo step, blocks never overlap,
and a re-alignment keeps the blocks the user touched."""

import numpy as np
import pytest

from avstudio.core.edits import History
from avstudio.core.errors import UserError
from avstudio.core.project import Project
from avstudio.core.tracks import Flag, SegmentTrack
from avstudio.editing import segments as ops

LABELS = ["PP", "aa", "SS", "E"]


@pytest.fixture
def row():
    p = Project()
    t = SegmentTrack.make([(0.1, 0.2, "PP"), (0.2, 0.4, "aa"), (0.5, 0.6, "SS")], LABELS, "visemes", clip="x",
                          layer="visemes")
    p.add_track(t)
    return p, t


def _spans(p, t):
    return p.track(t.id).spans()


def test_each_edit_is_one_undo_step(row):
    p, t = row
    h = History(p)
    before = _spans(p, t)
    h.push(ops.move_edge(p.track(t.id), 0, "end", 0.25))
    assert _spans(p, t)[:2] == [(0.1, 0.25, "PP"), (0.25, 0.4, "aa")]   # a shared boundary moves both
    h.push(ops.relabel(p.track(t.id), 1, "E"))
    h.push(ops.split(p.track(t.id), 1, 0.3))
    assert [n for *_, n in _spans(p, t)] == ["PP", "E", "E", "SS"]
    h.push(ops.merge(p.track(t.id), 2))
    assert _spans(p, t)[2] == (0.3, 0.6, "E")
    h.push(ops.delete(p.track(t.id), 0))
    assert len(_spans(p, t)) == 2
    for _ in range(5):
        h.undo()
    assert _spans(p, t) == before and (p.track(t.id).arrays["flags"] == Flag.AUTO).all()


def test_a_boundary_cannot_cross_its_neighbour(row):
    p, t = row
    ops.move_edge(p.track(t.id), 1, "end", 0.9).apply(p)
    s = _spans(p, t)
    assert s[1][1] == pytest.approx(0.5 - ops.MIN_SPAN_S) and s[2][0] == 0.5
    ops.move_edge(p.track(t.id), 0, "start", -3).apply(p)
    assert _spans(p, t)[0][0] == 0.0


def test_a_drag_is_one_step(row):
    p, t = row
    h = History(p)
    for x in (0.22, 0.24, 0.26):
        h.push(ops.move_edge(p.track(t.id), 0, "end", x, drag=7))
    assert len(h) == 1 and _spans(p, t)[0][1] == 0.26
    h.undo()
    assert _spans(p, t)[0][1] == 0.2


def test_bad_edits_say_why(row):
    p, t = row
    with pytest.raises(UserError, match="no block"):
        ops.relabel(p.track(t.id), 9, "aa")
    with pytest.raises(UserError, match="not a label"):
        ops.relabel(p.track(t.id), 0, "zz")
    with pytest.raises(UserError, match="inside the block"):
        ops.split(p.track(t.id), 0, 0.3)
    with pytest.raises(UserError, match="last block"):
        ops.merge(p.track(t.id), 2)


def test_realigning_keeps_the_touched_blocks(row):
    p, t = row
    ops.relabel(p.track(t.id), 2, "E").apply(p)      # the user's block at 0.5–0.6
    fresh = SegmentTrack.make([(0.0, 0.3, "aa"), (0.3, 0.55, "PP"), (0.55, 0.8, "SS")], LABELS)
    out = ops.keep_touched(p.track(t.id), fresh, 0.25, 1.0)
    assert out.id == t.id
    spans = out.spans()
    assert (0.5, 0.6, "E") in spans                   # kept where it was
    assert spans[:3] == [(0.1, 0.2, "PP"), (0.2, 0.25, "aa"), (0.25, 0.3, "aa")]   # outside the range: as before
    assert all(b <= a2 + 1e-9 for (_, b, _), (a2, _, _) in zip(spans, spans[1:]))   # no overlap
    assert (0.6, 0.8, "SS") in spans                  # the fresh block cut back around the kept one


def test_a_boundary_with_no_room_says_so_and_delete_on_a_viseme_row_leaves_silence():
    p = Project()
    t = p.add_track(SegmentTrack.make([(0.1, 0.115, "PP"), (0.115, 0.13, "aa")], ["sil", "PP", "aa"], "visemes"))
    with pytest.raises(UserError, match="no room"):
        ops.move_edge(p.track(t.id), 0, "end", 0.13)
    ops.delete(p.track(t.id), 1).apply(p)
    assert p.track(t.id).spans()[1] == (0.115, 0.13, "sil") and p.track(t.id).arrays["flags"][1] == Flag.EDITED


def test_a_damaged_row_is_refused():
    with pytest.raises(ValueError, match="overlap"):
        SegmentTrack({"start": np.array([0.0, 0.1]), "end": np.array([0.2, 0.3]), "label": np.array([0, 0], np.int16),
                      "flags": np.zeros(2, np.uint8)}, {"labels": ["a"]})
    with pytest.raises(ValueError, match="distinct"):
        SegmentTrack({"start": np.array([0.0]), "end": np.array([0.2]), "label": np.array([0], np.int16),
                      "flags": np.zeros(1, np.uint8)}, {"labels": ["a", "a"]})
    with pytest.raises(ValueError, match="duration"):
        SegmentTrack({"start": np.array([0.0]), "end": np.array([0.2]), "label": np.array([0], np.int16),
                      "flags": np.zeros(1, np.uint8)}, {"labels": ["a"], "duration": float("nan")})
    with pytest.raises(ValueError, match="name no label"):
        SegmentTrack({"start": np.array([0.0]), "end": np.array([0.2]), "label": np.array([3], np.int16),
                      "flags": np.zeros(1, np.uint8)}, {"labels": ["a"]})

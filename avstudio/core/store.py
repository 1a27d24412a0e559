"""The ``.avproj`` folder on disk: load, save, autosave, recovery.

Layout (DESIGN.md)::

    Clip.avproj/
      project.json        schema_version, media refs, settings, tracks index (with sha256 per file)
      tracks/<id>.npz     the arrays of one track
      models/ cache/      written by later stages
      autosave/<stamp>/   rotated, self-contained recovery copies (core/autosave.py)

Saving is a small journal so a process killed at any instant leaves a loadable project, either the
previous one or the new one:

1. every changed track is written atomically to ``tracks/<id>.npz.pending``;
2. ``project.json`` is replaced atomically — this is the commit point; it names each track file's
   sha256;
3. each ``.pending`` file is renamed over ``tracks/<id>.npz``.

Loading checks every track file against the hash in ``project.json``; a matching ``.pending``
file (a save killed between steps 2 and 3) is rolled forward, a non-matching one (killed before
step 2) is discarded.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from avstudio import __version__
from avstudio.core import document
from avstudio.core.atomic import atomic_write_bytes, fsync_dir, remove_temp_files
from avstudio.core.errors import ProjectError, SchemaError, UserError
from avstudio.core.files import excerpt, read_limited, user_os_error
from avstudio.core.lock import LOCK_FILE, ProjectLockedError, acquire
from avstudio.core.models import MODELS as MODELS_DIR
from avstudio.core.project import MediaRef, Project
from avstudio.core.trackfile import ARRAY_FILE_LIMIT, read_arrays, sha256, track_bytes
from avstudio.core.tracks import Track

SCHEMA_VERSION = 1
FORMAT_NAME = "avstudio-project"
PROJECT_FILE = "project.json"
TRACKS_DIR = "tracks"
AUTOSAVE_DIR = "autosave"
CACHE_DIR = "cache"
PENDING_SUFFIX = ".pending"
LOAD_TRIES = 3
_LAST_READ = threading.local()  # the digest of the project.json a load read (to tell a racing save)
PROJECT_SUFFIX = ".avproj"

# schema_version n -> function turning an n document into an n+1 document. Version 1 is the first
# released format, so the table is empty; each future change adds an entry and a test.
MIGRATIONS: dict[int, callable] = {}


# ---- save -------------------------------------------------------------------------------------

def project_document(project: Project, track_entries: dict[str, dict], saved_at: str) -> dict:
    return {
        "format": FORMAT_NAME,
        "schema_version": SCHEMA_VERSION,
        "app_version": __version__,
        "name": project.name,
        "saved_at": saved_at,
        "media": [m.to_json() for m in project.media.values()],
        "settings": project.settings,
        "tracks": track_entries,
    }


def _check_target_folder(folder: Path) -> None:
    try:
        if folder.exists() and not folder.is_dir():
            raise ProjectError(f"Cannot save the project to {folder}: a file with that name exists.", path=str(folder))
        if folder.is_dir() and any(folder.iterdir()) and not (folder / PROJECT_FILE).exists():
            raise ProjectError(
                f"Cannot save the project into {folder}: the folder is not empty and is not an AV Studio "
                "project. Choose a new folder name (ending in .avproj).", path=str(folder))
    except OSError as exc:
        raise user_os_error(exc, "save the project to", folder, cls=ProjectError) from exc


class ProjectChangedError(ProjectError):
    """project.json on disk is not the one this process loaded or last saved: another process saved."""


def document_bytes(doc: dict) -> bytes:
    try:
        return (json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ProjectError(f"The project holds a value that cannot be saved ({exc}); the last saved version is "
                           "unchanged. Undo the last change and save again.", details=repr(exc)) from exc


def check_unchanged(project: Project, folder: Path | None = None) -> None:
    """Refuse to save over a project.json this process did not write or read last: another process
    (or the user) changed the project since, and saving would silently drop their changes."""
    folder = Path(folder or project.folder)
    if project.disk_digest is None:
        return
    pj = folder / PROJECT_FILE
    try:
        data = read_limited(pj, "project file", document.PROJECT_JSON_LIMIT)
    except UserError:  # missing or unreadable: the folder moved, or was replaced
        data = None
    if data is None:
        raise ProjectChangedError(
            f"The project folder {folder} is gone or its project.json cannot be read (it was moved, renamed or "
            "deleted since it was opened); nothing was saved. Use Save As to keep your work in a new folder.",
            path=str(folder))
    if sha256(data) != project.disk_digest:
        raise ProjectChangedError(
            f"The project {folder} was changed on disk by another program since it was opened here; saving "
            "would overwrite those changes, so nothing was saved. Use Save As to keep your work in a new "
            "folder, or open the project again to see the other changes.", path=str(folder))


def _write_tracks(project: Project, folder: Path) -> tuple[dict, list, list]:
    """Step 1 of the journal: each changed track to ``tracks/<id>.npz.pending``. Returns the index
    entries, the (pending, final) pairs and the ids written."""
    tracks_dir = folder / TRACKS_DIR
    tracks_dir.mkdir(exist_ok=True)
    old_entries = _read_index_quietly(folder)
    entries: dict[str, dict] = {}
    pending: list[tuple[Path, Path]] = []
    written: list[str] = []
    for tid, track in project.tracks.items():
        entry = track.index_entry()
        file = f"{TRACKS_DIR}/{document.check_id(tid, 'track id', folder)}.npz"
        final = folder / file
        if not track.schema:
            entries[tid] = entry
            continue
        old = old_entries.get(tid)
        if isinstance(old, dict) and old.get("file") == file and not project.track_needs_write(tid) and final.is_file():
            entry["file"], entry["sha256"] = file, old.get("sha256")
        else:
            data = track_bytes(track)
            entry["file"], entry["sha256"] = file, sha256(data)
            tmp = final.with_name(final.name + PENDING_SUFFIX)
            atomic_write_bytes(tmp, data)
            pending.append((tmp, final))
            written.append(tid)
        entries[tid] = entry
    return entries, pending, written


def _commit(project: Project, folder: Path) -> list[str]:
    """The journal (see the module's doc); returns the ids of the track files written."""
    entries, pending, written = _write_tracks(project, folder)
    saved_at = datetime.now(timezone.utc).isoformat()
    data = document_bytes(project_document(project, entries, saved_at))
    atomic_write_bytes(folder / PROJECT_FILE, data)  # the commit point
    for tmp, final in pending:
        os.replace(tmp, final)
    tracks_dir = folder / TRACKS_DIR
    fsync_dir(tracks_dir)
    # Files of removed tracks are garbage once the commit is on disk.
    keep = {f"{tid}.npz" for tid in entries}
    for p in tracks_dir.iterdir():
        if p.suffix == ".npz" and p.name not in keep:
            p.unlink(missing_ok=True)
    project.saved_at, project.disk_digest = saved_at, sha256(data)
    return written


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == Path(b).resolve()
    except OSError:
        return False


def save_project(project: Project, folder: str | os.PathLike | None = None) -> Path:
    """Save ``project`` (to ``folder`` = Save As, or to its own folder). Returns the folder.

    The save holds the project's lock (this process's, or one taken for the save) and refuses to
    overwrite a project.json another process wrote since this one was loaded."""
    save_as = folder is not None and (project.folder is None or not _same_folder(Path(folder), project.folder))
    if save_as:
        _check_target_folder(Path(folder))
    target = Path(folder) if save_as else project.folder
    if target is None:
        raise ProjectError("The project has no folder yet: use Save As.")
    target = Path(target)
    held = project.lock is not None and project.lock.covers(target)
    try:
        if save_as or project.disk_digest is None:
            target.mkdir(parents=True, exist_ok=True)
        check_own_entries(target)
        lock = None if held else acquire(target, getattr(project.lock, "owner", "a save"), wait_s=2.0)
        before = (project.folder, {ref.id: (ref.path, ref.abs_path) for ref in project.media.values()},
                  dict(project._track_saved))
        try:
            if not save_as:
                check_unchanged(project, target)
            if save_as:
                project.rebase(target)
                project._track_saved.clear()  # a new place: every track file must be written
            written = _commit(project, target)
        except BaseException:
            if save_as:  # a failed Save As leaves the project where it was
                project.folder, paths, project._track_saved = before
                for ref in project.media.values():
                    ref.path, ref.abs_path = paths.get(ref.id, (ref.path, ref.abs_path))
            if lock is not None:
                lock.release()
            raise
    except OSError as exc:
        raise user_os_error(exc, "save the project to", target, cls=ProjectError,
                            after="The last saved version is unchanged.") from exc
    if lock is not None:
        if project.lock is not None and save_as:  # a holder moves its lock with the project
            project.lock.release()
            project.lock = lock
        else:
            lock.release()
    project.mark_saved(written)
    return target


def _read_index_quietly(folder: Path) -> dict:
    try:
        tracks = json.loads(read_limited(folder / PROJECT_FILE, "project file", document.PROJECT_JSON_LIMIT)).get("tracks", {})
        return tracks if isinstance(tracks, dict) else {}
    except (UserError, ValueError, AttributeError, RecursionError):
        return {}


# ---- load -------------------------------------------------------------------------------------

# What AV Studio writes, deletes and rotates inside a project folder: each must be the project's own,
# not a link — a project from elsewhere with ``tracks -> ~/data`` would have a save delete files there.
_OWN_FILES = (PROJECT_FILE, LOCK_FILE)
_OWN_FOLDERS = (TRACKS_DIR, AUTOSAVE_DIR, CACHE_DIR, MODELS_DIR)


def check_own_entries(folder: Path) -> None:
    """Refuse a project whose own files or folders (or the folders one level inside its cache) are
    links, or a file where a folder belongs."""
    def refuse(p: Path, what: str) -> ProjectError:
        return ProjectError(f"{p} is {what}, not the project's own; AV Studio writes and deletes there, so it "
                            f"keeps them inside the project. Remove it (a cache is rebuilt) and open the project "
                            "again.", path=str(p))
    entries = [(folder / n, False) for n in _OWN_FILES] + [(folder / n, True) for n in _OWN_FOLDERS]
    cache = folder / CACHE_DIR
    if cache.is_dir() and not cache.is_symlink():
        entries += [(p, True) for p in cache.iterdir() if p.is_symlink() or p.is_dir()]
    for p, is_folder in entries:
        if p.is_symlink():
            raise refuse(p, f"a link to {excerpt(os.path.realpath(p), 200)}")
        if p.exists() and (p.is_dir() != is_folder or not (p.is_dir() or p.is_file())):
            raise refuse(p, "a file where a folder belongs" if is_folder else "not a plain file")


def read_document(folder: Path) -> tuple[dict, bytes]:
    """project.json parsed, migrated to the current schema and validated; and its bytes."""
    pj = folder / PROJECT_FILE
    try:
        if not folder.is_dir():
            raise ProjectError(f"The project {folder} does not exist (or is not a folder).", path=str(folder))
        if not pj.exists() and not pj.is_symlink():
            raise ProjectError(f"{folder} is not an AV Studio project: it has no {PROJECT_FILE}.", path=str(folder))
        check_own_entries(folder)
    except OSError as exc:
        raise user_os_error(exc, "open the project", folder, cls=ProjectError) from exc
    data = read_limited(pj, "project file", document.PROJECT_JSON_LIMIT)
    doc = document.parse(pj, data)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise ProjectError(f"{pj} is not an AV Studio project file.", path=str(pj))
    version = doc.get("schema_version")
    if type(version) is not int or version < 0:
        raise ProjectError(f"{pj} has no valid schema_version.", path=str(pj))
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"{pj} was written by a newer AV Studio ({excerpt(str(doc.get('app_version', 'unknown')))}, "
            f"project schema {version}; this version reads up to schema {SCHEMA_VERSION}). Update AV Studio "
            "to open it; the project was not changed.", path=str(pj))
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise SchemaError(f"{pj} uses project schema {version}, which cannot be migrated.", path=str(pj))
        doc = MIGRATIONS[version](doc)
        version += 1
        doc["schema_version"] = version
    return document.check_document(doc, pj), data


def load_project(folder: str | os.PathLike, *, media_root: str | os.PathLike | None = None) -> Project:
    """Load a project folder. ``media_root`` (for autosave copies) is the folder media paths are
    relative to; by default the project folder itself.

    What an interrupted save left is tidied (pending files rolled forward or removed) only when no
    other process is saving now — a reader (a training run, an export) that tidied beside a live
    save would delete its files. A load that races such a save reads again."""
    folder = Path(folder)
    for attempt in range(LOAD_TRIES):
        try:
            lock = acquire(folder, "AV Studio, reading after an interrupted save") if folder.is_dir() else None
        except ProjectLockedError:
            lock = None  # another process is saving or holds the project: read, touch nothing
        try:
            return _load(folder, media_root, tidy=lock is not None)
        except ProjectError:
            if lock is not None or attempt == LOAD_TRIES - 1 or not _changed_since(folder):
                raise
            time.sleep(0.1)  # a save committed while we read: its files are in place in a moment
        finally:
            if lock is not None:
                lock.release()
    raise AssertionError("unreachable")


def _changed_since(folder: Path) -> bool:
    """project.json differs from the one this thread's last attempt read (a save committed meanwhile)."""
    try:
        return sha256(read_limited(folder / PROJECT_FILE, "project file", document.PROJECT_JSON_LIMIT)) \
            != _LAST_READ.digest
    except UserError:
        return False


def _load(folder: Path, media_root, *, tidy: bool) -> Project:
    doc, data = read_document(folder)
    _LAST_READ.digest = sha256(data)
    project = Project(str(doc.get("name") or folder.stem), Path(media_root) if media_root else folder)
    for m in doc.get("media", []):
        ref = MediaRef.from_json(m)
        project.media[ref.id] = ref
    project.settings = doc.get("settings", {})
    for tid, entry in doc.get("tracks", {}).items():
        project.tracks[tid] = _load_track(folder, tid, entry, tidy)
    if tidy:
        _tidy(folder)
    project.mark_saved()
    project.saved_at = doc.get("saved_at") if isinstance(doc.get("saved_at"), str) else None
    project.disk_digest = sha256(data)
    return project


def _tidy(folder: Path) -> None:
    """Remove what interrupted saves left (stale pending files, temp files) — where the folder lets us:
    a read-only project still opens."""
    tracks_dir = folder / TRACKS_DIR
    try:
        if tracks_dir.is_dir():
            for p in tracks_dir.glob("*" + PENDING_SUFFIX):
                p.unlink(missing_ok=True)
        remove_temp_files(folder)
        remove_temp_files(tracks_dir)
    except OSError:
        pass


def _track_data(final: Path, expected: str | None, roll_forward: bool) -> bytes | None:
    """The committed bytes of a track file: the file itself, or its pending twin when a save was
    killed after the commit point (rolled forward when we may tidy and the folder is writable)."""
    data = read_limited(final, "track file", ARRAY_FILE_LIMIT) if final.exists() else None
    if data is not None and (not expected or sha256(data) == expected):
        return data
    pending = final.with_name(final.name + PENDING_SUFFIX)
    if pending.exists():
        pdata = read_limited(pending, "track file", ARRAY_FILE_LIMIT)
        if not expected or sha256(pdata) == expected:
            try:
                if roll_forward:
                    os.replace(pending, final)
                    fsync_dir(final.parent)
            except OSError:
                pass  # a read-only project: use the pending bytes, leave the files
            return pdata
    return data


def _load_track(folder: Path, tid: str, entry: dict, tidy: bool) -> Track:
    kind, meta, name = entry["kind"], dict(entry.get("meta", {})), str(entry.get("name", ""))
    arrays: dict = {}
    if entry.get("file"):
        final = document.inside(folder, entry["file"], folder / PROJECT_FILE, "track file")
        expected = entry.get("sha256")
        data = _track_data(final, expected, tidy)
        if data is None:
            raise ProjectError(
                f"The track file {final} is missing, so the {kind} track '{name or tid}' cannot be "
                "loaded. Restore the file, recover from an autosave copy, or run the analysis again.",
                path=str(final))
        if expected and sha256(data) != expected:
            raise ProjectError(
                f"The track file {final} does not match the project (it was changed outside AV Studio "
                "or damaged). Recover from an autosave copy or run the analysis again.", path=str(final))
        arrays = read_arrays(data, final)
    try:
        return Track.create(kind, arrays, meta, tid, name)
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise ProjectError(
            f"The {excerpt(kind)} track '{excerpt(name or tid)}' of {folder} is invalid: "
            f"{excerpt(str(exc), 200)}.", path=str(folder)) from exc


def new_project_folder(path: str | os.PathLike) -> Path:
    """Normalise a user-given project path: add ``.avproj`` if it has no suffix."""
    p = Path(path)
    if p.suffix != PROJECT_SUFFIX:
        p = p.with_name(p.name + PROJECT_SUFFIX)
    return p

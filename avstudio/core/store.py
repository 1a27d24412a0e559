"""The ``.avproj`` folder on disk: load, save, autosave, recovery.

Layout (DESIGN.md)::

    Clip.avproj/
      project.json        schema_version, media refs, settings, tracks index (with sha256 per file)
      tracks/<id>.npz     the arrays of one track
      models/ cache/      written by later stages
      autosave/<stamp>/   rotated, self-contained recovery copies

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
import re
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

from avstudio import __version__
from avstudio.core import document
from avstudio.core.atomic import TEMP_PREFIX, atomic_write_bytes, fsync_dir, remove_temp_files
from avstudio.core.errors import ProjectError, SchemaError, UserError
from avstudio.core.files import GIB, excerpt, read_limited, user_os_error
from avstudio.core.lock import acquire
from avstudio.core.project import MediaRef, Project
from avstudio.core.trackfile import read_arrays, sha256, track_bytes
from avstudio.core.tracks import Track

SCHEMA_VERSION = 1
FORMAT_NAME = "avstudio-project"
PROJECT_FILE = "project.json"
TRACKS_DIR = "tracks"
AUTOSAVE_DIR = "autosave"
PENDING_SUFFIX = ".pending"
AUTOSAVE_KEEP = 5
PROJECT_SUFFIX = ".avproj"
AUTOSAVE_STAMP = "%Y%m%d-%H%M%S-%f"
_AUTOSAVE_NAME = re.compile(r"\d{8}-\d{6}-\d{6}")
TRACK_FILE_LIMIT = 4 * GIB  # a two-hour face track is 1.2 GB

# schema_version n -> function turning an n document into an n+1 document. Version 1 is the first
# released format, so the table is empty; each future change adds an entry and a test.
MIGRATIONS: dict[int, callable] = {}


# ---- save -------------------------------------------------------------------------------------

def _document(project: Project, track_entries: dict[str, dict], saved_at: str) -> dict:
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


def _document_bytes(doc: dict) -> bytes:
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
    data = _document_bytes(_document(project, entries, saved_at))
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
        lock = None if held else acquire(target, getattr(project.lock, "owner", "a save"), wait_s=2.0)
        try:
            if not save_as:
                check_unchanged(project, target)
            if save_as:
                project.rebase(target)
                project._track_saved.clear()  # a new place: every track file must be written
            written = _commit(project, target)
        except BaseException:
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

def read_document(folder: Path) -> tuple[dict, bytes]:
    """project.json parsed, migrated to the current schema and validated; and its bytes."""
    pj = folder / PROJECT_FILE
    try:
        if not folder.is_dir():
            raise ProjectError(f"The project {folder} does not exist (or is not a folder).", path=str(folder))
        if not pj.exists():
            raise ProjectError(f"{folder} is not an AV Studio project: it has no {PROJECT_FILE}.", path=str(folder))
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
    relative to; by default the project folder itself."""
    folder = Path(folder)
    doc, data = read_document(folder)
    project = Project(str(doc.get("name") or folder.stem), Path(media_root) if media_root else folder)
    for m in doc.get("media", []):
        ref = MediaRef.from_json(m)
        project.media[ref.id] = ref
    project.settings = doc.get("settings", {})
    tracks_index = doc.get("tracks", {})
    for tid, entry in tracks_index.items():
        project.tracks[tid] = _load_track(folder, tid, entry)
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


def _track_data(final: Path, expected: str | None) -> bytes | None:
    """The committed bytes of a track file: the file itself, or its pending twin when a save was
    killed after the commit point (rolled forward when the folder is writable)."""
    data = read_limited(final, "track file", TRACK_FILE_LIMIT) if final.exists() else None
    if data is not None and (not expected or sha256(data) == expected):
        return data
    pending = final.with_name(final.name + PENDING_SUFFIX)
    if pending.exists():
        pdata = read_limited(pending, "track file", TRACK_FILE_LIMIT)
        if not expected or sha256(pdata) == expected:
            try:
                os.replace(pending, final)
                fsync_dir(final.parent)
            except OSError:
                pass  # a read-only project: use the pending bytes, leave the files
            return pdata
    return data


def _load_track(folder: Path, tid: str, entry: dict) -> Track:
    kind, meta, name = entry["kind"], dict(entry.get("meta", {})), str(entry.get("name", ""))
    arrays: dict = {}
    if entry.get("file"):
        final = document.inside(folder, entry["file"], folder / PROJECT_FILE, "track file")
        expected = entry.get("sha256")
        data = _track_data(final, expected)
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


# ---- autosave & recovery ------------------------------------------------------------------------

def _write_autosave(project: Project, root: Path) -> Path:
    tmp = root / f"{TEMP_PREFIX}{uuid.uuid4().hex[:8]}"
    (tmp / TRACKS_DIR).mkdir(parents=True)
    entries = {}
    for tid, track in project.tracks.items():
        entry = track.index_entry()
        if track.schema:
            data = track_bytes(track)
            entry["file"], entry["sha256"] = f"{TRACKS_DIR}/{document.check_id(tid, 'track id', root)}.npz", sha256(data)
            atomic_write_bytes(tmp / entry["file"], data)
        entries[tid] = entry
    now = datetime.now(timezone.utc)
    doc = _document(project, entries, now.isoformat())
    doc["autosave_of_revision"] = project.revision
    atomic_write_bytes(tmp / PROJECT_FILE, _document_bytes(doc))
    final = root / now.strftime(AUTOSAVE_STAMP)
    os.replace(tmp, final)  # the copy appears whole or not at all
    fsync_dir(root)
    return final


def autosave_project(project: Project, *, keep: int = AUTOSAVE_KEEP) -> Path:
    """Write a self-contained copy to ``autosave/<stamp>/`` and keep the newest ``keep`` copies.
    Never touches the project's own files."""
    if project.folder is None:
        raise ProjectError("An unsaved project cannot be autosaved: save it once first.")
    root = Path(project.folder) / AUTOSAVE_DIR
    try:
        root.mkdir(exist_ok=True)  # never re-creates a project folder that was moved away
        remove_temp_files(root)
        final = _write_autosave(project, root)
        copies = list_autosaves(project.folder)
        for old in copies[keep:] if keep > 0 else copies:
            # Renamed out of the list first: a kill halfway through deleting a copy must not leave a
            # half-deleted one that recovery would offer.
            doomed = root / f"{TEMP_PREFIX}{uuid.uuid4().hex[:8]}"
            os.replace(old, doomed)
            shutil.rmtree(doomed, ignore_errors=True)
    except OSError as exc:
        raise user_os_error(exc, "autosave into", root, cls=ProjectError) from exc
    return final


def list_autosaves(folder: str | os.PathLike) -> list[Path]:
    """The project's autosave copies, newest first (only folders AV Studio named; nothing else there counts)."""
    root = Path(folder) / AUTOSAVE_DIR
    try:
        if not root.is_dir():
            return []
        return sorted((p for p in root.iterdir() if _AUTOSAVE_NAME.fullmatch(p.name) and p.is_dir()
                       and not p.is_symlink() and (p / PROJECT_FILE).is_file()), reverse=True)
    except OSError:
        return []


def autosave_time(copy: Path) -> datetime:
    return datetime.strptime(copy.name, AUTOSAVE_STAMP)


def _saved_at(folder: Path) -> str:
    try:
        value = json.loads(read_limited(folder / PROJECT_FILE, "project file", document.PROJECT_JSON_LIMIT))["saved_at"]
        return value if isinstance(value, str) else ""
    except (UserError, ValueError, KeyError, TypeError, RecursionError):
        return ""


def find_recovery(folder: str | os.PathLike) -> Path | None:
    """The newest autosave copy that is newer than the last save, if any (offered on open)."""
    folder = Path(folder)
    saved_at = _saved_at(folder)
    for copy in list_autosaves(folder):
        copy_at = _saved_at(copy)
        if copy_at:  # an unreadable copy is passed over for the next one
            return copy if copy_at > saved_at else None
    return None


def recover_project(folder: str | os.PathLike, copy: str | os.PathLike) -> Project:
    """Load an autosave copy as the project in ``folder``; it is unsaved until the user saves."""
    folder = Path(folder)
    project = load_project(copy, media_root=folder)
    project.folder = folder
    project._track_saved.clear()
    project.touch()
    try:  # saving the recovered work replaces the project.json it was recovered over
        project.disk_digest = sha256(read_limited(folder / PROJECT_FILE, "project file", document.PROJECT_JSON_LIMIT))
    except UserError:
        project.disk_digest = None
    return project


def new_project_folder(path: str | os.PathLike) -> Path:
    """Normalise a user-given project path: add ``.avproj`` if it has no suffix."""
    p = Path(path)
    if p.suffix != PROJECT_SUFFIX:
        p = p.with_name(p.name + PROJECT_SUFFIX)
    return p

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

import hashlib
import io
import json
import os
import shutil
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from avstudio import __version__
from avstudio.core.atomic import TEMP_PREFIX, atomic_write_bytes, atomic_write_json, fsync_dir, remove_temp_files
from avstudio.core.errors import ProjectError, SchemaError
from avstudio.core.project import MediaRef, Project
from avstudio.core.tracks import Track

SCHEMA_VERSION = 1
FORMAT_NAME = "avstudio-project"
PROJECT_FILE = "project.json"
TRACKS_DIR = "tracks"
AUTOSAVE_DIR = "autosave"
PENDING_SUFFIX = ".pending"
AUTOSAVE_KEEP = 5
PROJECT_SUFFIX = ".avproj"

# schema_version n -> function turning an n document into an n+1 document. Version 1 is the first
# released format, so the table is empty; each future change adds an entry and a test.
MIGRATIONS: dict[int, callable] = {}


# ---- arrays <-> bytes ---------------------------------------------------------------------------

def _track_bytes(track: Track) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **track.arrays)
    return buf.getvalue()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_arrays(data: bytes, where: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise ProjectError(
            f"The track file {where} is damaged and cannot be read. Open one of the project's autosave copies "
            "instead (each folder in its autosave/ folder is a whole project), or remove the track.",
            path=str(where), details=repr(exc)) from exc


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
    if folder.exists() and not folder.is_dir():
        raise ProjectError(f"Cannot save the project to {folder}: a file with that name exists.", path=str(folder))
    if folder.is_dir() and any(folder.iterdir()) and not (folder / PROJECT_FILE).exists():
        raise ProjectError(
            f"Cannot save the project into {folder}: the folder is not empty and is not an AV Studio "
            "project. Choose a new folder name (ending in .avproj).", path=str(folder))


def save_project(project: Project, folder: str | os.PathLike | None = None) -> Path:
    """Save ``project`` (to ``folder`` = Save As, or to its own folder). Returns the folder."""
    if folder is not None:
        folder = Path(folder)
        if project.folder is None or folder.resolve() != Path(project.folder).resolve():
            _check_target_folder(folder)
            project.rebase(folder)
            project._track_saved.clear()  # a new place: every track file must be written
    if project.folder is None:
        raise ProjectError("The project has no folder yet: use Save As.")
    folder = Path(project.folder)
    tracks_dir = folder / TRACKS_DIR
    try:
        tracks_dir.mkdir(parents=True, exist_ok=True)
        old_entries = _read_index_quietly(folder)
        entries: dict[str, dict] = {}
        pending: list[tuple[Path, Path]] = []
        written: list[str] = []
        for tid, track in project.tracks.items():
            entry = track.index_entry()
            final = tracks_dir / f"{tid}.npz"
            if not track.schema:
                entries[tid] = entry
                continue
            old = old_entries.get(tid)
            if old and not project.track_needs_write(tid) and final.is_file():
                entry["file"], entry["sha256"] = old["file"], old["sha256"]
            else:
                data = _track_bytes(track)
                entry["file"], entry["sha256"] = f"{TRACKS_DIR}/{tid}.npz", _sha256(data)
                tmp = final.with_name(final.name + PENDING_SUFFIX)
                atomic_write_bytes(tmp, data)
                pending.append((tmp, final))
                written.append(tid)
            entries[tid] = entry
        saved_at = datetime.now(timezone.utc).isoformat()
        atomic_write_json(folder / PROJECT_FILE, _document(project, entries, saved_at))  # commit point
        for tmp, final in pending:
            os.replace(tmp, final)
        fsync_dir(tracks_dir)
        # Files of removed tracks are garbage once the commit is on disk.
        keep = {f"{tid}.npz" for tid in entries}
        for p in tracks_dir.iterdir():
            if p.suffix == ".npz" and p.name not in keep:
                p.unlink(missing_ok=True)
    except OSError as exc:
        raise ProjectError(
            f"Could not save the project to {folder}: {exc.strerror or exc}. The last saved version is "
            "unchanged; free some disk space or choose another folder, then save again.",
            path=str(folder), details=repr(exc)) from exc
    project.mark_saved(written)
    project.saved_at = saved_at
    return folder


def _read_index_quietly(folder: Path) -> dict:
    try:
        return json.loads((folder / PROJECT_FILE).read_text("utf-8")).get("tracks", {})
    except (OSError, ValueError, AttributeError):
        return {}


# ---- load -------------------------------------------------------------------------------------

def read_document(folder: Path) -> dict:
    """project.json parsed, validated and migrated to the current schema."""
    pj = folder / PROJECT_FILE
    if not folder.exists():
        raise ProjectError(f"The project {folder} does not exist.", path=str(folder))
    if not pj.is_file():
        raise ProjectError(
            f"{folder} is not an AV Studio project: it has no {PROJECT_FILE}.", path=str(folder))
    try:
        doc = json.loads(pj.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ProjectError(
            f"{pj} is damaged and cannot be read ({exc}). If autosave copies exist in "
            f"{folder / AUTOSAVE_DIR}, recover from the newest one.", path=str(pj), details=repr(exc)) from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise ProjectError(f"{pj} is not an AV Studio project file.", path=str(pj))
    version = doc.get("schema_version")
    if not isinstance(version, int) or version < 0:
        raise ProjectError(f"{pj} has no valid schema_version.", path=str(pj))
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"{pj} was written by a newer AV Studio ({doc.get('app_version', 'unknown')}, project "
            f"schema {version}; this version reads up to schema {SCHEMA_VERSION}). Update AV Studio "
            "to open it; the project was not changed.", path=str(pj))
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise SchemaError(f"{pj} uses project schema {version}, which cannot be migrated.", path=str(pj))
        doc = MIGRATIONS[version](doc)
        version += 1
        doc["schema_version"] = version
    return doc


def load_project(folder: str | os.PathLike, *, media_root: str | os.PathLike | None = None) -> Project:
    """Load a project folder. ``media_root`` (for autosave copies) is the folder media paths are
    relative to; by default the project folder itself."""
    folder = Path(folder)
    doc = read_document(folder)
    project = Project(str(doc.get("name") or folder.stem), Path(media_root) if media_root else folder)
    for m in doc.get("media", []):
        ref = MediaRef.from_json(m)
        project.media[ref.id] = ref
    settings = doc.get("settings", {})
    project.settings = settings if isinstance(settings, dict) else {}
    tracks_index = doc.get("tracks", {})
    if not isinstance(tracks_index, dict):
        raise ProjectError(f"{folder / PROJECT_FILE} has a malformed tracks index.", path=str(folder))
    for tid, entry in tracks_index.items():
        project.tracks[tid] = _load_track(folder, tid, entry)
    _discard_stale_pending(folder, tracks_index)
    remove_temp_files(folder)
    remove_temp_files(folder / TRACKS_DIR)
    project.mark_saved()
    project.saved_at = doc.get("saved_at")
    return project


def _load_track(folder: Path, tid: str, entry: dict) -> Track:
    try:
        kind, meta, name = entry["kind"], dict(entry.get("meta", {})), str(entry.get("name", ""))
    except (KeyError, TypeError) as exc:
        raise ProjectError(f"Track {tid} in {folder / PROJECT_FILE} is malformed.", path=str(folder)) from exc
    arrays: dict[str, np.ndarray] = {}
    if entry.get("file"):
        final = folder / entry["file"]
        if not final.resolve().is_relative_to(folder.resolve()):
            raise ProjectError(f"Track {tid} points outside the project folder ({entry['file']}).", path=str(folder))
        pending = final.with_name(final.name + PENDING_SUFFIX)
        expected = entry.get("sha256")
        data = final.read_bytes() if final.is_file() else None
        if data is None or (expected and _sha256(data) != expected):
            # Interrupted save after the commit point: the pending file is the committed one.
            if pending.is_file():
                pdata = pending.read_bytes()
                if not expected or _sha256(pdata) == expected:
                    os.replace(pending, final)
                    fsync_dir(final.parent)
                    data = pdata
        if data is None:
            raise ProjectError(
                f"The track file {final} is missing, so the {kind} track '{name or tid}' cannot be "
                "loaded. Restore the file, recover from an autosave copy, or run the analysis again.",
                path=str(final))
        if expected and _sha256(data) != expected:
            raise ProjectError(
                f"The track file {final} does not match the project (it was changed outside AV Studio "
                "or damaged). Recover from an autosave copy or run the analysis again.", path=str(final))
        arrays = _read_arrays(data, final)
    try:
        return Track.create(kind, arrays, meta, tid, name)
    except ValueError as exc:
        raise ProjectError(
            f"The {kind} track '{name or tid}' of {folder} is invalid: {exc}.", path=str(folder)) from exc


def _discard_stale_pending(folder: Path, index: dict) -> None:
    tracks_dir = folder / TRACKS_DIR
    if tracks_dir.is_dir():
        for p in tracks_dir.glob("*" + PENDING_SUFFIX):
            p.unlink(missing_ok=True)


# ---- autosave & recovery ------------------------------------------------------------------------

def autosave_project(project: Project, *, keep: int = AUTOSAVE_KEEP) -> Path:
    """Write a self-contained copy to ``autosave/<stamp>/`` and keep the newest ``keep`` copies.
    Never touches the project's own files."""
    if project.folder is None:
        raise ProjectError("An unsaved project cannot be autosaved: save it once first.")
    root = Path(project.folder) / AUTOSAVE_DIR
    root.mkdir(parents=True, exist_ok=True)
    remove_temp_files(root)
    tmp = root / f"{TEMP_PREFIX}{uuid.uuid4().hex[:8]}"
    (tmp / TRACKS_DIR).mkdir(parents=True)
    entries = {}
    for tid, track in project.tracks.items():
        entry = track.index_entry()
        if track.schema:
            data = _track_bytes(track)
            entry["file"], entry["sha256"] = f"{TRACKS_DIR}/{tid}.npz", _sha256(data)
            atomic_write_bytes(tmp / entry["file"], data)
        entries[tid] = entry
    now = datetime.now(timezone.utc)
    doc = _document(project, entries, now.isoformat())
    doc["autosave_of_revision"] = project.revision
    atomic_write_json(tmp / PROJECT_FILE, doc)
    stamp = now.strftime("%Y%m%d-%H%M%S-%f")
    final = root / stamp
    os.replace(tmp, final)
    fsync_dir(root)
    copies = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(TEMP_PREFIX))
    for old in copies[:-keep] if keep > 0 else copies:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_autosaves(folder: str | os.PathLike) -> list[Path]:
    root = Path(folder) / AUTOSAVE_DIR
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(TEMP_PREFIX)
                   and (p / PROJECT_FILE).is_file()), reverse=True)


def find_recovery(folder: str | os.PathLike) -> Path | None:
    """The newest autosave copy that is newer than the last save, if any (offered on open)."""
    folder = Path(folder)
    try:
        saved_at = json.loads((folder / PROJECT_FILE).read_text("utf-8")).get("saved_at", "")
    except (OSError, ValueError, AttributeError):
        saved_at = ""
    for copy in list_autosaves(folder):
        try:
            copy_at = json.loads((copy / PROJECT_FILE).read_text("utf-8")).get("saved_at", "")
        except (OSError, ValueError, AttributeError):
            continue
        if copy_at > saved_at:
            return copy
        return None
    return None


def recover_project(folder: str | os.PathLike, copy: str | os.PathLike) -> Project:
    """Load an autosave copy as the project in ``folder``; it is unsaved until the user saves."""
    folder = Path(folder)
    project = load_project(copy, media_root=folder)
    project.folder = folder
    project._track_saved.clear()
    project.touch()
    return project


def new_project_folder(path: str | os.PathLike) -> Path:
    """Normalise a user-given project path: add ``.avproj`` if it has no suffix."""
    p = Path(path)
    if p.suffix != PROJECT_SUFFIX:
        p = p.with_name(p.name + PROJECT_SUFFIX)
    return p

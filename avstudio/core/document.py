"""project.json as read from disk: parsed within bounds and validated before anything trusts it.

A project folder may come from anywhere (a colleague, a download, a damaged disk), so every name,
number and path in its document is checked here, in one place, before the rest of AV Studio sees
it: ids are ids (they become file names), paths stay inside the project, numbers are finite and in
range, nesting is shallow, and the file is a few MiB of JSON rather than a device or a gigabyte.
Anything else is a ProjectError naming the file, the entry and what to do.
"""

from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from pathlib import Path, PurePosixPath

from avstudio.core import roles
from avstudio.core.errors import ProjectError
from avstudio.core.files import MIB, excerpt

PROJECT_JSON_LIMIT = 64 * MIB
MAX_DEPTH = 24           # project.json nesting (ours is 6 deep at most)
MAX_FRAMES = 5_000_000  # a media file's frame count: 23 hours at 60 fps (arrays are sized by it)
MAX_NAME = 255
# A track or media id becomes a file name (tracks/<id>.npz): a fixed alphabet, never a path.
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
SHA256 = re.compile(r"[0-9a-f]{64}")


def check_id(value, what: str, where) -> str:
    if not isinstance(value, str) or not ID.fullmatch(value):
        raise ProjectError(f"{where} names a {what} {excerpt(str(value))!r}, which is not an id (letters, digits, "
                           "'_' and '-', up to 64). The file was altered or damaged: recover from an autosave copy.",
                           path=str(where))
    return value


def inside(folder: Path, rel, where, what: str = "file") -> Path:
    """``folder / rel`` for a relative path read from a file, refused when it leaves ``folder``."""
    if not isinstance(rel, str) or not rel or len(rel) > 1024 or "\0" in rel:
        raise ProjectError(f"{where} names a {what} that is not a path: {excerpt(str(rel))!r}.", path=str(where))
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts or "\\" in rel:
        raise ProjectError(f"{where} names a {what} outside the project folder ({excerpt(rel)}); AV Studio only "
                           "reads files inside a project. The file was altered: recover from an autosave copy.",
                           path=str(where))
    path = folder / pure
    try:
        if not path.resolve().is_relative_to(folder.resolve()):
            raise ProjectError(f"{where} names a {what} that links outside the project folder ({excerpt(rel)}).",
                               path=str(where))
    except (OSError, RuntimeError) as exc:  # a link loop
        raise ProjectError(f"{where} names a {what} that cannot be resolved ({excerpt(rel)}).",
                           path=str(where), details=repr(exc)) from exc
    return path


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def parse(pj: Path, data: bytes) -> dict:
    """project.json's bytes (read bounded: files.read_limited) parsed: no NaN/Infinity, no deep nesting."""
    try:
        doc = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProjectError(
            f"{pj} is damaged and cannot be read ({excerpt(str(exc), 120)}). If autosave copies exist in its "
            "autosave/ folder, recover from the newest one.", path=str(pj), details=repr(exc)) from exc
    if _depth(doc) > MAX_DEPTH:
        raise ProjectError(f"{pj} is nested deeper than any project ({MAX_DEPTH} levels): it was altered or damaged.",
                           path=str(pj))
    return doc


def _depth(obj) -> int:
    deepest, stack = 0, [(obj, 1)]
    while stack:
        item, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > MAX_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((v, d + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, d + 1) for v in item)
    return deepest


# ---- the parts of a document ---------------------------------------------------------------------

def _expect(value, kind, what: str, where):
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        names = {dict: "an object", list: "a list", str: "text", int: "a whole number"}
        raise ProjectError(f"{where}: {what} must be {names.get(kind, kind.__name__)}, not "
                           f"{type(value).__name__}. The file was altered or damaged: recover from an autosave copy.",
                           path=str(where))
    return value


def _number(value, what: str, where, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not lo <= value <= hi:
        raise ProjectError(f"{where}: {what} is {excerpt(str(value))}, outside {lo:g}…{hi:g}. The file was altered "
                           "or damaged: recover from an autosave copy.", path=str(where))
    return value


def fps_pair(value, what: str, where) -> Fraction:
    """An exact frame rate stored as [numerator, denominator]: 0 < fps ≤ 10⁶ (probe may store a time
    base such as 90000/1 for a clip of one frame)."""
    if not isinstance(value, list) or len(value) != 2 or not all(type(v) is int for v in value) \
            or value[0] <= 0 or value[1] <= 0 or value[0] > 10**9 or value[1] > 10**9 \
            or not 0 < value[0] / value[1] <= 10**6:
        raise ProjectError(f"{where}: {what} must be a frame rate [numerator, denominator], not "
                           f"{excerpt(str(value))}.", path=str(where))
    return Fraction(*value)


def check_probe(probe, where) -> dict:
    _expect(probe, dict, "a media entry's probe", where)
    video = probe.get("video")
    if video:
        _expect(video, dict, "the probe's video", where)
        count = _number(video.get("frame_count") or 0, "the video's frame count", where, 0, MAX_FRAMES)
        if video.get("fps") is not None:
            fps = fps_pair(video["fps"], "the video's fps", where)
            seconds = _number(video.get("duration") or probe.get("duration") or 0, "the video's duration", where,
                              0, 10**7)
            if seconds and count > seconds * fps * 1.1 + 10:
                raise ProjectError(f"{where}: the video's frame count ({count}) does not fit its duration and frame "
                                   "rate. The file was altered: recover from an autosave copy.", path=str(where))
        for key in ("width", "height"):
            _number(video.get(key) or 0, f"the video's {key}", where, 0, 65536)
    for audio in _expect(probe.get("audio") or [], list, "the probe's audio streams", where):
        _expect(audio, dict, "an audio stream", where)
        _number(audio.get("sample_rate") or 0, "the audio's sample rate", where, 0, 10**6)
        _number(audio.get("channels") or 0, "the audio's channels", where, 0, 256)
    _number(probe.get("duration") or 0, "the media's duration", where, 0, 10**7)
    return probe


def check_media(entry, where) -> dict:
    _expect(entry, dict, "a media entry", where)
    check_id(entry.get("id"), "media id", where)
    if entry.get("role", roles.OTHER) not in roles.MEDIA_ROLES:
        raise ProjectError(f"{where}: a media entry has the unknown role {excerpt(str(entry.get('role')))!r}.",
                           path=str(where))
    for key in ("path", "abs_path", "fingerprint"):
        value = _expect(entry.get(key, ""), str, f"the media's {key}", where)
        if len(value) > 4096 or "\0" in value:
            raise ProjectError(f"{where}: a media {key} is not a path or is too long.", path=str(where))
    if not entry.get("path"):
        raise ProjectError(f"{where}: a media entry has no path.", path=str(where))
    _number(entry.get("size", -1), "a media file's size", where, -1, 2**62)
    check_probe(entry.get("probe", {}), where)
    return entry


# Meta keys the code reads, and what they must be (unknown keys pass: a newer version's extras).
_META_TEXT = ("clip", "layer", "skeleton", "media_id", "feature", "driver", "speech", "stage")


def check_meta(meta, where) -> dict:
    _expect(meta, dict, "a track's meta", where)
    for key in _META_TEXT:
        if key in meta and meta[key] is not None:
            _expect(meta[key], str, f"meta['{key}']", where)
    if "fps" in meta:
        fps_pair(meta["fps"], "meta['fps']", where)
    if "file" in meta and meta["file"] is not None:
        inside(Path(where).parent, meta["file"], where, "rendered file")
    for key in ("frame_period_ms", "sample_rate", "duration"):
        if key in meta:
            _number(meta[key], f"meta['{key}']", where, 0, 10**7)
    for key in ("channels", "labels"):
        if key in meta and (not isinstance(meta[key], list) or not all(isinstance(v, str) for v in meta[key])):
            raise ProjectError(f"{where}: meta['{key}'] must be a list of names.", path=str(where))
    return meta


def check_track_entry(tid, entry, where) -> dict:
    check_id(tid, "track id", where)
    _expect(entry, dict, f"track {tid}", where)
    _expect(entry.get("kind"), str, f"track {tid}'s kind", where)
    name = _expect(entry.get("name", ""), str, f"track {tid}'s name", where)
    if len(name) > MAX_NAME:
        raise ProjectError(f"{where}: track {tid}'s name is longer than {MAX_NAME} characters.", path=str(where))
    check_meta(entry.get("meta", {}), where)
    file = entry.get("file")
    if file is not None and file != f"tracks/{tid}.npz":
        raise ProjectError(f"{where}: track {tid} names the file {excerpt(str(file))!r}; a track's file is "
                           f"tracks/{tid}.npz. The file was altered: recover from an autosave copy.", path=str(where))
    sha = entry.get("sha256")
    if sha is not None and (not isinstance(sha, str) or not SHA256.fullmatch(sha)):
        raise ProjectError(f"{where}: track {tid} has a malformed sha256.", path=str(where))
    return entry


def check_settings(settings, where) -> dict:
    _expect(settings, dict, "settings", where)
    if "retarget" in settings:  # what the retarget wrote: its statistics, overrides and fallbacks
        retarget = _expect(settings["retarget"], dict, "settings['retarget']", where)
        for key in ("source", "target", "overrides", "fallback_frames"):
            if key in retarget:
                _expect(retarget[key], dict, f"settings['retarget']['{key}']", where)
    frames = settings.get("viseme_frames")
    if frames is not None:
        _expect(frames, dict, "settings['viseme_frames']", where)
        for v in frames.values():
            _number(v, "a viseme's frame", where, 0, MAX_FRAMES)
    return settings


def check_document(doc: dict, pj: Path) -> dict:
    """Every part of a (migrated) project document the code reads, checked; returns it."""
    name = doc.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME):
        raise ProjectError(f"{pj}: the project's name must be text of at most {MAX_NAME} characters.", path=str(pj))
    for entry in _expect(doc.get("media", []), list, "media", pj):
        check_media(entry, pj)
    ids = [m["id"] for m in doc.get("media", [])]
    if len(set(ids)) != len(ids):
        raise ProjectError(f"{pj}: two media entries share an id.", path=str(pj))
    check_settings(doc.get("settings", {}), pj)
    for tid, entry in _expect(doc.get("tracks", {}), dict, "tracks", pj).items():
        check_track_entry(tid, entry, pj)
    return doc

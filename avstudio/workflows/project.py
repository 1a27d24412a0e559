"""Project operations: create a project, use a media file in a role, relink moved media, export the
clips; the soundtracks a video can play or be exported with.

Setting and relinking media are edits (one undo step each), like every other change of a project.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from avstudio.core import document, roles
from avstudio.core.edits import SetMedia
from avstudio.core.errors import MediaError, ProjectError
from avstudio.core.files import excerpt, user_os_error
from avstudio.core.project import Project, fingerprint
from avstudio.core.store import new_project_folder, save_project
from avstudio.core.progress import Progress
from avstudio.media.audio import Audio, load_audio
from avstudio.media.errors import check_readable
from avstudio.media.export import MAX_FPS, MAX_SIDE, ExportSettings, check_video_output, export_video
from avstudio.media.probe import probe, require_video
from avstudio.media.video import VideoSource
from avstudio.workflows.operation import Operation

VIDEO_ROLES, VOICE_ROLES = roles.VIDEO_ROLES, roles.VOICE_ROLES
NAME_MAX = 255  # bytes of one file or folder name on every common file system


def media_summary(path: str | os.PathLike, role: str) -> dict:
    """Probe a media file for ``role`` (video roles need a video stream, voices audio): the summary
    the project keeps. Raises MediaError with a message for the user."""
    info = probe(path)
    if role in VIDEO_ROLES:
        require_video(info)
    elif role in VOICE_ROLES and not info.audio:
        raise MediaError(f"{path} has no audio stream, so it cannot be the {roles.label(role)}.", path=str(path))
    summary = info.to_json()
    summary.pop("path", None)  # the reference keeps the (relative) path; no machine path in the project
    return summary


def media_job(path: str, role: str) -> Iterator[Progress]:
    """Job: what a media reference needs that takes a while — the probe summary and the fingerprint."""
    yield Progress(0, None, f"Reading {Path(path).name}")
    summary = media_summary(path, role)
    return summary, fingerprint(Path(path))


def set_media(project: Project, role: str, path: str) -> Operation:
    """Use ``path`` as the project's media in ``role`` (it replaces the one there)."""
    return Operation(f"Read {Path(path).name}", "avstudio.workflows.project:media_job", (str(path), role), quiet=True,
                     apply=lambda p, r: SetMedia(p.new_media_ref(path, role, r[0], r[1]),
                                                 text=f"Set the {roles.label(role)}"),
                     summary=lambda r: f"The {roles.label(role)} is {Path(path).name}.")


def fingerprint_job(path: str) -> Iterator[Progress]:
    yield Progress(0, None, f"Reading {Path(path).name}")
    return fingerprint(Path(path))


def relink_job(path: str, role: str, replacement: bool) -> Iterator[Progress]:
    """Job: (fingerprint, probe summary) of the file a role is relinked to. A replacement is another
    file, so it is probed like any new media (it must be one, with the streams the role needs); a
    moved file is the same content (its fingerprint says so), so its summary stays (None)."""
    if not replacement:
        check_readable(path)  # fingerprinting a FIFO would wait for ever
        return (yield from fingerprint_job(path)), None
    summary, fp = yield from media_job(path, role)
    return fp, summary


def _relinked(project: Project, media_id: str, path: str, check_identity: bool, result) -> SetMedia:
    fp, summary = result
    ref = project.relinked_ref(media_id, path, check_identity=check_identity, fp=fp)
    if summary is not None:
        ref = replace(ref, probe=summary)
    return SetMedia(ref, text=f"Relink the {roles.label(ref.role)}")


def relink(project: Project, role: str, path: str, *, check_identity: bool = True) -> Operation:
    """Point the media of ``role`` at a file that moved (``check_identity=False``: at a replacement)."""
    ref = project.media_by_role(role)
    if ref is None:
        raise ProjectError(f"The project has no {roles.label(role)} to relink.")
    return Operation(f"Relink {Path(ref.path).name}", "avstudio.workflows.project:relink_job",
                     (str(path), role, not check_identity),
                     apply=lambda p, r: _relinked(p, ref.id, path, check_identity, r),
                     summary=lambda _: f"The {roles.label(role)} now points at {path}.")


def add_media(project: Project, path: str | os.PathLike, role: str):
    """Probe and add a media file in ``role`` now (scripts, project creation)."""
    return project.add_media(path, role, media_summary(path, role))


def create_project(folder: str | os.PathLike, *, source=None, target=None, source_voice=None,
                   target_voice=None, name: str | None = None) -> Project:
    """Make and save a new project folder from media files (all optional)."""
    folder = new_project_folder(folder)
    if len(os.fsencode(folder.name)) > NAME_MAX:
        raise ProjectError(f"The project folder's name {excerpt(folder.name)} is {len(os.fsencode(folder.name))} bytes "
                           f"long: at most {NAME_MAX} fit a file name. Choose a shorter name.", path=str(folder))
    try:
        exists = (folder / "project.json").exists()
    except OSError as exc:  # a path longer than the system allows, a file where a folder should be
        raise user_os_error(exc, "create", folder, cls=ProjectError) from exc
    if exists:
        raise ProjectError(f"{folder} already is a project. Open it, or choose another name.", path=str(folder))
    if name is not None and (not name.strip() or len(name) > document.MAX_NAME):
        raise ProjectError(f"A project's name is 1 to {document.MAX_NAME} characters; got {len(name)}.")
    project = Project(name or folder.stem, folder)
    for role, path in ((roles.SOURCE, source), (roles.TARGET, target), (roles.SOURCE_VOICE, source_voice),
                       (roles.TARGET_VOICE, target_voice)):
        if path:
            add_media(project, path, role)
    save_project(project, folder)
    return project


def soundtracks(project: Project | None, clip: str | None) -> list[tuple[str, str, Path]]:
    """(choice, label, file) of every sound a video can play with: ``clip``'s own sound, the voice
    recordings that are there, the converted voice."""
    out = []
    if project is None:
        return out
    ref = project.media_by_role(clip) if clip else None
    if ref is not None and ref.has_audio and project.locate_media(ref.id) is not None:
        out.append(("clip", "Clip sound", project.media_path(ref.id)))
    for role in VOICE_ROLES:
        r = project.media_by_role(role)
        if r is not None and project.locate_media(r.id) is not None:
            out.append((role, roles.label(role).capitalize(), project.media_path(r.id)))
    conv = project.find_track(roles.CONVERTED, "audio")
    if conv is not None and project.folder is not None and (Path(project.folder) / conv.meta["file"]).is_file():
        out.append((roles.CONVERTED, "Converted voice", Path(project.folder) / conv.meta["file"]))
    return out


@dataclass
class ExportRequest:
    out: str
    clip: str = "source"          # source | target | side_by_side
    audio: str = "clip"           # clip (the clip's own soundtrack) | none | source_voice | target_voice | converted | a file
    start: int = 0                # first frame (of the source clip, or of both side by side)
    end: int | None = None        # one past the last frame
    height: int | None = None     # output height (width follows the aspect); None keeps the size
    fps: float | None = None      # output frame rate (frames are picked by time); None keeps the clip's
    crf: int = 18
    preset: str = "medium"


def _resize(frame: np.ndarray, height: int) -> np.ndarray:
    import cv2  # opencv is a runtime dependency; imported lazily to keep startup quick

    h, w = frame.shape[:2]
    if h == height:
        return frame
    width = max(2, int(round(w * height / h / 2)) * 2)
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA if height < h else cv2.INTER_LINEAR)


def _open_clip(project: Project, role: str) -> VideoSource:
    return VideoSource(project.clip_media(role)[1], prefetch=0, cache_mb=64)


def soundtrack_file(project: Project, choice: str, clip: str = "source") -> Iterator[Progress]:
    """Job: the sound file of a soundtrack choice — "clip" (``clip``'s own sound), "none", a voice
    recording, "converted" (the converted voice, resynthesized when its pitch was edited since), or
    the path of any audio file. Returns the path, or None for no sound."""
    if choice == "none":
        return None
    if choice == "clip":
        ref, path = project.clip_media(clip)
        return str(path) if ref.has_audio else None
    if choice == "converted":
        from avstudio.workflows.voice import converted_audio

        return (yield from converted_audio(project))
    if choice in VOICE_ROLES:
        return str(project.clip_media(choice)[1])
    yield Progress(0, None, "Reading the soundtrack")
    return str(choice)


def _export_audio(project: Project, req: ExportRequest, clip_path: Path) -> Iterator[Progress]:
    path = yield from soundtrack_file(project, req.audio, req.clip if req.clip in VIDEO_ROLES else "source")
    return load_audio(path, 48000, mono=False) if path else None


def export_project(project: Project, req: ExportRequest) -> Iterator[Progress]:
    """Job: export the source or target clip, or both side by side, with the chosen audio."""
    check_export(project, req)
    roles = ["source", "target"] if req.clip == "side_by_side" else [req.clip]
    yield Progress(0, None, "Opening clips")
    sources = [_open_clip(project, r) for r in roles]
    try:
        main = sources[0]
        end = main.frame_count if req.end is None else min(int(req.end), main.frame_count)
        start = max(0, int(req.start))
        if start >= end:
            raise MediaError(f"The range {start}..{end} holds no frames (the clip has {main.frame_count}).")
        fps = main.fps
        out_fps = Fraction(req.fps).limit_denominator(1001) if req.fps else Fraction(fps)
        # Frames are picked by time: at a lower rate some are skipped, at a higher one repeated.
        count = end - start if out_fps == Fraction(fps) else max(1, round((end - start) / Fraction(fps) * out_fps))
        height = req.height or max(s.size[1] for s in sources)
        audio = yield from _export_audio(project, req, main.path)
        if audio is not None:
            # Audio of the exported range, aligned to the first exported frame.
            t0 = main.frame_time(start) + (audio.start_time if req.audio == "clip" else 0.0)
            t0 -= main.info.timebase().frame_to_seconds(0)
            audio = Audio(audio.slice_seconds(max(0.0, t0), t0 + count / float(out_fps)), audio.sample_rate)
        iters = [s.iter_frames(start, end) if s is main else None for s in sources]

        def picked():
            """(source index, frame) for each output frame, reading the clip once, in order."""
            t_start = main.frame_time(start)
            current = None
            for k in range(count):
                want = min(end - 1, max(start, main.timebase.seconds_to_frame(t_start + k / float(out_fps))))
                while current is None or current[0] < want:
                    nxt = next(iters[0], None)
                    if nxt is None:
                        break
                    current = nxt
                yield current

        def frames():
            for (i, frame) in picked():
                parts = [_resize(frame, height)]
                for other in sources[1:]:
                    # The other clip follows in time (its own frame rate), held on its last frame.
                    j = min(other.frame_count - 1, other.timebase.seconds_to_frame(main.frame_time(i)))
                    parts.append(_resize(other.get_frame(j, prefetch=False), height))
                yield np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]

        settings = ExportSettings(fps=out_fps, crf=req.crf, preset=req.preset)
        result = yield from export_video(req.out, frames(), count, settings, audio)
        return str(result)
    finally:
        for s in sources:
            s.close()


MIN_HEIGHT = 16  # libx264's smallest useful frame
MIN_FPS = 0.01   # a frame every 100 s; the rate is kept as a fraction over at most 1001


def check_export(project: Project, req: ExportRequest) -> None:
    """Refuse, before anything is decoded, an export request no video can come of — each message names
    the setting and the values it may take."""
    clips = ["source", "target"] if req.clip == "side_by_side" else [req.clip]
    if any(c not in VIDEO_ROLES for c in clips):
        raise MediaError(f"Unknown clip {req.clip!r}: use source, target or side_by_side.")
    refs = [project.clip_media(c)[0] for c in clips]
    frames = refs[0].frame_count
    if frames and not 0 <= req.start < frames:
        raise MediaError(f"The first frame (start) must be 0 to {frames - 1}: the clip has {frames} frames; got "
                         f"{req.start}.")
    if req.end is not None and not req.start < req.end:
        raise MediaError(f"The end frame (one past the last) must be after the first frame {req.start}; got {req.end}.")
    if req.fps is not None and not MIN_FPS <= req.fps <= MAX_FPS:  # written so that NaN fails too
        raise MediaError(f"The output frame rate (fps) must be {MIN_FPS} to {MAX_FPS}; got {req.fps}.")
    if req.height is not None:
        if not MIN_HEIGHT <= req.height <= MAX_SIDE:
            raise MediaError(f"The output height must be {MIN_HEIGHT} to {MAX_SIDE} pixels; got {req.height}.")
        videos = [r.probe.get("video") or {} for r in refs]
        sizes = [(v.get("width") or 0, v.get("height") or 0) for v in videos]
        width = sum(round(w * req.height / h) for w, h in sizes if h)
        if width > MAX_SIDE:
            raise MediaError(f"At a height of {req.height} pixels the video would be {width} pixels wide, more than "
                             f"H.264's {MAX_SIDE}: choose a smaller height.")
    ExportSettings(fps=Fraction(30), crf=req.crf, preset=req.preset).validate()
    check_video_output(req.out)


def export(project: Project, request: ExportRequest) -> Operation:
    """The source or target clip, or both side by side, to an MP4 with the chosen sound."""
    check_export(project, request)
    return Operation(f"Export {Path(request.out).name}", "avstudio.workflows.project:export_project", (project, request),
                     summary=lambda out: f"Wrote {out}")

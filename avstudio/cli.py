"""The ``avstudio`` command. With no arguments (or a project path) it opens the editor; every other
subcommand is a headless twin of a GUI action. Errors print the user message and exit non-zero —
never a traceback (``AVSTUDIO_DEBUG=1`` shows one)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from avstudio import __version__
from avstudio.core.errors import UserError

EXIT_USER_ERROR = 2
EXIT_CANCELLED = 130


# ---- progress ---------------------------------------------------------------------------------

def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return "--:--"
    s = int(round(s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class ProgressBar:
    """A one-line bar with ETA on a terminal; periodic plain lines when output is a file or pipe."""

    def __init__(self, stream=None, width: int = 30):
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self._last_print = 0.0
        self._last_pct = -100

    def update(self, handle, progress) -> None:
        frac = progress.fraction
        now = time.monotonic()
        if self.tty:
            if now - self._last_print < 0.1 and frac not in (None, 1.0):
                return
            bar = ("#" * int(self.width * (frac or 0))).ljust(self.width, ".") if frac is not None else "?" * self.width
            pct = f"{frac * 100:5.1f}%" if frac is not None else "  ...."
            line = f"\r[{bar}] {pct} ETA {_fmt_seconds(handle.eta)}  {progress.message[:60]}"
            self.stream.write(line.ljust(120)[:120])
            self.stream.flush()
        else:
            pct = int((frac or 0) * 100)
            if pct - self._last_pct >= 10 or frac == 1.0:
                self.stream.write(f"{pct:3d}% ETA {_fmt_seconds(handle.eta)} {progress.message}\n")
                self.stream.flush()
                self._last_pct = pct
        self._last_print = now

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def run_job(job, *args, name: str, quiet: bool = False, **kwargs):
    """Run a job on the thread runner with a progress bar; Ctrl+C cancels it cleanly."""
    from avstudio.core.progress import JobState
    from avstudio.jobs.thread_runner import ThreadRunner

    bar = None if quiet else ProgressBar()
    handle = ThreadRunner().submit(job, *args, name=name, **kwargs)
    if bar is not None:
        handle.on_progress(bar.update)
    try:
        while not handle.wait(0.1):
            pass
    except KeyboardInterrupt:
        handle.cancel()
        handle.wait(30)
    finally:
        if bar is not None:
            bar.close()
    if handle.state is JobState.CANCELLED:
        raise KeyboardInterrupt
    if handle.state is JobState.FAILED:
        raise UserError(handle.error or f"{name} failed.", details=handle.error_details)
    return handle.result


# ---- commands ---------------------------------------------------------------------------------

def cmd_gui(args) -> int:
    from avstudio.gui.app import run_app

    return run_app(args.project)


def cmd_demo(args) -> int:
    from avstudio.gui.app import run_app

    return run_app(demo=True)


def cmd_info(args) -> int:
    from avstudio.media.probe import probe

    for path in args.media:
        info = probe(path)
        print(json.dumps(info.to_json(), indent=2) if args.json else info.summary())
    return 0


def cmd_new(args) -> int:
    from avstudio.media.projects import create_project

    project = create_project(args.project, source=args.source, target=args.target,
                             source_voice=args.source_voice, target_voice=args.target_voice, name=args.name)
    print(f"Created {project.folder}")
    for ref in project.media.values():
        print(f"  {ref.role:13s} {ref.path}")
    return 0


def _load(path: str):
    from avstudio.core.store import load_project

    return load_project(path)


def cmd_export(args) -> int:
    from avstudio.media.projects import ExportRequest, export_project

    project = _load(args.project)
    req = ExportRequest(out=args.output, clip=args.clip, audio=args.audio, start=args.start, end=args.end,
                        height=args.height, crf=args.crf, preset=args.preset)
    out = run_job(export_project, project, req, name="Export", quiet=args.quiet)
    print(f"Wrote {out}")
    return 0


def cmd_relink(args) -> int:
    from avstudio.core.store import save_project

    project = _load(args.project)
    ref = project.media_by_role(args.role)
    if ref is None:
        raise UserError(f"{args.project} has no {args.role} media to relink.")
    project.relink_media(ref.id, args.path, check_identity=not args.replace)
    save_project(project)
    print(f"{args.role} now points at {project.media[ref.id].path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="avstudio", description="AV Studio: audio-visual conversion editor.")
    p.add_argument("--version", action="version", version=f"avstudio {__version__}")
    sub = p.add_subparsers(dest="command")

    g = sub.add_parser("gui", help="open the editor (the default)")
    g.add_argument("project", nargs="?", help="project folder (.avproj) to open")
    g.set_defaults(func=cmd_gui)

    d = sub.add_parser("demo", help="open the editor on (a copy of) the bundled demo project")
    d.set_defaults(func=cmd_demo)

    i = sub.add_parser("info", help="describe media files (streams, exact fps, frame count)")
    i.add_argument("media", nargs="+")
    i.add_argument("--json", action="store_true", help="machine-readable output")
    i.set_defaults(func=cmd_info)

    n = sub.add_parser("new", help="create a project from a source and a target clip")
    n.add_argument("project", help="folder to create (.avproj is added)")
    n.add_argument("--source", help="the clip whose motion / voice is transferred")
    n.add_argument("--target", help="the clip of the person to become")
    n.add_argument("--source-voice", help="audio of the source speaker")
    n.add_argument("--target-voice", help="audio of the target speaker")
    n.add_argument("--name", help="project name (default: the folder name)")
    n.set_defaults(func=cmd_new)

    e = sub.add_parser("export", help="render a project's clips to an MP4 (H.264 + AAC)")
    e.add_argument("project")
    e.add_argument("-o", "--output", required=True, help="output .mp4")
    e.add_argument("--clip", default="source", choices=["source", "target", "side_by_side"])
    e.add_argument("--audio", default="clip",
                   help="clip (its own soundtrack), none, source_voice, target_voice, or an audio file")
    e.add_argument("--start", type=int, default=0, help="first frame")
    e.add_argument("--end", type=int, default=None, help="one past the last frame")
    e.add_argument("--height", type=int, default=None, help="output height in pixels")
    e.add_argument("--crf", type=int, default=18, help="x264 quality: 0 lossless … 51 worst (default 18)")
    e.add_argument("--preset", default="medium", help="x264 speed preset (default medium)")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=cmd_export)

    r = sub.add_parser("relink", help="point a project's media at a file that moved")
    r.add_argument("project")
    r.add_argument("role", choices=["source", "target", "source_voice", "target_voice"])
    r.add_argument("path")
    r.add_argument("--replace", action="store_true", help="accept a different file (not just a moved one)")
    r.set_defaults(func=cmd_relink)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    parser = build_parser()
    # `avstudio` and `avstudio PROJECT` open the editor.
    if not argv or (argv[0] not in parser._subparsers._group_actions[0].choices and not argv[0].startswith("-")):
        argv = ["gui", *argv]
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"avstudio: error: {exc.message}", file=sys.stderr)
        if os.environ.get("AVSTUDIO_DEBUG") and exc.details:
            print(exc.details, file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("avstudio: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

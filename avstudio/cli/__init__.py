"""The ``avstudio`` command. With no arguments (or a project folder) it opens the editor; every other
command is a headless twin of an editor action, running the same operation (avstudio/workflows).
Errors print the user message and exit with 2 — never a traceback (``AVSTUDIO_DEBUG=1`` shows one).

Commands live in one module per workflow (project, landmarks, motion, voice, lipsync), each registering its
subcommands; this table names them so ``avstudio --help`` lists every command without importing
any (pip's commands_dict): only the module of the command that runs is imported.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import sys
from pathlib import Path

COMMANDS: dict[str, tuple[str, str]] = {
    "gui": ("avstudio.cli.project", "open the editor (the default)"),
    "demo": ("avstudio.cli.project", "open the editor on (a copy of) the bundled demo project"),
    "info": ("avstudio.cli.project", "describe media files (streams, exact fps, frame count)"),
    "new": ("avstudio.cli.project", "create a project from a source and a target clip"),
    "export": ("avstudio.cli.project", "render a project's clips to an MP4 (H.264 + AAC)"),
    "set": ("avstudio.cli.project", "use a media file as a project's source, target or a voice"),
    "relink": ("avstudio.cli.project", "point a project's media at a file that moved"),
    "analyze": ("avstudio.cli.landmarks", "extract body pose or face landmarks of a clip into the project"),
    "pose": ("avstudio.cli.landmarks", "OpenPose JSON interop (export, import)"),
    "retarget": ("avstudio.cli.motion", "normalize the source pose into the target's space (Everybody Dance Now)"),
    "render-pose": ("avstudio.cli.motion", "render stick figures (OpenPose colours) to a video or images"),
    "train": ("avstudio.cli.motion", "train a motion-transfer model on the target clip"),
    "evaluate": ("avstudio.cli.motion", "score a model on held-out data beside a baseline"),
    "render": ("avstudio.cli.motion", "generate the target doing the source's motion; write an MP4"),
    "voice": ("avstudio.cli.voice", "voice: WORLD analysis, F0 CSV, CycleGAN-VC2 training and conversion"),
    "lipsync": ("avstudio.cli.lipsync", "talking face: face analysis, driving the target's face, face renderers"),
}


def _help() -> str:
    from avstudio import __version__

    width = max(map(len, COMMANDS))
    rows = "\n".join(f"  {name:<{width}}  {text}" for name, text in ((n, h) for n, (_, h) in COMMANDS.items()))
    return (f"usage: avstudio [PROJECT.avproj] | avstudio COMMAND [options]\n\n"
            f"AV Studio {__version__}: an editor for audio-visual conversion. Without a command it opens the editor.\n\n"
            f"commands:\n{rows}\n\n`avstudio COMMAND --help` describes a command.")


def _looks_like_project(arg: str) -> bool:
    p = Path(arg)
    return p.suffix == ".avproj" or p.is_dir() or p.name == "project.json"


def _unknown(word: str) -> int:
    close = difflib.get_close_matches(word, list(COMMANDS), n=1)
    also = f" Did you mean '{close[0]}'?" if close else ""
    print(f"avstudio: error: '{word}' is not a command (nor a project folder).{also}\n\n{_help()}", file=sys.stderr)
    return 2


def parser_for(command: str) -> argparse.ArgumentParser:
    """The parser of one command (its module registers its subcommands)."""
    from avstudio import __version__

    p = argparse.ArgumentParser(prog="avstudio", description="AV Studio: audio-visual conversion editor.")
    p.add_argument("--version", action="version", version=f"avstudio {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    importlib.import_module(COMMANDS[command][0]).register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    if argv and argv[0] in ("-h", "--help"):
        print(_help())
        return 0
    if argv and argv[0] == "--version":
        from avstudio import __version__
        print(f"avstudio {__version__}")
        return 0
    if not argv:
        argv = ["gui"]
    elif argv[0] not in COMMANDS:
        if argv[0].startswith("-") or not _looks_like_project(argv[0]):
            return _unknown(argv[0])
        argv = ["gui", *argv]  # `avstudio PROJECT` opens it in the editor
    args = parser_for(argv[0]).parse_args(argv)
    from avstudio.cli.common import EXIT_CANCELLED, EXIT_USER_ERROR, print_error, release_locks
    from avstudio.core.errors import UserError

    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print_error(exc)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("avstudio: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except BrokenPipeError:
        return 0
    finally:
        release_locks()


if __name__ == "__main__":
    sys.exit(main())

"""Project commands: open the editor, the demo, describe media, create a project, export clips, relink."""

from __future__ import annotations

import json

from avstudio.cli.common import add_quiet, run_operation


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
    from avstudio.workflows.project import create_project

    project = create_project(args.project, source=args.source, target=args.target,
                             source_voice=args.source_voice, target_voice=args.target_voice, name=args.name)
    print(f"Created {project.folder}")
    for ref in project.media.values():
        print(f"  {ref.role:13s} {ref.path}")
    return 0


def cmd_export(args) -> int:
    from avstudio.workflows.project import ExportRequest, export

    req = ExportRequest(out=args.output, clip=args.clip, audio=args.audio, start=args.start, end=args.end,
                        height=args.height, fps=args.fps, crf=args.crf, preset=args.preset)
    run_operation(args.project, export, req, quiet=args.quiet)
    return 0


def cmd_set(args) -> int:
    from avstudio.workflows.project import set_media

    run_operation(args.project, set_media, args.role, args.path, quiet=True)
    return 0


def cmd_relink(args) -> int:
    from avstudio.workflows.project import relink

    run_operation(args.project, relink, args.role, args.path, check_identity=not args.replace, quiet=True)
    return 0


def register(sub) -> None:
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
                   help="clip (its own soundtrack), none, source_voice, target_voice, converted, or an audio file")
    e.add_argument("--start", type=int, default=0, help="first frame")
    e.add_argument("--end", type=int, default=None, help="one past the last frame")
    e.add_argument("--height", type=int, default=None, help="output height in pixels")
    e.add_argument("--fps", type=float, default=None, help="output frame rate (default: the clip's)")
    e.add_argument("--crf", type=int, default=18, help="x264 quality: 0 lossless … 51 worst (default 18)")
    e.add_argument("--preset", default="medium", help="x264 speed preset (default medium)")
    add_quiet(e)
    e.set_defaults(func=cmd_export)

    st = sub.add_parser("set", help="use a media file as a project's source, target or a voice")
    st.add_argument("project")
    st.add_argument("role", choices=["source", "target", "source_voice", "target_voice"])
    st.add_argument("path")
    st.set_defaults(func=cmd_set)

    r = sub.add_parser("relink", help="point a project's media at a file that moved")
    r.add_argument("project")
    r.add_argument("role", choices=["source", "target", "source_voice", "target_voice"])
    r.add_argument("path")
    r.add_argument("--replace", action="store_true", help="accept a different file (not just a moved one)")
    r.set_defaults(func=cmd_relink)

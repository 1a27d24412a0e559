"""Pose and face landmarks: ``avstudio analyze pose|face`` and OpenPose JSON (``avstudio pose``)."""

from __future__ import annotations

from avstudio.cli.common import add_quiet, run_operation


def cmd_analyze(args) -> int:
    from avstudio.workflows.landmarks import analyse

    seed = (int(args.seed[0]), args.seed[1], args.seed[2]) if args.seed else None
    run_operation(args.project, analyse, args.clip, args.kind, seed=seed, start=args.start, stop=args.end,
                  workers=args.workers, replace=args.replace, quiet=args.quiet)
    return 0


def cmd_pose_export(args) -> int:
    from avstudio.workflows.landmarks import export_openpose

    run_operation(args.project, export_openpose, args.clip, args.output, normalized=args.normalized, stem=args.stem,
                  quiet=True)
    return 0


def cmd_pose_import(args) -> int:
    from avstudio.workflows.landmarks import import_openpose

    run_operation(args.project, import_openpose, args.clip, args.folder, quiet=True)
    return 0


def register(sub) -> None:
    a = sub.add_parser("analyze", help="extract body pose or face landmarks of a clip into the project")
    a.add_argument("kind", choices=["pose", "face"])
    a.add_argument("project")
    a.add_argument("--clip", default="source", choices=["source", "target"])
    a.add_argument("--seed", nargs=3, type=float, metavar=("FRAME", "X", "Y"),
                   help="follow the person at pixel X,Y of FRAME (default: the most prominent person)")
    a.add_argument("--start", type=int, default=0, help="first frame (re-analysing a range keeps your anchors)")
    a.add_argument("--end", type=int, default=None, help="one past the last frame")
    a.add_argument("--workers", type=int, default=None, help="processes (default: one per core on long clips)")
    a.add_argument("--replace", action="store_true",
                   help="a new track instead of the analysed one with your anchors kept")
    add_quiet(a)
    a.set_defaults(func=cmd_analyze)

    po = sub.add_parser("pose", help="OpenPose JSON interop")
    posub = po.add_subparsers(dest="pose_command", required=True)
    pe = posub.add_parser("export", help="write OpenPose JSON (BODY_25 + face 70) per frame")
    pe.add_argument("project")
    pe.add_argument("--clip", default="source", choices=["source", "target"])
    pe.add_argument("--normalized", action="store_true")
    pe.add_argument("--stem", help="file name stem (default: the clip role)")
    pe.add_argument("-o", "--output", required=True, help="folder")
    pe.set_defaults(func=cmd_pose_export)
    pi = posub.add_parser("import", help="read OpenPose/DWPose BODY_25 JSON per frame as the clip's pose")
    pi.add_argument("project")
    pi.add_argument("folder")
    pi.add_argument("--clip", default="source", choices=["source", "target"])
    pi.set_defaults(func=cmd_pose_import)

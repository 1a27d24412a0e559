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
                        height=args.height, fps=args.fps, crf=args.crf, preset=args.preset)
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


def _save(project) -> None:
    from avstudio.core.store import save_project

    save_project(project)


def cmd_analyze(args) -> int:
    from avstudio.analysis.project_ops import analyze_clip, apply_extraction

    project = _load(args.project)
    seed = (args.seed[0], args.seed[1], args.seed[2]) if args.seed else None
    result = run_job(analyze_clip, project, args.clip, args.kind, seed=seed, start=args.start, stop=args.end,
                     workers=args.workers, name=f"Analyse {args.kind}", quiet=args.quiet)
    track, edit = apply_extraction(project, args.clip, args.kind, result, replace=args.replace or args.start == 0 and args.end is None)
    _save(project)
    found = int((result.flags[:, 0] != 3).sum())
    how = "merged into (anchors kept)" if edit is not None else "stored as"
    print(f"{args.clip} {args.kind}: subject found in {found}/{len(result.flags)} frames; {how} track '{track.name}'")
    return 0


def cmd_retarget(args) -> int:
    from avstudio.retarget.project_ops import retarget

    project = _load(args.project)
    overrides = {}
    for item in args.set or []:
        key, _, value = item.partition("=")
        try:
            overrides[key] = float(value)
        except ValueError:
            raise UserError(f"--set expects name=number, got {item!r}.") from None
    retarget(project, median=None if args.no_median else 7, overrides=overrides)
    _save(project)
    r = project.settings["retarget"]
    for side in ("source", "target"):
        s = r[side]
        print(f"{side:6s} floor far {s['far_y']:.1f} px (height {s['far_height']:.1f}), close {s['close_y']:.1f} px "
              f"(height {s['close_height']:.1f}), centre x {s['center_x']:.1f}")
    fb = r["fallback_frames"]
    print(f"frames normalized from ankles {fb['ankles']}, nose {fb['nose']}, torso {fb['torso']}, unusable {fb['none']}")
    return 0


def cmd_render_pose(args) -> int:
    from fractions import Fraction

    from avstudio.analysis.project_ops import clip_path
    from avstudio.retarget.project_ops import layer_for_render, stick_frames
    from avstudio.media.export import ExportSettings, export_video

    project = _load(args.project)
    body, face, size = layer_for_render(project, args.clip, "normalized" if args.normalized else "pose")
    w, h = (int(v) for v in args.size.lower().split("x")) if args.size else size
    ref, _ = clip_path(project, args.clip)
    fps = Fraction(*ref.probe["video"]["fps"])
    if args.frames_dir:
        import cv2
        out = Path(args.frames_dir)
        out.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(stick_frames(body, face, size, (w, h))):
            cv2.imwrite(str(out / f"pose_{i:06d}.png"), img[..., ::-1])
        print(f"Wrote {len(body[0])} images to {out}")
    if args.output:
        n = len(body[0])
        run_job(export_video, args.output, stick_frames(body, face, size, (w, h)), n,
                ExportSettings(fps=fps, crf=18, preset="veryfast"), name="Render poses", quiet=args.quiet)
        print(f"Wrote {args.output}")
    return 0


def cmd_pose_export(args) -> int:
    from avstudio.analysis.landmarks import body25, face68
    from avstudio.analysis.openpose_io import export_openpose
    from avstudio.analysis.project_ops import find_track, require_track

    project = _load(args.project)
    track = require_track(project, args.clip, "normalized" if args.normalized else "pose")
    face_track = find_track(project, args.clip, "face")
    face = face68(face_track, pupils=True) if face_track is not None and not args.normalized else None
    n = sum(1 for _ in export_openpose(args.output, args.stem or args.clip, body25(track), face))
    print(f"Wrote {n} OpenPose JSON files to {args.output}")
    return 0


def cmd_pose_import(args) -> int:
    from avstudio.analysis.openpose_io import import_openpose
    from avstudio.analysis.project_ops import clip_path, find_track
    from avstudio.core.tracks import PoseTrack

    project = _load(args.project)
    ref, _ = clip_path(project, args.clip)
    frames = int(ref.probe["video"]["frame_count"])
    pts, flags, report = import_openpose(args.folder, frames)
    track = PoseTrack({"points": pts, "flags": flags}, {"skeleton": "body25", "clip": args.clip, "layer": "pose",
                                                         "media_id": ref.id, "imported_from": str(args.folder)},
                      name=f"{args.clip} pose (OpenPose)")
    existing = find_track(project, args.clip, "pose")
    if existing is not None:
        track.id = existing.id
        project.replace_track(track)
    else:
        project.add_track(track)
    _save(project)
    print(f"Imported {report['files']} files: {report['frames_without_file']} frames had no file and "
          f"{report['frames_without_person']} no person (both MISSING).")
    return 0


def cmd_train(args) -> int:
    from avstudio.ml.train import train

    kwargs = dict(project_path=str(Path(args.project)), preset=args.preset, steps=args.steps, model_id=args.model,
                  resume=args.resume, device=args.device, seed=args.seed, compile=args.compile,
                  vgg_weights=args.vgg_weights, augment=args.augment)
    if args.gpus > 1:
        from avstudio.ml.ddp import launch
        result = run_job(launch, args.gpus, kwargs, name="Train", quiet=args.quiet)
    else:
        result = run_job(train, **kwargs, name="Train", quiet=args.quiet)
    print(f"Model {result['model_id']}: step {result['step']}, checkpoint {result['checkpoint']}")
    return 0


def cmd_evaluate(args) -> int:
    from avstudio.ml.evaluate import evaluate

    m = run_job(evaluate, str(Path(args.project)), args.model, args.device, name="Evaluate", quiet=args.quiet)
    print(f"Held-out frames {m['heldout_frames'][0]}–{m['heldout_frames'][1]} at step {m['step']}:")
    for name in ("model", "baseline_mean_frame"):
        s = m[name]
        print(f"  {name:20s} SSIM {s['ssim']:.3f}  PSNR {s['psnr']:.2f} dB  pose distance {s['pose_distance']:.3f}  "
              f"PCK@0.05 {s['pck_005']:.2f}  PCK@0.1 {s['pck_010']:.2f}")
    return 0


def cmd_render(args) -> int:
    from avstudio.ml.infer import render

    r = run_job(render, str(Path(args.project)), args.model, args.output, args.audio, args.device, args.height,
                args.crf, args.preset, args.layout, name="Render", quiet=args.quiet)
    print(f"Generated {r['generated']} frames, {r['cached']} reused from the cache" +
          (f"; wrote {r['out']}" if r["out"] else ""))
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
                   help="clip (its own soundtrack), none, source_voice, target_voice, converted, or an audio file")
    e.add_argument("--start", type=int, default=0, help="first frame")
    e.add_argument("--end", type=int, default=None, help="one past the last frame")
    e.add_argument("--height", type=int, default=None, help="output height in pixels")
    e.add_argument("--fps", type=float, default=None, help="output frame rate (default: the clip's)")
    e.add_argument("--crf", type=int, default=18, help="x264 quality: 0 lossless … 51 worst (default 18)")
    e.add_argument("--preset", default="medium", help="x264 speed preset (default medium)")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=cmd_export)

    a = sub.add_parser("analyze", help="extract body pose or face landmarks of a clip into the project")
    a.add_argument("kind", choices=["pose", "face"])
    a.add_argument("project")
    a.add_argument("--clip", default="source", choices=["source", "target"])
    a.add_argument("--seed", nargs=3, type=float, metavar=("FRAME", "X", "Y"),
                   help="follow the person at pixel X,Y of FRAME (default: the most prominent person)")
    a.add_argument("--start", type=int, default=0, help="first frame (re-analysing a range keeps your anchors)")
    a.add_argument("--end", type=int, default=None, help="one past the last frame")
    a.add_argument("--workers", type=int, default=None, help="processes (default: one per core on long clips)")
    a.add_argument("--replace", action="store_true", help="replace the existing track instead of merging")
    a.add_argument("-q", "--quiet", action="store_true")
    a.set_defaults(func=cmd_analyze)

    rt = sub.add_parser("retarget", help="normalize the source pose into the target's space (Everybody Dance Now)")
    rt.add_argument("project")
    rt.add_argument("--no-median", action="store_true", help="skip the 7-frame median filter")
    rt.add_argument("--set", action="append", metavar="SIDE.FIELD=VALUE",
                    help="override a statistic, e.g. target.far_y=412 (kept until changed)")
    rt.set_defaults(func=cmd_retarget)

    rp = sub.add_parser("render-pose", help="render stick figures (OpenPose colours) to a video or images")
    rp.add_argument("project")
    rp.add_argument("--clip", default="source", choices=["source", "target"])
    rp.add_argument("--normalized", action="store_true", help="render the source normalized into the target")
    rp.add_argument("--size", help="WxH (default: the clip's size)")
    rp.add_argument("-o", "--output", help="output .mp4")
    rp.add_argument("--frames-dir", help="also write one PNG per frame here")
    rp.add_argument("-q", "--quiet", action="store_true")
    rp.set_defaults(func=cmd_render_pose)

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

    t = sub.add_parser("train", help="train a motion-transfer model on the target clip")
    t.add_argument("project")
    t.add_argument("--preset", default="preview", choices=["preview", "standard", "hd"])
    t.add_argument("--steps", type=int, default=None, help="training steps (default: the preset's)")
    t.add_argument("--model", default=None, help="model name (default: a new time-stamped one)")
    t.add_argument("--resume", action="store_true", help="continue the model's latest checkpoint exactly")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    t.add_argument("--gpus", type=int, default=1, help="train on N GPUs with torchrun + DDP")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--compile", action="store_true", help="torch.compile the generator (CUDA)")
    t.add_argument("--vgg-weights", help="VGG19 .safetensors for the perceptual loss (hd preset)")
    t.add_argument("--augment", action="store_true",
                   help="random scale/shift of training pairs (better on unseen poses, blurrier background)")
    t.add_argument("-q", "--quiet", action="store_true")
    t.set_defaults(func=cmd_train)

    ev = sub.add_parser("evaluate", help="score a model on the held-out block (SSIM, PSNR, pose PCK)")
    ev.add_argument("project")
    ev.add_argument("--model", required=True)
    ev.add_argument("--device", default="auto")
    ev.add_argument("-q", "--quiet", action="store_true")
    ev.set_defaults(func=cmd_evaluate)

    rn = sub.add_parser("render", help="generate the target doing the source's motion; write an MP4")
    rn.add_argument("project")
    rn.add_argument("--model", required=True)
    rn.add_argument("-o", "--output", help="output .mp4 (omit to only fill the frame cache)")
    rn.add_argument("--audio", default="clip", help="clip (the source's soundtrack), none, source_voice, "
                                                     "target_voice, converted (the converted voice) or an audio file")
    rn.add_argument("--layout", default="generated", choices=["generated", "side_by_side", "pose_overlay"],
                    help="the generated frames alone, beside the source clip, or with their pose drawn over them")
    rn.add_argument("--height", type=int, default=None, help="output height (default: the target's)")
    rn.add_argument("--crf", type=int, default=18)
    rn.add_argument("--preset", default="medium", help="x264 preset")
    rn.add_argument("--device", default="auto")
    rn.add_argument("-q", "--quiet", action="store_true")
    rn.set_defaults(func=cmd_render)

    from avstudio.cli_voice import add_parser as add_voice_parser
    add_voice_parser(sub)

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

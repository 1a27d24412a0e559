"""Motion transfer: retarget, stick figures, train / evaluate / render motion-transfer models."""

from __future__ import annotations

from avstudio.cli.common import add_quiet, add_training_options, load, run_operation, train_request
from avstudio.core.errors import UserError


def cmd_retarget(args) -> int:
    from avstudio.workflows.motion import retarget

    from avstudio.retarget.body import check_override

    overrides = {}
    for item in args.set or []:
        key, eq, value = item.partition("=")
        if not eq:
            raise UserError(f"--set expects SIDE.FIELD=NUMBER, got {item!r}.")
        overrides[key] = check_override(key, value)
    project = load(args.project)
    run_operation(project, retarget, median=None if args.no_median else 7, overrides=overrides, quiet=True)
    r = project.settings["retarget"]
    for side in ("source", "target"):
        s = r[side]
        print(f"{side:6s} floor far {s['far_y']:.1f} px (height {s['far_height']:.1f}), close {s['close_y']:.1f} px "
              f"(height {s['close_height']:.1f}), centre x {s['center_x']:.1f}")
    return 0


def cmd_render_pose(args) -> int:
    from avstudio.workflows.motion import render_poses

    if not (args.output or args.frames_dir):
        raise UserError("Say where the stick figures go: -o OUT.mp4 and/or --frames-dir FOLDER.")
    size = tuple(int(v) for v in args.size.lower().split("x")) if args.size else None
    run_operation(args.project, render_poses, args.clip, normalized=args.normalized, size=size, out=args.output,
                  frames_dir=args.frames_dir, quiet=args.quiet)
    return 0


def cmd_train(args) -> int:
    from avstudio.workflows.training import train

    options = {"compile": args.compile, "vgg_weights": args.vgg_weights, "augment": args.augment}
    run_operation(args.project, train, train_request(args, "motion", options), quiet=args.quiet)
    return 0


def cmd_evaluate(args) -> int:
    from avstudio.workflows.training import evaluate

    m = run_operation(args.project, evaluate, args.model, device=args.device, quiet=args.quiet)
    if "model" in m:  # a motion model: every score of both
        for name in ("model", "baseline_mean_frame"):
            s = m[name]
            print(f"  {name:20s} SSIM {s['ssim']:.3f}  PSNR {s['psnr']:.2f} dB  pose distance "
                  f"{s['pose_distance']:.3f}  PCK@0.05 {s['pck_005']:.2f}  PCK@0.1 {s['pck_010']:.2f}")
    return 0


def cmd_render(args) -> int:
    from avstudio.workflows.motion import render_video

    run_operation(args.project, render_video, args.model, args.output, audio=args.audio, device=args.device,
                  height=args.height, crf=args.crf, preset=args.preset, layout=args.layout, quiet=args.quiet)
    return 0


def register(sub) -> None:
    from avstudio.ml.motion.presets import PRESETS

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
    add_quiet(rp)
    rp.set_defaults(func=cmd_render_pose)

    t = sub.add_parser("train", help="train a motion-transfer model on the target clip")
    add_training_options(t, list(PRESETS), "preview")
    t.add_argument("--gpus", type=int, default=1, help="train on N GPUs with torchrun + DDP")
    t.add_argument("--compile", action="store_true", help="torch.compile the generator (CUDA)")
    t.add_argument("--vgg-weights", help="VGG19 .safetensors for the perceptual loss (hd preset)")
    t.add_argument("--augment", action="store_true",
                   help="random scale/shift of training pairs (better on unseen poses, blurrier background)")
    t.set_defaults(func=cmd_train)

    ev = sub.add_parser("evaluate", help="score a model on the held-out block (SSIM, PSNR, pose PCK)")
    ev.add_argument("project")
    ev.add_argument("--model", required=True)
    ev.add_argument("--device", default="auto")
    add_quiet(ev)
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
    add_quiet(rn)
    rn.set_defaults(func=cmd_render)

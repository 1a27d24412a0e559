"""``avstudio lipsync …``: face analysis, driving the target's face, the frame schedule, and training,
scoring and rendering the face renderers — the headless twins of the editor's Lip Sync menu."""

from __future__ import annotations

from avstudio.cli.common import add_quiet, add_training_options, run_operation, train_request
from avstudio.core import roles


def cmd_analyze(args) -> int:
    from avstudio.workflows.landmarks import analyse

    seed = (int(args.seed[0]), args.seed[1], args.seed[2]) if args.seed else None
    for clip in (roles.VIDEO_ROLES if args.clip == "both" else (args.clip,)):
        run_operation(args.project, analyse, clip, "face", seed=seed, start=args.start, stop=args.end,
                      replace=args.replace, quiet=args.quiet)
    return 0


def cmd_drive(args) -> int:
    from avstudio.workflows.lipsync.drive import drive_operation

    run_operation(args.project, drive_operation, args.driver, mode=args.schedule, strength=args.strength, quiet=True)
    return 0


def cmd_schedule(args) -> int:
    from avstudio.cli.common import load
    from avstudio.core.edits import History
    from avstudio.core.store import save_project
    from avstudio.workflows.lipsync.drive import driven, set_schedule

    project = load(args.project)
    _, sched = driven(project)
    stop = sched.length if args.end is None else args.end
    edit = set_schedule(project, args.start, stop, args.mode, args.first)
    History(project).push(edit)
    save_project(project)
    print(f"{edit.text}: output frames {args.start + 1}–{stop}.")
    return 0


def cmd_train(args) -> int:
    from avstudio.workflows.training import train

    run_operation(args.project, train, train_request(args, "lipsync", {}), quiet=args.quiet)
    return 0


def _require_kind(project: str, model_id: str, kind: str, note: str = "") -> None:
    from avstudio.core import models

    cfg = models.RunFolder.of(project, model_id).latest_config()
    if cfg is not None and models.model_kind(cfg) != kind:
        raise models.wrong_kind(project, model_id, models.model_kind(cfg), kind, note)


def _model_kind(project: str, model_id: str) -> str | None:
    from avstudio.core import models

    cfg = models.RunFolder.of(project, model_id).latest_config()
    return models.model_kind(cfg) if cfg is not None else None


def cmd_evaluate(args) -> int:
    from avstudio.workflows.lipsync.models import evaluate_baselines
    from avstudio.workflows.training import evaluate

    if args.model and _model_kind(args.project, args.model) == "expert":
        run_operation(args.project, evaluate, args.model, device=args.device, against=args.against, quiet=args.quiet)
        return 0
    if args.model and _model_kind(args.project, args.model) == "mouth":
        m = run_operation(args.project, evaluate, args.model, device=args.device, against=args.against,
                          expert=args.expert, quiet=args.quiet)
        for name in ("model", "visemes", "mean_mouth", "shifted_plus", "shifted_minus"):
            s = m[name]
            sync = f"  loudness lag {s['lag']:+d} r {s['lag_r']:.2f}" if "lag" in s else ""
            if "expert" in s:
                sync += f"  expert offset {s['expert']['offset']:+d} confidence {s['expert']['confidence']:.2f}"
            print(f"  {name:13s} LD mouth {s['ld_mouth']:.4f} face {s['ld_face']:.4f}  LVD mouth {s['lvd_mouth']:.4f} "
                  f"face {s['lvd_face']:.4f}{sync}")
        e = m["real"].get("expert")
        print(f"  real footage  loudness lag {m['real']['lag']:+d} r {m['real']['lag_r']:.2f}"
              + (f"  expert offset {e['offset']:+d} confidence {e['confidence']:.2f}" if e else ""))
        return 0
    if args.model:
        _require_kind(args.project, args.model, "lipsync", "`avstudio evaluate` scores a model of any kind.")
        m = run_operation(args.project, evaluate, args.model, device=args.device, strip=args.strip, quiet=args.quiet)
    else:
        m = run_operation(args.project, evaluate_baselines, device=args.device, strip=args.strip, quiet=args.quiet)
    for name in ("model", "retrieval", "reference", "real"):
        if name in m:
            s = m[name]
            image = (f"mouth SSIM {s['mouth_ssim']:.3f}  PSNR {s['mouth_psnr']:.2f} dB  frame SSIM {s['ssim']:.4f}  "
                     f"PSNR {s['psnr']:.2f} dB  " if "ssim" in s else "")
            print(f"  {name:10s} {image}LD mouth {s['ld_mouth']:.4f} face {s['ld_face']:.4f}  LVD mouth "
                  f"{s['lvd_mouth']:.4f} face {s['lvd_face']:.4f}  no face re-detected: {s['frames_missing']}")
    return 0


def cmd_render(args) -> int:
    from avstudio.workflows.lipsync.models import render_video

    run_operation(args.project, render_video, args.model, args.output, audio=args.audio, height=args.height,
                  crf=args.crf, preset=args.preset, layout=args.layout, device=args.device, quiet=args.quiet)
    return 0


def cmd_phonemes(args) -> int:
    from avstudio.workflows.lipsync.speech import analyse_speech, read_transcript

    text = read_transcript(args.transcript) if args.transcript else args.text
    run_operation(args.project, analyse_speech, args.clip, text, start=args.start, stop=args.end, quiet=args.quiet)
    return 0


def cmd_predict(args) -> int:
    if args.model == "visemes":
        from avstudio.workflows.lipsync.visemes import drive_from_speech

        run_operation(args.project, drive_from_speech, args.audio, mode=args.schedule, quiet=True)
    else:
        from avstudio.workflows.lipsync.mouth import predict

        _require_kind(args.project, args.model, "mouth")
        run_operation(args.project, predict, args.audio, args.model, args.schedule, quiet=True)
    return 0


def cmd_train_mouth(args) -> int:
    from avstudio.workflows.training import train

    run_operation(args.project, train, train_request(args, args.kind, {}), quiet=args.quiet)
    return 0


def cmd_viseme(args) -> int:
    """List the viseme row, or make one edit of it (the driven frames it changes follow)."""
    from avstudio.cli.common import hold, load
    from avstudio.core.edits import History
    from avstudio.core.errors import UserError
    from avstudio.core.store import save_project
    from avstudio.workflows.lipsync import visemes as vis

    project = load(args.project, change=False)  # `list` only reads: it runs beside the editor
    row = vis.viseme_row(project, args.clip)
    if args.action == "list":
        for i, (a, b, n) in enumerate(row.spans()):
            mark = " *" if row.arrays["flags"][i] == 1 else ""
            print(f"{i + 1:4d}  {a:.3f}–{b:.3f} s  {n}{mark}")
        return 0
    need = {"move": 3, "relabel": 2, "split": 2, "merge": 1, "delete": 1, "frame": 2}[args.action]
    if len(args.values) != need:
        raise UserError(f"`viseme {args.action}` takes {need} value(s): see `avstudio lipsync viseme --help`.")
    v = args.values
    hold(project)
    try:
        if args.action == "frame":
            edit = vis.pick_frame(project, args.clip, v[0], int(v[1]) - 1)
        else:
            i = int(v[0]) - 1   # blocks are numbered from 1, as `list` shows them
            if args.action == "move":
                if v[1] not in ("start", "end"):
                    raise UserError("`viseme move` takes the block's number, start or end, and the new time in seconds.")
                edit = vis.edit_row(project, args.clip, "move", i, v[1], float(v[2]))
            elif args.action == "relabel":
                edit = vis.edit_row(project, args.clip, "relabel", i, v[1])
            elif args.action == "split":
                edit = vis.edit_row(project, args.clip, "split", i, float(v[1]))
            else:
                edit = vis.edit_row(project, args.clip, args.action, i)
    except ValueError as exc:
        raise UserError(f"`viseme {args.action}`: {exc}.") from None
    History(project).push(edit)
    save_project(project)
    print(f"{edit.text}.")
    return 0


def register(sub) -> None:
    from avstudio.ml.lipsync.presets import EXPERT_PRESETS, FACE_PRESETS, MOUTH_PRESETS
    from avstudio.retarget.face import MODES

    ls = sub.add_parser("lipsync", help="talking face: face analysis, driving the target's face, face renderers")
    lsub = ls.add_subparsers(dest="lipsync_command", required=True)

    a = lsub.add_parser("analyze", help="face landmarks, head pose, frontal face and mouth curves of a clip")
    a.add_argument("project")
    a.add_argument("--clip", default="both", choices=["source", "target", "both"])
    a.add_argument("--seed", nargs=3, type=float, metavar=("FRAME", "X", "Y"),
                   help="follow the face at pixel X,Y of FRAME (a clip with several faces)")
    a.add_argument("--start", type=int, default=0, help="first frame (re-analysing a range keeps your anchors)")
    a.add_argument("--end", type=int, default=None, help="one past the last frame")
    a.add_argument("--replace", action="store_true", help="new tracks instead of the analysed ones with your anchors")
    add_quiet(a)
    a.set_defaults(func=cmd_analyze)

    d = lsub.add_parser("drive", help="drive the target's face from the source's face, or from its own (by hand)")
    d.add_argument("project")
    d.add_argument("--from", dest="driver", default="source", choices=["source", "target"],
                   help="source: the source clip's face moves the target's (video mode); target: its own, to edit")
    d.add_argument("--schedule", default=None, choices=list(MODES),
                   help="which target frame lies under each output frame (default: aligned, or pingpong when the "
                        "target is shorter)")
    d.add_argument("--strength", type=float, default=1.0, help="scale the source's mouth motion (1: as measured)")
    d.set_defaults(func=cmd_drive)

    s = lsub.add_parser("schedule", help="set which target frames lie under a range of output frames")
    s.add_argument("project")
    s.add_argument("mode", choices=list(MODES))
    s.add_argument("--start", type=int, default=0, help="first output frame")
    s.add_argument("--end", type=int, default=None, help="one past the last output frame")
    s.add_argument("--first", type=int, default=0, help="the target frame the range starts on (or holds)")
    s.set_defaults(func=cmd_schedule)

    t = lsub.add_parser("train", help="train a face renderer on the target's own frames")
    add_training_options(t, list(FACE_PRESETS), "face-128")
    t.set_defaults(func=cmd_train)

    ev = lsub.add_parser("evaluate", help="score a face renderer on the target's held-out block beside the baselines")
    ev.add_argument("project")
    ev.add_argument("--model", default=None, help="a face-renderer model (default: the baselines only)")
    ev.add_argument("--device", default="auto")
    ev.add_argument("--against", default=None, choices=["source"],
                    help="a speech → mouth model or a lip-sync expert: score it on the source clip (the same "
                         "person, another recording) instead of the target's held-out block")
    ev.add_argument("--expert", default=None, help="a speech → mouth model: also read its sync with this lip-sync "
                                                   "expert (`lipsync train-expert`)")
    ev.add_argument("--strip", default=None, metavar="IMAGE",
                    help="also write a picture of held-out faces: as filmed, and by each renderer")
    add_quiet(ev)
    ev.set_defaults(func=cmd_evaluate)

    _register_speech(lsub, MODES)
    tm = lsub.add_parser("train-mouth", help="train a speech → mouth model on the target's own speech and face")
    add_training_options(tm, list(MOUTH_PRESETS), "mouth-cpu")
    tm.set_defaults(func=cmd_train_mouth, kind="mouth")
    te = lsub.add_parser("train-expert", help="train the target's lip-sync expert (sound vs mouth, on its own speech)")
    add_training_options(te, list(EXPERT_PRESETS), "expert-cpu")
    te.set_defaults(func=cmd_train_mouth, kind="expert")

    r = lsub.add_parser("render", help="render the driven face into the target's frames; write an MP4")
    r.add_argument("project")
    r.add_argument("--model", default="retrieval", help="retrieval (instant, no training) or a face-renderer model")
    r.add_argument("-o", "--output", help="output .mp4 (omit to only fill the frame cache)")
    r.add_argument("--audio", default="clip", help="clip (the driver's soundtrack), none, source_voice, "
                                                    "target_voice, converted (the converted voice) or an audio file")
    r.add_argument("--layout", default="generated", choices=["generated", "side_by_side"],
                   help="the rendered frames alone, or beside the driver's")
    r.add_argument("--height", type=int, default=None, help="output height (default: the target's)")
    r.add_argument("--crf", type=int, default=18)
    r.add_argument("--preset", default="medium", help="x264 preset")
    r.add_argument("--device", default="auto")
    add_quiet(r)
    r.set_defaults(func=cmd_render)


def _register_speech(lsub, modes) -> None:
    """``phonemes``, ``predict`` and ``viseme``: lip sync driven by speech."""
    from avstudio.workflows.lipsync.speech import SPEECH_CLIPS

    ph = lsub.add_parser("phonemes", help="words, phones and visemes of a clip's speech (aligned to a transcript, "
                                          "or recognized), with loudness, log-mel and voice activity")
    ph.add_argument("project")
    ph.add_argument("--clip", default="source_voice", choices=list(SPEECH_CLIPS),
                    help="whose speech: a voice recording, the converted voice, or a video clip's sound")
    g = ph.add_mutually_exclusive_group()
    g.add_argument("--transcript", metavar="FILE", help="a plain-text file of what is said (English)")
    g.add_argument("--text", help="what is said, typed (English)")
    ph.add_argument("--start", type=float, default=0.0, help="re-align from this second on (blocks you edited stay)")
    ph.add_argument("--end", type=float, default=None, help="re-align up to this second")
    add_quiet(ph)
    ph.set_defaults(func=cmd_phonemes)

    pr = lsub.add_parser("predict", help="drive the target's face from a clip's speech (the viseme model)")
    pr.add_argument("project")
    pr.add_argument("--audio", default="source_voice", choices=list(SPEECH_CLIPS),
                    help="the speech that drives the face (analyse it with `lipsync phonemes` first)")
    pr.add_argument("--model", default="visemes",
                    help="visemes: each viseme's mouth from the target's own frames, no training; or the name of a "
                         "speech → mouth model (`lipsync train-mouth`)")
    pr.add_argument("--schedule", default=None, choices=list(modes),
                    help="which target frame lies under each output frame (default: aligned, or pingpong when "
                         "the sound is longer than the target)")
    pr.set_defaults(func=cmd_predict)

    v = lsub.add_parser("viseme", help="list or edit a clip's viseme row (the driven face follows)",
                        description="Actions: list | move I start|end SECONDS | relabel I LABEL | split I SECONDS | "
                                    "merge I (with the next block) | delete I (its time becomes silence) | frame VISEME "
                                    "TARGET_FRAME (take that viseme's mouth from another target frame). I is the "
                                    "block's number in `list` (from 1).")
    v.add_argument("project")
    v.add_argument("action", choices=["list", "move", "relabel", "split", "merge", "delete", "frame"])
    v.add_argument("values", nargs="*")
    v.add_argument("--clip", default="source_voice", choices=list(SPEECH_CLIPS))
    v.set_defaults(func=cmd_viseme)

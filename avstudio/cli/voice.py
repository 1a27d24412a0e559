"""``avstudio voice …``: WORLD analysis, resynthesis, CycleGAN-VC2 training, conversion, evaluation
and F0 CSV interop — the headless twins of the editor's Voice menu."""

from __future__ import annotations

from avstudio.cli.common import add_quiet, add_training_options, run_operation, train_request
from avstudio.core import roles
from avstudio.core.errors import UserError

ANALYSABLE = list(roles.VOICE_CLIPS)
PITCHED = list(roles.PITCH_CLIPS)


def cmd_analyze(args) -> int:
    from avstudio.workflows.voice import analyse

    run_operation(args.project, analyse, args.clip, args.method, args.rate, workers=args.workers, quiet=args.quiet)
    return 0


def cmd_resynth(args) -> int:
    from avstudio.workflows.voice import resynthesize

    run_operation(args.project, resynthesize, args.clip, args.output, quiet=args.quiet)
    return 0


def cmd_train(args) -> int:
    from avstudio.workflows.training import train

    options = {"source": args.source, "target": args.target}
    run_operation(args.project, train, train_request(args, "voice", options), quiet=args.quiet)
    return 0


def cmd_convert(args) -> int:
    from avstudio.media.audio import check_audio_output, load_audio, write_audio
    from avstudio.workflows.voice import convert, convert_file

    if args.input:
        if not args.output:
            raise UserError("Say where to write the converted audio (-o OUT.wav).")
        run_operation(args.project, convert_file, args.model, args.input, args.output, args.device, args.reverse,
                      quiet=args.quiet)
        return 0
    if args.output:
        check_audio_output(args.output)  # before the conversion, not after it
    wav = run_operation(args.project, convert, args.model, args.clip, args.device, args.reverse, quiet=args.quiet)[1]
    if args.output:
        write_audio(args.output, load_audio(wav))  # in the format the extension names
        print(f"Wrote it to {args.output}")
    return 0


def _print_voice_metrics(m: dict) -> None:
    for name in ("converted", "baseline_unconverted"):
        s = m[name]
        line = f"  {name:22s} log-F0 mean {s['log_f0_mean']:.3f} (target {s['target_log_f0_mean']:.3f}, " \
               f"{s['mean_offset_semitones']:+.2f} st)  std {s['log_f0_std']:.3f} (target {s['target_log_f0_std']:.3f})" \
            if s["log_f0_mean"] is not None else f"  {name:22s} no voiced frames"
        if "mcd_db" in s:
            line += f"  MCD {s['mcd_db']:.2f} dB"
            if s.get("f0_rmse_hz") is not None:
                corr = s["f0_corr"] if s["f0_corr"] is not None else float("nan")
                line += f"  F0 RMSE {s['f0_rmse_hz']:.1f} Hz  r {corr:.2f}"
        print(line)
    sim = m.get("speaker_similarity")
    if sim:
        print(f"  speaker similarity to the target (GE2E cosine): converted {sim['converted_vs_target']:.3f}, "
              f"unconverted {sim['unconverted_vs_target']:.3f}")


def cmd_evaluate(args) -> int:
    from avstudio.workflows.training import evaluate

    m = run_operation(args.project, evaluate, args.model, device=args.device, source=args.source,
                      reference=args.reference, quiet=args.quiet)
    _print_voice_metrics(m)
    return 0


def cmd_f0_export(args) -> int:
    from avstudio.workflows.voice import export_f0

    run_operation(args.project, export_f0, args.clip, args.csv, quiet=True)
    return 0


def cmd_f0_import(args) -> int:
    from avstudio.workflows.voice import import_f0

    run_operation(args.project, import_f0, args.clip, args.csv, quiet=True)
    return 0


def _register_f0(vs) -> None:
    f = vs.add_parser("f0", help="F0 curve as CSV (time_s, f0_hz, voiced)")
    fs = f.add_subparsers(dest="f0_command", required=True)
    for name, func in (("export", cmd_f0_export), ("import", cmd_f0_import)):
        c = fs.add_parser(name)
        c.add_argument("project")
        c.add_argument("csv")
        c.add_argument("--clip", default="source_voice", choices=PITCHED)
        c.set_defaults(func=func)


def register(sub) -> None:
    from avstudio.ml.voice.presets import VC_PRESETS

    v = sub.add_parser("voice", help="voice: WORLD analysis, F0 CSV, CycleGAN-VC2 training and conversion")
    vs = v.add_subparsers(dest="voice_command", required=True)

    a = vs.add_parser("analyze", help="WORLD analysis (F0, MCEPs, aperiodicity) of a voice clip into the project")
    a.add_argument("project")
    a.add_argument("--clip", default="source_voice", choices=ANALYSABLE)
    a.add_argument("--method", default="harvest", choices=["harvest", "dio"], help="harvest (quality) or dio (fast)")
    a.add_argument("--rate", type=int, default=16000, choices=[16000, 22050, 24000], help="working sample rate")
    a.add_argument("--workers", type=int, default=None, help="processes for long audio (default: one per core)")
    add_quiet(a)
    a.set_defaults(func=cmd_analyze)

    r = vs.add_parser("resynth", help="WORLD resynthesis of the clip's (edited) F0 to a WAV")
    r.add_argument("project")
    r.add_argument("--clip", default="source_voice", choices=PITCHED)
    r.add_argument("-o", "--output", default=None, help="output .wav (default: the project's cache)")
    add_quiet(r)
    r.set_defaults(func=cmd_resynth)

    t = vs.add_parser("train", help="train CycleGAN-VC2 from the source speaker's voice to the target's")
    add_training_options(t, list(VC_PRESETS), "vc-preview")
    t.add_argument("--source", nargs="+", help="source speaker recordings (files or folders; default: source voice)")
    t.add_argument("--target", nargs="+", help="target speaker recordings (default: the project's target voice)")
    t.set_defaults(func=cmd_train)

    c = vs.add_parser("convert", help="convert the source voice (or --input FILE) with a voice model")
    c.add_argument("project")
    c.add_argument("--model", required=True)
    c.add_argument("--clip", default="source_voice", choices=ANALYSABLE)
    c.add_argument("--input", help="convert this recording to -o instead of the project's clip")
    c.add_argument("-o", "--output", help="write the converted voice here: .wav, .flac, .ogg (Vorbis) or .mp3")
    c.add_argument("--reverse", action="store_true", help="target → source")
    c.add_argument("--device", default="auto")
    add_quiet(c)
    c.set_defaults(func=cmd_convert)

    e = vs.add_parser("evaluate", help="log-F0 statistics vs the target speaker; MCD and F0 RMSE vs a reference")
    e.add_argument("project")
    e.add_argument("--model", required=True)
    e.add_argument("--source", help="recording of the source speaker (default: the first training file)")
    e.add_argument("--reference", help="the target speaker saying the same (parallel): enables MCD and F0 RMSE")
    e.add_argument("--device", default="auto")
    add_quiet(e)
    e.set_defaults(func=cmd_evaluate)
    _register_f0(vs)

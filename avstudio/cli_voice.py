"""``avstudio voice …``: WORLD analysis, resynthesis, CycleGAN-VC2 training, conversion, evaluation
and F0 CSV interop — the headless twins of the editor's Voice menu."""

from __future__ import annotations

from pathlib import Path

from avstudio.core.errors import ProjectError, UserError

CLIPS = ["source_voice", "target_voice", "source", "target", "converted"]


def _load(path):
    from avstudio.cli import _load as load
    return load(path)


def _save(project):
    from avstudio.cli import _save as save
    save(project)


def _run(job, *args, name, quiet=False, **kwargs):
    from avstudio.cli import run_job
    return run_job(job, *args, name=name, quiet=quiet, **kwargs)


def cmd_analyze(args) -> int:
    from avstudio.analysis.voice_ops import analyze_voice, voice_edit

    project = _load(args.project)
    result = _run(analyze_voice, project, args.clip, args.method, args.rate, workers=args.workers,
                  name="Voice analysis", quiet=args.quiet)
    voice_edit(project, result).apply(project)
    _save(project)
    for w in result.warnings:
        print(f"warning: {w}")
    voiced = (result.f0 > 0)
    med = float(sorted(result.f0[voiced])[voiced.sum() // 2]) if voiced.any() else 0.0
    print(f"{args.clip}: {len(result.f0)} frames ({len(result.f0) * 0.005:.2f} s), {voiced.mean():.0%} voiced, "
          f"median F0 {med:.0f} Hz ({result.method}, {result.sample_rate} Hz)")
    return 0


def cmd_resynth(args) -> int:
    from avstudio.analysis.voice_ops import resynthesize

    project = _load(args.project)
    r = _run(resynthesize, project, args.clip, args.output, name="Resynthesis", quiet=args.quiet)
    print(f"Wrote {r['path']}" + ("" if r["full_spectra"] else " (spectra decoded from the MCEP track: the "
                                                               "analysis cache was missing)"))
    return 0


def _speaker_sources(project, given, role):
    if given:
        return [str(g) for g in given]
    ref = project.media_by_role(role)
    if ref is None:
        raise ProjectError(f"Give the {role.split('_')[0]} speaker's recordings (--{role.split('_')[0]} FILE_OR_FOLDER)"
                           f" or add a {role.replace('_', ' ')} to the project.")
    return [str(project.media_path(ref.id))]


def cmd_train(args) -> int:
    from avstudio.ml.vc.train import train_voice

    project = _load(args.project)
    src = [] if args.resume else _speaker_sources(project, args.source, "source_voice")
    tgt = [] if args.resume else _speaker_sources(project, args.target, "target_voice")
    r = _run(train_voice, str(Path(args.project)), src, tgt, args.preset, args.steps, args.model, args.resume,
             args.device, args.seed, name="Train voice", quiet=args.quiet)
    for w in r.get("warnings", []):
        print(f"warning: {w}")
    print(f"Voice model {r['model_id']}: step {r['step']}, checkpoint {r['checkpoint']}")
    return 0


def cmd_convert(args) -> int:
    if args.input:
        from avstudio.ml.vc.convert import convert_file

        if not args.output:
            raise UserError("Say where to write the converted audio (-o OUT.wav).")
        r = _run(convert_file, str(Path(args.project)), args.model, args.input, args.output, args.device,
                 args.reverse, name="Convert voice", quiet=args.quiet)
        print(f"Wrote {r['out']} ({r['seconds']:.1f} s)")
        return 0
    from avstudio.ml.vc.project_ops import conversion_edit, convert_project

    project = _load(args.project)
    result, wav = _run(convert_project, str(Path(args.project)), args.model, args.clip, args.device, args.reverse,
                       name="Convert voice", quiet=args.quiet)
    conversion_edit(project, result, wav).apply(project)
    _save(project)
    if args.output:
        import shutil
        shutil.copyfile(wav, args.output)
    print(f"Converted the {args.clip.replace('_', ' ')}: {wav}" + (f" (copied to {args.output})" if args.output else ""))
    return 0


def cmd_evaluate(args) -> int:
    from avstudio.ml.vc.evaluate import evaluate_voice

    m = _run(evaluate_voice, str(Path(args.project)), args.model, args.source, args.reference, args.device,
             name="Evaluate voice", quiet=args.quiet)
    for name in ("converted", "baseline_unconverted"):
        s = m[name]
        line = f"  {name:22s} log-F0 mean {s['log_f0_mean']:.3f} (target {s['target_log_f0_mean']:.3f}, " \
               f"{s['mean_offset_semitones']:+.2f} st)  std {s['log_f0_std']:.3f} (target {s['target_log_f0_std']:.3f})" \
            if s["log_f0_mean"] is not None else f"  {name:22s} no voiced frames"
        if "mcd_db" in s:
            line += f"  MCD {s['mcd_db']:.2f} dB"
            if s.get("f0_rmse_hz") is not None:
                line += f"  F0 RMSE {s['f0_rmse_hz']:.1f} Hz  r {s['f0_corr'] if s['f0_corr'] is not None else float('nan'):.2f}"
        print(line)
    sim = m.get("speaker_similarity")
    if sim:
        print(f"  speaker similarity to the target (GE2E cosine): converted {sim['converted_vs_target']:.3f}, "
              f"unconverted {sim['unconverted_vs_target']:.3f}")
    return 0


def _f0_track(project, clip):
    from avstudio.analysis.voice_ops import require_f0
    return require_f0(project, clip)


def cmd_f0_export(args) -> int:
    from avstudio.analysis.f0_io import export_f0_csv

    project = _load(args.project)
    p = export_f0_csv(_f0_track(project, args.clip), args.csv)
    print(f"Wrote {p}")
    return 0


def cmd_f0_import(args) -> int:
    from avstudio.analysis.f0_io import f0_from_csv
    from avstudio.analysis.f0_ops import set_frames

    project = _load(args.project)
    track = _f0_track(project, args.clip)
    frames, f0, voiced = f0_from_csv(track, args.csv)
    edit = set_frames(project, track.id, frames, f0, voiced)
    edit.apply(project)
    _save(project)
    print(f"Set {len(frames)} of {track.length} frames from {args.csv}")
    return 0


def add_parser(sub) -> None:
    v = sub.add_parser("voice", help="voice: WORLD analysis, F0 CSV, CycleGAN-VC2 training and conversion")
    vs = v.add_subparsers(dest="voice_command", required=True)

    a = vs.add_parser("analyze", help="WORLD analysis (F0, MCEPs, aperiodicity) of a voice clip into the project")
    a.add_argument("project")
    a.add_argument("--clip", default="source_voice", choices=CLIPS[:4])
    a.add_argument("--method", default="harvest", choices=["harvest", "dio"], help="harvest (quality) or dio (fast)")
    a.add_argument("--rate", type=int, default=16000, choices=[16000, 22050, 24000], help="working sample rate")
    a.add_argument("--workers", type=int, default=None, help="processes for long audio (default: one per core)")
    a.add_argument("-q", "--quiet", action="store_true")
    a.set_defaults(func=cmd_analyze)

    r = vs.add_parser("resynth", help="WORLD resynthesis of the clip's (edited) F0 to a WAV")
    r.add_argument("project")
    r.add_argument("--clip", default="source_voice", choices=CLIPS)
    r.add_argument("-o", "--output", default=None, help="output .wav (default: the project's cache)")
    r.add_argument("-q", "--quiet", action="store_true")
    r.set_defaults(func=cmd_resynth)

    t = vs.add_parser("train", help="train CycleGAN-VC2 from the source speaker's voice to the target's")
    t.add_argument("project")
    t.add_argument("--source", nargs="+", help="source speaker recordings (files or folders; default: source voice)")
    t.add_argument("--target", nargs="+", help="target speaker recordings (default: the project's target voice)")
    t.add_argument("--preset", default="vc-preview", choices=["vc-preview", "vc"])
    t.add_argument("--steps", type=int, default=None)
    t.add_argument("--model", default=None)
    t.add_argument("--resume", action="store_true")
    t.add_argument("--device", default="auto")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("-q", "--quiet", action="store_true")
    t.set_defaults(func=cmd_train)

    c = vs.add_parser("convert", help="convert the source voice (or --input FILE) with a voice model")
    c.add_argument("project")
    c.add_argument("--model", required=True)
    c.add_argument("--clip", default="source_voice", choices=CLIPS[:4])
    c.add_argument("--input", help="convert this recording to -o instead of the project's clip")
    c.add_argument("-o", "--output")
    c.add_argument("--reverse", action="store_true", help="target → source")
    c.add_argument("--device", default="auto")
    c.add_argument("-q", "--quiet", action="store_true")
    c.set_defaults(func=cmd_convert)

    e = vs.add_parser("evaluate", help="log-F0 statistics vs the target speaker; MCD and F0 RMSE vs a reference")
    e.add_argument("project")
    e.add_argument("--model", required=True)
    e.add_argument("--source", help="recording of the source speaker (default: the first training file)")
    e.add_argument("--reference", help="the target speaker saying the same (parallel): enables MCD and F0 RMSE")
    e.add_argument("--device", default="auto")
    e.add_argument("-q", "--quiet", action="store_true")
    e.set_defaults(func=cmd_evaluate)

    f = vs.add_parser("f0", help="F0 curve as CSV (time_s, f0_hz, voiced)")
    fs = f.add_subparsers(dest="f0_command", required=True)
    fe = fs.add_parser("export")
    fe.add_argument("project")
    fe.add_argument("csv")
    fe.add_argument("--clip", default="source_voice", choices=CLIPS)
    fe.set_defaults(func=cmd_f0_export)
    fi = fs.add_parser("import")
    fi.add_argument("project")
    fi.add_argument("csv")
    fi.add_argument("--clip", default="source_voice", choices=CLIPS)
    fi.set_defaults(func=cmd_f0_import)

"""The prepared GPU check (issue 15): every model preset's CUDA path measured in one command, beside a
plain fp32 eager loop of the same networks and losses, in the same run.

    # on the development machine (the whole stack), once: the demo's data, ≤ 20 MiB
    .venv/bin/python benchmarks/gpu.py --prepare
    # on a CUDA machine (a bare one: only torch, numpy and safetensors are needed)
    PYTHONPATH=. python benchmarks/gpu.py --device cuda --data benchmarks/out/gpu_data.npz --out-dir OUT
    # the CPU dry run CI does (tiny networks, a few steps), also with nothing but torch importable
    .venv/bin/python benchmarks/gpu.py --device cpu --tiny --data benchmarks/out/gpu_data.npz

For each preset — motion preview / standard / hd, voice vc-preview / vc, lip sync face-128 /
face-256 — it measures training steps/s and peak GPU memory (a) plain: fp32, eager, contiguous tensors, no cuDNN autotuning; (b) AV Studio's
trainer path: bf16 autocast, channels_last, cuDNN autotuning; (c) the same with torch.compile for the
standard and hd generators, when the budget leaves time. Batch 1 is what AV Studio trains with; batch
8 shows what a larger batch would give. Then generation throughput (motion and face frames/s; voice
real-time factor), and in the time left a short quality run of the standard preset on the demo's frames, scored
on its held-out frames (SSIM and PSNR beside the mean-frame baseline). Results: a JSON and a Markdown
table in --out-dir (benchmarks/out by default), progress on stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT / "benchmarks" / "out" / "gpu_data.npz"
MOTION, VOICE, FACE = ("preview", "standard", "hd"), ("vc-preview", "vc"), ("face-128", "face-256")
TINY = {"ngf": 4, "ndf": 4, "n_blocks": 1, "width": 0.03}  # --tiny: the presets' code paths, small weights


def say(msg: str) -> None:
    print(f"[gpu.py {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---- preparing the data (the development machine, the whole stack) ------------------------------

def prepare(out: Path, rows: dict) -> Path:
    """The demo's target analysed, its training data at each motion size, both demo voices' normalized
    MCEPs; compressed into one .npz (no pickle) that travels with the working tree."""
    import shutil
    import tempfile

    from avstudio.core.progress import run_to_end
    from avstudio.core.store import load_project, save_project
    from avstudio.gui.app import DEMO
    from avstudio.ml.motion.data import build_dataset
    from avstudio.ml.voice.data import load_speaker
    from avstudio.workflows.landmarks import analyse
    from avstudio.workflows.operation import run_now

    tmp = Path(tempfile.mkdtemp())
    try:
        folder = shutil.copytree(DEMO, tmp / "Demo.avproj")
        p = load_project(folder)
        say("analysing the demo's target pose")
        run_now(p, analyse(p, "target", "pose"))
        save_project(p)
        arrays = {}
        for size, name, follow in ((128, "preview", True), (256, "standard", False), (512, "hd", False)):
            say(f"training data at {size} px")
            d = run_to_end(build_dataset(p, size, follow=follow))
            # Consecutive training frames (a walk cycle and more), each with its previous frame (temporal
            # presets): one frame more than the rows, so the file stays small.
            pairs = d.pair_rows(d.train_rows)
            train = pairs[:rows[name]]
            keep = np.unique(np.concatenate([train, train - 1]))
            arrays[f"{name}/poses"] = np.asarray(d.poses[keep])
            arrays[f"{name}/frames"] = np.asarray(d.frames[keep])
            arrays[f"{name}/rows"] = np.searchsorted(keep, train)  # training rows, into the kept arrays
            if name == "preview":
                from avstudio.ml.motion.stage import crop
                plate = d.plate()
                arrays["preview/plates"] = np.stack([crop(plate, d.windows[k], size) for k in keep])
            if name == "standard":  # the quality run scores these, never trained on
                arrays["standard/held_poses"] = np.asarray(d.poses[d.held_rows])
                arrays["standard/held_frames"] = np.asarray(d.frames[d.held_rows])
        for who in ("source", "target"):
            say(f"WORLD features of the {who} voice")
            sp = run_to_end(load_speaker(who, [str(folder / "media" / f"{who}_voice-demo-echotest.flac")], None))
            arrays[f"voice/{who}"] = np.concatenate(sp.normalized(), axis=1).astype(np.float32)
        out.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(out, **arrays)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    say(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB)")
    return out


# ---- measuring ------------------------------------------------------------------------------------

def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device, seconds: float, warmup: int = 1) -> tuple[float, float, int]:
    """(calls per second, peak memory MiB, calls) of ``fn()`` after ``warmup`` calls, for about
    ``seconds`` (at least one call)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    n, t0 = 0, time.perf_counter()
    while n == 0 or time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    _sync(device)
    rate = n / (time.perf_counter() - t0)
    mem = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else float("nan")
    return rate, mem, n


def _tensor(a: np.ndarray, device, channels_last: bool) -> torch.Tensor:
    from avstudio.ml.motion.data import to_tensor

    t = to_tensor(a).to(device)
    return t.contiguous(memory_format=torch.channels_last) if channels_last and device.type == "cuda" else t


def motion_config(preset: str, tiny: bool) -> dict:
    from avstudio.ml.motion.presets import preset_config

    cfg = preset_config(preset)
    cfg.update({k: v for k, v in TINY.items() if tiny and k in cfg})
    cfg["stage"] = None  # the window is the whole stage here: the plate is each sample's own crop
    return cfg


def motion_trainer(preset: str, data, device, tiny: bool, path: str):
    from avstudio.ml.motion.train import Trainer

    torch.backends.cudnn.benchmark = path != "plain"
    trainer = Trainer(motion_config(preset, tiny), device, speedups=path != "plain", compile=path == "compile")
    if trainer.cfg.get("plate"):
        trainer.G.set_plate(_tensor(data[f"{preset}/plates"][:1], device, False))
    return trainer


def motion_batch(preset: str, data, device, batch: int, fast: bool, step: int):
    rows = data[f"{preset}/rows"]
    r = rows[(np.arange(batch) + step * batch) % len(rows)]
    poses, frames = data[f"{preset}/poses"], data[f"{preset}/frames"]
    t = [_tensor(a, device, fast) for a in (poses[r], frames[r], poses[np.maximum(r - 1, 0)], frames[np.maximum(r - 1, 0)])]
    plate = _tensor(data["preview/plates"][r], device, fast) if preset == "preview" else None
    return (*t, plate)


def motion_train_speed(preset, data, device, tiny, path, batch, seconds) -> dict:
    trainer = motion_trainer(preset, data, device, tiny, path)
    batches = [motion_batch(preset, data, device, batch, path != "plain", k) for k in range(4)]
    k = [0]

    def step():
        pose, real, pose_p, real_p, plate = batches[k[0] % 4]
        temporal = trainer.cfg["temporal"]
        trainer.step(k[0], pose, real, pose_p if temporal else None, real_p if temporal else None, plate)
        k[0] += 1
    t0 = time.perf_counter()
    step()  # the first step: cuDNN autotuning, compilation
    first = time.perf_counter() - t0
    rate, mem, n = _timed(step, device, seconds)
    return {"steps_s": rate, "samples_s": rate * batch, "peak_mib": mem, "first_step_s": first, "steps": n}


def motion_render_speed(preset, data, device, tiny, path, seconds) -> dict:
    from avstudio.ml.motion.evaluate import generate_rows

    trainer = motion_trainer(preset, data, device, tiny, path)
    trainer.G.eval()
    poses = np.asarray(data[f"{preset}/poses"][:8])
    rate, mem, _ = _timed(lambda: generate_rows(trainer, poses, device, batch=8), device, seconds)
    return {"frames_s": rate * len(poses), "peak_mib": mem}


def voice_trainer(preset: str, device, tiny: bool, path: str):
    from avstudio.ml.voice.presets import vc_config
    from avstudio.ml.voice.train import VCTrainer

    cfg = vc_config(preset)
    if tiny:
        cfg["width"] = TINY["width"]
    return VCTrainer(cfg, device, speedups=path != "plain")


def voice_train_speed(preset, data, device, tiny, path, batch, seconds) -> dict:
    trainer = voice_trainer(preset, device, tiny, path)
    seg = trainer.cfg["segment"]
    rng = np.random.default_rng(0)

    def segments(a):
        starts = rng.integers(0, a.shape[1] - seg, batch)
        return torch.from_numpy(np.stack([a[:, s:s + seg] for s in starts]))[:, None].to(device)
    xs = [(segments(data["voice/source"]), segments(data["voice/target"])) for _ in range(4)]
    k = [0]

    def step():
        trainer.step(k[0], *xs[k[0] % 4])
        k[0] += 1
    rate, mem, n = _timed(step, device, seconds)
    return {"steps_s": rate, "samples_s": rate * batch, "peak_mib": mem, "steps": n}


def voice_convert_speed(preset, data, device, tiny, path, seconds) -> dict:
    """Real-time factor of the generator on 10 s of speech (2,000 frames of 5 ms)."""
    from avstudio.ml.device import autocast

    g = voice_trainer(preset, device, tiny, path).nets["G_AB"].eval()
    x = torch.from_numpy(np.ascontiguousarray(data["voice/source"][:, :2000]))[None, None].to(device)

    def convert():
        with torch.no_grad(), autocast(device, path != "plain"):
            g(x)
    rate, mem, _ = _timed(convert, device, seconds)
    return {"rtf": (1 / rate) / 10.0, "peak_mib": mem}


def face_trainer(preset: str, device, tiny: bool, path: str):
    from avstudio.ml.lipsync.presets import face_config
    from avstudio.ml.lipsync.train import FaceTrainer

    cfg = face_config(preset)
    if tiny:
        cfg.update(size=64, ngf=8, depth=6, ndf=8)
    return FaceTrainer(cfg, device, speedups=path != "plain")


def _face_inputs(cfg: dict, device, n: int, seed: int):
    """(generator input, real crop, lips box) for ``n`` samples: the networks' cost does not depend on
    the pictures, so no face crops travel to the GPU machine."""
    g = torch.Generator().manual_seed(seed)
    s = cfg["size"]
    return (torch.rand(n, 7, s, s, generator=g).mul(2).sub(1).to(device),
            torch.rand(n, 3, s, s, generator=g).mul(2).sub(1).to(device), torch.zeros(n, 1, s, s, device=device))


def face_train_speed(preset, data, device, tiny, path, batch, seconds) -> dict:
    trainer = face_trainer(preset, device, tiny, path)
    n = batch * (2 if trainer.cfg["temporal"] else 1)  # a temporal model sees each sample's previous frame
    batches = [_face_inputs(trainer.cfg, device, n, k) for k in range(4)]
    k = [0]

    def step():
        trainer.step(k[0], *batches[k[0] % 4])
        k[0] += 1
    rate, mem, steps = _timed(step, device, seconds)
    return {"steps_s": rate, "samples_s": rate * batch, "peak_mib": mem, "steps": steps}


def face_render_speed(preset, data, device, tiny, path, seconds) -> dict:
    from avstudio.ml.device import autocast

    trainer = face_trainer(preset, device, tiny, path)
    trainer.G.eval()
    x = _face_inputs(trainer.cfg, device, 8, 0)[0]

    def paint():
        with torch.no_grad(), autocast(device, path != "plain"):
            trainer.generate(x)
    rate, mem, _ = _timed(paint, device, seconds)
    return {"frames_s": rate * 8, "peak_mib": mem}


def quality_run(data, device, tiny: bool, seconds: float) -> dict:
    """The standard preset trained on the demo's frames for ``seconds`` (AV Studio's path), then its
    held-out frames generated from their poses: SSIM and PSNR beside the mean training frame."""
    from avstudio.analysis.metrics.image import psnr, ssim
    from avstudio.ml.motion.evaluate import generate_rows

    trainer = motion_trainer("standard", data, device, tiny, "ours")
    torch.manual_seed(0)
    steps, t0 = 0, time.perf_counter()
    while steps < 2 or time.perf_counter() - t0 < seconds:
        torch.manual_seed(steps)
        trainer.step(steps, *motion_batch("standard", data, device, 1, True, steps)[:4])
        steps += 1
    trained_s = time.perf_counter() - t0
    trainer.G.eval()
    held, real = np.asarray(data["standard/held_poses"]), np.asarray(data["standard/held_frames"])
    fake = generate_rows(trainer, held, device)
    frames = np.asarray(data["standard/frames"])[data["standard/rows"]]
    mean = frames.mean(0).round().astype(np.uint8)
    scores = {name: {"ssim": float(np.mean([ssim(f, r) for f, r in zip(imgs, real)])),
                     "psnr": float(np.mean([psnr(f, r) for f, r in zip(imgs, real)]))}
              for name, imgs in (("model", fake), ("mean_frame", [mean] * len(real)))}
    return {"steps": steps, "seconds": trained_s, "steps_s": steps / trained_s, "heldout_frames": len(real), **scores}


# ---- the plan: what is measured, within the budget ------------------------------------------------

def plan(tiny: bool) -> list[tuple]:
    """(section, preset, path, batch) in order; --tiny keeps every code path, batch 1 only."""
    rows = []
    for preset in MOTION:
        for batch in (1,) if tiny else (1, 8):
            rows += [("motion-train", preset, path, batch) for path in ("plain", "ours")]
    rows += [("motion-render", preset, path, 8) for preset in MOTION for path in ("plain", "ours")]
    for preset in VOICE:
        for batch in (1,) if tiny else (1, 8):
            rows += [("voice-train", preset, path, batch) for path in ("plain", "ours")]
    rows += [("voice-convert", preset, path, 1) for preset in VOICE for path in ("plain", "ours")]
    for preset in FACE:
        for batch in (1,) if tiny else (1, 8):
            rows += [("face-train", preset, path, batch) for path in ("plain", "ours")]
    rows += [("face-render", preset, path, 8) for preset in FACE for path in ("plain", "ours")]
    # Last: slow to compile (and --tiny proves the path on one preset).
    rows += [("motion-train", preset, "compile", 1) for preset in (("standard",) if tiny else ("standard", "hd"))]
    return rows


def _estimate(results: list[dict], section: str, preset: str, path: str, batch: int) -> float:
    """Seconds a measurement will take, from the same preset measured before (0: nothing to go by)."""
    same = [r for r in results if r["section"] == section and r["preset"] == preset and "error" not in r]
    if not same:
        return 0.0
    r = same[-1]
    return r["wall_s"] * batch / r["batch"] * (3.0 if path == "compile" else 1.0)


MEASURE = {"motion-train": lambda s, p, d, dev, t, path, b, sec: motion_train_speed(p, d, dev, t, path, b, sec),
           "motion-render": lambda s, p, d, dev, t, path, b, sec: motion_render_speed(p, d, dev, t, path, sec),
           "voice-train": lambda s, p, d, dev, t, path, b, sec: voice_train_speed(p, d, dev, t, path, b, sec),
           "voice-convert": lambda s, p, d, dev, t, path, b, sec: voice_convert_speed(p, d, dev, t, path, sec),
           "face-train": lambda s, p, d, dev, t, path, b, sec: face_train_speed(p, d, dev, t, path, b, sec),
           "face-render": lambda s, p, d, dev, t, path, b, sec: face_render_speed(p, d, dev, t, path, sec)}


def _cell(r: dict | None, key: str, fmt: str) -> str:
    if not r or key not in r:
        return "—"
    v = r[key]
    return "—" if math.isnan(v) else format(v, fmt)  # NaN: no GPU memory on the CPU


def table(results: list[dict]) -> str:
    """Markdown: each measurement's plain row beside AV Studio's, with their ratio."""
    by = {(r["section"], r["preset"], r["path"], r["batch"]): r for r in results}
    header = ("| measurement | preset | batch | plain fp32 eager (baseline) | AV Studio | AV Studio + compile "
              "| ratio (AV Studio / plain) | peak memory plain / ours (MiB) |")
    out = [header, "|" + "---|" * 8]
    units = {"motion-train": ("steps_s", "steps/s"), "voice-train": ("steps_s", "steps/s"),
             "motion-render": ("frames_s", "frames/s"), "voice-convert": ("rtf", "RTF"),
             "face-train": ("steps_s", "steps/s"), "face-render": ("frames_s", "frames/s")}
    for (section, preset, path, batch), r in by.items():
        if path != "plain":
            continue
        key, unit = units[section]
        ours, comp = by.get((section, preset, "ours", batch)), by.get((section, preset, "compile", batch))
        ratio = "—"
        if ours and key in ours and r.get(key):
            ratio = f"{(r[key] / ours[key]) if key == 'rtf' else (ours[key] / r[key]):.2f}×"
        out.append(f"| {section} ({unit}) | {preset} | {batch} | {_cell(r, key, '.3g')} | {_cell(ours, key, '.3g')} | "
                   f"{_cell(comp, key, '.3g')} | {ratio} | {_cell(r, 'peak_mib', '.0f')} / {_cell(ours, 'peak_mib', '.0f')} |")
    return "\n".join(out)


def run(args) -> dict:
    from avstudio.ml.device import resolve_device

    device = resolve_device(args.device)
    data = dict(np.load(args.data, allow_pickle=False))
    start, budget = time.perf_counter(), args.budget
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    say(f"{gpu}; torch {torch.__version__}; budget {budget:.0f} s; data {args.data}")
    results, steps = [], plan(args.tiny)
    per = 0.5 if args.tiny else args.seconds
    for i, (section, preset, path, batch) in enumerate(steps):
        left = budget - (time.perf_counter() - start) - args.quality_s
        need = max(_estimate(results, section, preset, path, batch), 1.0 if args.tiny else 2 * per)
        if need > left:
            say(f"skipped {section} {preset} {path} batch {batch}: it would take ≈{need:.0f} s, {left:.0f} s are left")
            continue
        t0 = time.perf_counter()
        try:
            r = MEASURE[section](section, preset, data, device, args.tiny, path, batch, per)
        except torch.cuda.OutOfMemoryError as exc:
            r = {"error": f"out of memory: {exc}"[:300]}
        except Exception as exc:  # noqa: BLE001 - e.g. torch.compile without a compiler: say it, go on
            r = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        r.update(section=section, preset=preset, path=path, batch=batch, wall_s=time.perf_counter() - t0)
        results.append(r)
        if device.type == "cuda":
            torch.cuda.empty_cache()
        say(f"{i + 1}/{len(steps)} {section} {preset} {path} batch {batch}: "
            + ", ".join(f"{k} {v:.3g}" for k, v in r.items() if isinstance(v, float)))
    left = budget - (time.perf_counter() - start)
    quality = quality_run(data, device, args.tiny, max(1.0, min(args.quality_s, left - 30)) if not args.tiny else 1.0)
    say(f"quality run: {quality['steps']} steps in {quality['seconds']:.0f} s; held-out SSIM {quality['model']['ssim']:.3f} "
        f"(mean frame {quality['mean_frame']['ssim']:.3f}), PSNR {quality['model']['psnr']:.2f} dB "
        f"({quality['mean_frame']['psnr']:.2f})")
    return {"device": gpu, "torch": torch.__version__, "tiny": args.tiny, "wall_s": time.perf_counter() - start,
            "results": results, "quality": quality}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prepare", action="store_true", help="write the data file (the whole stack needed)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--tiny", action="store_true", help="tiny networks, a few steps: proves the script runs")
    ap.add_argument("--budget", type=float, default=450.0, help="seconds for everything (default 450)")
    ap.add_argument("--seconds", type=float, default=6.0, help="timed seconds per measurement")
    ap.add_argument("--quality-s", type=float, default=90.0, help="seconds of the standard preset's quality run")
    ap.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "out")
    args = ap.parse_args()
    if args.prepare:
        prepare(args.data, {"preview": 24, "standard": 56, "hd": 4})
        return 0
    if not args.data.is_file():
        print(f"gpu.py: no data file at {args.data}: run `benchmarks/gpu.py --prepare` on the development "
              "machine first (it travels with the working tree).", file=sys.stderr)
        return 2
    report = run(args)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = "gpu_results_tiny" if args.tiny else "gpu_results"
    (args.out_dir / f"{stem}.json").write_text(json.dumps(report, indent=1))
    md = table(report["results"])
    q = report["quality"]
    md += (f"\n\nQuality run (standard, {q['steps']} steps in {q['seconds']:.0f} s, {q['heldout_frames']} held-out "
           f"frames): SSIM {q['model']['ssim']:.3f} vs mean frame {q['mean_frame']['ssim']:.3f}; PSNR "
           f"{q['model']['psnr']:.2f} vs {q['mean_frame']['psnr']:.2f} dB. {report['device']}, torch {report['torch']}, "
           f"{report['wall_s']:.0f} s in all.\n")
    (args.out_dir / f"{stem}.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""AV Studio benchmarks: one runner, results into BENCHMARKS.md.

Every figure is measured next to a baseline in the same run — the bare PyAV loop doing the same
work — so the ratio (our overhead) holds on a noisy machine even when absolute times move.

    .venv/bin/python benchmarks/run.py            # all, writes BENCHMARKS.md
    .venv/bin/python benchmarks/run.py --quick    # fewer samples, prints only
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import sys
import time
from datetime import date
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from avstudio.core.progress import run_to_end  # noqa: E402
from avstudio.media.export import ExportSettings, export_video  # noqa: E402
from avstudio.media.video import VideoSource  # noqa: E402

SHARED = ROOT.parent / "shared" / "media"
OUT = ROOT / "benchmarks" / "out"
MARK_BEGIN = "<!-- media-benchmarks:begin -->"
MARK_END = "<!-- media-benchmarks:end -->"


def make_test_video(path: Path, gop: int, frames: int = 300, size=(1280, 720),
                    source: str = "body/sports2d_demo.mp4", pingpong: bool = False) -> Path:
    """H.264 from real footage (resized), with a fixed keyframe spacing. ``pingpong`` plays the
    source forwards then backwards, so a longer clip has no cuts."""
    if path.exists():
        return path
    import cv2

    src = VideoSource(SHARED / source, prefetch=0)
    n = src.frame_count
    order = (list(range(n)) + list(range(n - 2, 0, -1))) if pingpong else list(range(n))
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
        s.options = {"crf": "20", "preset": "veryfast", "g": str(gop), "keyint_min": str(gop), "sc_threshold": "0"}
        for i in range(frames):
            rgb = cv2.resize(np.asarray(src.get_frame(order[i % len(order)])), size, interpolation=cv2.INTER_CUBIC)
            c.mux(s.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        c.mux(s.encode(None))
    src.close()
    return path


def timed(fn, repeat=1):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


# ---- sequential decode --------------------------------------------------------------------------

def bare_sequential(path: Path) -> int:
    n = 0
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for f in c.decode(s):
            f.to_ndarray(format="rgb24")
            n += 1
    return n


def ours_sequential(vs: VideoSource) -> int:
    return sum(1 for _ in vs.iter_frames())


def bare_open(path: Path) -> None:
    with av.open(str(path)) as c:
        next(c.decode(c.streams.video[0]))


def ours_open(path: Path) -> None:
    VideoSource(path, prefetch=0, cache_mb=0).close()


# ---- random seek -------------------------------------------------------------------------------

def bare_seek_latencies(path: Path, indices: list[int]) -> list[float]:
    """The minimal correct PyAV random access: seek to the keyframe before the target, decode on."""
    out = []
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        pts = sorted(p.pts for p in c.demux(s) if p.pts is not None and p.size)
        for i in indices:
            t = time.perf_counter()
            c.seek(pts[i], stream=s, backward=True, any_frame=False)
            for f in c.decode(s):
                if f.pts >= pts[i]:
                    f.to_ndarray(format="rgb24")
                    break
            out.append(time.perf_counter() - t)
    return out


def ours_seek_latencies(path: Path, indices: list[int]) -> list[float]:
    vs = VideoSource(path, prefetch=0, cache_mb=0)
    out = []
    for i in indices:
        vs._next = None  # force a real seek each time (no forward-decode shortcut, no cache)
        t = time.perf_counter()
        vs.get_frame(i, prefetch=False)
        out.append(time.perf_counter() - t)
    vs.close()
    return out


def pct(values, q):
    return float(np.percentile(np.asarray(values) * 1000, q))


# ---- export -------------------------------------------------------------------------------------

def bare_export(path: Path, frames: list[np.ndarray], preset: str) -> None:
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.height, s.width = frames[0].shape[:2]
        s.pix_fmt = "yuv420p"
        s.options = {"crf": "18", "preset": preset}
        for f in frames:
            c.mux(s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        c.mux(s.encode(None))


def ours_export(path: Path, frames: list[np.ndarray], preset: str) -> None:
    run_to_end(export_video(path, frames, len(frames), ExportSettings(fps=Fraction(30), crf=18, preset=preset)))


def write_section(begin: str, end: str, block: str) -> None:
    bench = ROOT / "BENCHMARKS.md"
    text = bench.read_text() if bench.exists() else ""
    if begin in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda m: block, text, flags=re.S)
    else:
        text += "\n" + block + "\n"
    bench.write_text(text)


# ---- analysis (issue 3) --------------------------------------------------------------------------

A_BEGIN, A_END = "<!-- analysis-benchmarks:begin -->", "<!-- analysis-benchmarks:end -->"


def make_scaled_clip(path: Path, size: tuple[int, int], frames: int) -> Path:
    """The vtest walker (one person, always in view) scaled to ``size``, played back and forth."""
    return make_test_video(path, 30, frames, size, source="body/vtest_walker_crop.mp4", pingpong=True)


def bare_mediapipe(path: Path) -> float:
    """The loop most scripts use: decode, full-frame MediaPipe Pose in tracking mode."""
    import mediapipe as mp

    pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1)
    n = 0
    t = time.perf_counter()
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for f in c.decode(s):
            pose.process(f.to_ndarray(format="rgb24"))
            n += 1
    pose.close()
    return n / (time.perf_counter() - t)


def ours_extract(path: Path, workers: int) -> tuple[float, float]:
    from avstudio.analysis.landmarks.extract import ExtractRequest, extract
    from avstudio.core.progress import run_to_end as rte

    t = time.perf_counter()
    r = rte(extract(ExtractRequest(str(path), workers=workers)))
    dt = time.perf_counter() - t
    return len(r.flags) / dt, float((r.flags[:, 0] != 3).mean())


def analysis_main(quick: bool) -> list[tuple]:
    rows = []
    frames = 120 if quick else 900  # long enough for worker start-up (~3 s) to amortise
    for size, label in (((1280, 720), "720p"), ((1920, 1080), "1080p")):
        clip = make_scaled_clip(OUT / f"walker_{label}_{frames}.mp4", size, frames)
        bare = bare_mediapipe(clip)
        one, found1 = ours_extract(clip, 1)
        two, found2 = ours_extract(clip, 2)
        rows.append((f"Pose, {label} H.264, {frames} frames", f"{bare:.1f} fps", f"{one:.1f} fps", f"{two:.1f} fps",
                     f"{one / bare:.2f}×", f"{two / one:.2f}×", f"{found1:.0%} / {found2:.0%}"))
    return rows


# ---- motion-transfer models (issue 4) -----------------------------------------------------------

M_BEGIN, M_END = "<!-- ml-benchmarks:begin -->", "<!-- ml-benchmarks:end -->"


def plain_pix2pix_steps(cfg: dict, steps: int, device) -> float:
    """The reference way: fp32, eager, batch 1, G and D updated with LSGAN (+ L1), no AMP, no
    channels_last, no compile — a loop written without AV Studio's Trainer."""
    import torch
    import torch.nn.functional as F

    from avstudio.ml.motion.build import build_discriminator, build_generator

    G, D = build_generator(cfg).to(device), build_discriminator(cfg).to(device)
    og = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    c = 6 if cfg["temporal"] else 3
    x = torch.randn(1, c, cfg["size"], cfg["size"], device=device)
    y = torch.randn(1, 3, cfg["size"], cfg["size"], device=device)

    def d_last(o):
        return [f[-1] for f in o] if isinstance(o[0], list) else [o[-1]]

    def feats(inp):  # every layer of every scale
        o = D(inp, features=True)
        return o if isinstance(o[0], list) else [o]

    def mse_to(outs, v):
        return sum(F.mse_loss(t, torch.full_like(t, v)) for t in outs) / len(outs)

    def one():
        # The same algorithm as the Trainer: two G passes when temporal, LSGAN, L1, feature matching.
        if cfg["temporal"]:
            fake_prev = G(torch.cat([x[:, :3], torch.zeros_like(x[:, :3])], 1))
            fake = G(torch.cat([x[:, :3], fake_prev.detach()], 1))
            cond = torch.cat([x[:, :3], x[:, :3], y, y], 1)
            condf = torch.cat([x[:, :3], x[:, :3], fake_prev, fake], 1)
        else:
            fake = G(x)
            cond, condf = torch.cat([x, y], 1), torch.cat([x, fake], 1)
        od.zero_grad()
        ld = 0.5 * (mse_to(d_last(feats(cond)), 1.0) + mse_to(d_last(feats(condf.detach())), 0.0))
        ld.backward()
        od.step()
        og.zero_grad()
        ff = feats(condf)
        lg = mse_to([f[-1] for f in ff], 1.0) + cfg["l1"] * F.l1_loss(fake, y)
        if cfg.get("fm"):
            with torch.no_grad():
                rf = feats(cond)
            lg = lg + cfg["fm"] * sum(F.l1_loss(a, b) for fa, fb in zip(ff, rf) for a, b in zip(fa[:-1], fb[:-1]))
        lg.backward()
        og.step()
    one()  # warm-up
    t = time.perf_counter()
    for _ in range(steps):
        one()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - t)


def ours_steps(cfg: dict, steps: int, device) -> float:
    import torch

    from avstudio.ml.motion.train import Trainer

    tr = Trainer(cfg, device)
    c = 3
    pose = torch.randn(1, c, cfg["size"], cfg["size"], device=device)
    real = torch.randn(1, 3, cfg["size"], cfg["size"], device=device)
    prev = (pose, real) if cfg["temporal"] else (None, None)
    tr.step(0, pose, real, *prev)
    t = time.perf_counter()
    for k in range(steps):
        tr.step(k, pose, real, *prev)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - t)


def render_fps(cfg: dict, frames: int, device, ours: bool) -> float:
    import torch

    from avstudio.ml.motion.build import build_generator
    from avstudio.ml.motion.evaluate import generate_rows
    from avstudio.ml.motion.train import Trainer

    poses = np.random.default_rng(0).integers(0, 255, (frames, cfg["size"], cfg["size"], 3), dtype=np.uint8)
    if ours:
        tr = Trainer(cfg, device)
        tr.G.eval()
        generate_rows(tr, poses[:2], device)
        t = time.perf_counter()
        generate_rows(tr, poses, device)
    else:
        G = build_generator(cfg).to(device).eval()
        x = torch.from_numpy(poses).float().permute(0, 3, 1, 2) / 127.5 - 1
        with torch.no_grad():
            t = time.perf_counter()
            prev = torch.zeros(1, 3, cfg["size"], cfg["size"])
            for i in range(frames):
                inp = torch.cat([x[i:i + 1], prev], 1) if cfg["temporal"] else x[i:i + 1]
                prev = G(inp)
                prev.clamp(-1, 1).add(1).mul(127.5).byte().permute(0, 2, 3, 1).numpy()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return frames / (time.perf_counter() - t)


def ml_main(quick: bool) -> list[tuple]:
    import torch

    from avstudio.ml.device import resolve_device
    from avstudio.ml.motion.presets import preset_config

    torch.manual_seed(0)
    device = resolve_device("auto")
    rows = []
    plan = {"preview": (20, 32), "standard": (5, 8), "hd": (2, 3)}
    for name, (steps, frames) in plan.items():
        cfg = preset_config(name)
        if quick:
            steps, frames = max(1, steps // 4), max(2, frames // 4)
        pb = plain_pix2pix_steps(cfg, steps, device)
        po = ours_steps(cfg, steps, device)
        rb = render_fps(cfg, frames, device, ours=False)
        ro = render_fps(cfg, frames, device, ours=True)
        rows.append((f"{name} ({cfg['size']} px, {cfg['arch']}{', temporal' if cfg['temporal'] else ''})", device.type,
                     f"{pb:.2f}", f"{po:.2f}", f"{po / pb:.2f}×", f"{rb:.1f}", f"{ro:.1f}", f"{ro / rb:.2f}×"))
    return rows


def publish(begin: str, end: str, header: list[str], rows: list[tuple], machine: str, quick: bool) -> None:
    """Print a measured table; write it into BENCHMARKS.md unless this was a --quick run."""
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join(r) + " |" for r in rows]
    block = "\n".join([begin, f"Measured {date.today()} on {machine}.", "", *table, end])
    print(block)
    if not quick:
        write_section(begin, end, block)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["media", "analysis", "ml", "voice", "editor", "structure", "lipsync",
                                           "speech"],
                    help="run one section")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, PyAV {av.__version__}"
    if args.only == "structure":
        from benchmarks.structure import S_BEGIN, S_END, structure_main
        publish(S_BEGIN, S_END, ["measurement", "baseline (same run)", "AV Studio", "goal"],
                structure_main(args.quick), machine, args.quick)
        return 0
    if args.only == "editor":
        from benchmarks.editor import E_BEGIN, E_END, editor_main
        publish(E_BEGIN, E_END, ["measurement", "baseline (same run)", "AV Studio editor", "goal"],
                editor_main(args.quick), machine, args.quick)
        return 0
    if args.only == "lipsync":
        from benchmarks.lipsync import L_BEGIN, L_END, lipsync_main
        publish(L_BEGIN, L_END, ["measurement", "baseline (same run)", "AV Studio", "ratio"],
                lipsync_main(OUT, SHARED, args.quick), machine, args.quick)
        return 0
    if args.only == "speech":
        from benchmarks.speech import SP_BEGIN, SP_END, speech_main
        publish(SP_BEGIN, SP_END, ["measurement", "baseline (same run)", "AV Studio", "ratio"],
                speech_main(SHARED, args.quick), machine, args.quick)
        return 0
    if args.only == "voice":
        from benchmarks.voice import V_BEGIN, V_END, voice_main
        publish(V_BEGIN, V_END, ["measurement", "bare pyworld / plain fp32 loop (baseline)", "AV Studio", "speed-up"],
                voice_main(SHARED, args.quick), machine, args.quick)
        return 0
    if args.only == "ml":
        publish(M_BEGIN, M_END, ["preset", "device", "train steps/s, plain fp32 eager (baseline)",
                                 "train steps/s, AV Studio", "speed-up", "render fps, plain fp32 batch 1",
                                 "render fps, AV Studio", "speed-up"], ml_main(args.quick), machine, args.quick)
        return 0
    if args.only != "media":
        publish(A_BEGIN, A_END, ["clip", "bare MediaPipe loop (baseline)", "AV Studio, 1 process",
                                 "AV Studio, 2 processes", "speed ours-1 / bare", "speed-up 2 / 1",
                                 "subject found (1 / 2)"], analysis_main(args.quick), machine, args.quick)
        if args.only == "analysis":
            return 0
    seeks = 10 if args.quick else 30
    rows = []

    files = {gop: make_test_video(OUT / f"720p_gop{gop}.mp4", gop) for gop in (30, 300)}
    f1 = files[30]
    nb = bare_sequential(f1)
    reps = 1 if args.quick else 3
    vs_seq = VideoSource(f1, prefetch=0, cache_mb=0)
    tb = timed(lambda: bare_sequential(f1), reps)
    to = timed(lambda: ours_sequential(vs_seq), reps)
    vs_seq.close()
    rows.append(("Sequential decode, 720p H.264 → RGB", f"{nb / tb:.0f} fps", f"{nb / to:.0f} fps", f"{to / tb:.2f}×"))
    # Opening: ours probes and indexes every packet (exact frame count, VFR, keyframes) — a one-time
    # cost per clip; the baseline only opens and decodes the first frame.
    ob = timed(lambda: bare_open(f1), reps)
    oo = timed(lambda: ours_open(f1), reps)
    rows.append(("Open a 10 s 720p clip (ours: probe + packet index)", f"{ob * 1000:.0f} ms", f"{oo * 1000:.0f} ms",
                 f"{oo / ob:.2f}×"))

    for gop, label in ((30, "1 s"), (300, "10 s")):
        rng = random.Random(gop)
        idx = [rng.randrange(300) for _ in range(seeks)]
        bare = bare_seek_latencies(files[gop], idx)
        ours = ours_seek_latencies(files[gop], idx)
        rows.append((f"Random seek p50, 720p, keyframe every {label}", f"{pct(bare, 50):.0f} ms",
                     f"{pct(ours, 50):.0f} ms", f"{pct(ours, 50) / pct(bare, 50):.2f}×"))
        rows.append((f"Random seek p90, 720p, keyframe every {label}", f"{pct(bare, 90):.0f} ms",
                     f"{pct(ours, 90):.0f} ms", f"{pct(ours, 90) / pct(bare, 90):.2f}×"))

    vs = VideoSource(f1, prefetch=0)
    import cv2
    src720 = [np.asarray(vs.get_frame(i)).copy() for i in range(90 if args.quick else 150)]
    vs.close()
    sq = [cv2.resize(f, (512, 512), interpolation=cv2.INTER_AREA) for f in src720]
    for frames, label in ((sq, "512²"), (src720, "720p")):
        for preset in ("veryfast", "medium"):
            n = len(frames)
            b = timed(lambda: bare_export(OUT / "bare.mp4", frames, preset), reps)
            o = timed(lambda: ours_export(OUT / "ours.mp4", frames, preset), reps)
            rows.append((f"Export {label} libx264 {preset} (CRF 18), RGB in", f"{n / b:.0f} fps", f"{n / o:.0f} fps",
                         f"{o / b:.2f}×"))

    table = ["| measurement | bare PyAV (baseline) | AV Studio | time ratio (ours / bare) |", "|---|---|---|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    block = "\n".join([MARK_BEGIN, f"Measured {date.today()} on {machine}.", "", *table, MARK_END])
    print(block)
    if not args.quick:
        write_section(MARK_BEGIN, MARK_END, block)
    return 0


if __name__ == "__main__":
    sys.exit(main())

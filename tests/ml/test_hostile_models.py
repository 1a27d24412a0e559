"""Fuzzing the model files a user can hand AV Studio (issue 16): mutated config.json documents,
latest.json files and links, damaged safetensors files — for each kind of model, loaded the way the
commands load them. Each case must end in a clean UserError or a loaded model: never another
exception, never a hang, never a read outside the project (a valid "bait" model outside it is what
paths and links point at; an audit hook watches every open). Seeded (random.Random), each case
small; the counts of outcomes are printed (pytest -s).

The native aborts the tester found (a pyworld segfault, "terminate called without an active
exception") are checked at the process level, a few cases only.
"""

import json
import os
import random
import shutil
import struct
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from avstudio.core import models
from avstudio.core.errors import UserError
from avstudio.ml import checkpoint as ck
from avstudio.workflows.project import create_project

from tests.conftest import media
from tests.hostile import deadline
from tests.ml.tiny_models import MAKERS, load_ready, write_model

ROOT = Path(__file__).resolve().parents[2]
SEED = 16
KINDS = list(MAKERS)
BAIT_SEED = 777          # the outside model's mark: loading it is reading outside the project
CASE = "case"            # the model each case damages (a fresh copy of the kind's pristine one)
CASE_SECONDS = 10        # a case taking longer is a hang
OUTSIDE_OPENS: list[str] = []
WATCHED: list[str] = []  # the outside folder, while cases run


def _audit(event, args):
    if event == "open" and WATCHED and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.path.realpath(os.fsdecode(args[0]))  # a link's target: reading through a link is reading there
        if path.startswith(WATCHED[0]):
            OUTSIDE_OPENS.append(path)


sys.addaudithook(_audit)


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """(project, outside): a project with a pristine tiny model of each kind, and the bait models."""
    root = tmp_path_factory.mktemp("hostile")
    create_project(root / "P")
    project, outside = root / "P.avproj", root / "outside"
    for kind in KINDS:
        write_model(project, f"pristine-{kind}", kind)
        bait = write_model(outside, kind, kind)
        doc = json.loads((bait / "config.json").read_text())
        doc["seed"] = BAIT_SEED
        (bait / "config.json").write_text(json.dumps(doc))
    WATCHED[:] = [os.path.realpath(outside)]
    yield project, outside / "models"
    WATCHED.clear()


def _fresh(project: Path, kind: str) -> Path:
    """models/case: a copy of the kind's pristine model; returns its checkpoint folder."""
    dst = project / "models" / CASE
    if dst.is_symlink() or dst.is_file():
        dst.unlink()
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(project / "models" / f"pristine-{kind}", dst)
    return ck.latest_checkpoint(dst)


def _doc_of(loaded):
    if isinstance(loaded, tuple):
        return next(x for x in loaded if isinstance(x, dict))
    return loaded.doc


def attempt(project: Path, kind: str, what: str, outcomes: Counter, failures: list) -> None:
    """Load models/case as a ``kind`` model; count the outcome, or note what went wrong."""
    before = len(OUTSIDE_OPENS)
    try:
        with deadline(CASE_SECONDS):
            doc = _doc_of(load_ready(project, CASE, kind))
    except UserError as exc:
        assert str(exc).strip(), what  # a message a user can read
        outcomes["refused"] += 1
    except BaseException as exc:  # noqa: BLE001 - what the fuzzing is for: every other ending is a failure
        failures.append(f"{kind} {what}: {type(exc).__name__}: {str(exc)[:300]}")
        outcomes["FAILED"] += 1
    else:
        inside = Path(doc["path"]).resolve().parent == (project / "models" / CASE).resolve()
        if not inside or doc.get("seed") == BAIT_SEED:
            failures.append(f"{kind} {what}: loaded {doc['path']}, outside the project")
        outcomes["loaded"] += 1
    if len(OUTSIDE_OPENS) > before:
        failures.append(f"{kind} {what}: opened {OUTSIDE_OPENS[before:]}")


def _report(name: str, outcomes: Counter, failures: list, least: int) -> None:
    print(f"\n{name}: {sum(outcomes.values())} cases, {dict(outcomes)}")
    assert not failures, f"{len(failures)} of {sum(outcomes.values())} cases failed:\n" + "\n".join(failures[:15])
    assert sum(outcomes.values()) >= least


# ---- config.json ------------------------------------------------------------------------------------

DEEP = "@@deep@@"


def junk(rng: random.Random):
    """A value no config should hold (or one it might: the range check decides)."""
    return rng.choice([
        None, True, False, "", "x" * rng.randint(1, 5000), "ünïcødé\x00", -1, 0, 1, 3, 2**31, 2**63, 2**64 + 1,
        10 ** rng.randint(20, 4000), -10 ** rng.randint(20, 400), rng.uniform(-1e9, 1e9), 1e308, -1e308,
        float("nan"), float("inf"), float("-inf"), 0.5, -0.0, 1e-320, [], [1, 2], [[[]]], {}, {"a": {"b": [None]}},
        {"kind": "voice"}, DEEP, ["harvest"], "harvest", "unet", "global", "local", "voice"])


def _deepen(text: str, rng: random.Random) -> str:
    depth = rng.choice([50, 900, 5000])
    return text.replace(json.dumps(DEEP), "[" * depth + "]" * depth)


def _leaves(doc: dict, prefix=()):
    """Every path to a value in a config document (not into optimizer settings: those are lists of numbers)."""
    for key, value in doc.items():
        yield prefix + (key,)
        if isinstance(value, dict) and key != "optim":
            yield from _leaves(value, prefix + (key,))


def _set(doc: dict, path: tuple, value) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def _get(doc: dict, path: tuple):
    for key in path:
        doc = doc[key]
    return doc


def mutate_config(text: str, rng: random.Random) -> tuple[str, str]:
    """(mutated config.json text, what was done)."""
    doc = json.loads(text)
    op = rng.choice(["junk", "junk", "junk", "delete", "near", "near", "raw", "several"])
    paths = list(_leaves(doc))
    if op == "raw":
        choice = rng.choice([text[:rng.randint(0, len(text))], "", "null", "[]", "NaN", "9" * 5000, "\xff\xfe" * 10,
                             "[" * 3000, json.dumps({"format": "avstudio-model", "version": 1}), "{" * 40])
        return choice, f"raw {choice[:30]!r}"
    if op == "delete":
        path = rng.choice(paths)
        _set(doc, path, None)
        _get(doc, path[:-1]).pop(path[-1]) if len(path) > 1 else doc.pop(path[0])
        return json.dumps(doc), f"delete {'.'.join(path)}"
    if op == "near":  # a plausible number, in or near its range: the fit and rule checks decide
        numeric = [p for p in paths if isinstance(_get(doc, p), (int, float)) and not isinstance(_get(doc, p), bool)]
        path = rng.choice(numeric)
        old = _get(doc, path)
        new = rng.choice([old * 2, old // 2 if isinstance(old, int) else old / 2, old + 1, old - 1, -old, old * 100])
        _set(doc, path, new)
        return json.dumps(doc), f"{'.'.join(path)} {old!r} -> {new!r}"
    done = []
    for _ in range(rng.randint(2, 5) if op == "several" else 1):
        path = rng.choice(paths)
        value = junk(rng)
        _set(doc, path, value)
        done.append(f"{'.'.join(path)}={str(value)[:30]!r}")
        paths = list(_leaves(doc))
    return _deepen(json.dumps(doc), rng), " ".join(done)


def each_kind(project: Path, seed: int, cases: int, damage, outcomes: Counter, failures: list) -> None:
    """``cases`` cases per kind: a fresh copy of the kind's model, ``damage(checkpoint, rng)`` (what it
    did), then the load."""
    for i, kind in enumerate(KINDS):
        rng = random.Random(seed + i)
        for case in range(cases):
            what = damage(_fresh(project, kind), rng)
            attempt(project, kind, f"#{case}: {what}", outcomes, failures)


def damage_config(ckpt: Path, rng: random.Random) -> str:
    text, what = mutate_config((ckpt / "config.json").read_text(), rng)
    (ckpt / "config.json").write_text(text, errors="surrogatepass")
    return f"config {what}"


def test_mutated_configs_are_a_message_or_a_model(place):
    outcomes, failures = Counter(), []
    each_kind(place[0], SEED * 100, 36, damage_config, outcomes, failures)
    _report("config.json", outcomes, failures, 180)


# ---- latest.json and links ----------------------------------------------------------------------------

def _latest_text(rng: random.Random, bait: Path) -> str:
    name = rng.choice(["../..", "..", "/", str(bait), str(bait / "ckpt-00000004"), "../../outside/ckpt-00000004",
                       os.path.relpath(bait / "ckpt-00000004", bait.parent), "ckpt-00000004/..", "ckpt-00000004/.",
                       "ckpt-00000099", "ckpt-4", "ckpt-0000000a", "ckpt-00000004\x00", "", " ckpt-00000004",
                       None, 4, 4.0, ["ckpt-00000004"], {"checkpoint": "ckpt-00000004"}, "ckpt-00000004"])
    return rng.choice([json.dumps({"checkpoint": name, "step": 4}), json.dumps([name]), json.dumps(name),
                       json.dumps({"checkpoint": name, "step": 4}), "{" + str(name)[:20]])


def mutate_latest(project: Path, bait: Path, rng: random.Random) -> str:
    """Damage models/case's latest.json, or point something of it elsewhere; what was done."""
    run = models.RunFolder(project / "models" / CASE)
    ckpt = run.latest()
    op = rng.choice(["text", "text", "text", "zero", "fifo", "huge", "folder", "bait-latest", "loop", "dangling",
                     "ckpt-link", "config-link", "weights-link", "model-link", "binary"])
    latest = run.latest_file
    if op not in ("ckpt-link", "config-link", "weights-link", "model-link"):
        latest.unlink()
    if op == "text":
        text = _latest_text(rng, bait)
        latest.write_text(text)
        return f"latest.json {text[:60]!r}"
    if op == "zero":
        latest.symlink_to("/dev/zero")
    elif op == "fifo":
        os.mkfifo(latest)
    elif op == "huge":
        with open(latest, "wb") as f:
            f.truncate(rng.choice([1 << 20, 1 << 30, 1 << 40]))
    elif op == "folder":
        latest.mkdir()
    elif op == "bait-latest":
        latest.symlink_to(bait / "latest.json")
    elif op == "loop":
        latest.symlink_to(latest)
    elif op == "dangling":
        latest.symlink_to(bait / "no-such-file")
    elif op == "binary":
        latest.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randint(1, 3000))))
    elif op == "ckpt-link":
        shutil.rmtree(ckpt)
        ckpt.symlink_to(bait / ckpt.name, target_is_directory=True)
    elif op in ("config-link", "weights-link"):
        name = models.CONFIG if op == "config-link" else models.WEIGHTS
        (ckpt / name).unlink()
        (ckpt / name).symlink_to(bait / ckpt.name / name)
    else:  # the model folder itself a link to the bait
        shutil.rmtree(run.path)
        run.path.symlink_to(bait, target_is_directory=True)
    return op


def test_hostile_latest_json_and_links_are_refused_without_reading_outside(place):
    project, outside = place
    outcomes, failures = Counter(), []
    rng = random.Random(SEED)
    for case in range(80):
        kind = KINDS[case % len(KINDS)]
        _fresh(project, kind)
        what = mutate_latest(project, outside / kind, rng)
        attempt(project, kind, f"latest #{case}: {what}", outcomes, failures)
    _report("latest.json and links", outcomes, failures, 80)


# ---- weights.safetensors -------------------------------------------------------------------------------

def _split(data: bytes) -> tuple[dict, bytes]:
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + n]), data[8 + n:]


def _join(header: dict, body: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + body


def mutate_weights(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    header, body = _split(data)
    names = [k for k in header if k != "__metadata__"]
    name = rng.choice(names)
    op = rng.choice(["truncate", "flip-header", "flip-data", "length", "rename", "shape", "dtype", "offsets",
                     "drop", "extra", "append", "empty", "metadata"])
    if op == "truncate":
        return data[:rng.randint(0, len(data) - 1)], op
    if op == "flip-header":
        raw = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(8, 8 + struct.unpack("<Q", data[:8])[0])] ^= 1 << rng.randrange(8)
        return bytes(raw), op
    if op == "flip-data":
        raw = bytearray(data)
        for _ in range(rng.randint(1, 64)):
            raw[rng.randrange(len(data) - len(body), len(data))] = rng.randrange(256)
        return bytes(raw), op
    if op == "length":  # a huge (or wrong) declared header
        size = rng.choice([0, 1, len(data), 2**31, 2**40, 2**63, 2**64 - 1])
        return struct.pack("<Q", size) + data[8:], f"header length {size}"
    if op == "rename":
        header["x" + name] = header.pop(name)
    elif op == "shape":
        header[name]["shape"] = rng.choice([[], [0], [3, 1 << 20], [10**12], [-1], list(reversed(header[name]["shape"]))
                                            + [1], ["a"], None])
    elif op == "dtype":
        header[name]["dtype"] = rng.choice(["F64", "I8", "BOOL", "junk", "", None, 7])
    elif op == "offsets":
        a, b = header[name]["data_offsets"]
        header[name]["data_offsets"] = rng.choice([[b, a], [a, 2**62], [-1, b], [a, a], [0, len(body) + 1], "x"])
    elif op == "drop":
        header.pop(name)
    elif op == "extra":
        header["extra.weight"] = dict(header[name])
    elif op == "append":
        return data + bytes(rng.randrange(256) for _ in range(rng.randint(1, 100))), op
    elif op == "empty":
        return b"", op
    else:
        header["__metadata__"] = rng.choice([{"format": "pt"}, {"a": 1}, [], "x", {"a": "b" * 10000}])
    return _join(header, body), f"{op} {name}"


def damage_weights(ckpt: Path, rng: random.Random) -> str:
    weights = ckpt / models.WEIGHTS
    data, what = mutate_weights(weights.read_bytes(), rng)
    weights.write_bytes(data)
    if rng.random() < 0.85:  # as an attacker would: the recorded hash made to match, so the file is parsed
        doc = json.loads((ckpt / "config.json").read_text())
        doc["weights_sha256"] = ck._sha256(weights)
        (ckpt / "config.json").write_text(json.dumps(doc))
    return f"weights {what}"


def test_damaged_weights_are_a_message_or_a_model(place):
    project, _ = place
    outcomes, failures = Counter(), []
    each_kind(project, SEED * 1000, 22, damage_weights, outcomes, failures)
    for kind in KINDS:
        for what in ("fifo", "folder", "zero"):  # a weights file that is not a file
            ckpt = _fresh(project, kind)
            (ckpt / models.WEIGHTS).unlink()
            {"fifo": os.mkfifo, "folder": os.mkdir, "zero": lambda p: os.symlink("/dev/zero", p)}[what](
                ckpt / models.WEIGHTS)
            attempt(project, kind, f"weights: {what}", outcomes, failures)
    _report("weights.safetensors", outcomes, failures, 100)


# ---- the native aborts, at the process level (a few cases) --------------------------------------------

def _cli(*args, cwd: Path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "avstudio", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300, cwd=cwd)


def test_models_that_used_to_abort_the_process_exit_2_with_the_message(place, tmp_path):
    """Wrong tensor names: the message, then "terminate called without an active exception" (exit
    134); a voice config with "n_mcep": 1000000: a segfault inside pyworld. Now: the message, exit 2."""
    project, _ = place
    ckpt = _fresh(project, models.MOTION)
    header, body = _split((ckpt / models.WEIGHTS).read_bytes())
    header["x" + sorted(header)[0]] = header.pop(sorted(header)[0])
    (ckpt / models.WEIGHTS).write_bytes(_join(header, body))
    doc = json.loads((ckpt / "config.json").read_text())
    doc["weights_sha256"] = ck._sha256(ckpt / models.WEIGHTS)
    (ckpt / "config.json").write_text(json.dumps(doc))
    p = _cli("evaluate", project, "--model", CASE, "--device", "cpu", "-q", cwd=tmp_path)
    assert p.returncode == 2 and "terminate called" not in p.stderr, (p.returncode, p.stderr[-2000:])
    assert "do not fit the network" in p.stderr

    ckpt = _fresh(project, models.VOICE)
    doc = json.loads((ckpt / "config.json").read_text())
    doc["config"]["n_mcep"] = 1_000_000
    (ckpt / "config.json").write_text(json.dumps(doc))
    wav = media("speech/asterisk_g722_allison_en_female/demo-echotest.flac")
    p = _cli("voice", "convert", project, "--model", CASE, "--input", wav, "-o", tmp_path / "out.wav", "-q",
             cwd=tmp_path)
    assert p.returncode == 2, (p.returncode, p.stderr[-2000:])
    assert '"n_mcep" is 1000000; it must be a whole number from 8 to 128' in p.stderr


ABORTING_JOB = r'''
import sys
from avstudio.cli import common
from avstudio.core.errors import UserError


def job():
    import torch
    from avstudio.ml.voice.nets import Generator212
    nets = [Generator212(36, 0.25) for _ in range(4)]  # torch objects the failure's frames hold
    tensors = {i: torch.randn(256, 256) for i in range(64)}
    yield from ()
    raise UserError(f"bad model ({len(nets)} nets, {len(tensors)} tensors)")


try:
    common.run_job(job, name="job", quiet=True)
except UserError as exc:
    common.print_error(exc)
    sys.exit(2)
'''


def test_a_torch_job_failing_in_the_command_line_exits_2_not_134(tmp_path):
    """Why the tester saw exit 134: the command line exits as soon as the job thread reports, while
    that thread still frees the failed job's torch objects; a daemon thread taking the GIL during
    finalization is force-unwound, and torch's noexcept destructors make that std::terminate. The job
    thread now frees the failed job's frames before it reports (jobs/thread_runner.py). Before: 134
    on every run."""
    script = tmp_path / "job.py"
    script.write_text(ABORTING_JOB)
    for _ in range(2):
        p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert p.returncode == 2 and "terminate called" not in p.stderr, (p.returncode, p.stderr[-2000:])
        assert "avstudio: error: bad model" in p.stderr

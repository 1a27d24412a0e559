"""Fuzzed project folders (issue 16): project.json and track files mutated at random, from a fixed
seed, each case under a time limit. Loading (and saving what loaded) must give a clean UserError or
succeed: never another exception, never a hang, never a file written outside the project."""

import json
import random
import shutil
from collections import Counter
from pathlib import Path

import pytest

from avstudio.core import layers, roles
from avstudio.core.errors import UserError
from avstudio.core.project import Project
from avstudio.core.store import load_project, save_project
from avstudio.core.tracks import AudioTrack, SegmentTrack

from tests.conftest import media
from tests.core.test_hostile_project import _huge_header_npz, _npy, _zip_bomb
from tests.core.test_store import make_project
from tests.hostile import deadline

CASES = 1000
SEED = 16
CASE_SECONDS = 10

HOSTILE = [None, True, False, -1, 0, 2**63, 10**30, -1e308, 1e308, 0.5, "", "../../../x", "/etc/passwd", "\x00",
           "é" * 300, [], {}, [1, 2, 3], {"a": {"b": {}}}, "tracks/../../x.npz", [30, 0], [0, 1], [-30, 1],
           [30, 1], "pose", "segments", "source", "ab" * 40, {"id": "x"}, [[[]]]]


def base_project(folder: Path) -> Project:
    p = make_project(folder)
    ref = p.add_media(media("speech/jfk/jfk.wav"), roles.SOURCE_VOICE)
    p.add_track(AudioTrack({}, {"media_id": ref.id, "clip": roles.SOURCE_VOICE}, name="voice"))
    p.add_track(SegmentTrack.make([(0.0, 0.5, "sil"), (0.5, 1.0, "AA")], ["sil", "AA"], name="visemes",
                                  clip=roles.SOURCE_VOICE, layer=layers.VISEMES, duration=1.0))
    p.settings.update({"retarget": {"overrides": {"target.far_y": 3.0}}, "viseme_frames": {"AA": 3}})
    save_project(p, folder)
    return p


def _paths(obj, prefix=()):
    yield prefix
    if len(prefix) > 12:
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


def _mutate_doc(doc, rng: random.Random) -> None:
    path = rng.choice([p for p in _paths(doc) if p])
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    op = rng.random()
    if op < 0.6:
        parent[key] = rng.choice(HOSTILE)
    elif op < 0.75 and isinstance(parent, dict):
        del parent[key]
    elif op < 0.85 and isinstance(parent, dict):
        parent[rng.choice(["", "../evil", "/etc", "\x00", "a" * 300, "tracks"])] = parent[key]
    else:
        deep = parent[key]
        for _ in range(rng.choice([2, 30, 300])):  # deeper still: the text mutations
            deep = [deep]
        parent[key] = deep


def _mutate_text(text: str, rng: random.Random) -> str:
    op = rng.randrange(5)
    if op == 0:
        return text[:rng.randrange(len(text))]
    if op == 1:
        i = rng.randrange(len(text))
        return text[:i] + rng.choice(["Infinity", "NaN", "-Infinity", "1e999", "\x00", "\ud800", '"', "{"]) + text[i:]
    if op == 2:
        return "[" * 100000 + "]" * 100000
    if op == 3:
        return "\ufeff" + text
    data = bytearray(text.encode("utf-8"))
    for _ in range(rng.randrange(1, 8)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return data.decode("utf-8", "replace")


def _mutate_track(folder: Path, doc: dict, rng: random.Random) -> None:
    from avstudio.core.trackfile import sha256

    tid = rng.choice([t for t, e in doc["tracks"].items() if e.get("file")])
    path = folder / doc["tracks"][tid]["file"]
    data = path.read_bytes()
    op = rng.randrange(6)
    if op == 0:
        data = data[:rng.randrange(len(data))]
    elif op == 1:
        data = bytearray(data)
        for _ in range(rng.randrange(1, 16)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        data = bytes(data)
    else:
        data = [_huge_header_npz, _zip_bomb, _npy, lambda: b""][op - 2]()
    path.write_bytes(data)
    if rng.random() < 0.8:  # with the hash updated, the damage reaches the array reader
        doc["tracks"][tid]["sha256"] = sha256(data)


def _attempt(folder: Path) -> str:
    try:
        project = load_project(folder)
    except UserError:
        return "refused on load"
    project.touch()
    try:
        save_project(project)
        load_project(folder)
    except UserError:
        return "refused on save"
    return "loaded and saved"


def test_fuzzed_projects_load_or_are_refused(tmp_path):
    good = tmp_path / "good.avproj"
    base_project(good)
    rng = random.Random(SEED)
    outcomes = Counter()
    box = tmp_path / "box"
    for case in range(CASES):
        shutil.rmtree(box, ignore_errors=True)
        folder = box / "p.avproj"
        shutil.copytree(good, folder)
        doc = json.loads((folder / "project.json").read_text())
        kind = rng.random()
        if kind < 0.25:
            _mutate_track(folder, doc, rng)
        for _ in range(rng.choice([1, 1, 2, 4])):
            _mutate_doc(doc, rng)
        text = json.dumps(doc)
        if kind > 0.85:
            text = _mutate_text(text, rng)
        (folder / "project.json").write_text(text, "utf-8", errors="surrogatepass")
        try:
            with deadline(CASE_SECONDS):
                outcomes[_attempt(folder)] += 1
        except Exception as exc:  # noqa: BLE001 - the point: nothing but UserError may escape (nor a Hang)
            pytest.fail(f"case {case} (seed {SEED}): {type(exc).__name__}: {exc}\n{text[:2000]}")
        assert [p.name for p in box.iterdir()] == ["p.avproj"], f"case {case} wrote outside the project"
    print(f"{CASES} fuzzed projects: {dict(outcomes)}")
    assert sum(outcomes.values()) == CASES
    assert outcomes["refused on load"] > CASES // 4 and outcomes["loaded and saved"] > CASES // 10

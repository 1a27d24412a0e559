"""Speaker data for CycleGAN-VC2: WORLD features of each recording (cached per file), per-speaker
MCEP mean/std and log-F0 mean/std, and the random 128-frame training segments."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from avstudio.analysis.voice import world
from avstudio.retarget.pitch import log_f0_stats
from avstudio.core.errors import UserError
from avstudio.core.progress import Progress
from avstudio.core.project import fingerprint

FEATURES_VERSION = 1
FRAMES_PER_SECOND = 1000 / world.FRAME_PERIOD_MS  # WORLD's 5 ms grid


@dataclass
class Utterance:
    path: str
    f0: np.ndarray      # (N,) Hz, 0 unvoiced
    mcep: np.ndarray    # (N, D)
    ap: np.ndarray      # (N, bands) coded aperiodicity


@dataclass
class Speaker:
    name: str
    utterances: list[Utterance]
    mcep_mean: np.ndarray
    mcep_std: np.ndarray
    logf0: tuple[float, float]
    warnings: list[str]

    @property
    def frames(self) -> int:
        return sum(len(u.f0) for u in self.utterances)

    def stats(self) -> dict:
        return {"mcep_mean": self.mcep_mean.tolist(), "mcep_std": self.mcep_std.tolist(),
                "logf0_mean": self.logf0[0], "logf0_std": self.logf0[1], "frames": self.frames,
                "files": [Path(u.path).name for u in self.utterances]}

    def normalized(self) -> list[np.ndarray]:
        """(D, N) normalized MCEPs per utterance."""
        return [((u.mcep - self.mcep_mean) / self.mcep_std).T.astype(np.float32) for u in self.utterances]


def utterance_features(path: str | os.PathLike, cache_dir: Path | None, fs: int, n_mcep: int, method: str,
                       warnings: list[str]) -> Iterator[Progress]:
    """Job: WORLD features of one recording, from the cache when the file has not changed."""
    p = Path(path)
    key = hashlib.sha1(f"{fingerprint(p)}|{fs}|{n_mcep}|{method}|{FEATURES_VERSION}".encode()).hexdigest()[:16]
    cached = cache_dir / f"{key}.npz" if cache_dir is not None else None
    if cached is not None and cached.is_file():
        try:
            with np.load(cached, allow_pickle=False) as z:
                return Utterance(str(p), z["f0"], z["mcep"], z["ap"])
        except (OSError, ValueError, KeyError):
            pass  # damaged cache entry: analyse again
    from avstudio.analysis.voice.speech import load_speech

    speech = load_speech(p, fs)
    warnings.extend(speech.warnings)
    w = yield from world.analyze(speech.samples, fs, method)
    u = Utterance(str(p), w.f0.astype(np.float32), world.encode_sp(w.sp, fs, n_mcep).astype(np.float32),
                  world.encode_ap(w.ap, fs).astype(np.float32))
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".tmp-{cached.name}")
        np.savez(tmp, f0=u.f0, mcep=u.mcep, ap=u.ap)
        os.replace(tmp, cached)
    return u


def load_speaker(name: str, sources: list[str | os.PathLike], cache_dir: Path | None, fs: int = 16000,
                 n_mcep: int = world.N_MCEP, method: str = "harvest", min_frames: int = 128) -> Iterator[Progress]:
    """Job: a speaker from files and/or folders of recordings. Returns :class:`Speaker`."""
    files: list[Path] = []
    for s in sources:
        from avstudio.analysis.voice.speech import speech_files
        files.extend(speech_files(s))
    if not files:
        raise UserError(f"No recordings were given for the {name} speaker.")
    utts, warnings, skipped = [], [], []
    for i, f in enumerate(files):
        yield Progress(i, len(files), f"Analysing the {name} speaker: {f.name} ({i + 1}/{len(files)})")
        try:
            u = yield from utterance_features(f, cache_dir, fs, n_mcep, method, warnings)
        except UserError as exc:
            skipped.append(f"{f.name}: {exc.message}")
            continue
        utts.append(u)
    if skipped:
        warnings.append(f"{len(skipped)} recording(s) of the {name} speaker were skipped: " + "; ".join(skipped))
    total = sum(len(u.f0) for u in utts)
    if total < min_frames:
        raise UserError(f"The {name} speaker has {total * world.FRAME_PERIOD_MS / 1000:.1f} s of usable speech; "
                        f"training needs at least {min_frames * world.FRAME_PERIOD_MS / 1000:.2f} s (and minutes "
                        "for a good model).")
    if len(utts) < 2 and total < 20 * FRAMES_PER_SECOND:
        seconds = total / FRAMES_PER_SECOND
        warnings.append(f"The {name} speaker has a single short recording ({seconds:.1f} s): CycleGAN-VC2 needs "
                        "minutes of speech to learn a voice; expect a weak model.")
    allm = np.concatenate([u.mcep for u in utts]).astype(np.float64)
    mean, std = allm.mean(0), np.maximum(allm.std(0), 1e-6)
    logf0 = log_f0_stats([u.f0 for u in utts])
    yield Progress(len(files), len(files), f"{name} speaker: {len(utts)} recordings, {total / FRAMES_PER_SECOND:.0f} s")
    return Speaker(name, utts, mean.astype(np.float32), std.astype(np.float32), logf0, warnings)


def random_segment(seqs: list[np.ndarray], rng: np.random.Generator, length: int) -> np.ndarray:
    """A random ``length``-frame window (D, length) from utterances chosen by their length;
    utterances shorter than ``length`` are padded by reflection."""
    sizes = np.array([s.shape[1] for s in seqs], np.float64)
    s = seqs[int(rng.choice(len(seqs), p=sizes / sizes.sum()))]
    if s.shape[1] < length:
        s = np.pad(s, ((0, 0), (0, length - s.shape[1])), mode="reflect" if s.shape[1] > 1 else "edge")
    a = int(rng.integers(0, s.shape[1] - length + 1))
    return s[:, a:a + length]

"""WORLD vocoder analysis and synthesis (pyworld), on a fixed 5 ms grid.

F0 by Harvest (quality) or DIO + StoneMask (fast), spectral envelope by CheapTrick, aperiodicity by
D4C; MCEPs by ``code_spectral_envelope``. Long audio is analysed in chunks (in parallel processes
when long enough): every chunk is analysed with a margin of context on both sides and only its own
frames are kept. Chunk borders lie on sample positions that are whole multiples of the frame hop,
and each analysed segment is a whole number of hops long: Harvest's result depends on the segment
length's parity otherwise. Measured on speech: Harvest chunks equal the whole-file analysis to
≤ 0.03 Hz with identical voicing at 16, 22.05 and 24 kHz; DIO chunks are identical at 16 kHz, but at
22.05 kHz pyworld's DIO is not shift-invariant by itself (the same file started 20 ms later gives
octave errors on a few ambiguous frames), and its chunks differ as much (tests/analysis/test_world.py).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator

import numpy as np

from avstudio.core.errors import UserError
from avstudio.core.progress import Progress



def _pyworld():
    """pyworld, imported on first use: the voice networks and their data are used without it (the GPU
    check runs where no pyworld is installed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyworld 0.3.5 imports the deprecated pkg_resources
        import pyworld
    return pyworld

FRAME_PERIOD_MS = 5.0
F0_FLOOR, F0_CEIL = 71.0, 800.0
RATES = (16000, 22050, 24000)
N_MCEP = 36
METHODS = ("harvest", "dio")
CHUNK_S = 8.0       # seconds of audio a chunk owns
MARGIN_S = 1.0      # context analysed on each side of a chunk and thrown away
PARALLEL_FROM_S = 40.0  # shorter audio is analysed in this process (spawning costs ~1 s)


@dataclass
class World:
    """WORLD parameters of one signal: f0 (N,), sp and ap (N, fft/2+1), all float64."""

    f0: np.ndarray
    sp: np.ndarray
    ap: np.ndarray
    fs: int
    frame_period: float = FRAME_PERIOD_MS

    @property
    def voiced(self) -> np.ndarray:
        return self.f0 > 0


def n_frames(n_samples: int, fs: int, frame_period: float = FRAME_PERIOD_MS) -> int:
    """How many frames pyworld returns for ``n_samples`` (frame k at k · period)."""
    return int(n_samples / fs * 1000.0 / frame_period) + 1


def hop_samples(fs: int, frame_period: float = FRAME_PERIOD_MS) -> Fraction:
    return Fraction(fs) * Fraction(str(frame_period)) / 1000


def check_rate(fs: int) -> None:
    if fs not in RATES:
        raise UserError(f"Voice analysis works at {', '.join(f'{r / 1000:g} kHz' for r in RATES)}; {fs} Hz was asked.")


def f0_of(x: np.ndarray, fs: int, method: str, frame_period: float = FRAME_PERIOD_MS) -> np.ndarray:
    if method == "harvest":
        f0, _ = _pyworld().harvest(x, fs, F0_FLOOR, F0_CEIL, frame_period)
    elif method == "dio":
        f0, t = _pyworld().dio(x, fs, F0_FLOOR, F0_CEIL, frame_period=frame_period)
        f0 = _pyworld().stonemask(x, f0, t, fs)
    else:
        raise UserError(f"Unknown F0 method {method!r}: use {' or '.join(METHODS)}.")
    return f0


def analyze_segment(x: np.ndarray, fs: int, method: str, spectra: bool = True,
                    frame_period: float = FRAME_PERIOD_MS):
    """Whole-signal WORLD analysis of ``x`` (float64). Returns (f0, sp, ap) (sp, ap None if not ``spectra``)."""
    x = np.ascontiguousarray(x, np.float64)
    f0 = f0_of(x, fs, method, frame_period)
    if not spectra:
        return f0, None, None
    t = np.arange(len(f0)) * frame_period / 1000.0
    sp = _pyworld().cheaptrick(x, f0, t, fs, f0_floor=F0_FLOOR)
    ap = _pyworld().d4c(x, f0, t, fs)
    return f0, sp, ap


def chunk_bounds(total_frames: int, fs: int, chunk_s: float = CHUNK_S,
                 frame_period: float = FRAME_PERIOD_MS) -> list[int]:
    """Frame indices where chunks start (plus the end), on frames whose sample offset is whole."""
    step = hop_samples(fs, frame_period).denominator  # frames per whole number of samples
    per = max(step, int(chunk_s * 1000 / frame_period) // step * step)
    return list(range(0, total_frames, per)) + [total_frames]


def _segment(n_samples: int, fs: int, a: int, b: int, total: int, margin_s: float = MARGIN_S,
             frame_period: float = FRAME_PERIOD_MS) -> tuple[int, int, int]:
    """Samples s0..s1 to analyse for frames a..b (with context), and the frame s0 is at."""
    hop = hop_samples(fs, frame_period)
    step = hop.denominator
    m = int(margin_s * 1000 / frame_period) // step * step
    fa, fb = max(0, a - m), min(total, b + m)
    return int(fa * hop), (n_samples if fb >= total else int(fb * hop)), fa


def _analyze_kept(seg: np.ndarray, fs: int, method: str, keep: slice, spectra: bool):
    f0, sp, ap = analyze_segment(seg, fs, method, spectra)
    return f0[keep], (sp[keep] if spectra else None), (ap[keep] if spectra else None)


def analyze(x: np.ndarray, fs: int, method: str = "harvest", *, spectra: bool = True, workers: int | None = None,
            chunk_s: float = CHUNK_S, handle=None) -> Iterator[Progress]:
    """Job: WORLD analysis of mono ``x`` in chunks (parallel processes for long audio). Returns :class:`World`."""
    check_rate(fs)
    if method not in METHODS:
        raise UserError(f"Unknown F0 method {method!r}: use {' or '.join(METHODS)}.")
    x = np.ascontiguousarray(x, np.float64)
    total = n_frames(len(x), fs)
    bounds = chunk_bounds(total, fs, chunk_s)
    jobs = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        s0, s1, fa = _segment(len(x), fs, a, b, total)
        jobs.append((s0, s1, slice(a - fa, a - fa + (b - a)), b - a))
    if workers is None:
        import os
        workers = min(os.cpu_count() or 1, len(jobs)) if len(x) / fs >= PARALLEL_FROM_S else 1
    label = f"WORLD analysis ({method})"
    yield Progress(0, total, label)
    results: list = [None] * len(jobs)
    if workers <= 1:
        done = 0
        for i, (s0, s1, keep, n) in enumerate(jobs):
            results[i] = _analyze_kept(x[s0:s1], fs, method, keep, spectra)
            done += n
            yield Progress(done, total, label)
    else:
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        from avstudio.core.priority import lower_priority

        pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=lower_priority)
        try:
            futures = {pool.submit(_analyze_kept, x[s0:s1], fs, method, keep, spectra): i
                       for i, (s0, s1, keep, _) in enumerate(jobs)}
            done, pending = 0, set(futures)
            while pending:
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for f in finished:
                    i = futures[f]
                    results[i] = f.result()
                    done += jobs[i][3]
                yield Progress(done, total, f"{label} on {workers} cores")
        finally:
            # On cancel or error nothing may keep running: drop queued chunks, end the workers.
            for p in list((getattr(pool, "_processes", None) or {}).values()):
                if results.count(None):
                    p.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
    f0 = np.concatenate([r[0] for r in results])
    if not spectra:
        return World(f0, None, None, fs)
    return World(f0, np.concatenate([r[1] for r in results]), np.concatenate([r[2] for r in results]), fs)


MIN_FS, MAX_FS = 8000, 96000  # pyworld aborts or corrupts memory on rates it was not built for


def _check_rate(fs) -> int:
    if isinstance(fs, bool) or not isinstance(fs, (int, np.integer)) or not MIN_FS <= fs <= MAX_FS:
        raise UserError(f"The voice's sample rate is {fs!r}; WORLD works at {MIN_FS}–{MAX_FS} Hz. The project's "
                        "voice tracks were altered or damaged: analyse the voice again.")
    return int(fs)


def _check_frames(array: np.ndarray, what: str, width: int | None = None, below: int | None = None) -> None:
    """What WORLD's C code takes without a crash: 2-D, finite, and as wide as the rate makes it (exactly
    ``width``, or fewer than ``below`` columns); anything else would abort or corrupt memory."""
    ok = array.ndim == 2 and np.isfinite(array).all() and (width is None or array.shape[1] == width) \
        and (below is None or 2 <= array.shape[1] < below)
    if not ok:
        raise UserError(f"The voice's {what} has the shape {array.shape} or non-finite values, which WORLD cannot "
                        "take at this sample rate. The project's voice data was altered or damaged: analyse the "
                        "voice again.")


def synthesize(f0: np.ndarray, sp: np.ndarray, ap: np.ndarray, fs: int,
               frame_period: float = FRAME_PERIOD_MS) -> np.ndarray:
    """WORLD synthesis → float32 samples. Unvoiced frames (f0 0) are synthesized from noise."""
    bins = fft_size(_check_rate(fs)) // 2 + 1
    _check_frames(sp, "spectral envelope", bins)
    _check_frames(ap, "aperiodicity", bins)
    if not len(sp) == len(ap) == len(f0):
        raise UserError(f"The voice's pitch ({len(f0)} frames) and spectra ({len(sp)}, {len(ap)}) differ in length: "
                        "analyse the voice again.")
    f0 = np.ascontiguousarray(np.where(np.isfinite(f0) & (f0 > 0), f0, 0.0), np.float64)
    y = _pyworld().synthesize(f0, np.ascontiguousarray(sp, np.float64), np.ascontiguousarray(ap, np.float64), fs,
                      frame_period)
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def fft_size(fs: int) -> int:
    return _pyworld().get_cheaptrick_fft_size(fs, F0_FLOOR)


def encode_sp(sp: np.ndarray, fs: int, dims: int = N_MCEP) -> np.ndarray:
    """Spectral envelope → ``dims`` mel-cepstral coefficients (WORLD's code_spectral_envelope)."""
    return _pyworld().code_spectral_envelope(np.ascontiguousarray(sp, np.float64), fs, dims)


def decode_sp(mcep: np.ndarray, fs: int) -> np.ndarray:
    size = fft_size(_check_rate(fs))
    _check_frames(mcep, "mel-cepstrum", below=size // 2 + 1)
    return _pyworld().decode_spectral_envelope(np.ascontiguousarray(mcep, np.float64), fs, size)


def encode_ap(ap: np.ndarray, fs: int) -> np.ndarray:
    return _pyworld().code_aperiodicity(np.ascontiguousarray(ap, np.float64), fs)


def decode_ap(coded: np.ndarray, fs: int) -> np.ndarray:
    _check_frames(coded, "coded aperiodicity", _pyworld().get_num_aperiodicities(_check_rate(fs)))
    return _pyworld().decode_aperiodicity(np.ascontiguousarray(coded, np.float64), fs, fft_size(fs))

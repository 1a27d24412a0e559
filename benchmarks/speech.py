"""Speech benchmarks for lip sync (issue 14), each beside a baseline measured in the same run, on the
five LibriVox sentences of ../shared/media/speech (24.7 s, with their transcripts) joined into one:

* forced alignment and phone recognition: AV Studio's (analysis/speech/phones.py) vs bare pocketsphinx
  calls (a Decoder, the two alignment passes, nothing else);
* voice activity: ours (model found without importing silero_vad, segments) vs the bare jit model;
* the whole speech analysis of a clip (features, VAD, alignment, visemes) as a real-time factor;
* the viseme model (speech → driven face) in times real time, beside the 100× goal;
* the speech → mouth model: training steps/s beside a plain fp32 loop of the same network and losses,
  and its prediction in times real time.

    .venv/bin/python benchmarks/run.py --only speech
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "out"
SP_BEGIN, SP_END = "<!-- speech-benchmarks:begin -->", "<!-- speech-benchmarks:end -->"


def librivox(shared: Path) -> tuple[np.ndarray, str]:
    from avstudio.analysis.voice.speech import load_speech

    folder = shared / "speech" / "librivox_male"
    said = {m.group(2): m.group(1) for m in re.finditer(r"<s> (.*?) </s> \((.*?)\)", (folder / "transcription").read_text())}
    parts, words = [], []
    for wav in sorted(folder.glob("*.wav")):
        parts.append(load_speech(wav, 16000).samples)
        words.append(said[wav.stem])
    return np.concatenate(parts), " ".join(words)


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bare_align(x: np.ndarray, text: str) -> None:
    from pocketsphinx import Decoder

    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
    d = Decoder(lm=None, loglevel="FATAL")
    d.set_align_text(text)
    for second in (False, True):
        if second:
            d.set_alignment()
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
    list(d.get_alignment())


def bare_recognize(x: np.ndarray) -> None:
    from pocketsphinx import Decoder, get_model_path

    d = Decoder(allphone=get_model_path("en-us/en-us-phone.lm.bin"), lw=2.0, beam=1e-20, pbeam=1e-20, loglevel="FATAL")
    d.start_utt()
    d.process_raw((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes(), full_utt=True)
    d.end_utt()
    list(d.seg())


def bare_vad(x: np.ndarray) -> None:
    import torch

    from avstudio.analysis.speech.vad import model_file

    m = torch.jit.load(str(model_file()), map_location="cpu")
    with torch.inference_mode():
        m.audio_forward(torch.from_numpy(x.astype(np.float32)), 16000)


def viseme_model_speed(duration: float, blocks: list, repeat: int) -> float:
    """Output frames made per second of wall time by the viseme model (25 fps output)."""
    from avstudio.analysis.speech.visemes import names
    from avstudio.retarget.face import DRIVEN_POINTS
    from avstudio.retarget.speech import speech_face

    rng = np.random.default_rng(0)
    offsets = {n: rng.normal(0, 0.02, (len(DRIVEN_POINTS), 2)) for n in names()}
    neutral = rng.normal(0, 1, (68, 3))
    n = int(duration * 25)
    jaw = rng.uniform(0.4, 1.2, n)
    t = best_of(lambda: speech_face(blocks, duration, 25.0, n, offsets, neutral, jaw), repeat)
    return n / t


def speech_main(shared: Path, quick: bool) -> list[tuple]:
    from avstudio.analysis.speech import phones, vad, visemes
    from avstudio.core.progress import run_to_end
    from avstudio.workflows.lipsync.speech import speech_job

    x, text = librivox(shared)
    dur = len(x) / 16000
    rep = 1 if quick else 3
    rows = []
    tb, to = best_of(lambda: bare_align(x, text), rep), best_of(lambda: phones.align(x, text), rep)
    rows.append((f"Forced alignment of {dur:.1f} s to its transcript (RTF)", f"{tb / dur:.3f} (bare pocketsphinx)",
                 f"{to / dur:.3f}", f"{tb / to:.2f}×"))
    tb, to = best_of(lambda: bare_recognize(x), rep), best_of(lambda: phones.recognize(x), rep)
    rows.append(("Phone recognition, no transcript (RTF)", f"{tb / dur:.3f} (bare pocketsphinx)", f"{to / dur:.3f}",
                 f"{tb / to:.2f}×"))
    tb = best_of(lambda: bare_vad(x), rep)
    to = best_of(lambda: vad.speech_segments(vad.speech_probability(x), dur), rep)
    rows.append(("Voice activity (RTF)", f"{tb / dur:.4f} (bare silero jit)", f"{to / dur:.4f}", f"{tb / to:.2f}×"))
    import tempfile

    import soundfile as sf

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "librivox.wav"
        sf.write(wav, x, 16000)
        t = time.perf_counter()
        r = run_to_end(speech_job(str(wav), "source_voice", None, [25, 1], text))
        whole = time.perf_counter() - t
    rows.append(("Speech analysis of a clip: features, VAD, alignment, visemes (RTF)", "1.0 (real time)",
                 f"{whole / dur:.3f}", f"{dur / whole:.0f}× real time"))
    speed = viseme_model_speed(dur, r.visemes or visemes.from_phones(r.phones), 5 if quick else 20)
    rows.append(("Viseme model: speech → driven face (output frames/s; × real time at 25 fps)",
                 "25 (real time; goal 100×)", f"{speed:,.0f}", f"{speed / 25:,.0f}× real time"))
    plain, ours, fps = mouth_training(OUT, shared, 100 if quick else 300)
    rows.append(("Speech → mouth model (mouth-cpu) training, cpu (steps/s)", f"{plain:.1f} (plain fp32 loop)",
                 f"{ours:.1f} (the shared training loop)", f"{ours / plain:.2f}×"))
    rows.append(("Speech → mouth model prediction (output frames/s; × real time at 25 fps)",
                 "25 (real time; goal 100×)", f"{fps:,.0f}", f"{fps / 25:,.0f}× real time"))
    return rows


def mouth_training(out: Path, shared: Path, steps: int) -> tuple[float, float, float]:
    """(plain loop steps/s, AV Studio's steps/s, prediction frames/s) of the speech → mouth model on
    psychopy_testMovie.mp4 (its face and speech analysed first)."""
    import shutil

    import torch

    from avstudio.core.progress import run_to_end
    from avstudio.core.store import load_project, save_project
    from avstudio.ml.lipsync.mouth import MouthNet, batch, losses
    from avstudio.ml.lipsync.mouth_data import speech_inputs
    from avstudio.ml.lipsync.mouth_train import MouthModel, train_mouth, training_data
    from avstudio.ml.lipsync.presets import mouth_config
    from avstudio.workflows.landmarks import analyse
    from avstudio.workflows.lipsync.speech import analyse_speech
    from avstudio.workflows.operation import run_now
    from avstudio.workflows.project import create_project

    folder = out / "speech_bench.avproj"
    shutil.rmtree(folder, ignore_errors=True)
    p = create_project(folder, target=shared / "face" / "psychopy_testMovie.mp4")
    run_now(p, analyse(p, "target", "face"))
    run_now(p, analyse_speech(p, "target"))
    save_project(p)
    cfg = mouth_config("mouth-cpu", steps=steps)
    data, basis, _ = training_data(load_project(folder), cfg)
    torch.manual_seed(0)
    net = MouthNet(visemes=data.vis.shape[1], hidden=cfg["hidden"], k=cfg["k"], kernel=cfg["kernel"])
    opt = torch.optim.Adam(net.parameters(), lr=cfg["lr"])
    mean, comp = torch.from_numpy(basis.mean), torch.from_numpy(basis.components)
    t = time.perf_counter()
    for s in range(steps):
        mel, vis, coef, us, spk = (torch.from_numpy(a) for a in batch(data, 0, s, cfg["batch"], cfg["length"], 0.3))
        loss = losses(net(mel, vis), coef, us, spk, mean, comp, cfg)["total"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    plain = steps / (time.perf_counter() - t)
    t = time.perf_counter()
    run_to_end(train_mouth(str(folder), steps=steps, model_id="bench", device="cpu"))
    ours = steps / (time.perf_counter() - t)
    model = MouthModel.load(str(folder), "bench")
    inputs = speech_inputs(load_project(folder), "target", 25.0)
    t = time.perf_counter()
    for _ in range(5):
        model.offsets(inputs)
    return plain, ours, 5 * len(inputs.mel) / (time.perf_counter() - t)

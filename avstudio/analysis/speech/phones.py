"""Words and phones with their times, from pocketsphinx's en-US model (BSD; the wheel carries the
acoustic model, the dictionary and the phone language model): forced alignment to a transcript, or
phone recognition without one. Times are seconds; pocketsphinx works on 10 ms frames of 16 kHz
16-bit mono PCM."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from avstudio.core.errors import UserError

FRAME_S = 0.01
SILENCES = {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]"}
MAX_TRANSCRIPT_CHARS = 200_000
MAX_ALIGN_S = 600.0           # one alignment pass over at most 10 minutes of sound


@dataclass
class Alignment:
    words: list[tuple[float, float, str]] = field(default_factory=list)
    phones: list[tuple[float, float, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)   # transcript words the dictionary does not know
    aligned: bool = False                              # False: recognized phones (no transcript used)


def _pcm(x16k: np.ndarray) -> bytes:
    return (np.clip(np.asarray(x16k, np.float64), -1, 1) * 32767).astype("<i2").tobytes()


def _decoder(**kw):
    from pocketsphinx import Decoder

    return Decoder(loglevel="FATAL", **kw)


def _decode(decoder, pcm: bytes) -> None:
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def transcript_words(text: str) -> list[str]:
    """The words of a typed or imported transcript, as the dictionary spells them: lower case,
    punctuation dropped (apostrophes inside words kept)."""
    if len(text) > MAX_TRANSCRIPT_CHARS:
        raise UserError(f"The transcript is {len(text):,} characters long: at most {MAX_TRANSCRIPT_CHARS:,} are read.")
    text = re.sub(r"[\u2018\u2019\u02bc\u2032`]", "'", text.lower())   # typographic apostrophes: don’t → don't
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)*", text)


def align(x16k: np.ndarray, text: str) -> Alignment:
    """Words and phones of ``text`` placed on the audio (two passes: words, then phones inside them).
    Words the dictionary does not know are left out (listed in ``skipped``). Raises a UserError when
    the transcript cannot be laid on the audio at all."""
    if len(x16k) / 16000.0 > MAX_ALIGN_S:
        raise UserError(f"The sound is {len(x16k) / 16000:.0f} s long: align at most {MAX_ALIGN_S / 60:.0f} minutes "
                        "at a time (choose a range).")
    words = transcript_words(text)
    decoder = _decoder(lm=None)
    known = [w for w in words if decoder.lookup_word(w) is not None]
    skipped = [w for w in words if decoder.lookup_word(w) is None]
    if not known:
        raise UserError("No word of the transcript is in the English pronunciation dictionary"
                        + (f" (not found: {', '.join(skipped[:8])})" if skipped else "") + ".")
    pcm = _pcm(x16k)
    decoder.set_align_text(" ".join(known))
    _decode(decoder, pcm)
    try:
        if decoder.hyp() is None:
            raise RuntimeError
        decoder.set_alignment()
        _decode(decoder, pcm)
        entries = decoder.get_alignment()
    except RuntimeError:
        raise UserError("The transcript could not be laid on this sound: check that it is what is said "
                        "(or leave it empty to recognize the phones).") from None
    out = Alignment(skipped=skipped, aligned=True)
    for word in entries or ():
        name = re.sub(r"\(\d+\)$", "", word.name)
        if name not in SILENCES:
            out.words.append((word.start * FRAME_S, (word.start + word.duration) * FRAME_S, name))
        for ph in word:
            out.phones.append((ph.start * FRAME_S, (ph.start + ph.duration) * FRAME_S, ph.name))
    return out


def recognize(x16k: np.ndarray) -> Alignment:
    """Phones recognized without a transcript (pocketsphinx's phone loop with its phone language
    model): speaker-independent but noisier than an alignment."""
    from pocketsphinx import get_model_path

    decoder = _decoder(allphone=get_model_path("en-us/en-us-phone.lm.bin"), lw=2.0, beam=1e-20, pbeam=1e-20)
    _decode(decoder, _pcm(x16k))
    out = Alignment()
    for s in decoder.seg():
        out.phones.append((s.start_frame * FRAME_S, (s.end_frame + 1) * FRAME_S, s.word))
    return out

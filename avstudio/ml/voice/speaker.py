"""Speaker similarity with a pretrained GE2E speaker encoder (Wan et al. 2018), the one Resemblyzer
0.1.4 ships inside its PyPI wheel (resemblyzer/pretrained.pt). Only the weights are used, read with
``torch.load(weights_only=True)`` — tensors only, nothing executed — into the network below (3-layer
LSTM, 256 units, a linear layer and ReLU, L2-normalised); Resemblyzer's own code is not imported
(it needs the webrtcvad C extension). Its voice-activity trimming is replaced by dropping the
frames 40 dB below the loudest. Similarity = cosine of the utterances' embeddings (0..1 here:
the embeddings are non-negative); same speaker typically > 0.75.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch
from torch import nn

from avstudio.core.errors import UserError

RATE = 16000
N_MELS, WIN, HOP = 40, 400, 160   # 25 ms window, 10 ms step at 16 kHz
PARTIAL = 160                      # frames per partial utterance (1.6 s)
PARTIAL_STEP = 77                  # ≈1.3 partials per second, as Resemblyzer


class GE2EEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(N_MELS, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(mels)
        e = torch.relu(self.linear(hidden[-1]))
        return e / e.norm(dim=1, keepdim=True).clamp_min(1e-9)


def weights_path() -> Path | None:
    spec = importlib.util.find_spec("resemblyzer")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]) / "pretrained.pt"
    return p if p.is_file() else None


_ENCODER: GE2EEncoder | None = None


def encoder() -> GE2EEncoder:
    global _ENCODER
    if _ENCODER is None:
        p = weights_path()
        if p is None:
            raise UserError("The speaker encoder's weights are not installed (pip install --no-deps resemblyzer==0.1.4).")
        state = torch.load(p, map_location="cpu", weights_only=True)["model_state"]
        enc = GE2EEncoder()
        enc.load_state_dict({k: v for k, v in state.items() if not k.startswith("similarity_")})
        _ENCODER = enc.eval()
    return _ENCODER


def mel_frames(wav: np.ndarray) -> np.ndarray:
    """(frames, 40) mel power spectrogram of 16 kHz audio (volume raised to −30 dBFS, silence dropped)."""
    import librosa

    wav = np.asarray(wav, np.float32)
    rms = float(np.sqrt(np.mean(wav ** 2))) if len(wav) else 0.0
    if rms <= 0:
        raise UserError("The audio is silent: no speaker to compare.")
    gain = 10 ** (-30 / 20) / rms
    wav = wav * max(gain, 1.0)  # increase only, as Resemblyzer
    mel = librosa.feature.melspectrogram(y=wav, sr=RATE, n_fft=WIN, hop_length=HOP, n_mels=N_MELS).T
    energy = 10 * np.log10(mel.sum(1) + 1e-10)
    return mel[energy > energy.max() - 40].astype(np.float32)


@torch.no_grad()
def embed(wav: np.ndarray) -> np.ndarray:
    """The L2-normalised speaker embedding (256,) of one utterance (16 kHz mono)."""
    mel = mel_frames(wav)
    if len(mel) < PARTIAL:
        mel = np.pad(mel, ((0, PARTIAL - len(mel)), (0, 0)))
    starts = list(range(0, len(mel) - PARTIAL + 1, PARTIAL_STEP)) or [0]
    parts = torch.from_numpy(np.stack([mel[s:s + PARTIAL] for s in starts]))
    e = encoder()(parts).mean(0).numpy()
    return e / max(np.linalg.norm(e), 1e-9)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two utterances' speaker embeddings."""
    return float(np.dot(embed(a), embed(b)))

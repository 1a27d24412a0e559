"""Layer names: what a track holds for its clip (``meta['layer']``). A clip has at most one track
per layer; tracks are found by (clip, layer) with :meth:`Project.find_track`."""

from __future__ import annotations

# Points (PointTrack): body pose, face landmarks, and the source pose normalized into the target.
POSE = "pose"
FACE = "face"
NORMALIZED = "normalized"
# Voice (WORLD, 5 ms grid): the editable pitch curve, the analysed one kept for Reset, the
# spectral envelope as MCEPs, the coded aperiodicity; and rendered audio (the converted voice).
F0 = "f0"
F0_ANALYSED = "f0-analysed"
MCEP = "mcep"
AP = "ap"
AUDIO = "audio"

VOICE_LAYERS = (F0, F0_ANALYSED, MCEP, AP)
POINT_LAYERS = (POSE, FACE, NORMALIZED)

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

# Face (lip sync): MediaPipe's depth of every face point, and what face analysis derives per frame —
# the head pose against the clip's rigid reference face, the landmarks turned frontal (pose removed)
# and the mouth and eye curves. The driven clip holds the face to render and the frame schedule.
FACE_DEPTH = "face-depth"
HEAD_POSE = "head-pose"
FRONTAL = "face-frontal"
FACE_CURVES = "face-curves"
DRIVEN = "driven-face"
SCHEDULE = "schedule"

# Speech (lip sync's driving sound; on any clip with sound): loudness and speech probability per
# video frame, the log-mel spectrum and MFCCs (12.5 ms grid), and labelled time spans — speech
# (voice activity), words and phones aligned to a transcript (or recognized), and the visemes the
# mouth is driven by (the editable row).
SPEECH = "speech"
MEL = "mel"
MFCC = "mfcc"
VOICE_ACTIVITY = "voice-activity"
WORDS = "words"
PHONES = "phones"
VISEMES = "visemes"

VOICE_LAYERS = (F0, F0_ANALYSED, MCEP, AP)
POINT_LAYERS = (POSE, FACE, NORMALIZED)
FACE_ANALYSIS_LAYERS = (HEAD_POSE, FRONTAL, FACE_CURVES)
SPEECH_LAYERS = (SPEECH, MEL, MFCC, VOICE_ACTIVITY, WORDS, PHONES, VISEMES)

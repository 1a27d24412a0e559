"""Roles and clips: the one vocabulary for "which media" and "whose tracks".

A **role** is what a media file is in a project: the source clip (the motion, the words), the
target clip (the person to become), the two speakers' voice recordings, or other material.

A **clip** is what tracks belong to (a track's ``meta['clip']``): a role, ``converted`` — the voice
made by voice conversion, which has tracks and audio but no media file of its own — or ``driven``,
the face lip sync renders: the face a driver (the source's face, the target's own face edited by
hand, or speech) makes the target's face do, on the driver's frames.
"""

from __future__ import annotations

SOURCE = "source"
TARGET = "target"
SOURCE_VOICE = "source_voice"
TARGET_VOICE = "target_voice"
OTHER = "other"
CONVERTED = "converted"
DRIVEN = "driven"

VIDEO_ROLES = (SOURCE, TARGET)
VOICE_ROLES = (SOURCE_VOICE, TARGET_VOICE)
MEDIA_ROLES = VIDEO_ROLES + VOICE_ROLES + (OTHER,)
#: Clips whose voice can be analysed: the voice recordings and the video clips' soundtracks.
VOICE_CLIPS = VOICE_ROLES + VIDEO_ROLES
#: Clips that can carry a pitch curve.
PITCH_CLIPS = VOICE_CLIPS + (CONVERTED,)

_LABELS = {SOURCE: "source clip", TARGET: "target clip", SOURCE_VOICE: "source voice",
           TARGET_VOICE: "target voice", OTHER: "other media", CONVERTED: "converted voice",
           DRIVEN: "driven face"}


def label(clip: str) -> str:
    """How a sentence names a clip: "source voice", "target clip"."""
    return _LABELS.get(clip, clip.replace("_", " "))


def short(clip: str) -> str:
    """The clip's name without "clip": "source", "target voice" (menu items, file names)."""
    return clip.replace("_", " ")


def title(clip: str) -> str:
    """Title case for menus: "Source Voice"."""
    return short(clip).title()


def is_video(role: str) -> bool:
    return role in VIDEO_ROLES

"""Visemes: the mouth shapes phones make, from the table in visemes.json (data, not code: each
viseme's phones, its mouth as a share of the speaker's own range, its dominance over neighbours)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

SILENCE = "sil"
BILABIAL = "PP"


@dataclass(frozen=True)
class Viseme:
    name: str
    phones: tuple[str, ...]
    open: float       # 0 closed .. 1 the person's widest opening
    width: float      # -1 pursed .. 1 spread
    dominance: float
    text: str


@functools.lru_cache(maxsize=1)
def table() -> dict[str, Viseme]:
    data = json.loads((Path(__file__).with_name("visemes.json")).read_text(encoding="utf-8"))
    return {name: Viseme(name, tuple(v["phones"]), float(v["open"]), float(v["width"]), float(v["dominance"]),
                         v["text"]) for name, v in data["visemes"].items()}


def names() -> list[str]:
    return list(table())


@functools.lru_cache(maxsize=1)
def _by_phone() -> dict[str, str]:
    return {p: v.name for v in table().values() for p in v.phones}


def of_phone(phone: str) -> str:
    """The viseme of a phone (unknown phones and noises are silence)."""
    return _by_phone().get(phone.upper(), SILENCE)


def from_phones(phones: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """Viseme blocks of phone spans: neighbours with the same viseme joined, silence left out (the gaps
    between blocks are silence)."""
    out: list[list] = []
    for a, b, p in phones:
        v = of_phone(p)
        if v == SILENCE or b <= a:
            continue
        if out and out[-1][2] == v and a - out[-1][1] < 1e-6:
            out[-1][1] = b
        else:
            out.append([a, b, v])
    return [(a, b, v) for a, b, v in out]

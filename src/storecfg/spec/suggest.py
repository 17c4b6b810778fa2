"""Did-you-mean: the known name closest to a misspelt one, for messages."""

from __future__ import annotations

import difflib
from typing import Any


def closest(word: str, candidates: Any) -> str | None:
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, candidates: Any) -> str:
    match = closest(word, candidates)
    return f"; did you mean {match!r}?" if match else ""


def field_hint(word: str, known: list[str]) -> str:
    """Names the known field closest to an unknown one: "did you mean" for a likely typo,
    else the nearest by spelling (a field that contains the word, or that it contains,
    first), so the message always says what the schema does know (unless the word is far
    longer than any field name)."""
    if not known:
        return ""
    hint = did_you_mean(word, known)
    if hint or len(word) > 100:  # no field name is that long: not worth comparing
        return hint
    lowered = word.lower()

    def ratio(a: str, b: str) -> float:
        return difflib.SequenceMatcher(None, a, b).ratio()

    def nearness(name: str) -> tuple[bool, float, float]:
        contained = name in lowered or lowered in name
        # word by word, so `colour_scheme` finds `primary_color`
        words = max(ratio(a, b) for a in lowered.split("_") for b in name.split("_"))
        return (contained, words, ratio(lowered, name))

    return f"; the closest known field is {max(known, key=nearness)!r}"

"""How close two descriptions are, for Japanese text without spaces.

The measure is character bigrams over normalised text: NFKC, lower case, and
everything that is not a letter or a digit removed (spaces, punctuation,
symbols), so a copy does not hide behind reformatting. Japanese is not split
into words by spaces, and bigrams of characters are the usual unit for it.

`containment(source, text)` is the share of `source`'s distinct bigrams that
also occur in `text`. It is used instead of plain Jaccard because a copied
example padded with text of one's own keeps all of the example's bigrams while
its Jaccard falls with every added sentence. Between two descriptions the
shorter one is the source, for the same reason. Pure functions: tested with
hypothesis (tests/test_deemed_similarity.py), measured on 50 honest
descriptions (docs/deemed-attendance.md).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# A description that holds this share of an example's bigrams copies it.
EXAMPLE_THRESHOLD = 0.5
# Two applicants' descriptions this close are flagged for the operator.
PEER_THRESHOLD = 0.5


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def bigrams(text: str) -> frozenset[str]:
    norm = normalise(text)
    return frozenset(norm[i : i + 2] for i in range(len(norm) - 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def containment(source: frozenset[str], text: frozenset[str]) -> float:
    """Share of `source`'s bigrams found in `text` (0 when `source` is empty)."""
    if not source:
        return 0.0
    return len(source & text) / len(source)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Symmetric: the shorter text's containment in the longer one."""
    source, text = (a, b) if len(a) <= len(b) else (b, a)
    return containment(source, text)


@dataclass(frozen=True)
class Match:
    key: object
    score: float


def closest(text: str, candidates: Iterable[tuple[object, str]]) -> Match | None:
    """The most similar candidate as (key, score), or None without candidates."""
    grams = bigrams(text)
    best: Match | None = None
    for key, other in candidates:
        score = similarity(grams, bigrams(other))
        if best is None or score > best.score:
            best = Match(key, score)
    return best


def copied_example(text: str, examples: Iterable[tuple[object, str]]) -> Match | None:
    """The published example `text` copies, if any: the example's own bigrams
    found in `text` reach `EXAMPLE_THRESHOLD`."""
    grams = bigrams(text)
    best: Match | None = None
    for key, example in examples:
        score = containment(bigrams(example), grams)
        if score >= EXAMPLE_THRESHOLD and (best is None or score > best.score):
            best = Match(key, score)
    return best

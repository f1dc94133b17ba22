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

import re
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

# A description that holds this share of an example's bigrams copies it.
EXAMPLE_THRESHOLD = 0.5
# Two applicants' descriptions this close are flagged for the operator.
PEER_THRESHOLD = 0.5


_TABLE_SIZE = 1 << 20
_TABLE_MASK = np.uint32(_TABLE_SIZE - 1)
_NOT_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """NFKC, lower case, letters and digits only."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


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


def fingerprint(text: str) -> bytes:
    """The bigram set as sorted unique CRC-32 values (4 bytes each), stored
    with each application so the peer check never re-reads descriptions.
    Two different bigrams sharing a CRC among a text's few hundred is
    vanishingly rare, and would only raise a score by one bigram."""
    values = np.fromiter((zlib.crc32(g.encode()) for g in bigrams(text)), dtype=np.uint32, count=-1)
    return np.unique(values).astype("<u4").tobytes()


def closest_fingerprint(text: str, candidates: Iterable[tuple[object, bytes]]) -> Match | None:
    """`closest` over stored fingerprints, in one vectorised pass: every
    candidate's values concatenated, membership in the new text's set, summed
    per candidate. The score is `similarity`: the shorter set's share found in
    the other."""
    new = np.frombuffer(fingerprint(text), dtype="<u4")
    keys: list[object] = []
    arrays: list[np.ndarray] = []
    for key, stored in candidates:
        keys.append(key)
        arrays.append(np.frombuffer(bytes(stored), dtype="<u4"))
    if not keys or not len(new):
        return None
    sizes = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))
    values = np.concatenate(arrays) if arrays else np.empty(0, dtype="<u4")
    owners = np.repeat(np.arange(len(arrays)), sizes)
    # A 2^20-entry table of the new text's low bits rules out nearly every
    # value with one gather; only the survivors get the exact binary search.
    table = np.zeros(_TABLE_SIZE, dtype=bool)
    table[new & _TABLE_MASK] = True
    maybe = np.flatnonzero(table[values & _TABLE_MASK])
    at = np.searchsorted(new, values[maybe]).clip(max=len(new) - 1)
    hits = maybe[new[at] == values[maybe]]
    shared = np.bincount(owners[hits], minlength=len(arrays))
    smaller = np.minimum(sizes, len(new))
    scores = np.divide(shared, smaller, out=np.zeros(len(arrays)), where=smaller > 0)
    best = int(np.argmax(scores))
    return Match(keys[best], float(scores[best]))


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

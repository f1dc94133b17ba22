"""Japanese text normalisation for search.

Users type the same word many ways: full- or half-width (ＡＢＣ, ｱｲｳ), hiragana
or katakana (らんさむ / ランサム), upper or lower case. Both the indexed text and
the query go through `normalize_for_search`, so a plain substring test works on
text without word boundaries (「ランサム」 finds 「ランサムウェア」).
"""

from __future__ import annotations

import re
import unicodedata

_HIRAGANA_TO_KATAKANA = {cp: cp + 0x60 for cp in range(0x3041, 0x3097)}
_SPACE = re.compile(r"\s+")


def normalize_for_search(text: str) -> str:
    """NFKC, case-fold, hiragana -> katakana, whitespace collapsed to one space."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_HIRAGANA_TO_KATAKANA)
    return _SPACE.sub(" ", text).strip()


def search_terms(query: str) -> list[str]:
    """Split a query on whitespace (including the ideographic space) into terms."""
    normalized = normalize_for_search(query)
    return [term for term in normalized.split(" ") if term]

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


def normalize_many(texts: list[str]) -> list[str]:
    """`normalize_for_search` over many texts at once; same result, about 10x faster.

    The costly parts, NFKC and the kana map, are done as array arithmetic over
    one joined corpus for the characters Japanese text actually carries
    (full-width ASCII, the ideographic space, hiragana); a row still holding
    anything NFKC would change (half-width katakana, circled digits, ...) then
    goes through real NFKC.
    """
    import numpy as np

    if not texts:
        return []
    # NUL separates rows below; stored text never holds one (imports reject it).
    joined_in = "\x00".join(t.replace("\x00", "") for t in texts)
    corpus = np.frombuffer(joined_in.encode("utf-32-le"), dtype=np.uint32).copy()
    wide = (corpus >= 0xFF01) & (corpus <= 0xFF5E)
    corpus[wide] -= 0xFEE0
    corpus[corpus == 0x3000] = 0x20
    rows = corpus.tobytes().decode("utf-32-le").split("\x00")
    out = []
    for row in rows:
        if not unicodedata.is_normalized("NFKC", row):
            row = unicodedata.normalize("NFKC", row)
        out.append(row.casefold())
    folded = np.frombuffer("\x00".join(out).encode("utf-32-le"), dtype=np.uint32).copy()
    hiragana = (folded >= 0x3041) & (folded <= 0x3096)
    folded[hiragana] += 0x60
    joined = _SPACE_NOT_NUL.sub(" ", folded.tobytes().decode("utf-32-le"))
    return [row.strip() for row in joined.split("\x00")]


_SPACE_NOT_NUL = re.compile(r"[^\S\x00]+")


# -- untrusted text: control and invisible characters ------------------------------------
#
# The rule (docs/data-model.md, "Text rule"), applied to every text input (form
# fields, query strings, JSON bodies, import cells), after NFKC where the input
# is NFKC-normalised (NFKC never removes these characters):
#
# - Control characters (C0, DEL, C1) are refused everywhere. PostgreSQL cannot
#   store NUL at all, CR/LF in a single-line value is how a mail header is
#   forged, and the rest is copy-paste debris. Multi-line text (a Textarea, a
#   profile cell) may hold tab, LF and CR; single-line text may not.
# - Invisible formatting characters (bidi embeddings, overrides, isolates and
#   marks; zero-width spaces and joiners; the word joiner; U+FEFF; the soft
#   hyphen) are refused in single-line values such as names and titles, where
#   U+202E can make 「山田太郎」 display as something else and a zero-width space
#   makes two identical-looking names differ. Free text only loses them: nothing
#   Japanese prose needs is lost, and refusing a pasted paragraph for an
#   invisible character would be unexplainable to its author.

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Multi-line text keeps tab, LF and CR (and the Unicode line/paragraph separators).
CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]"
)
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_SHOWN = re.compile(f"{CONTROL.pattern}|{INVISIBLE.pattern}")


class UnsafeText(ValueError):
    """Text holding a character the text rule refuses.

    `kind` is "newline", "control" or "invisible"; `char` the first offender.
    Callers word the message, naming their field; `code_point` reads "U+202E".
    """

    def __init__(self, kind: str, char: str) -> None:
        super().__init__(f"{kind} character {code_point(char)}")
        self.kind = kind
        self.char = char

    @property
    def code_point(self) -> str:
        return code_point(self.char)


def code_point(char: str) -> str:
    return f"U+{ord(char):04X}"


def reject_control(text: str, *, multiline: bool) -> str:
    """`text` unchanged, or UnsafeText for its first control character."""
    found = (CONTROL_MULTILINE if multiline else CONTROL).search(text)
    if found:
        char = found.group()
        line_break = not multiline and char in _LINE_BREAKS
        raise UnsafeText("newline" if line_break else "control", char)
    return text


def clean_single_line(text: str) -> str:
    """A name, title or search term: `text` unchanged, or UnsafeText (any control
    character, line breaks included, or any invisible formatting character)."""
    reject_control(text, multiline=False)
    found = INVISIBLE.search(text)
    if found:
        raise UnsafeText("invisible", found.group())
    return text


def clean_free_text(text: str) -> str:
    """Multi-line prose: UnsafeText for a control character other than tab, LF
    and CR; invisible formatting characters are removed."""
    reject_control(text, multiline=True)
    return INVISIBLE.sub("", text)


def visible(text: str) -> str:
    """`text` with every control and invisible character written as an escape
    (\\x00, \\u202e), for messages, logs and audit data: PostgreSQL refuses NUL
    in text and jsonb, and an operator must see what the file actually holds."""
    return _SHOWN.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def text_width(text: str, font_size: int = 13) -> int:
    """An estimate of rendered width in pixels, for laying out server-drawn SVG:
    full-width characters are about one em, others about 0.6 em."""
    em = sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in text)
    return int(em * font_size + 0.5)

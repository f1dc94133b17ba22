"""The Japanese font every generated PDF uses (reportlab).

HeiseiKakuGo-W5 is one of reportlab's built-in CID fonts: PDF viewers supply
the glyphs, so no font file is shipped or embedded and the files stay small.
"""

from __future__ import annotations

from functools import cache

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont

FONT = "HeiseiKakuGo-W5"


@cache
def register_japanese_font() -> str:
    """Registered once per process (reportlab keeps fonts in a global registry);
    returns the font name to use in styles."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT

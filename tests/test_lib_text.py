"""The text rule (sekispe.lib.text): control and invisible characters, issue 13
findings 4, 9 and 10. Properties over arbitrary text, plus the named cases."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sekispe.lib.text import (
    CONTROL,
    CONTROL_MULTILINE,
    INVISIBLE,
    UnsafeText,
    clean_free_text,
    clean_single_line,
    reject_control,
    visible,
)

FAST = settings(max_examples=300, deadline=None)
# Ordinary Japanese text: kanji, kana, full- and half-width ASCII, the ideographic space.
JAPANESE = st.text(
    st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.characters(min_codepoint=0x3041, max_codepoint=0x30FF),
        st.characters(min_codepoint=0xFF01, max_codepoint=0xFF9F),
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.sampled_from("\u3000。、「」ー・（）"),
    )
)
# Arbitrary text, with the characters the rule is about made likely.
ANY = st.text(
    st.one_of(
        st.characters(),
        st.sampled_from("\x00\x07\t\n\r\x85\x9f\u2028\u200b\u200d\u202e\u2066\ufeff\u00ad"),
    )
)


@FAST
@given(ANY)
def test_single_line_output_never_holds_a_control_or_invisible_character(text):
    try:
        out = clean_single_line(text)
    except UnsafeText as exc:
        assert exc.char in text
        return
    assert out == text
    assert not CONTROL.search(out) and not INVISIBLE.search(out)


@FAST
@given(ANY)
def test_free_text_output_never_holds_a_stray_control_or_invisible_character(text):
    try:
        out = clean_free_text(text)
    except UnsafeText as exc:
        assert exc.kind == "control" and CONTROL_MULTILINE.fullmatch(exc.char)
        return
    assert not CONTROL_MULTILINE.search(out) and not INVISIBLE.search(out)
    assert clean_free_text(out) == out  # idempotent


@FAST
@given(ANY)
def test_nfkc_text_that_passes_stays_passing_and_idempotent(text):
    normalized = unicodedata.normalize("NFKC", text)
    try:
        out = clean_single_line(normalized)
    except UnsafeText:
        return
    assert clean_single_line(unicodedata.normalize("NFKC", out)) == out


@FAST
@given(JAPANESE)
def test_ordinary_japanese_text_passes_unchanged(text):
    assert clean_single_line(text) == text
    assert clean_free_text(text) == text
    assert clean_free_text(f"{text}\r\n{text}\t") == f"{text}\r\n{text}\t"
    assert visible(text) == text


@FAST
@given(ANY)
def test_visible_leaves_no_control_or_invisible_character(text):
    shown = visible(text)
    assert not CONTROL.search(shown) and not INVISIBLE.search(shown)


@pytest.mark.parametrize(
    ("text", "kind", "char"),
    [
        ("Evil Co\r\nBcc: x@example.jp", "newline", "\r"),
        ("a\u2028b", "newline", "\u2028"),
        ("ab\x00cd", "control", "\x00"),
        ("tab\there", "control", "\t"),
        ("山田\u202e太郎", "invisible", "\u202e"),
        ("\ufeff山田", "invisible", "\ufeff"),
    ],
)
def test_single_line_names_the_first_offender(text, kind, char):
    with pytest.raises(UnsafeText) as info:
        clean_single_line(text)
    assert (info.value.kind, info.value.char) == (kind, char)
    assert info.value.code_point == f"U+{ord(char):04X}"


def test_multi_line_keeps_line_breaks_and_tabs_but_not_nul():
    assert reject_control("一\r\n二\t三", multiline=True) == "一\r\n二\t三"
    with pytest.raises(UnsafeText):
        reject_control("一\x00", multiline=True)
    assert clean_free_text("ゼロ\u200b幅\u202e") == "ゼロ幅"


def test_visible_escapes_for_messages_and_audit_data():
    assert visible("12\x003456") == "12\\x003456"
    assert visible("山田\u202e") == "山田\\u202e"

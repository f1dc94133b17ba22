"""The copied-description check: properties, and the honest set.

A verbatim or near-verbatim copy of a published example is always refused;
unrelated text never is; and none of 50 honest descriptions written for this
test (sekispe/devtools/demo/data/deemed_descriptions.json) is refused or flagged.
"""

from __future__ import annotations

import json
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sekispe.deemed import similarity
from sekispe.deemed.examples import EXAMPLES
from sekispe.deemed.services import DeemedRefused, check_description
from sekispe.devtools.demo.deemed import DESCRIPTIONS

# Written for this measurement; the demo data uses the same descriptions.
HONEST = json.loads(DESCRIPTIONS.read_text("utf-8"))
EXAMPLE_TEXTS = [(n, e.text) for n, e in enumerate(EXAMPLES)]
# Characters that occur in no example, so text made of them shares no bigram.
USED = set("".join(similarity.normalise(e.text) for e in EXAMPLES))
FOREIGN = st.sampled_from(
    [c for c in "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"
     "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン"
     "ぁぃぅぇぉゃゅょ" if similarity.normalise(c) and c not in USED]
)  # fmt: skip


def _edit(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply (kind, position, char) edits: 0 substitute, 1 insert, 2 delete."""
    chars = list(text)
    for kind, position, char in edits:
        i = position % max(len(chars), 1)
        if kind == 0:
            chars[i] = char
        elif kind == 1:
            chars.insert(i, char)
        elif len(chars) > 1:
            del chars[i]
    return "".join(chars)


@settings(max_examples=200, deadline=None)
@given(
    example=st.sampled_from(EXAMPLES),
    edits=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 10_000), st.characters(codec="utf-8")),
        max_size=25,
    ),
    prefix=st.text(max_size=200),
    suffix=st.text(max_size=200),
)
def test_a_near_verbatim_copy_of_an_example_is_always_refused(example, edits, prefix, suffix):
    # Up to 25 single-character edits (about 5 % of an example), anywhere, plus
    # any text around it: reformatting, a changed word, an added paragraph.
    copy = prefix + _edit(example.text, edits) + suffix
    match = similarity.copied_example(copy, EXAMPLE_TEXTS)
    assert match is not None
    assert match.score >= similarity.EXAMPLE_THRESHOLD


@settings(max_examples=200, deadline=None)
@given(example=st.sampled_from(EXAMPLES), spacing=st.sampled_from([" ", "\n", "　", "、", "・"]))
def test_reformatting_does_not_hide_a_copy(example, spacing):
    spaced = spacing.join(example.text)
    wide = example.text.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    for copy in (spaced, wide):
        assert similarity.copied_example(copy, EXAMPLE_TEXTS) is not None


@settings(max_examples=200, deadline=None)
@given(st.text(FOREIGN, max_size=900) | st.text(max_size=900))
def test_unrelated_text_is_never_refused_as_a_copy(text):
    # Text from characters no example uses shares no bigram with them; arbitrary
    # Unicode text shares at most a chance handful, far from half an example.
    assert similarity.copied_example(text, EXAMPLE_TEXTS) is None


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=600), st.text(max_size=600))
def test_the_peer_measure_is_symmetric_and_bounded(a, b):
    ga, gb = similarity.bigrams(a), similarity.bigrams(b)
    assert similarity.similarity(ga, gb) == similarity.similarity(gb, ga)
    assert 0.0 <= similarity.similarity(ga, gb) <= 1.0
    assert similarity.similarity(ga, ga) == (1.0 if ga else 0.0)


def test_the_honest_set_is_fifty_different_descriptions():
    assert len(HONEST) == 50
    assert len({d["text"] for d in HONEST}) == 50
    assert len({d["syllabus"] for d in HONEST}) >= 20
    assert all(len("".join(d["text"].split())) >= 400 for d in HONEST)


@pytest.mark.parametrize("n", range(50))
def test_no_honest_description_is_refused(n):
    # check_description raises DeemedRefused for a copy; it must not here.
    try:
        check_description(HONEST[n]["text"])
    except DeemedRefused as refusal:  # pragma: no cover - the failure message
        pytest.fail(f"honest description {n} refused: {refusal.message}")


def test_no_two_honest_descriptions_are_flagged_as_similar():
    grams = [similarity.bigrams(d["text"]) for d in HONEST]
    flagged = [
        (i, j, round(similarity.similarity(grams[i], grams[j]), 3))
        for i, j in combinations(range(len(grams)), 2)
        if similarity.similarity(grams[i], grams[j]) >= similarity.PEER_THRESHOLD
    ]
    assert flagged == []


@pytest.mark.parametrize("n", range(len(EXAMPLES)))
def test_each_example_itself_is_refused_with_its_title(n):
    with pytest.raises(DeemedRefused) as refusal:
        check_description(EXAMPLES[n].text)
    assert EXAMPLES[n].title in refusal.value.message
    assert refusal.value.field == "description"


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=500), st.lists(st.text(max_size=500), min_size=1, max_size=8))
def test_the_stored_fingerprints_score_as_the_bigram_sets_do(text, others):
    # The vectorised pass over stored fingerprints (what services use) finds the
    # same closest score as comparing the bigram sets directly.
    direct = similarity.closest(text, list(enumerate(others)))
    stored = similarity.closest_fingerprint(
        text, [(n, similarity.fingerprint(o)) for n, o in enumerate(others)]
    )
    if not similarity.bigrams(text):
        assert stored is None or stored.score == 0.0
        return
    assert stored is not None and direct is not None
    assert abs(stored.score - direct.score) < 1e-9

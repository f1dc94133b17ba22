"""The diagnosis form's feedback (issue 15, point 9): an error names the
question and says what to do, without the question's text glued to it by a
colon; the page counts the answered questions; required questions say 必須 and
the optional company questions 任意."""

from __future__ import annotations

import re

import pytest

from sekispe.diagnosis import rules

pytestmark = pytest.mark.django_db

IDS = rules.current().ids


def _summary(html: str) -> str:
    match = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert match, "no error summary"
    return match.group(0)


def test_a_missing_answer_names_its_question_and_says_what_to_do(client):
    given = dict.fromkeys(IDS[:8], "done")
    response = client.post("/diagnosis/", given)
    assert response.status_code == 400
    html = response.content.decode()
    assert "。：" not in html
    summary = _summary(html)
    last = len(IDS)
    expected = f"設問{last}に答えてください。分からないときは「分からない」を選んでください。"
    assert f'<a href="#id_{IDS[-1]}">{expected}</a>' in summary
    # The question's own text is not repeated in the summary link.
    assert rules.current().questions[-1].text not in summary
    # Next to the question, the same sentence.
    assert f'<p class="field-error" id="id_{IDS[-1]}_error">{expected}</p>' in html


def test_the_start_page_says_how_many_questions_there_are(client):
    html = client.get("/diagnosis/").content.decode()
    assert f"全{len(IDS)}問" in html
    assert 'aria-live="polite"' in html
    assert 'data-template="25問中 {n}問回答済み"' in html
    assert '<script src="/static/js/diagnosis-progress.js" defer></script>' in html


def test_after_a_partial_submit_the_count_is_what_was_answered(client):
    given = dict.fromkeys(IDS[:8], "done") | {IDS[8]: "bogus"}  # not an answer
    html = client.post("/diagnosis/", given).content.decode()
    assert "25問中 8問回答済み" in html
    assert '<progress max="25" value="8" aria-hidden="true">' in html


def test_questions_say_required_and_company_questions_optional(client):
    html = client.get("/diagnosis/").content.decode()
    required = '<span class="field-tag field-tag-required">必須</span>'
    optional = '<span class="field-tag field-tag-optional">任意</span>'
    assert html.count(required) == len(IDS)
    assert html.count(optional) == len(rules.PROFILE_FIELDS)
    # A label reads as a heading: no colon before the tag.
    assert f'<label for="id_it_dependence">仕事でのITの使い方 {optional}</label>' in html

"""The downloadable PDF of a self-diagnosis result (sekispe.diagnosis.pdf).

No PDF parser is a dependency, so the text is read back from uncompressed page
streams: every string is drawn in the CID font as UTF-16BE inside `(...) Tj`.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import translation

from sekispe.core.mail import site_url
from sekispe.diagnosis import presentation, rules, services
from sekispe.diagnosis.pdf import render_pdf

pytestmark = pytest.mark.django_db

PROFILE = {
    "prefecture": "13",
    "industry": "E",
    "employees": "6-20",
    "it_dependence": "high",
    "customer_demand": "yes",
}
STEP1 = ("b1", "b2", "b3", "b4", "b5", "o1")


def answers_all(kind: str) -> dict[str, str]:
    return dict.fromkeys(rules.current().ids, kind)


def answers_mixed() -> dict[str, str]:
    """Step 1 done, then every answer kind in turn, "don't know" included."""
    cycle = ("partly", "unknown", "not_done", "done")
    answers = {q: cycle[n % len(cycle)] for n, q in enumerate(rules.current().ids)}
    return {**answers, **dict.fromkeys(STEP1, "done")}


ANSWER_SETS = ("all_not_done", "mixed", "all_done")


def answer_set(name: str) -> tuple[dict[str, str], dict[str, str]]:
    return {
        "all_not_done": (answers_all("not_done"), {}),
        "mixed": (answers_mixed(), PROFILE),
        "all_done": (answers_all("done"), {"prefecture": "27"}),
    }[name]


def context_for(answers: dict[str, str], profile: dict[str, str]) -> dict:
    diagnosis = services.record(answers, profile)
    return presentation.result_context(services.evaluation_of(diagnosis), diagnosis)


def _unescape(raw: bytes) -> bytes:
    simple = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}

    def one(m: re.Match[bytes]) -> bytes:
        s = m.group(1)
        if s[:1].isdigit():
            return bytes([int(s, 8)])
        return simple.get(s, s)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, raw, flags=re.S)


def pdf_text(pdf: bytes) -> str:
    """Every string shown, in drawing order, joined without separators (Japanese
    lines wrap between characters, so a wrapped sentence reads back whole)."""
    strings = re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", pdf, flags=re.S)
    return "".join(_unescape(s).decode("utf-16-be", errors="replace") for s in strings)


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_every_answer_set_gives_an_a4_pdf_in_the_japanese_cid_font(name):
    pdf = render_pdf(context_for(*answer_set(name)))
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert b"/BaseFont /HeiseiKakuGo-W5" in pdf
    assert b"/Encoding /UniJIS-UCS2-H" in pdf
    assert b"/FontFile" not in pdf  # the viewer's font is used; nothing is embedded
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in pdf  # A4 in points
    assert page_count(pdf) >= 1
    assert b"/FlateDecode" in pdf  # compressed unless asked otherwise


def test_the_same_result_gives_the_same_bytes_and_different_results_differ():
    # invariant=1: no random document id; the creation time is fixed here.
    context = context_for(*answer_set("mixed"))
    at = dt.datetime(2026, 12, 4, 9, 30, tzinfo=dt.UTC)
    assert render_pdf(context, created=at) == render_pdf(context, created=at)
    outputs = {render_pdf(context_for(*answer_set(name)), created=at) for name in ANSWER_SETS}
    assert len(outputs) == len(ANSWER_SETS)


def test_the_mixed_result_shows_every_section():
    context = context_for(*answer_set("mixed"))
    result = context["result"]
    assert result.step == 2 and result.security_action == 1
    pdf = render_pdf(context, compress=False)
    assert b"/FlateDecode" not in pdf
    text = pdf_text(pdf)

    assert "情報セキュリティ自己診断の結果" in text
    assert f"{context['answered_on']} 回答（設問バージョン {result.version}）" in text
    assert "あなたの会社は Step 2「組織的な取組」の段階です" in text
    # The ladder: all four Steps, the current one marked.
    for step in context["steps"]:
        assert f"Step {step['number']}" in text and str(step["title"]) in text
    assert "Step 2（現在）" in text and "Step 1（現在）" not in text
    assert "SECURITY ACTION：★一つ星を宣言できる段階です" in text

    assert f"総合 {result.total}点（100点満点）" in text
    for row in context["chart"]["rows"]:
        assert str(row.label) in text and f"{row.score}点" in text
    for _kind, label in context["chart"]["legend"]:
        assert str(label) in text

    unknown = context["unknown_questions"]
    assert unknown
    assert f"「分からない」と答えた項目が{len(unknown)}件あります" in text
    for q in unknown:
        assert str(q["text"]) in text

    assert "Step 3「本格的な取組」に進むには" in text
    assert f"次の{len(context['requirements'])}項目を「できている」にしましょう。" in text
    for q in context["requirements"]:
        assert f"{q['text']}（現在の回答：{q['answer_label']}）" in text

    assert "Step 2「組織的な取組」で取り組むこと" in text
    guide = context["guide"]
    for heading in (
        "実施する対策",
        "社内の担当者のタスク",
        "外部の専門家（登録セキスペ）に頼めること",
        "人材の確保・育成",
    ):
        assert heading in text
    for item in (*guide.measures, *guide.internal_tasks, *guide.specialist_tasks):
        assert str(item) in text
    assert str(guide.summary) in text

    assert context["themes"]
    for theme in context["themes"]:
        assert theme["label"] in text
    for label, value in context["profile_rows"]:
        assert str(label) in text and str(value) in text
    assert "東京都" in text
    assert "サプライチェーン対策の評価制度" in text  # customer_demand == "yes"

    # The full list of answers: number, text and answer in one table row.
    assert len(context["answers"]) == len(rules.current().ids)
    for q in context["answers"]:
        assert f"{q['number']}{q['text']}{q['answer_label']}" in text


def test_footer_has_the_search_path_the_share_note_and_page_numbers():
    context = context_for(*answer_set("mixed"))
    pdf = render_pdf(context, compress=False)
    text = pdf_text(pdf)
    pages = page_count(pdf)
    assert pages >= 2  # 25 answers, the guide and the charts do not fit one A4 page
    # Absolute: a printed path alone leads nowhere (issue 15, point 13).
    search = f"この課題に対応できる専門家を探す：{site_url(context['search_url'])}"
    assert context["search_url"].startswith("/")
    # Once in the themes section, then in every page footer.
    assert text.count(search) == pages + 1
    assert text.count("共有用リンクを開くと、このPDFと同じ結果を見られます。") == pages
    for page in range(1, pages + 1):
        assert f"{page} ページ" in text


def test_all_not_done_is_step_1_with_no_security_action_yet():
    context = context_for(*answer_set("all_not_done"))
    text = pdf_text(render_pdf(context, compress=False))
    assert "あなたの会社は Step 1「取組の開始」の段階です" in text
    assert "Step 1（現在）" in text
    assert "SECURITY ACTION：まだ宣言できる段階ではありません（Step 1 の完了が目安です）" in text
    assert "総合 0点（100点満点）" in text
    assert "「分からない」と答えた項目はありません。" in text
    assert "Step 2「組織的な取組」に進むには" in text
    assert "次の6項目を「できている」にしましょう。" in text
    assert "会社について" not in text  # no profile given


def test_all_done_is_step_4_with_two_stars_and_nothing_left():
    context = context_for(*answer_set("all_done"))
    assert context["all_done"]
    text = pdf_text(render_pdf(context, compress=False))
    assert "Step 4（現在）" in text
    assert "SECURITY ACTION：★★二つ星を宣言できる段階です" in text
    assert "総合 100点（100点満点）" in text
    assert "すべての対策ができています" in text
    assert "に進むには" not in text
    assert "大きな課題は見つかりませんでした。" in text
    assert "大阪府" in text


def test_text_from_data_is_escaped_not_read_as_markup():
    context = context_for(*answer_set("mixed"))
    hostile = '<b>R&D</b> <font size="40">x</font> &amp; 5 < 6'
    context["answers"][0] = {**context["answers"][0], "text": hostile}
    context["profile_rows"] = [("<i>所在地</i>", "A & B <br/>")]
    text = pdf_text(render_pdf(context, compress=False))
    assert hostile in text
    assert "<i>所在地</i>" in text and "A & B <br/>" in text


def test_english_renders_with_english_question_texts():
    diagnosis = services.record(*answer_set("mixed"))
    with translation.override("en"):
        context = presentation.result_context(services.evaluation_of(diagnosis), diagnosis)
        pdf = render_pdf(context, compress=False)
    text = pdf_text(pdf)
    assert b"/Lang (en)" in pdf
    q = rules.current().question("b1")
    assert q.text_en and q.text_en in text.replace("\n", "")


def test_download_over_http(client):
    diagnosis = services.record(*answer_set("mixed"))
    response = client.get(f"/diagnosis/r/{diagnosis.share_token}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert (
        f'filename="sekispe-diagnosis-{diagnosis.created_at:%Y%m%d}.pdf"'
        in (response["Content-Disposition"])
    )
    assert "noindex" in response["X-Robots-Tag"]
    assert "no-store" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF-")
    assert b"HeiseiKakuGo-W5" in response.content


def test_unknown_token_is_404(client):
    services.record(*answer_set("mixed"))
    assert client.get("/diagnosis/r/no-such-token/pdf/").status_code == 404

"""The search results as cards (issue 15, point 8), from the HTML: one card per
specialist headed by the linked name, the registry's facts apart from the
self-declared ones, every item the table showed, the same in the htmx
partial, and no query per card."""

from __future__ import annotations

import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import create_specialists, make_input, text

FULL = make_input(
    registration_number="810001",
    name="長谷川 久美子",
    name_kana="ハセガワ クミコ",
    prefectures=("24", "25", "26", "27", "28", "29", "30", "13"),
    themes=(1, 3),
    syllabus_items=("1-1", "1-6", "2-2", "3-4", "4-3"),
    industries=("E", "I"),
    periods=("spot", "3-6m"),
    first_free=True,
    fees={"visit": 30000, "online": 10000},
    qualifications=("itc", "smeca"),
    other_qualifications="ISMS審査員補",
    affiliation="company",
    company_name="関西情報安全株式会社",
)


def cards(body: str) -> dict[str, str]:
    """Each card's HTML by registration number, in page order."""
    found = [c[: c.index("</article>")] for c in body.split('<li class="result-card">')[1:]]
    return {re.search(r'id="result-(\d+)"', c).group(1): c for c in found}


@pytest.fixture
def full(db):
    create_specialists(FULL, make_input(registration_number="810002", name="中村 由美"))


def test_each_specialist_is_a_card_headed_by_the_linked_name(client, full):
    body = text(client.get("/specialists/"))
    assert "<table" not in body
    found = cards(body)
    assert set(found) == {"810001", "810002"}
    card = found["810001"]
    assert '<article aria-labelledby="result-810001">' in card
    assert (
        '<h3 id="result-810001" class="result-name">'
        '<a href="/specialists/810001/">長谷川 久美子</a></h3>'
    ) in card
    assert "ハセガワ クミコ" in card


def test_registry_facts_and_declared_facts_are_marked_apart(client, full):
    card = cards(text(client.get("/specialists/")))["810001"]
    verified = card[card.index('class="result-verified"') : card.index('class="result-declared"')]
    declared = card[card.index('class="result-declared"') :]
    assert "登録簿で確認済み" in verified and "本人申告" not in verified
    assert "<dt>登録番号</dt><dd>810001</dd>" in verified
    assert (
        '<dt>登録年月日</dt><dd><time datetime="2024-04-01" class="date">2024年4月1日</time></dd>'
        in verified
    )
    assert "<dt>更新回数</dt><dd>0回</dd>" in verified
    assert "講習受講：最新" in verified
    assert "本人申告" in declared and "810001" not in declared


def test_the_card_keeps_every_item_of_the_table_in_the_mock_tables_order(client, full):
    card = cards(text(client.get("/specialists/")))["810001"]
    labels = re.findall(r"<dt>(.*?)</dt>", card[card.index('class="result-declared"') :])
    # The 2025 mock table's columns after the name, in its order.
    assert labels == [
        "支援実績のある指導テーマ",
        "支援実績のある業務（指導テーマ以外）",
        "支援実績のある業界",
        "支援地域",
        "支援可能期間",
        "初回相談無料",
        "支援可能形態（1回あたりの料金）",
        "他資格の保有状況",
        "所属形態",
    ]
    for value in (
        "<li>①情報セキュリティ規程の整備</li>",
        "<li>③クラウドサービスの安全利用</li>",
        '<span class="code">1-1</span> 情報セキュリティ方針の策定',
        "ほか2件",
        "<li>製造業、</li><li>卸売業，小売業</li>",
        "<li>東京、</li><li>近畿全域</li>",
        "<li>スポット、</li><li>3か月〜半年</li>",
        "<dt>初回相談無料</dt><dd>あり</dd>",
        "<li>訪問コンサルティング（30,000円）</li>",
        "<li>オンラインコンサルティング（10,000円）</li>",
        "<li>ISMS審査員補</li>",
        "<dt>所属形態</dt><dd>関西情報安全株式会社</dd>",
    ):
        assert value in card, value


def test_headings_descend_one_level_at_a_time(client, full):
    body = text(client.get("/specialists/"))
    main = body[body.index("<main") : body.index("</main>")]
    levels = [int(n) for n in re.findall(r"<h([1-6])\b", main)]
    assert levels[0] == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    assert levels.count(3) == 2  # one per card


def test_the_htmx_partial_swaps_in_the_same_cards(client, full):
    body = text(client.get("/specialists/", {"theme": "3"}, HTTP_HX_REQUEST="true"))
    assert "<html" not in body
    assert body.lstrip().startswith('<section id="results"')
    assert set(cards(body)) == {"810001"}
    assert 'id="count-theme-3" hx-swap-oob="true"' in body


def test_twenty_cards_cost_no_more_queries_than_one(client, db):
    create_specialists(
        *(make_input(registration_number=f"{820000 + i:06d}", name="佐藤 健太") for i in range(24)),
        make_input(registration_number="820099", name="一人 だけ"),
    )
    client.get("/specialists/")  # builds the index and sets the order cookie
    with CaptureQueriesContext(connection) as twenty:
        many = text(client.get("/specialists/"))
    with CaptureQueriesContext(connection) as one:
        single = text(client.get("/specialists/", {"q": "一人"}))
    assert (len(cards(many)), len(cards(single))) == (20, 1)
    assert len(twenty) == len(one), [q["sql"] for q in twenty]

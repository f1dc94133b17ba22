"""Freshness on the public side: 要更新 after 180 days, hidden after 365, and
only published listings are ever shown."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from sekispe.listings import lifecycle
from sekispe.listings.models import Listing, ListingStatus
from sekispe.listings.services import write_listings
from tests.factories import create_specialists, make_input, make_user, text

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 22, 3, tzinfo=dt.UTC)  # 12:00 on TODAY in Tokyo
BADGE = '<span class="status stale">要更新'


def days_ago(days: int) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def aged():
    create_specialists(
        make_input(registration_number="000010", name="新井 若葉", updated_at=days_ago(10)),
        make_input(registration_number="000200", name="古川 二百", updated_at=days_ago(200)),
        make_input(registration_number="000400", name="旧田 四百", updated_at=days_ago(400)),
    )


def api_rows(client) -> dict[str, dict]:
    body = client.get("/api/v1/specialists", {"page_size": 100}).json()
    return {r["registration_number"]: r for r in body["results"]}


def test_the_detail_page_marks_a_200_day_old_listing(client, aged):
    body = text(client.get("/specialists/000200/"))
    assert BADGE in body
    assert "180日以上更新されていません" in body
    assert '<time datetime="2026-05-06" class="date">2026年5月6日</time>' in body

    fresh = text(client.get("/specialists/000010/"))
    assert "掲載情報の最終更新日" in fresh and "2026年11月12日" in fresh
    assert BADGE not in fresh


def test_results_show_the_update_date_and_the_badge_for_stale_rows(client, aged):
    body = text(client.get("/specialists/"))
    assert "新井 若葉" in body and "古川 二百" in body
    assert "旧田 四百" not in body  # over 365 days: hidden
    assert body.count(BADGE) == 1
    assert '要更新<span class="visually-hidden">（180日以上更新されていません）</span>' in body
    assert "最終更新 <time" in body and "2026年5月6日" in body and "2026年11月12日" in body
    # The badge sits in the head of the stale listing's card.
    card = body[body.index("古川 二百") :]
    card = card[: card.index("</header>")]
    assert BADGE in card


def test_htmx_results_carry_the_badge_too(client, aged):
    body = text(client.get("/specialists/", HTTP_HX_REQUEST="true"))
    assert "<html" not in body
    assert body.count(BADGE) == 1


def test_the_api_exposes_stale(client, aged):
    rows = api_rows(client)
    assert set(rows) == {"000010", "000200"}
    assert rows["000200"]["stale"] is True
    assert rows["000010"]["stale"] is False
    assert client.get("/api/v1/specialists/000200").json()["stale"] is True
    assert client.get("/api/v1/specialists/000400").status_code == 404
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert schema["SpecialistOut"]["properties"]["stale"]["type"] == "boolean"


def test_a_listing_over_a_year_old_is_not_found(client, aged):
    assert client.get("/specialists/000400/").status_code == 404
    assert client.post("/specialists/000400/contact/").status_code == 404


@pytest.mark.parametrize(
    "status",
    [
        ListingStatus.DRAFT,
        ListingStatus.SUBMITTED,
        ListingStatus.SUSPENDED,
        ListingStatus.WITHDRAWN,
    ],
)
def test_unpublished_listings_are_never_shown(client, status):
    create_specialists(make_input(registration_number="000001", name="公開 太郎"))
    write_listings(
        [make_input(registration_number="000002", name="非公開 花子")],
        actor_label="tests",
        status=status,
    )
    assert Listing.objects.get(record__registration_number="000002").status == status
    body = text(client.get("/specialists/", {"include_not_accepting": "1"}))
    assert "公開 太郎" in body and "非公開 花子" not in body
    assert client.get("/specialists/000002/").status_code == 404
    assert set(api_rows(client)) == {"000001"}
    assert client.get("/api/v1/specialists/000002").status_code == 404


def test_a_suspension_takes_the_listing_off_the_next_search(client):
    create_specialists(make_input(registration_number="000001", name="公開 太郎"))
    assert "公開 太郎" in text(client.get("/specialists/"))
    listing = Listing.objects.get(record__registration_number="000001")
    lifecycle.suspend_listing(listing, actor=make_user("operator"), reason="確認のため")
    assert "公開 太郎" not in text(client.get("/specialists/"))
    assert client.get("/specialists/000001/").status_code == 404


def test_the_index_follows_the_date(client, _frozen_clock):
    """Ageing needs no write: the index is rebuilt when the day changes."""
    create_specialists(
        make_input(registration_number="000170", name="百七十 日", updated_at=days_ago(170)),
        make_input(registration_number="000360", name="三百六十 日", updated_at=days_ago(360)),
    )
    body = text(client.get("/specialists/"))
    assert "百七十 日" in body and "三百六十 日" in body
    assert body.count(BADGE) == 1  # only the 360-day-old one

    _frozen_clock.shift(dt.timedelta(days=20))
    body = text(client.get("/specialists/"))
    assert "三百六十 日" not in body  # now 380 days old
    assert "百七十 日" in body and body.count(BADGE) == 1  # now 190 days old
    assert client.get("/specialists/000360/").status_code == 404

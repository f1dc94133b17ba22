"""The specialist's self-service pages over HTTP: /me/…"""

from __future__ import annotations

import datetime as dt
import json
from html.parser import HTMLParser

import pytest
import time_machine
from django.urls import reverse

from sekispe.listings.models import Availability, Listing, ListingStatus
from sekispe.listings.services import write_listings
from sekispe.registry.models import RegistryRecord
from tests.factories import TODAY, make_input, make_user, text

pytestmark = pytest.mark.django_db

LONG_PROFILE = (
    "中小企業の情報セキュリティ規程の整備とリスク分析を専門に支援しています。"
    "製造業・小売業を中心に、現状の洗い出しから規程の策定、従業員教育まで一貫して伴走します。"
    "クラウドサービスの安全な利用やインシデント対応手順書の作成、机上演習の実施にも対応します。"
)

ME_URLS = [
    ("get", "me:listing"),
    ("post", "me:listing"),
    ("get", "me:availability"),
    ("post", "me:availability"),
    ("get", "me:preview"),
    ("get", "me:export"),
    ("get", "me:withdraw"),
    ("post", "me:withdraw"),
    ("post", "me:submit"),
    ("post", "me:confirm"),
    ("post", "me:reopen"),
]


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC), tick=False):
        yield


def specialist_with(status: str, **listing):
    """A specialist whose listing starts in `status` (the factory's is published)."""
    item = make_input(**listing)
    write_listings([item], actor_label="tests", status=status)
    record = RegistryRecord.objects.get(registration_number=item.registration_number)
    return make_user("specialist", record=record)


def listing_of(user) -> Listing:
    return Listing.objects.get(record=user.record)


def valid_post(**overrides) -> dict:
    data = {
        "themes": ["1", "4"],
        "syllabus_items": ["1-1", "4-3"],
        "industries": ["E"],
        "prefectures": ["13", "14"],
        "periods": ["spot"],
        "first_free": "on",
        "offer_online": "on",
        "fee_online": "15000",
        "offer_visit": "on",
        "fee_visit": "30000",
        "qualifications": ["itc"],
        "other_qualifications": "",
        "affiliation": "sole",
        "company_name": "",
        "email": "sato@example.jp",
        "phone": "03-1234-5678",
        "web": "https://sato.example.jp/",
        "profile": LONG_PROFILE,
        "track_record": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


class _FormValues(HTMLParser):
    """What a browser would submit for the form posting to `action` (no JavaScript)."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.textarea = action, False, None
        self.values: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action
        elif self.inside and tag == "input" and "name" in a:
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            value = a.get("value") or ("on" if a.get("type") == "checkbox" else "")
            self.values.setdefault(a["name"], []).append(value)
        elif self.inside and tag == "textarea":
            self.textarea = a["name"]
            self.values[self.textarea] = [""]

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            # Browsers submit textarea line breaks as CRLF.
            self.values[self.textarea][0] += data.replace("\n", "\r\n")


def form_values(response, action: str) -> dict[str, list[str]]:
    parser = _FormValues(action)
    parser.feed(response.content.decode())
    values = parser.values
    values.pop("csrfmiddlewaretoken", None)
    # Django renders a leading newline after <textarea>, which browsers drop.
    for name in ("profile", "track_record"):
        if name in values:
            values[name] = [values[name][0].removeprefix("\r\n")]
    return values


# --- access ------------------------------------------------------------------


@pytest.mark.parametrize(("method", "name"), ME_URLS)
def test_anonymous_is_sent_to_login(client, method, name):
    response = getattr(client, method)(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("persona", ["sme", "institution", "operator"])
@pytest.mark.parametrize(("method", "name"), ME_URLS)
def test_other_roles_are_forbidden(request, client_for, persona, method, name):
    client = client_for(request.getfixturevalue(persona))
    response = getattr(client, method)(reverse(name))
    assert response.status_code == 403


def test_each_specialist_sees_only_their_own_listing(client, specialist, other_specialist):
    client.force_login(specialist)
    page = text(client.get(reverse("me:listing")))
    assert "100001" in page and "佐藤 健太" in page
    assert "100002" not in page and "鈴木 花子" not in page

    client.force_login(other_specialist)
    page = text(client.get(reverse("me:listing")))
    assert "100002" in page and "鈴木 花子" in page
    assert "100001" not in page


def test_one_specialist_cannot_change_another(client, specialist, other_specialist):
    # There is no id to forge: a POST always edits the signed-in specialist's own listing.
    other_before = listing_of(other_specialist).phone
    client.force_login(specialist)
    response = client.post(
        reverse("me:listing"),
        valid_post(phone="090-0000-0000", record=str(other_specialist.record_id), confirm="1"),
    )
    assert response.status_code == 302
    assert listing_of(specialist).phone == "090-0000-0000"
    assert listing_of(other_specialist).phone == other_before


# --- the page ----------------------------------------------------------------


def test_page_shows_status_criteria_and_verified_items_as_text(client_for, specialist):
    response = client_for(specialist).get(reverse("me:listing"))
    assert response.status_code == 200
    html = text(response)
    assert "掲載中" in html
    assert "登録簿で確認済み（変更できません）" in html
    assert "IPA" in html
    assert "掲載基準" in html
    assert "未達成" in html  # the factory's profile is shorter than 100 characters
    assert "プロフィールが100文字以上ある" in html
    for name in ("registration_number", "name", "name_kana", "expires_on", "renewal_count",
                 "registered_on", "status", "record"):  # fmt: skip
        assert f'name="{name}"' not in html
    # Every self-declared group is there, as fields.
    for name in ("themes", "syllabus_items", "industries", "prefectures", "periods", "first_free",
                 "offer_visit", "fee_visit", "qualifications", "affiliation", "company_name",
                 "employer_permits_outside_work", "email", "phone", "web", "profile",
                 "track_record"):  # fmt: skip
        assert f'name="{name}"' in html
    assert "内容に変更なし（確認）" in html
    assert "掲載を取り下げる" in html
    assert "審査を申請する" not in html
    # The published listing's gated items carry the review note (issue 15, point 5).
    assert "変更は運営者の審査後に公開されます" in html
    # The availability form is on the page too, posting to its own URL.
    assert f'action="{reverse("me:availability")}"' in html


def test_forged_verified_fields_are_ignored_and_legit_fields_saved(client_for, specialist):
    record = RegistryRecord.objects.get(pk=specialist.record_id)
    before = (record.registration_number, record.name, record.expires_on, record.renewal_count)
    response = client_for(specialist).post(
        reverse("me:listing"),
        valid_post(
            phone="090-1111-2222",
            # A non-gated edit keeps the listing published; the forged keys must change nothing.
            themes=["1"],
            syllabus_items=[],
            industries=[],
            qualifications=[],
            registration_number="999999",
            name="偽 太郎",
            expires_on="2099-03-31",
            renewal_count="9",
            status="published",
            record="1",
        ),
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert (
        record.registration_number,
        record.name,
        record.expires_on,
        record.renewal_count,
    ) == before
    listing = listing_of(specialist)
    assert listing.phone == "090-1111-2222"
    assert listing.status == ListingStatus.PUBLISHED
    assert listing.first_free is True
    assert dict(listing.offers.values_list("form", "fee_yen")) == {"online": 15000, "visit": 30000}
    assert sorted(listing.prefectures.values_list("pk", flat=True)) == ["13", "14"]
    assert not RegistryRecord.objects.filter(registration_number="999999").exists()


def test_save_redirects_with_message_and_gated_change_reports_review(client_for, specialist):
    client = client_for(specialist)
    response = client.post(reverse("me:listing"), valid_post(confirm="1"), follow=True)
    assert response.redirect_chain == [(reverse("me:listing"), 302)]
    html = text(response)
    assert "掲載情報を保存しました" in html
    assert (
        "変更した内容を審査に出しました。審査が終わるまで、掲載中の内容がそのまま公開されます。"
        in html
    )
    # Issue 15, point 5: the live listing stays published while the change waits.
    assert listing_of(specialist).status == ListingStatus.PUBLISHED


def test_invalid_post_rerenders_with_accessible_errors(client_for, specialist):
    response = client_for(specialist).post(
        reverse("me:listing"),
        valid_post(
            themes=["9"],
            prefectures=["99"],
            fee_online="-5",
            fee_visit="10000001",
            email="not-an-email",
            web="javascript:alert(1)",
            affiliation="company",
            company_name="",
        ),
    )
    assert response.status_code == 400
    html = text(response)
    assert "入力内容に誤りがあります" in html
    assert 'href="#id_company_name"' in html
    assert 'id="id_company_name_error"' in html
    assert 'aria-describedby="id_company_name_error' in html
    assert 'aria-invalid="true"' in html
    assert 'id="id_themes_group"' in html
    assert 'id="id_fee_online_error"' in html
    assert 'id="id_fee_visit_error"' in html
    assert 'id="id_email_error"' in html
    assert 'id="id_web_error"' in html
    listing = listing_of(specialist)
    assert listing.affiliation == "sole"
    assert listing.status == ListingStatus.PUBLISHED


def test_saving_the_untouched_form_keeps_a_published_listing_published(client_for):
    # Multi-line texts, every gated item set: a plain re-save must not look like a change.
    user = specialist_with(
        ListingStatus.PUBLISHED,
        profile=LONG_PROFILE + "\n\n対応地域は首都圏です。",
        track_record="製造業A社：規程整備\n小売業B社：従業員教育",
        themes=(1, 5),
        syllabus_items=("1-1", "3-9"),
        industries=("E", "I"),
        qualifications=("itc",),
        other_qualifications="情報セキュリティマネジメント",
        affiliation="company",
        company_name="サンプル情報システム株式会社",
        fees={"visit": 30000, "training": 0},
        periods=("spot", "1-3m"),
    )
    Listing.objects.filter(record=user.record).update(employer_permits_outside_work=True)
    client = client_for(user)
    values = form_values(client.get(reverse("me:listing")), reverse("me:listing"))
    assert values["track_record"] == ["製造業A社：規程整備\r\n小売業B社：従業員教育"]
    assert values["affiliation"] == ["company"]
    before = listing_of(user)
    response = client.post(reverse("me:listing"), values)
    assert response.status_code == 302
    listing = listing_of(user)
    assert listing.status == ListingStatus.PUBLISHED
    assert listing.track_record == before.track_record
    assert listing.profile == before.profile
    assert dict(listing.offers.values_list("form", "fee_yen")) == {"visit": 30000, "training": 0}


def test_checked_offer_needs_a_fee_and_unchecked_fee_is_dropped(client_for, specialist):
    client = client_for(specialist)
    response = client.post(
        reverse("me:listing"),
        valid_post(offer_visit="on", fee_visit="", offer_online=None, fee_online="5000"),
    )
    assert response.status_code == 400
    assert 'id="id_fee_visit_error"' in text(response)
    response = client.post(
        reverse("me:listing"),
        valid_post(offer_visit=None, offer_online="on", fee_online="0", confirm="1"),
    )
    assert response.status_code == 302
    assert dict(listing_of(specialist).offers.values_list("form", "fee_yen")) == {"online": 0}


def test_submit_refused_lists_failed_criteria(client_for):
    user = specialist_with(ListingStatus.DRAFT)
    client = client_for(user)
    html = text(client.get(reverse("me:listing")))
    assert "審査を申請する" in html
    response = client.post(reverse("me:submit"))
    assert response.status_code == 400
    assert "掲載基準を満たしていない項目があります" in text(response)
    assert "プロフィールが100文字以上ある" in text(response)
    assert listing_of(user).status == ListingStatus.DRAFT


def test_draft_submit_after_fixing_the_profile(client_for):
    user = specialist_with(ListingStatus.DRAFT)
    client = client_for(user)
    assert client.post(reverse("me:listing"), valid_post()).status_code == 302
    response = client.post(reverse("me:submit"), follow=True)
    assert "審査を申請しました" in text(response)
    assert listing_of(user).status == ListingStatus.SUBMITTED


def test_operator_message_is_shown_after_send_back(client_for, operator):
    from sekispe.listings.lifecycle import send_back_listing

    user = specialist_with(ListingStatus.SUBMITTED)
    send_back_listing(
        listing_of(user), actor=operator, message="実績の記載を具体的にしてください。"
    )
    html = text(client_for(user).get(reverse("me:listing")))
    assert "運営者からのメッセージ" in html
    assert "実績の記載を具体的にしてください。" in html
    assert "下書き" in html


def test_withdraw_confirmation_then_reopen(client_for, specialist):
    client = client_for(specialist)
    page = text(client.get(reverse("me:withdraw")))
    assert "すぐに表示されなくなります" in page
    assert "登録簿の登録" in page and "そのまま残ります" in page
    assert listing_of(specialist).status == ListingStatus.PUBLISHED  # GET changes nothing
    response = client.post(reverse("me:withdraw"))
    assert response.status_code == 302
    assert listing_of(specialist).status == ListingStatus.WITHDRAWN
    assert RegistryRecord.objects.filter(pk=specialist.record_id).exists()
    html = text(client.get(reverse("me:listing")))
    assert "掲載を再開する" in html
    assert 'name="profile"' not in html
    client.post(reverse("me:reopen"))
    assert listing_of(specialist).status == ListingStatus.DRAFT


def test_confirm_refreshes_a_stale_listing(client_for, specialist):
    Listing.objects.filter(record=specialist.record).update(
        updated_at=dt.datetime(2025, 10, 1, tzinfo=dt.UTC)
    )
    client = client_for(specialist)
    html = text(client.get(reverse("me:listing")))
    assert "要更新" in html
    assert "検索結果に表示されていません" in html
    response = client.post(reverse("me:confirm"))
    assert response.status_code == 302
    assert listing_of(specialist).updated_at.date() == TODAY
    assert "要更新" not in text(client.get(reverse("me:listing")))


def test_get_never_changes_state(client_for, specialist):
    client = client_for(specialist)
    for name in ("me:submit", "me:confirm", "me:reopen"):
        assert client.get(reverse(name)).status_code == 405


# --- availability ------------------------------------------------------------


def test_availability_page_and_save(client_for, specialist):
    client = client_for(specialist)
    assert client.get(reverse("me:availability")).status_code == 200
    response = client.post(
        reverse("me:availability"),
        {
            "availability": "not_accepting",
            "reason": "繁忙期のため",
            "resumes_on": "2026-12-15",
            "capacity": "3",
        },
    )
    assert response.status_code == 302
    listing = listing_of(specialist)
    assert listing.availability == Availability.NOT_ACCEPTING
    assert listing.availability_until == dt.date(2026, 12, 14)
    assert listing.not_accepting_reason == "繁忙期のため"
    assert listing.capacity == 3
    assert listing.status == ListingStatus.PUBLISHED
    # The form shows the resume date back, not the stored last day.
    assert 'value="2026-12-15"' in text(client.get(reverse("me:availability")))


def test_availability_resume_date_in_the_past_is_an_error(client_for, specialist):
    response = client_for(specialist).post(
        reverse("me:availability"),
        {"availability": "not_accepting", "resumes_on": "2026-11-01", "capacity": "1"},
    )
    assert response.status_code == 400
    html = text(response)
    assert "受付再開日は明日以降の日付を指定してください" in html
    assert 'id="id_resumes_on_error"' in html
    assert listing_of(specialist).availability == Availability.ACCEPTING


@pytest.mark.parametrize("capacity", ["0", "21", "x"])
def test_availability_capacity_bounds(client_for, specialist, capacity):
    response = client_for(specialist).post(
        reverse("me:availability"), {"availability": "accepting", "capacity": capacity}
    )
    assert response.status_code == 400
    assert listing_of(specialist).capacity == 1


# --- preview and export ------------------------------------------------------


def test_preview_shows_profile_and_contact_with_banner(client_for, specialist):
    client = client_for(specialist)
    client.post(reverse("me:listing"), valid_post(themes=["1"], syllabus_items=[],
                                                  industries=[], qualifications=[]))  # fmt: skip
    response = client.get(reverse("me:preview"))
    assert response.status_code == 200
    html = text(response)
    assert "プレビュー（公開ページの表示です。掲載状態：掲載中）" in html
    assert LONG_PROFILE[:30] in html
    assert "sato@example.jp" in html
    assert "03-1234-5678" in html
    assert "佐藤 健太" in html


def test_export_is_an_attachment_with_everything(client_for, specialist):
    client = client_for(specialist)
    client.post(reverse("me:listing"), valid_post(confirm="1"))
    response = client.get(reverse("me:export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == 'attachment; filename="sekispe-100001.json"'
    payload = json.loads(response.content)
    assert payload["account"]["email"] == specialist.email
    assert payload["account"]["role"] == "specialist"
    assert payload["registry_record"]["registration_number"] == "100001"
    assert payload["registry_record"]["courses"]
    listing = payload["listing"]
    assert listing["phone"] == "03-1234-5678"
    # The gated themes wait for review apart from the live listing (issue 15, point 5).
    [change] = listing["changes_for_review"]
    assert change["status"] == "pending" and change["sets"]["themes"] == [1, 4]
    assert listing["prefectures"] == ["13", "14"]
    assert {"form": "online", "fee_yen": 15000} in listing["offers"]
    assert listing["status"] == "published"
    assert [t["to_status"] for t in listing["transitions"]] == ["published"]
    assert listing["transitions"][0]["by"] == "self"
    assert any(e["action"] == "listings.update" and e["by"] == "self"
               for e in payload["audit_events"])  # fmt: skip
    assert payload["listing_history"]
    assert "self-service edit" in [h["change_reason"] for h in payload["listing_history"]]


def test_export_names_other_actors_by_role_only(operator):
    from sekispe.listings.export import export_personal_data
    from sekispe.listings.lifecycle import send_back_listing

    user = specialist_with(ListingStatus.SUBMITTED)
    send_back_listing(listing_of(user), actor=operator, message="実績を追記してください。")
    payload = export_personal_data(user)
    json.dumps(payload)  # plain JSON types only
    assert payload["listing"]["transitions"][-1] == {
        "date": payload["listing"]["transitions"][-1]["date"],
        "from_status": "submitted",
        "to_status": "draft",
        "by": "operator",
        "note": "実績を追記してください。",
    }
    assert operator.email not in json.dumps(payload, ensure_ascii=False)
    assert any(e["action"] == "listings.send_back" for e in payload["audit_events"])

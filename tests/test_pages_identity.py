"""The service's identity (issue 15, point 3): the start page with its three
doors and the operators' news, the phase banner, the issuing organisation, the
legal and help pages, the notices operators maintain at /ops/notices/, and the
privacy notice next to every form that asks for personal data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.contrib.auth.tokens import default_token_generator
from django.test import Client, override_settings
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from sekispe.audit.models import AuditEvent
from sekispe.pages.models import Notice
from sekispe.pages.services import create_notice, latest_notices, update_notice
from tests.factories import create_specialists, make_input, make_user, text

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 4, 1, 0, tzinfo=dt.UTC)  # 10:00 in Tokyo
PRIVACY_LINK = '<a href="/privacy/">プライバシーポリシー</a>'


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _notice(title: str, *, days_ago: int = 0, until: dt.date | None = None, **kw: Any) -> Notice:
    return create_notice(
        {
            "title": title,
            "body": kw.get("body", "本文です。"),
            "published_at": timezone.now() - dt.timedelta(days=days_ago),
            "until": until,
        },
        actor=None,
    )


# ---------------------------------------------------------------- start page


def test_the_start_page_says_what_it_is_who_runs_it_and_opens_three_doors(client):
    response = client.get("/")
    assert response.status_code == 200
    body = text(response)
    assert "<h1>登録セキスペ アクティブリスト</h1>" in body
    assert "独立行政法人情報処理推進機構（IPA）が運営しています" in body
    assert '<a href="/specialists/">専門家を探す</a>' in body
    assert '<a href="/diagnosis/">自己診断</a>' in body
    assert '<a href="/accounts/login/?next=/me/">登録セキスペの方へ</a>' in body
    assert "現在、お知らせはありません。" in body
    # A registrant without an account, and a person who passed the exam, start here too.
    assert '<a href="/accounts/claim/">登録番号でアカウントを作成する</a>' in body
    assert '<a href="/register/">試験に合格した方の登録申請</a>' in body


def test_a_signed_in_specialist_goes_straight_to_their_front_page(client, specialist):
    client.force_login(specialist)
    assert '<a href="/me/">登録セキスペの方へ</a>' in text(client.get("/"))


def test_the_start_page_shows_the_latest_published_notices_with_their_dates(client):
    _notice("古いお知らせ", days_ago=30)
    _notice("試行を始めました", days_ago=1, body="1行目\n<b>2行目</b>")
    _notice("終わったお知らせ", days_ago=20, until=dt.date(2026, 12, 1))
    create_notice(
        {
            "title": "予約中のお知らせ",
            "body": "まだ出ない",
            "published_at": NOW + dt.timedelta(days=2),
            "until": None,
        },
        actor=None,
    )
    body = text(client.get("/"))
    assert '<time datetime="2026-12-03" class="date">2026年12月3日</time>' in body
    assert body.index("試行を始めました") < body.index("古いお知らせ")  # newest first
    assert "終わったお知らせ" not in body and "予約中のお知らせ" not in body
    # The body is plain text: line breaks kept, markup shown as text.
    assert "1行目<br>&lt;b&gt;2行目&lt;/b&gt;" in body


def test_the_start_page_shows_at_most_five_notices():
    for n in range(7):
        _notice(f"お知らせ{n}", days_ago=n)
    assert [n.title for n in latest_notices()] == [f"お知らせ{n}" for n in range(5)]


def test_the_brand_in_the_header_leads_to_the_start_page_and_names_the_issuer(client):
    body = text(client.get("/specialists/"))
    assert '<a class="brand" href="/">' in body
    assert '<p class="site-operator">独立行政法人情報処理推進機構（IPA）</p>' in body
    assert "運営：独立行政法人情報処理推進機構（IPA）" in body


def test_the_footer_links_the_legal_and_help_pages(client):
    body = text(client.get("/specialists/"))
    for href, label in (
        ("/privacy/", "プライバシーポリシー"),
        ("/terms/", "利用規約"),
        ("/accessibility/", "アクセシビリティ方針"),
        ("/contact/", "お問い合わせ"),
        ("/registry/", "登録セキスペ検索サービス（登録の確認）"),
        ("/api/v1/docs", "API（開発者向け）"),
    ):
        assert f'<li><a href="{href}">{label}</a></li>' in body


# ---------------------------------------------------------------- phase banner


@override_settings(SEKISPE_SERVICE_PHASE="pilot")
def test_the_pilot_banner_is_a_tag_and_one_sentence_linking_the_contact_page(client):
    body = text(client.get("/specialists/"))
    assert '<strong class="phase-tag">試行版</strong>' in body
    assert 'これは試行中のサービスです。ご意見は<a href="/contact/">お問い合わせ</a>から' in body


@override_settings(SEKISPE_SERVICE_PHASE="beta")
def test_the_beta_banner(client):
    body = text(client.get("/"))
    assert '<strong class="phase-tag">β版</strong>' in body
    assert "これは新しいサービスです。" in body


@override_settings(SEKISPE_SERVICE_PHASE="")
def test_no_banner_once_the_service_is_live(client):
    body = text(client.get("/"))
    assert "phase-banner" not in body and "試行中" not in body


def test_the_default_phase_is_pilot():
    from django.conf import settings

    assert settings.SEKISPE_SERVICE_PHASE == "pilot"


def test_a_misread_phase_or_test_date_stops_the_settings_from_loading(monkeypatch):
    import importlib

    import sekispe.settings.base as base
    from sekispe.lib.env import ConfigError

    monkeypatch.setenv("SEKISPE_SERVICE_PHASE", "alpha")
    with pytest.raises(ConfigError, match="SEKISPE_SERVICE_PHASE"):
        importlib.reload(base)
    monkeypatch.delenv("SEKISPE_SERVICE_PHASE")
    monkeypatch.setenv("SEKISPE_ACCESSIBILITY_TESTED_ON", "4 Dec 2026")
    with pytest.raises(ConfigError, match="SEKISPE_ACCESSIBILITY_TESTED_ON"):
        importlib.reload(base)
    monkeypatch.delenv("SEKISPE_ACCESSIBILITY_TESTED_ON")
    importlib.reload(base)


# ---------------------------------------------------------------- legal pages


LEGAL_PAGES = {
    "/privacy/": ("プライバシーポリシー", "個人情報の保護に関する法律"),
    "/terms/": ("利用規約", "禁止すること"),
    "/accessibility/": ("アクセシビリティ方針", "JIS X 8341-3:2016 の適合レベルAA"),
    "/contact/": ("お問い合わせ", "contact@sekispe.example.jp"),
}


@pytest.mark.parametrize("path", sorted(LEGAL_PAGES))
@pytest.mark.parametrize("persona", ["anonymous", "sme", "specialist", "operator"])
def test_legal_pages_are_open_to_everyone(path, persona, request):
    client = Client()
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    response = client.get(path)
    assert response.status_code == 200
    heading, fact = LEGAL_PAGES[path]
    body = text(response)
    assert f"<h1>{heading}</h1>" in body and fact in body


def test_the_accessibility_statement_says_the_level_the_tools_and_the_date_tested(client):
    body = text(client.get("/accessibility/"))
    assert "一部準拠" in body
    assert "axe-core（WCAG 2.2 の適合レベルAとAAの規則）" in body
    assert "390ピクセル" in body and "768ピクセル" in body and "1280ピクセル" in body
    assert '<time datetime="2026-12-04" class="date">2026年12月4日</time>' in body
    assert "分かっている課題" in body


@override_settings(SEKISPE_ACCESSIBILITY_TESTED_ON=dt.date(2027, 1, 15))
def test_the_date_tested_comes_from_the_setting(client):
    assert "2027年1月15日" in text(client.get("/accessibility/"))


@override_settings(SEKISPE_CONTACT_EMAIL="riss-list@ipa.example.jp")
def test_the_contact_page_gives_the_operators_address_from_the_setting(client):
    body = text(client.get("/contact/"))
    assert '<a href="mailto:riss-list@ipa.example.jp">riss-list@ipa.example.jp</a>' in body
    assert "<form" not in body.split('<main id="main"')[1].split("</main>")[0]


# ---------------------------------------------------------------- ops notices


def test_an_operator_adds_a_notice_and_it_shows_on_the_start_page(client, operator):
    client.force_login(operator)
    response = client.post(
        "/ops/notices/new/",
        {
            "title": "年末年始の窓口",
            "body": "12月29日から1月3日まで、お問い合わせへの回答を休みます。",
            "published_at": "2026-12-04T09:00",
            "until": "2027-01-03",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/ops/notices/"
    notice = Notice.objects.get()
    assert notice.updated_by == operator
    assert timezone.localtime(notice.published_at).hour == 9
    event = AuditEvent.objects.get(action="notice.created")
    assert event.actor == operator and event.target_id == str(notice.pk)
    assert event.data["after"]["until"] == "2027-01-03"
    assert "年末年始の窓口" in text(client.get("/ops/notices/"))
    assert "年末年始の窓口" in text(Client().get("/"))


def test_an_operator_edits_a_notice_and_the_change_is_audited(client, operator):
    notice = _notice("元の見出し")
    client.force_login(operator)
    page = text(client.get(f"/ops/notices/{notice.pk}/"))
    assert 'value="元の見出し"' in page
    response = client.post(
        f"/ops/notices/{notice.pk}/",
        {
            "title": "新しい見出し",
            "body": notice.body,
            "published_at": timezone.localtime(notice.published_at).strftime("%Y-%m-%dT%H:%M"),
            "until": "",
        },
    )
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.title == "新しい見出し"
    event = AuditEvent.objects.get(action="notice.updated")
    assert event.data == {"before": {"title": "元の見出し"}, "after": {"title": "新しい見出し"}}


def test_saving_a_notice_unchanged_writes_nothing(operator):
    notice = _notice("見出し")
    data = {name: getattr(notice, name) for name in ("title", "body", "published_at", "until")}
    assert update_notice(notice.pk, data, actor=operator) == []
    assert not AuditEvent.objects.filter(action="notice.updated").exists()


def test_a_notice_cannot_end_before_it_is_published(client, operator):
    client.force_login(operator)
    response = client.post(
        "/ops/notices/new/",
        {
            "title": "見出し",
            "body": "本文",
            "published_at": "2026-12-10T09:00",
            "until": "2026-12-01",
        },
    )
    assert response.status_code == 200
    assert "表示の最終日は、公開日時の日付以降にしてください。" in text(response)
    assert not Notice.objects.exists()


def test_the_notice_list_tells_shown_scheduled_and_ended_apart(client, operator):
    _notice("表示中のもの")
    _notice("終わったもの", days_ago=10, until=dt.date(2026, 12, 1))
    create_notice(
        {
            "title": "予約したもの",
            "body": "本文",
            "published_at": NOW + dt.timedelta(days=1),
            "until": None,
        },
        actor=operator,
    )
    client.force_login(operator)
    body = text(client.get("/ops/notices/"))
    for title, state in (
        ("表示中のもの", "表示中"),
        ("終わったもの", "表示終了"),
        ("予約したもの", "公開前"),
    ):
        row = body.split(f">{title}</a>")[1].split("</tr>")[0]
        assert f"<td>{state}</td>" in row


# ---------------------------------------------------------------- privacy notice on forms


def _anonymous(url: str) -> Callable[[], tuple[Any, str]]:
    return lambda: (None, url)


def _invitation() -> tuple[Any, str]:
    from sekispe.accounts.services import invite_specialist
    from sekispe.registry.models import RegistryRecord

    create_specialists(make_input(registration_number="200001", name="招待 太郎"))
    record = RegistryRecord.objects.get(registration_number="200001")
    token = invite_specialist(record, "shotai@example.jp", actor=make_user("operator"))
    return None, f"/accounts/invitation/{token}/"


def _password_reset_confirm() -> tuple[Any, str]:
    user = make_user("sme", "reset@example.co.jp")
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return None, f"/accounts/reset/{uid}/{default_token_generator.make_token(user)}/"


def _password_change() -> tuple[Any, str]:
    return make_user("sme"), "/accounts/password-change/"


def _event(owner: Any) -> Any:
    from sekispe.events import services

    return services.create_event(
        owner,
        services.EventDetails(
            title="セキュリティ相談会",
            held_on=timezone.localdate() + dt.timedelta(days=14),
            capacity=10,
            themes=(1,),
            place="会議室",
        ),
    )


def _event_join() -> tuple[Any, str]:
    event = _event(make_user("institution", organization="サンプル商工会議所"))
    return None, f"/events/join/{event.signup_token}/"


def _event_participants() -> tuple[Any, str]:
    staff = make_user("institution", organization="サンプル商工会議所")
    return staff, f"/events/{_event(staff).pk}/"


def _specialist_page(url: str) -> Callable[[], tuple[Any, str]]:
    def build() -> tuple[Any, str]:
        from tests.factories import make_specialist_user

        return make_specialist_user("100001", name="佐藤 健太"), url

    return build


def _deemed_from_confirmation() -> tuple[Any, str]:
    from sekispe.inquiries.models import InquiryState
    from tests.factories import make_specialist_user
    from tests.inquiry_support import create_inquiry

    specialist = make_specialist_user("100001", name="佐藤 健太")
    company = make_user("sme", organization="株式会社サンプル製作所")
    inquiry = create_inquiry(company, specialist, state=InquiryState.CONFIRMED)
    return specialist, f"/me/deemed/from/{inquiry.confirmation.pk}/"


def _certify() -> tuple[Any, str]:
    from tests.deemed_pages_support import apply
    from tests.factories import make_specialist_user

    _application, token = apply(make_specialist_user("100001", name="佐藤 健太"))
    return None, f"/certify/{token}/"


def _inquiry_form() -> tuple[Any, str]:
    from tests.factories import make_specialist_user

    make_specialist_user("100001", name="佐藤 健太")
    return make_user("sme", organization="株式会社サンプル製作所"), "/inquiries/new/100001/"


# Every page with a form that asks for personal data.
PERSONAL_DATA_FORMS: dict[str, Callable[[], tuple[Any, str]]] = {
    "sme sign-up": _anonymous("/accounts/signup/"),
    "specialist invitation": _invitation,
    "password reset request": _anonymous("/accounts/password-reset/"),
    "password reset": _password_reset_confirm,
    "password change": _password_change,
    "event sign-up": _event_join,
    "event participant registered by the institution": _event_participants,
    "registrant request": _specialist_page("/me/registry/requests/new/contact-change/"),
    "deemed application": _specialist_page("/me/deemed/new/?item=3-4"),
    "deemed from an engagement": _deemed_from_confirmation,
    "deemed certification": _certify,
    "listing": _specialist_page("/me/listing/"),
    "self-diagnosis": _anonymous("/diagnosis/"),
    "inquiry": _inquiry_form,
}


@pytest.mark.parametrize("form", sorted(PERSONAL_DATA_FORMS))
def test_every_form_asking_for_personal_data_links_the_privacy_policy(client, form):
    user, url = PERSONAL_DATA_FORMS[form]()
    if user is not None:
        client.force_login(user)
    response = client.get(url, follow=True)
    assert response.status_code == 200
    body = text(response)
    assert PRIVACY_LINK in body, f"{form} ({url}) has no privacy notice"
    # Inside the form that collects the data, next to its submit button.
    before = body[: body.index(PRIVACY_LINK)]
    opening = before.rindex("<form ")
    assert 'method="post"' in before[opening:].split(">", 1)[0]
    assert "</form>" not in before[opening:]


# ---------------------------------------------------------------- demo


def test_the_demo_seeds_two_notices_once(client):
    from sekispe.devtools.demo.pages import create_demo_notices

    assert create_demo_notices(dt.date(2026, 12, 1)) == 2
    assert create_demo_notices(dt.date(2026, 12, 1)) == 0
    body = text(client.get("/"))
    assert "登録セキスペ アクティブリストの試行を始めました" in body
    assert '<time datetime="2026-11-29" class="date">2026年11月29日</time>' in body
    assert AuditEvent.objects.filter(action="notice.created").count() == 2


def test_the_ops_menu_leads_to_the_notices(client, operator):
    client.force_login(operator)
    body = text(client.get("/ops/notices/"))
    assert '<a href="/ops/notices/" aria-current="page">お知らせ</a>' in body

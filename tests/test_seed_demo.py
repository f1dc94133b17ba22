"""The demo seed: deterministic, realistic in shape, and written through write_listings."""

from __future__ import annotations

import datetime as dt
import threading
import unicodedata
from collections import Counter
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from sekispe.devtools.demo.listings import (
    DEMO_ANCHOR,
    FEMALE_NAMES,
    MALE_NAMES,
    SURNAMES,
    generate_specialists,
)
from sekispe.lib.dates import period_end
from sekispe.listings.models import Listing
from sekispe.reference import data
from sekispe.reference.services import prefecture_block
from sekispe.registry.models import CourseCompletion, RegistryRecord
from sekispe.search import index as ix
from sekispe.search.models import SearchDemand
from tests.factories import create_specialists, make_input

ANCHOR = DEMO_ANCHOR


@pytest.fixture(scope="module")
def people():
    return generate_specialists(3000, 7, ANCHOR)


def test_same_n_and_seed_give_identical_data():
    assert generate_specialists(200, 5, ANCHOR) == generate_specialists(200, 5, ANCHOR)


def test_different_seed_gives_different_data():
    first = generate_specialists(200, 5, ANCHOR)
    other = generate_specialists(200, 6, ANCHOR)
    assert first != other
    assert [p.name for p in first] != [p.name for p in other]


def test_registration_numbers_are_unique_six_digits(people):
    numbers = [p.registration_number for p in people]
    assert len(set(numbers)) == len(numbers)
    assert all(len(n) == 6 and n.isdigit() and n.startswith("0") for n in numbers)


def test_names_are_kanji_with_matching_katakana(people):
    readings = {k: kana for k, kana, _ in SURNAMES} | {
        k: kana for k, kana, _ in MALE_NAMES + FEMALE_NAMES
    }
    for p in people[:300]:
        surname, given = p.name.split(" ")
        assert p.name_kana == f"{readings[surname]} {readings[given]}"
        assert all(
            unicodedata.name(ch).startswith("KATAKANA") for ch in p.name_kana.replace(" ", "")
        )


def test_home_prefectures_follow_the_2021_table(people):
    homes = Counter(p.home_prefecture for p in people)
    total = sum(data.REGISTRANTS_2021.values())
    assert homes.most_common(1)[0][0] == "13"
    tokyo_share = homes["13"] / len(people)
    expected = data.REGISTRANTS_2021["13"] / total  # about 0.32
    assert expected - 0.04 < tokyo_share < expected + 0.04
    kanto = sum(homes[c] for c in ("08", "09", "10", "11", "12", "13", "14")) / len(people)
    assert 0.62 < kanto < 0.74  # 68% of registrants live in Kanto


def test_regions_include_home_and_stay_mostly_in_the_block(people):
    assert all(p.home_prefecture in p.prefectures for p in people)
    local = sum(
        1
        for p in people
        if {prefecture_block(c) for c in p.prefectures} == {prefecture_block(p.home_prefecture)}
    )
    assert local / len(people) > 0.8
    assert any(len(p.prefectures) == 47 for p in people)  # a few serve the whole country


def test_fees_are_within_plausible_ranges(people):
    ranges = {
        "visit": (20_000, 100_000),
        "online": (5_000, 50_000),
        "training": (30_000, 200_000),
        "product": (30_000, 150_000),
    }
    offered = Counter()
    for p in people:
        assert p.fees, "everyone offers at least one form"
        for form, fee in p.fees.items():
            low, high = ranges[form]
            assert low <= fee <= high
            offered[form] += 1
        if "visit" in p.fees:
            assert p.fees["visit"] % 5_000 == 0
    assert offered["online"] > offered["training"] > offered["product"]
    assert offered["visit"] > offered["training"]
    free = sum(p.first_free for p in people) / len(people)
    assert 0.28 < free < 0.42


def test_some_are_not_accepting_and_some_will_resume(people):
    paused = [p for p in people if p.availability == "not_accepting"]
    assert 0.10 < len(paused) / len(people) < 0.20
    resuming = [p for p in paused if p.availability_until is not None]
    assert resuming
    assert all(ANCHOR < p.availability_until <= ANCHOR + dt.timedelta(days=240) for p in resuming)


def test_profiles_are_long_and_mention_real_topics(people):
    assert all(len(p.profile) >= 100 for p in people)
    assert len({p.profile for p in people}) > len(people) * 0.95
    corpus = "\n".join(p.profile + p.track_record for p in people)
    for topic in (
        "ランサムウェア",
        "クラウド",
        "規程",
        "標的型攻撃メール",
        "テレワーク",
        "インシデント対応",
        "脆弱性診断",
        "情報資産台帳",
        "SECURITY ACTION",
        "サプライチェーン",
        "従業員教育",
        "ISMS",
    ):
        assert topic in corpus, topic

    # Topics follow the themes: incident talk is far more common under theme 4.
    def share(group: list) -> float:
        return sum("インシデント" in p.profile + p.track_record for p in group) / len(group)

    assert share([p for p in people if 4 in p.themes]) > 2 * share(
        [p for p in people if 4 not in p.themes]
    )


def test_syllabus_items_follow_the_themes(people):
    links = {t.code: set(t.syllabus) for t in data.GUIDANCE_THEMES}
    for p in people[:500]:
        linked = set().union(*(links[t] for t in p.themes))
        assert 1 <= len(p.themes) <= 4
        assert len(set(p.syllabus_items) - linked) <= 2
        assert set(p.syllabus_items) & linked


def test_registry_facts_are_consistent(people):
    statuses = Counter(p.status for p in people)
    assert statuses["active"] / len(people) > 0.95
    assert statuses["expired"] and statuses["deregistered"]
    for p in people:
        assert p.registered_on.day == 1 and p.registered_on.month in (4, 10)
        assert p.expires_on == period_end(p.registered_on)
        first = p.registered_on.replace(year=p.registered_on.year - 3 * p.renewal_count)
        assert first >= dt.date(2017, 4, 1)
        if p.status == "active":
            assert p.expires_on > ANCHOR
            assert p.expires_on >= dt.date(2027, 3, 31)
        if p.status == "expired":
            assert p.expires_on < ANCHOR
    # Those registered on the anchor day itself have had no time for courses.
    settled = [p for p in people if p.registered_on < ANCHOR - dt.timedelta(days=360)]
    with_common = sum(any(c.kind == "common" for c in p.courses) for p in settled)
    with_practical = sum(
        any(c.kind in ("practical", "specific") for c in p.courses) for p in settled
    )
    assert with_common / len(settled) > 0.9
    assert with_practical / len(settled) > 0.6
    for p in people:
        assert all(p.registered_on <= c.completed_on <= ANCHOR for c in p.courses)


def test_affiliation_contacts_and_updated_at(people):
    sole = sum(p.affiliation == "sole" for p in people) / len(people)
    assert 0.48 < sole < 0.62
    for p in people:
        assert p.email.endswith(("@example.jp", "@example.com", ".example.jp"))
        assert (p.affiliation == "company") == bool(p.company_name)
        age = dt.datetime.combine(ANCHOR, dt.time(12), tzinfo=p.updated_at.tzinfo) - p.updated_at
        assert dt.timedelta(0) <= age <= dt.timedelta(days=431)
    with_quals = sum(bool(p.qualifications) for p in people) / len(people)
    assert 0.33 < with_quals < 0.47


@pytest.mark.django_db
def test_command_writes_rows_then_if_empty_writes_nothing():
    out = StringIO()
    call_command("seed_demo", specialists=50, seed=3, no_progress=True, stdout=out)
    assert RegistryRecord.objects.count() == 50
    assert Listing.objects.count() == 50
    assert CourseCompletion.objects.exists()
    assert "追加 50 件" in out.getvalue()
    stamps = set(Listing.objects.values_list("updated_at", flat=True))
    assert len(stamps) > 40  # the seeded spread, not the write time

    out = StringIO()
    call_command("seed_demo", specialists=50, seed=4, if_empty=True, stdout=out)
    assert RegistryRecord.objects.count() == 50
    assert "投入しませんでした" in out.getvalue()


@pytest.mark.django_db
def test_seeded_specialists_are_searchable_and_lapsed_ones_are_not(client):
    # Pinned to a day inside every seeded active period, so the test does not
    # start failing when the oldest demo periods lapse in real time.
    with time_machine.travel(dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC), tick=False):
        call_command("seed_demo", specialists=50, seed=3, no_progress=True, stdout=StringIO())
        body = client.get("/api/v1/specialists", {"include_not_accepting": True, "page_size": 100})
    assert body.status_code == 200
    visible = {r["registration_number"] for r in body.json()["results"]}
    lapsed = set(
        RegistryRecord.objects.exclude(status="active").values_list(
            "registration_number", flat=True
        )
    )
    year_old = set(
        Listing.objects.filter(updated_at__lt=dt.datetime(2025, 11, 22, tzinfo=dt.UTC)).values_list(
            "record__registration_number", flat=True
        )
    )
    assert visible
    assert not visible & (lapsed | year_old)
    assert len(visible) == 50 - len(lapsed | year_old)


def test_registrants_have_birth_years_and_publication_choices(people):
    assert all(p.birth_year and 1940 < p.birth_year <= 2006 for p in people)
    published = Counter(bool(p.published_items) for p in people)
    assert 0.55 < published[True] / len(people) < 0.75


@pytest.mark.django_db
def test_seeded_requests_fill_the_queue_and_the_annual_counts():
    from sekispe.registrant_requests.models import RegistrantRequest, RequestKind

    call_command("seed_demo", specialists=300, seed=3, no_progress=True, stdout=StringIO())
    open_requests = RegistrantRequest.objects.filter(status="submitted")
    assert open_requests.count() >= 8
    # At most one open request per registrant and kind: the database would refuse more.
    pairs = list(open_requests.values_list("record_id", "kind"))
    assert len(pairs) == len(set(pairs))
    kinds = Counter(RegistrantRequest.objects.values_list("kind", flat=True))
    # Contact changes dominate, as in 000's table.
    assert kinds.most_common(1)[0][0] == RequestKind.CONTACT_CHANGE
    deregistered = RegistryRecord.objects.filter(status="deregistered")
    assert deregistered.exists()
    assert not deregistered.filter(ended_on__isnull=True).exists()
    for record in deregistered:
        request = record.requests.get(kind=RequestKind.DEREGISTRATION)
        assert request.status == "approved" and request.payload["reason"]


@pytest.mark.django_db
def test_the_demo_sme_has_a_diagnosis_history_climbing_the_steps(client):
    from sekispe.accounts.models import User
    from sekispe.diagnosis.models import Diagnosis

    out = StringIO()
    call_command("seed_demo", specialists=20, seed=5, no_progress=True, accounts=True, stdout=out)
    sme = User.objects.get(email="sme@demo.sekispe.example")
    history = list(Diagnosis.objects.filter(user=sme).order_by("created_at"))
    assert [d.step for d in history] == [1, 2, 3]
    assert [d.total_score for d in history] == [20, 50, 86]
    # Seeding again adds nothing.
    call_command("seed_demo", specialists=20, seed=5, no_progress=True, accounts=True, stdout=out)
    assert Diagnosis.objects.filter(user=sme).count() == 3
    client.force_login(sme)
    page = client.get("/diagnosis/history/").content.decode()
    assert page.count("<circle") == 3


@pytest.mark.django_db
def test_the_demo_has_inquiries_in_progress_and_waiting(django_capture_on_commit_callbacks):
    from sekispe.accounts.models import User
    from sekispe.inquiries.models import Inquiry, InquiryState

    out = StringIO()
    call_command("seed_demo", specialists=30, seed=6, no_progress=True, accounts=True, stdout=out)
    specialist = User.objects.get(email="specialist@demo.sekispe.example")
    states = sorted(
        Inquiry.objects.filter(listing__record_id=specialist.record_id).values_list(
            "state", flat=True
        )
    )
    assert states == [InquiryState.IN_GUIDANCE, InquiryState.SENT]
    referred = Inquiry.objects.get(referred_by_institution=True)
    assert referred.sender.email == "cci@demo.sekispe.example"
    call_command("seed_demo", specialists=30, seed=6, no_progress=True, accounts=True, stdout=out)
    assert Inquiry.objects.filter(listing__record_id=specialist.record_id).count() == 2


# -- the guards: never production, never over real data unless asked -------------------------


def _seed(**options):
    out = StringIO()
    call_command("seed_demo", specialists=20, seed=5, no_progress=True, stdout=out, **options)
    return out.getvalue()


def _record_by_hand():
    """A registry record as the admin or a restored dump leaves it: no audit event."""
    RegistryRecord.objects.create(
        registration_number="999001",
        name="山田 太郎",
        name_kana="ヤマダ タロウ",
        registered_on=dt.date(2024, 4, 1),
        expires_on=dt.date(2027, 3, 31),
        home_prefecture_id="13",
    )


def _demo_events():
    from sekispe.audit.models import AuditEvent

    return AuditEvent.objects.filter(action__startswith="devtools.")


@pytest.mark.django_db
def test_production_settings_refuse_even_with_the_flag(settings):
    from django.core.management.base import CommandError

    from sekispe.accounts.models import User

    settings.SEKISPE_ENVIRONMENT = "production"
    for flags in ({}, {"allow_real_data": True, "accounts": True}, {"if_empty": True}):
        with pytest.raises(CommandError, match="production"):
            _seed(**flags)
    assert not RegistryRecord.objects.exists()
    assert not User.objects.exists()
    assert not _demo_events().exists()


@pytest.mark.django_db
def test_a_demo_deployment_may_seed(settings):
    settings.SEKISPE_ENVIRONMENT = "demo"
    _seed(accounts=True)
    assert RegistryRecord.objects.count() == 20
    assert list(_demo_events().values_list("action", flat=True)) == ["devtools.demo_seeded"]


@pytest.mark.django_db
def test_an_empty_or_demo_seeded_database_is_seeded_again_without_the_flag():
    _seed(accounts=True)
    _seed(accounts=True)
    assert "投入しませんでした" in _seed(if_empty=True, accounts=True)
    # Records added by hand after a demo seed count as demo data.
    _record_by_hand()
    _seed()
    assert RegistryRecord.objects.count() == 21


@pytest.mark.django_db
def test_a_database_seeded_before_the_marker_existed_counts_as_demo():
    from sekispe.devtools.demo.listings import write_demo_specialists

    write_demo_specialists(
        generate_specialists(10, 1, ANCHOR), actor_label="seed-demo", source={}, progress=False
    )
    _seed(if_empty=True, accounts=True)


def _records_from_an_import():
    from sekispe.audit.services import record_event

    create_specialists(make_input())
    record_event("registry.import", actor_label="import-registry (by ops)")


def _rejected_import_on_a_demo_database():
    from sekispe.audit.services import record_event

    _seed()
    record_event("courses.import_rejected", actor_label="import-courses (by ops)")


def _pilot_list_import():
    from sekispe.listings.services import write_listings

    write_listings([make_input()], actor_label="import-listings")


def _records_of_unknown_origin():
    _record_by_hand()


def _an_operator_account_only():
    from tests.factories import make_user

    make_user("operator", "ops@ipa.example.jp")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make_real", "reason"),
    [
        (_records_from_an_import, "import-registry"),
        (_rejected_import_on_a_demo_database, "import-courses"),
        (_pilot_list_import, "import-listings"),
        (_records_of_unknown_origin, "登録情報"),
        (_an_operator_account_only, "アカウント"),
    ],
)
def test_real_data_is_refused_without_the_flag_and_nothing_is_written(make_real, reason):
    from django.core.management.base import CommandError

    from sekispe.accounts.models import User

    make_real()
    records, users = RegistryRecord.objects.count(), User.objects.count()
    marks = _demo_events().count()
    for flags in ({}, {"accounts": True}, {"if_empty": True, "accounts": True}):
        with pytest.raises(CommandError, match=reason) as refused:
            _seed(**flags)
        assert "--allow-real-data" in str(refused.value)
    assert RegistryRecord.objects.count() == records
    assert User.objects.count() == users
    assert not User.objects.filter(email__endswith="@demo.sekispe.example").exists()
    assert _demo_events().count() == marks


@pytest.mark.django_db
def test_the_flag_seeds_over_real_data_and_the_database_stays_real():
    from django.core.management.base import CommandError

    _records_of_unknown_origin()
    _seed(allow_real_data=True)
    assert RegistryRecord.objects.count() == 21
    forced = _demo_events().get()
    assert forced.action == "devtools.demo_seeded_over_real_data"
    assert forced.data["real_data"]
    with pytest.raises(CommandError, match="--allow-real-data"):
        _seed()


def test_the_help_explains_what_counts_as_real_data():
    from sekispe.devtools.management.commands import seed_demo

    parser = seed_demo.Command().create_parser("sekispe", "seed_demo")
    text = "".join(parser.format_help().split())  # argparse wraps at hyphens
    assert "--allow-real-data" in text
    assert "import-registry" in text and "import-listings" in text
    assert "real data" in seed_demo.__doc__


@pytest.mark.django_db
def test_the_demo_chambers_referral_is_on_its_pages(client):
    from sekispe.accounts.models import User
    from sekispe.events.models import Referral

    _seed(accounts=True)
    [referral] = Referral.objects.select_related("participant__event")
    assert referral.participant.company_name == "有限会社デモ商店"
    client.force_login(User.objects.get(email="cci@demo.sekispe.example"))
    assert "有限会社デモ商店" in client.get("/events/referrals/").content.decode()
    event = referral.participant.event
    assert "有限会社デモ商店" in client.get(f"/events/{event.pk}/").content.decode()


@pytest.mark.django_db
def test_seeding_publishes_no_search_index_built_inside_its_transaction(settings, caplog):
    """The seed needs a search index of the rows it has just written (the demo
    demand counts each search's local supply), but those rows stay uncommitted
    until the seed ends. An index built from them must stay the seed's own: as
    this process's index, its poller (another connection, committed rows only)
    found the change log "gone or rewritten", logged a warning and rebuilt,
    on every first `make run`."""
    settings.SEARCH_INDEX_BACKGROUND_REFRESH = True  # as in every real process
    call_command("seed_demo", specialists=40, seed=1, no_progress=True, stdout=StringIO())
    assert SearchDemand.objects.filter(results__gt=0).exists()  # supply was counted

    # What the poller thread does on its next turn, from its own connection.
    def poll_like_the_poller():
        try:
            ix.wait_for_refresh()
        finally:
            connection.close()

    poller = threading.Thread(target=poll_like_the_poller)
    poller.start()
    poller.join()
    assert not ix.index_status().built
    assert not [r for r in caplog.records if r.name == "sekispe.search.index"]

"""Issue 18: the index kept current by deltas answers exactly as a full build would.

A hypothesis state machine makes random sequences of the writes the service
really makes (bulk import, a listing created and published step by step,
self-service edits of every field kind, gated edits approved by an operator,
suspension, withdrawal, capacity filled and freed by inquiries, registry
facts and courses, raw model saves, deletion, the day moving past an expiry)
and after every step compares what `search()` answers from this process's
index (the snapshot plus the deltas it applied) with the same query run on
an index built from scratch: the same count, the same registration numbers
in the same order, the same facet counts and the same detail visibility.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from sekispe.inquiries import services as inquiries
from sekispe.inquiries.models import Inquiry
from sekispe.listings import lifecycle
from sekispe.listings.lifecycle import ListingChanges
from sekispe.listings.models import Listing, ListingStatus
from sekispe.listings.revisions import open_revision
from sekispe.reference import services as ref
from sekispe.registry.models import CourseCompletion, RegistryRecord
from sekispe.search import index as ix
from sekispe.search import services
from sekispe.search.services import SearchQuery
from tests.factories import TODAY, create_specialists, make_input, make_user
from tests.inquiry_support import draft

pytestmark = pytest.mark.django_db

PROFILES = (
    "ランサムウェア対策と従業員教育が専門です。" * 6,
    "クラウドサービスの安全な利用を支援します。" * 6,
    "情報セキュリティ規程の整備と ISMS 認証の取得支援。" * 6,
    "インシデント対応手順書の作成と机上演習を行います。" * 6,
)
PLACES = ("13", "14", "27", "01")
FORMS = ("online", "visit")
QUERIES = (
    SearchQuery(page_size=50),
    SearchQuery(prefectures=("13",), page_size=50),
    SearchQuery(prefectures=("27",), page_size=50),
    SearchQuery(themes=(2,), page_size=50),
    SearchQuery(q="ランサム", page_size=50),
    SearchQuery(q="クラウド 支援", page_size=50),
    SearchQuery(q="鈴木", page_size=50),
    SearchQuery(include_not_accepting=True, page_size=50),
    SearchQuery(max_fee=20000, page_size=50),
    SearchQuery(forms=("visit",), first_free=True, include_not_accepting=True, page_size=50),
    SearchQuery(industries=("E",), qualifications=(ref.QUALIFICATION_CODES[0],), page_size=50),
    SearchQuery(page=2, page_size=3),
    SearchQuery(page=2, page_size=3, include_not_accepting=True),
)
_numbers = itertools.count(700000)
index_of = st.integers(min_value=0, max_value=10**6)


def _sets(codes, min_size=0, max_size=3):
    return st.lists(st.sampled_from(codes), min_size=min_size, max_size=max_size, unique=True)


def _outcome(result) -> dict:
    return {
        "count": result.count,
        "numbers": [r["registration_number"] for r in result.results],
        "rows": result.results,
        "facets": result.facets,
        "not_accepting_hidden": result.not_accepting_hidden,
        "fallback": result.fallback,
    }


def _visible_in(index: ix.SpecialistIndex, number: str) -> bool:
    pos = index.position_by_number.get(number)
    return pos is not None and bool(index.live[pos])


class IncrementalIndex(RuleBasedStateMachine):
    """Writes through the real services; after each, delta index == full build."""

    def __init__(self) -> None:
        super().__init__()
        # Each example in its own transaction, rolled back at its end, and with
        # no index or snapshot left from the example before.
        ix.reset_index()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.today = TODAY
        self.numbers: list[str] = []
        self.specialists: dict[str, object] = {}
        self.clients = iter(())  # set in populate

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)
        ix.reset_index()

    # --- set-up -------------------------------------------------------------------------

    @initialize(
        profiles=st.lists(st.sampled_from(PROFILES), min_size=4, max_size=4),
        expiry=st.lists(st.sampled_from((2, 9, 30, 200)), min_size=4, max_size=4),
    )
    def populate(self, profiles, expiry) -> None:
        self.operator = make_user("operator")
        self.clients = itertools.cycle([make_user("sme") for _ in range(3)])
        items = [
            make_input(
                registration_number=f"{next(_numbers):06d}",
                name="鈴木 花子" if i % 2 else "佐藤 健太",
                profile=profiles[i],
                prefectures=(PLACES[i % len(PLACES)],),
                themes=(1 + i % 3,),
                fees={"online": 10000 * (i + 1)},
                expires_on=TODAY + dt.timedelta(days=expiry[i]),
                registered_on=dt.date(2024, 4, 1),
                email=f"s{i}@example.jp",
            )
            for i in range(4)
        ]
        create_specialists(*items)
        self.numbers += [item.registration_number for item in items]
        self.template = RegistryRecord.objects.get(registration_number=items[0].registration_number)
        # Kept apart: a step may drop the template's own courses.
        self.courses = list(
            self.template.courses.values("kind", "fiscal_year", "provider", "completed_on")
        )

    # --- helpers ------------------------------------------------------------------------

    def _listing(self, i: int) -> Listing | None:
        number = self.numbers[i % len(self.numbers)]
        return (
            Listing.objects.select_related("record")
            .filter(record__registration_number=number)
            .first()
        )

    def _published(self, i: int) -> Listing | None:
        listing = self._listing(i)
        return (
            listing if listing is not None and listing.status == ListingStatus.PUBLISHED else None
        )

    def _edit(self, listing: Listing, changes: ListingChanges) -> None:
        result = lifecycle.update_listing(listing, changes, actor=self.operator)
        if result.pending:  # a gated edit of a live listing: the operator approves it
            revision = open_revision(listing)
            lifecycle.approve_change(
                listing, actor=self.operator, revision_id=revision.pk, today=self.today
            )

    def _specialist_of(self, listing: Listing):
        user = self.specialists.get(listing.record.registration_number)
        if user is None:
            user = make_user("specialist", record=listing.record)
            self.specialists[listing.record.registration_number] = user
        return user

    # --- creating -----------------------------------------------------------------------

    @rule(profile=st.sampled_from(PROFILES), places=_sets(PLACES, 1))
    def import_one(self, profile, places) -> None:
        """The bulk path: logs "everything", so the next search loads a new snapshot."""
        number = f"{next(_numbers):06d}"
        create_specialists(
            make_input(
                registration_number=number,
                profile=profile,
                prefectures=tuple(places),
                name="鈴木 一郎",
                email="n@example.jp",
            )
        )
        self.numbers.append(number)

    @rule(profile=st.sampled_from(PROFILES), places=_sets(PLACES, 1), themes=_sets((1, 2, 3), 1))
    def create_and_publish(self, profile, places, themes) -> None:
        """A new record, its draft listing, edits, submit, approve: deltas only."""
        t = self.template
        number = f"{next(_numbers):06d}"
        record = RegistryRecord.objects.create(
            registration_number=number,
            name="田中 美咲",
            name_kana="タナカ ミサキ",
            registered_on=t.registered_on,
            expires_on=dt.date(2027, 3, 31),
            status="active",
            home_prefecture_id="13",
        )
        for course in self.courses:
            CourseCompletion.objects.create(record=record, **course)
        listing = lifecycle.start_listing(record, actor=self.operator)
        lifecycle.update_listing(
            listing,
            ListingChanges(
                values={"profile": profile, "email": "tanaka@example.jp"},
                sets={"prefectures": set(places), "themes": set(themes)},
                fees={"visit": 15000},
            ),
            actor=self.operator,
        )
        try:
            lifecycle.submit_listing(listing, actor=self.operator, today=self.today)
            lifecycle.approve_listing(listing, actor=self.operator, today=self.today)
        except lifecycle.ListingError:
            pass  # criteria failed on a later day (courses due): it stays a draft, unlisted
        self.numbers.append(number)

    # --- self-service edits ---------------------------------------------------------------

    @rule(i=index_of, profile=st.sampled_from(PROFILES))
    def edit_profile(self, i, profile) -> None:
        listing = self._listing(i)
        if listing is not None and listing.status != ListingStatus.WITHDRAWN:
            self._edit(listing, ListingChanges(values={"profile": profile}))

    @rule(
        i=index_of,
        name=st.sampled_from(("prefectures", "themes", "industries", "periods", "qualifications")),
        data=st.data(),
    )
    def edit_set(self, i, name, data) -> None:
        codes = {
            "prefectures": PLACES,
            "themes": (1, 2, 3, 4),
            "industries": ("E", "G", "P"),
            "periods": tuple(ref.PERIOD_CODES[:3]),
            "qualifications": tuple(ref.QUALIFICATION_CODES[:3]),
        }[name]
        wanted = data.draw(_sets(codes, 1 if name in ("prefectures", "themes") else 0))
        listing = self._listing(i)
        if listing is not None and listing.status != ListingStatus.WITHDRAWN:
            self._edit(listing, ListingChanges(sets={name: set(wanted)}))

    @rule(
        i=index_of, fees=st.dictionaries(st.sampled_from(FORMS), st.sampled_from((0, 15000, 30000)))
    )
    def edit_fees(self, i, fees) -> None:
        listing = self._listing(i)
        if listing is not None and listing.status != ListingStatus.WITHDRAWN:
            self._edit(listing, ListingChanges(fees=fees))

    @rule(
        i=index_of,
        first_free=st.booleans(),
        affiliation=st.sampled_from(ref.AFFILIATION_CODES),
        capacity=st.integers(min_value=1, max_value=3),
    )
    def edit_scalars(self, i, first_free, affiliation, capacity) -> None:
        listing = self._listing(i)
        if listing is not None and listing.status != ListingStatus.WITHDRAWN:
            values = {"first_free": first_free, "affiliation": affiliation, "capacity": capacity}
            if affiliation == "company":
                values["employer_permits_outside_work"] = True
            self._edit(listing, ListingChanges(values=values))

    @rule(i=index_of, accepting=st.booleans(), resumes_in=st.none() | st.integers(1, 5))
    def set_availability(self, i, accepting, resumes_in) -> None:
        listing = self._listing(i)
        if listing is not None and listing.status != ListingStatus.WITHDRAWN:
            lifecycle.set_availability(
                listing,
                actor=self.operator,
                accepting=accepting,
                resumes_on=None if resumes_in is None else self.today + dt.timedelta(resumes_in),
                today=self.today,
            )

    # --- raw model writes (signals log them) ------------------------------------------------

    @rule(i=index_of, profile=st.sampled_from(PROFILES), places=_sets(PLACES, 1))
    def model_save(self, i, profile, places) -> None:
        listing = self._listing(i)
        if listing is not None:
            listing.profile = profile
            listing.save()
            listing.prefectures.set(places)

    @rule(i=index_of, status=st.sampled_from(("active", "expired", "deregistered")))
    def record_status(self, i, status) -> None:
        listing = self._listing(i)
        if listing is not None:
            record = listing.record
            record.status = status
            record.save()  # logs the record id, not the listing's

    @rule(i=index_of)
    def drop_courses(self, i) -> None:
        listing = self._listing(i)
        if listing is not None:
            CourseCompletion.objects.filter(record=listing.record).delete()

    @rule(i=index_of)
    def delete_listing(self, i) -> None:
        listing = self._listing(i)
        if listing is not None and not Inquiry.objects.filter(listing=listing).exists():
            listing.delete()

    # --- the lifecycle --------------------------------------------------------------------

    @rule(i=index_of)
    def suspend(self, i) -> None:
        listing = self._published(i)
        if listing is not None:
            lifecycle.suspend_listing(listing, actor=self.operator, reason="確認中")

    @rule(i=index_of)
    def restore(self, i) -> None:
        listing = self._listing(i)
        if listing is not None and listing.status == ListingStatus.SUSPENDED:
            lifecycle.restore_listing(listing, actor=self.operator)

    @rule(i=index_of)
    def withdraw(self, i) -> None:
        listing = self._listing(i)
        if listing is not None and listing.status != ListingStatus.WITHDRAWN:
            lifecycle.withdraw_listing(listing, actor=self.operator)

    # --- capacity ------------------------------------------------------------------------

    @rule(i=index_of)
    def take_an_inquiry(self, i) -> None:
        """An SME sends, the specialist accepts: one capacity slot taken."""
        listing = self._published(i)
        if listing is None:
            return
        client = next(self.clients)
        try:
            inquiry = inquiries.send_inquiry(
                client, listing, draft(company_name=f"株式会社{next(_numbers)}")
            )
            inquiries.accept(inquiry, self._specialist_of(listing))
        except inquiries.InquiryRefused:
            pass  # not accepting, full, rate-limited: nothing changed

    @rule(i=index_of)
    def close_an_inquiry(self, i) -> None:
        """The client closes an open engagement: a slot is free again."""
        listing = self._listing(i)
        if listing is None:
            return
        inquiry = Inquiry.objects.filter(listing=listing, state="accepted").first()
        if inquiry is not None:
            inquiries.close(inquiry, inquiry.sender, "no_longer_needed")

    # --- time ----------------------------------------------------------------------------

    @rule(days=st.sampled_from((1, 3, 8, 25)))
    def next_days(self, days) -> None:
        """A new day: expiries and availability dates pass; a new day's snapshot."""
        self.today += dt.timedelta(days=days)

    # --- the comparison ------------------------------------------------------------------

    @invariant()
    def same_as_a_full_build(self) -> None:
        if not self.numbers:
            return
        incremental = [
            _outcome(services.search(query, today=self.today, with_facets=True))
            for query in QUERIES
        ]
        held = ix.get_index(self.today)
        fresh = ix.build_index(self.today)
        with fresh.lock:
            expected = [
                _outcome(services._search(fresh, query, with_facets=True, record_exposure=False))
                for query in QUERIES
            ]
        for query, got, want in zip(QUERIES, incremental, expected, strict=True):
            assert got == want, query
        assert held.visible == fresh.visible
        assert held.generation == fresh.generation
        for number in self.numbers:
            shown = _visible_in(fresh, number)
            assert _visible_in(held, number) == shown, number
            try:
                services.get_specialist(number, today=self.today)
            except LookupError:
                assert not shown, number
            else:
                assert shown, number
            if shown:
                with held.lock, fresh.lock:
                    mine = services.serialize_row(held, held.position_by_number[number])
                    theirs = services.serialize_row(fresh, fresh.position_by_number[number])
                assert mine == theirs, number


IncrementalIndex.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_deltas_answer_as_a_full_build_would():
    run_state_machine_as_test(IncrementalIndex, settings=IncrementalIndex.TestCase.settings)

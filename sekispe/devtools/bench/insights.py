"""Insights benchmark (issue 17, part 5): the refresh and every policy page at scale.

Like the other benchmarks, in two halves:
- `run_insights_bench` seeds the *current* (empty) database with the issue's
  population (registrants and courses drawn by the import bench's generator,
  listed specialists by the demo generator, diagnoses, inquiries through the
  funnel, consultation events, the search-demand log and SECURITY ACTION
  declarations), times `refresh_insights()` three times, then times every page
  of the insights, insights_map and opendata URL namespaces and of the
  statistics API through Django's test client. The smoke test calls it against
  the test database with small numbers.
- `run_scratch_benchmarks` is what `sekispe bench insights` does: one
  subprocess per scratch database (sekispe/devtools/scratchdb.py).

Targets (issue 17): the refresh under 60 s; every page under 200 ms at p95.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from sekispe.devtools import scratchdb
from sekispe.devtools.bench import imports as import_bench
from sekispe.devtools.bench import search as search_bench
from sekispe.devtools.scratchdb import prepare_worker_database, run_workers
from sekispe.lib.dates import fiscal_year
from sekispe.reference import data

TARGET_REFRESH_S = 60.0
TARGET_P95_MS = 200.0
SCRATCH_PG_NAME = "sekispe_bench_insights"

# The scale (part 5); `make bench` runs these.
REGISTRANTS = 50_000
COURSES = 300_000
LISTINGS = 10_000  # of the registrants: a fifth listed, as in the demo data
DIAGNOSES = 200_000
INQUIRIES = 20_000
SEARCHES = 1_000_000
DECLARATIONS = 5_000
EVENTS = 600

REFRESH_RUNS = 3
WARMUPS = 3
REQUESTS = 50
# A few prefecture pages: the largest, a middle one and small ones.
PREFECTURE_PAGES = ("13", "27", "04", "31", "47")
# Namespaces whose pages are timed; the public ones are requested anonymously.
SIGNED_IN_NAMESPACES = ("insights", "insights_map")
PUBLIC_NAMESPACES = ("opendata",)
API_PREFIX = "/api/v1/statistics"

BATCH = 5_000
DIAGNOSIS_DAYS = 730
SEARCH_DAYS = 365
# Answer sets drawn once and reused: scoring 200,000 random sets costs more than the
# refresh it prepares, and the refresh never compares answers between rows.
ANSWER_POOL = 3_000
# Registry numbers of the imported-style registrants start here, clear of the
# demo specialists' numbers (sekispe/devtools/demo/listings.py draws below 900,000
# but far lower at these sizes).
NUMBER_OFFSET = 900_000 - REGISTRANTS
EMPLOYEE_BANDS = ("1-5", "6-20", "21-50", "51-100", "101-300", "301+")
EMPLOYEE_WEIGHTS = (40, 28, 14, 9, 6, 3)
FORMS = ("", "visit", "online", "training", "product")

# Where inquiries end (share of the 20,000); each path's transitions follow
# `_PATHS`, so the funnel has every stage and the reasons have counts.
INQUIRY_ENDS: dict[str, float] = {
    "sent": 6,
    "expired": 7,
    "declined": 12,
    "accepted": 8,
    "consulting": 8,
    "guidance_planned": 6,
    "in_guidance": 6,
    "completed": 8,
    "confirmed": 27,
    "closed": 12,
}
_PATHS: dict[str, tuple[str, ...]] = {
    "sent": (),
    "expired": ("expired",),
    "declined": ("declined",),
    "accepted": ("accepted",),
    "consulting": ("accepted", "consulting"),
    "guidance_planned": ("accepted", "consulting", "guidance_planned"),
    "in_guidance": ("accepted", "consulting", "guidance_planned", "in_guidance"),
    "completed": ("accepted", "consulting", "guidance_planned", "in_guidance", "completed"),
    "confirmed": (
        "accepted",
        "consulting",
        "guidance_planned",
        "in_guidance",
        "completed",
        "confirmed",
    ),
    "closed": ("accepted", "consulting", "closed"),
}


@dataclass(frozen=True)
class Sizes:
    registrants: int = REGISTRANTS
    courses: int = COURSES
    listings: int = LISTINGS
    diagnoses: int = DIAGNOSES
    inquiries: int = INQUIRIES
    searches: int = SEARCHES
    declarations: int = DECLARATIONS
    events: int = EVENTS
    requests: int = REQUESTS

    def args(self) -> list[str]:
        """As command-line flags, for the worker subprocess."""
        return [item for name, value in self.__dict__.items() for item in (f"--{name}", str(value))]


# --- seeding ---------------------------------------------------------------------------


def _bar(total: int, desc: str, progress: bool) -> tqdm:
    # disable=None lets tqdm stay quiet when stderr is not a terminal.
    return tqdm(
        total=total, desc=desc, unit="row", file=sys.stderr, disable=None if progress else True
    )


def _batched(
    rows: Iterable[Any],
    total: int,
    desc: str,
    progress: bool,
    write: Callable[[list[Any]], list[Any]],
) -> list[Any]:
    """`write` each batch of `BATCH` rows behind a progress bar; what it returned, joined."""
    written: list[Any] = []
    batch: list[Any] = []
    with _bar(total, desc, progress) as bar:
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH:
                written += write(batch)
                bar.update(len(batch))
                batch = []
        if batch:
            written += write(batch)
            bar.update(len(batch))
    return written


def _bulk(model: type, rows: Iterable[Any], total: int, desc: str, progress: bool) -> list[Any]:
    """bulk_create in batches; returns the saved objects (with primary keys on
    SQLite 3.35+ and PostgreSQL)."""
    return _batched(rows, total, desc, progress, model.objects.bulk_create)  # type: ignore[attr-defined]


@contextmanager
def _given_timestamps(*fields: tuple[type, str]) -> Iterator[None]:
    """Let bulk_create keep the timestamps we draw: auto_now_add fields would
    otherwise all say "now", and the history is what the pages are about."""
    found = [model._meta.get_field(name) for model, name in fields]  # type: ignore[attr-defined]
    for field in found:
        field.auto_now_add = False
    try:
        yield
    finally:
        for field in found:
            field.auto_now_add = True


def _moment(rng: random.Random, day: dt.date) -> dt.datetime:
    from django.utils import timezone

    at = dt.datetime.combine(day, dt.time(rng.randint(8, 19), rng.randint(0, 59)))
    return timezone.make_aware(at)


def _days_back(rng: random.Random, today: dt.date, days: int) -> dt.date:
    return today - dt.timedelta(days=rng.randint(0, days - 1))


PREFECTURE_CODES = tuple(data.REGISTRANTS_2021)
PREFECTURE_WEIGHTS = tuple(data.REGISTRANTS_2021.values())
THEME_CODES = tuple(t.code for t in data.GUIDANCE_THEMES)
INDUSTRY_CODES = tuple(code for code, _ja, _en in data.INDUSTRIES)


def _prefecture(rng: random.Random) -> str:
    return rng.choices(PREFECTURE_CODES, weights=PREFECTURE_WEIGHTS)[0]


def seed_registry(sizes: Sizes, seed: int, today: dt.date, progress: bool) -> dict[str, int]:
    """Listed specialists through the demo writer (as the search bench seeds them),
    then the rest of the registrants and the courses from the import bench's
    generator, with end dates, exam seasons and deregistration reasons."""
    from sekispe.registrant_requests.models import (
        DeregistrationReason,
        RegistrantRequest,
        RequestKind,
        RequestStatus,
    )
    from sekispe.registry.models import CourseCompletion, RegistryRecord

    listings = min(sizes.listings, sizes.registrants)
    if listings:
        search_bench.seed_listings(listings, seed, progress=progress)
    rng = random.Random(seed + 10)
    people = import_bench.generate_registrants(sizes.registrants - listings, seed, today)

    def records() -> Iterator[RegistryRecord]:
        for i, person in enumerate(people):
            ended_on = None
            if person.status in ("deregistered", "deceased"):
                last = min(person.expires_on, today - dt.timedelta(days=1))
                ended_on = import_bench._day_between(rng, person.registered_on, last)
            elif person.status == "expired":
                ended_on = person.expires_on + dt.timedelta(days=1)
            yield RegistryRecord(
                registration_number=f"{NUMBER_OFFSET + i:06d}",
                name=person.name,
                name_kana=person.kana,
                registered_on=person.registered_on,
                expires_on=person.expires_on,
                renewal_count=person.renewal_count,
                status=person.status,
                home_prefecture_id=person.home,
                birth_year=person.birth_year,
                exam_year=person.registered_on.year - rng.choice((0, 0, 1)),
                exam_season=rng.choice(("spring", "autumn")),
                email=person.email,
                ended_on=ended_on,
            )

    saved = _bulk(RegistryRecord, records(), len(people), "registrants", progress)
    ids = {person.number: record.pk for person, record in zip(people, saved, strict=True)}

    existing = CourseCompletion.objects.count()
    courses = (
        import_bench.generate_courses(people, max(0, sizes.courses - existing), seed, today)
        if people
        else []
    )
    _bulk(
        CourseCompletion,
        (
            CourseCompletion(
                record_id=ids[number],
                kind=kind,
                fiscal_year=fiscal_year(day),
                provider=provider,
                course_code=code,
                completed_on=day,
            )
            for number, kind, provider, code, day in courses
        ),
        len(courses),
        "courses",
        progress,
    )

    reasons = DeregistrationReason.values
    leavers = [
        (record, ended)
        for record, ended in RegistryRecord.objects.filter(
            status="deregistered", ended_on__isnull=False
        ).values_list("pk", "ended_on")
    ]
    # Most leave by a 消除届 that gives a reason; the rest have none on file.
    requests = [
        RegistrantRequest(
            record_id=record,
            kind=RequestKind.DEREGISTRATION,
            status=RequestStatus.APPROVED,
            payload={"reason": rng.choice(reasons)},
            fiscal_year=fiscal_year(ended),
            submitted_at=_moment(rng, ended - dt.timedelta(days=rng.randint(1, 20))),
            decided_at=_moment(rng, ended),
        )
        for record, ended in leavers
        if rng.random() < 0.85
    ]
    _bulk(RegistrantRequest, requests, len(requests), "deregistrations", progress)
    return {
        "registrants": RegistryRecord.objects.count(),
        "courses": CourseCompletion.objects.count(),
        "deregistration_requests": len(requests),
    }


def _answer_pool(rng: random.Random, size: int) -> list[tuple[int, dict[str, str], int, int]]:
    """(version, answers, step, total) drawn with a bias per set, so every Step occurs."""
    from sekispe.diagnosis import rules

    questionnaire = rules.current()
    pool = []
    for _ in range(size):
        # Skewed towards done, so companies reach every Step (uniform "done"
        # shares would leave nearly all at Step 1).
        done = rng.random() ** 0.25
        answers = {
            q.id: "done"
            if rng.random() < done
            else rng.choice(("partly", "not_done", "not_done", "unknown"))
            for q in questionnaire.questions
        }
        result = rules.evaluate(questionnaire, answers)
        pool.append((questionnaire.version, answers, result.step, result.total))
    pool.sort(key=lambda item: item[3])
    return pool


def seed_smes(sizes: Sizes, seed: int, today: dt.date, progress: bool) -> dict[str, int]:
    """SME accounts, their (and anonymous) diagnoses over two years, and declarations."""
    from sekispe.accounts.models import Role, User
    from sekispe.diagnosis.models import Diagnosis, SecurityActionDeclaration

    rng = random.Random(seed + 20)
    accounts = max(1, sizes.diagnoses // 8)
    users = _bulk(
        User,
        (User(email=f"bench-sme-{i}@example.jp", role=Role.SME) for i in range(accounts)),
        accounts,
        "SME accounts",
        progress,
    )
    profiles = {
        user.pk: {
            "prefecture": _prefecture(rng),
            "industry": rng.choice(INDUSTRY_CODES),
            "employees": rng.choices(EMPLOYEE_BANDS, weights=EMPLOYEE_WEIGHTS)[0],
        }
        for user in users
    }
    pool = _answer_pool(rng, max(1, min(ANSWER_POOL, sizes.diagnoses)))
    # Accounts answer again over time and mostly improve: a later diagnosis draws
    # from higher in the pool (sorted by score) than the account's last one.
    position: dict[int, int] = {}
    user_ids = [user.pk for user in users]

    def diagnoses() -> Iterator[Diagnosis]:
        for i in range(sizes.diagnoses):
            user_id = rng.choice(user_ids) if rng.random() < 0.4 else None
            if user_id is None:
                index = rng.randrange(len(pool))
                profile = {
                    "prefecture": _prefecture(rng),
                    "industry": rng.choice(INDUSTRY_CODES),
                    "employees": rng.choices(EMPLOYEE_BANDS, weights=EMPLOYEE_WEIGHTS)[0],
                }
                if rng.random() < 0.2:
                    profile = {}  # the profile is optional
            else:
                last = position.get(user_id, rng.randrange(max(1, len(pool) // 2)))
                index = min(len(pool) - 1, last + rng.randint(-len(pool) // 20, len(pool) // 8))
                position[user_id] = index
                profile = profiles[user_id]
            version, answers, step, total = pool[index]
            yield Diagnosis(
                version=version,
                answers=answers,
                profile=profile,
                step=step,
                total_score=total,
                share_token=f"bench-{seed}-{i}",
                user_id=user_id,
                created_at=_moment(rng, _days_back(rng, today, DIAGNOSIS_DAYS)),
            )

    with _given_timestamps((Diagnosis, "created_at")):
        _bulk(Diagnosis, diagnoses(), sizes.diagnoses, "diagnoses", progress)

    def declarations() -> Iterator[SecurityActionDeclaration]:
        made = 0
        while made < sizes.declarations:
            user_id = rng.choice(user_ids)
            first = _days_back(rng, today, DIAGNOSIS_DAYS)
            levels = [1, 2] if rng.random() < 0.25 else [rng.choice((1, 1, 1, 2))]
            for level in levels[: sizes.declarations - made]:
                yield SecurityActionDeclaration(
                    user_id=user_id,
                    level=level,
                    declared_on=first
                    if level == levels[0]
                    else min(today, first + dt.timedelta(days=rng.randint(90, 400))),
                    declaration_id=f"{rng.randint(10**9, 10**10 - 1)}",
                    prefecture_id=profiles[user_id]["prefecture"],
                )
                made += 1

    _bulk(SecurityActionDeclaration, declarations(), sizes.declarations, "declarations", progress)
    return {
        "sme_accounts": accounts,
        "diagnoses": Diagnosis.objects.count(),
        "declarations": SecurityActionDeclaration.objects.count(),
    }


def seed_funnel(sizes: Sizes, seed: int, today: dt.date, progress: bool) -> dict[str, int]:
    """Consultation events with participants and individual consultations, and
    inquiries through every state with their transitions and guidance plans."""
    from django.utils import timezone

    from sekispe.accounts.models import Role, User
    from sekispe.events.models import ConsultationEvent, EventParticipant, IndividualConsultation
    from sekispe.inquiries.models import (
        CloseReason,
        DeclineReason,
        GuidancePlan,
        Inquiry,
        InquiryTransition,
    )
    from sekispe.listings.models import Listing

    rng = random.Random(seed + 30)
    listings = list(Listing.objects.values_list("pk", "record__registration_number"))
    if not listings:
        return {"events": 0, "participants": 0, "consultations": 0, "inquiries": 0}
    institutions = User.objects.bulk_create(
        [User(email=f"bench-institution-{i}@example.jp", role=Role.INSTITUTION) for i in range(40)]
    )
    smes = list(User.objects.filter(role=Role.SME).values_list("pk", flat=True)[:5_000])
    if not smes:
        smes = [
            u.pk
            for u in User.objects.bulk_create([User(email="bench-sme@example.jp", role=Role.SME)])
        ]

    events = _bulk(
        ConsultationEvent,
        (
            ConsultationEvent(
                owner=rng.choice(institutions),
                title=f"相談会 {i}",
                held_on=_days_back(rng, today, DIAGNOSIS_DAYS),
                capacity=30,
                themes=rng.sample(THEME_CODES, 2),
            )
            for i in range(sizes.events)
        ),
        sizes.events,
        "events",
        progress,
    )
    participants = _bulk(
        EventParticipant,
        (
            EventParticipant(
                event=event,
                company_name=f"参加企業 {event.pk}-{n}",
                contact_name="担当",
                email=f"p{event.pk}-{n}@example.jp",
                prefecture=_prefecture(rng),
                industry=rng.choice(INDUSTRY_CODES),
                employees=rng.choices(EMPLOYEE_BANDS, weights=EMPLOYEE_WEIGHTS)[0],
                themes=rng.sample(THEME_CODES, rng.randint(1, 2)),
                registered_via=rng.choice(("staff", "link")),
            )
            for event in events
            for n in range(rng.randint(4, 24))
        ),
        sizes.events * 14,
        "participants",
        progress,
    )
    consulted = [p for p in participants if rng.random() < 0.45]

    def consultations() -> Iterator[IndividualConsultation]:
        for participant in consulted:
            listing, number = rng.choice(listings)
            yield IndividualConsultation(
                participant=participant,
                registration_number=number,
                listing_id=listing,
                theme=participant.themes[0],
                notes="課題",
                recorded_by_id=participant.event.owner_id,
            )

    _bulk(IndividualConsultation, consultations(), len(consulted), "consultations", progress)

    now = timezone.now()
    ends = rng.choices(list(INQUIRY_ENDS), weights=list(INQUIRY_ENDS.values()), k=sizes.inquiries)
    steps: list[list[tuple[str, dt.datetime]]] = []

    def inquiries() -> Iterator[Inquiry]:
        for i, end in enumerate(ends):
            created = _moment(rng, _days_back(rng, today, DIAGNOSIS_DAYS))
            at, trail, state = created, [], "sent"
            for to in _PATHS[end]:
                # Hours to answer; days to weeks between later stages.
                if to in ("accepted", "declined"):
                    at += dt.timedelta(hours=rng.expovariate(1 / 30))
                else:
                    at += dt.timedelta(days=14 if to == "expired" else rng.randint(3, 40))
                if at >= now:
                    break  # a recent inquiry has not got that far yet
                trail.append((to, at))
                state = to
            steps.append(trail)
            sender = rng.choice(smes)
            yield Inquiry(
                listing_id=rng.choice(listings)[0],
                sender_id=sender,
                sme_account_id=sender,
                referred_by_institution=rng.random() < 0.3,
                company_name=f"相談企業 {i}",
                contact_name="担当",
                contact_email=f"inquiry-{i}@example.jp",
                company_profile={
                    "prefecture": _prefecture(rng),
                    "industry": rng.choice(INDUSTRY_CODES),
                    "employees": rng.choices(EMPLOYEE_BANDS, weights=EMPLOYEE_WEIGHTS)[0],
                },
                theme=rng.choice(THEME_CODES),
                preferred_form=rng.choice(("visit", "online", "either")),
                message="相談内容",
                wants_free_first_session=rng.random() < 0.5,
                state=state,
                decline_reason=rng.choice(DeclineReason.values) if state == "declined" else "",
                close_reason=rng.choice(CloseReason.values) if state == "closed" else "",
                created_at=created,
                state_changed_at=at,
                answer_by=created + dt.timedelta(days=14),
            )

    saved = _bulk(Inquiry, inquiries(), sizes.inquiries, "inquiries", progress)

    def transitions() -> Iterator[InquiryTransition]:
        for inquiry, trail in zip(saved, steps, strict=True):
            before = "sent"
            yield InquiryTransition(inquiry=inquiry, to_state="sent", at=inquiry.created_at)
            for to, at in trail:
                yield InquiryTransition(inquiry=inquiry, from_state=before, to_state=to, at=at)
                before = to

    plans = [
        GuidancePlan(
            inquiry=inquiry, theme=inquiry.theme, created_at=dict(trail)["guidance_planned"]
        )
        for inquiry, trail in zip(saved, steps, strict=True)
        if "guidance_planned" in dict(trail)
    ]
    with _given_timestamps((InquiryTransition, "at"), (GuidancePlan, "created_at")):
        _bulk(
            InquiryTransition,
            transitions(),
            sizes.inquiries + sum(len(t) for t in steps),
            "transitions",
            progress,
        )
        _bulk(GuidancePlan, plans, len(plans), "guidance plans", progress)
    return {
        "events": len(events),
        "participants": len(participants),
        "consultations": len(consulted),
        "inquiries": len(saved),
        "guidance_plans": len(plans),
    }


def seed_search_demand(sizes: Sizes, seed: int, today: dt.date, progress: bool) -> dict[str, int]:
    """`searches` searches over the last year, counted per (day, prefecture, theme,
    form, results) as the search log keeps them. Fewer local results where fewer
    registrants live, so unmet demand has a geography."""
    from sekispe.search.demand import add_demand

    gen = np.random.default_rng(seed + 40)
    n = sizes.searches
    prefectures = np.array(("", *PREFECTURE_CODES))
    weights = np.array((0.25 * sum(PREFECTURE_WEIGHTS), *PREFECTURE_WEIGHTS), dtype=float)
    where = gen.choice(prefectures.size, size=n, p=weights / weights.sum())
    # Busier on weekdays and growing through the year.
    days = np.arange(SEARCH_DAYS)
    load = (1 + days / SEARCH_DAYS) * np.where((days % 7) < 2, 0.6, 1.0)
    day = gen.choice(SEARCH_DAYS, size=n, p=load / load.sum())
    theme = gen.choice(len(THEME_CODES) + 1, size=n, p=_share(len(THEME_CODES) + 1, first=0.3))
    form = gen.choice(len(FORMS), size=n, p=_share(len(FORMS), first=0.4))
    # Expected local accepting results grows with the prefecture's registrants.
    supply = weights / weights[1:].max() * 8
    results = np.minimum(gen.poisson(supply[where] + 0.3), 3)
    keys = (((day * prefectures.size + where) * 8 + theme) * 8 + form) * 4 + results
    cells, counts = np.unique(keys, return_counts=True)
    first_day = today - dt.timedelta(days=SEARCH_DAYS - 1)
    themes = (0, *THEME_CODES)

    def rows() -> Iterator[tuple[dt.date, str, int, str, int, int]]:
        for key, count in zip(cells.tolist(), counts.tolist(), strict=True):
            key, r = divmod(key, 4)
            key, f = divmod(key, 8)
            key, t = divmod(key, 8)
            d, p = divmod(key, prefectures.size)
            yield (
                first_day + dt.timedelta(days=d),
                str(prefectures[p]),
                themes[t],
                FORMS[f],
                r,
                count,
            )

    def write(batch: list[tuple[dt.date, str, int, str, int, int]]) -> list[Any]:
        add_demand(batch)  # the search log's own bulk writer
        return []

    _batched(rows(), int(cells.size), "search demand", progress, write)
    return {"search_demand_rows": int(cells.size), "searches": int(counts.sum())}


def _share(k: int, *, first: float) -> np.ndarray:
    """`first` for the first option ("none asked"), the rest split evenly."""
    return np.array([first, *([(1 - first) / (k - 1)] * (k - 1))])


SEEDERS: tuple[tuple[str, Callable[[Sizes, int, dt.date, bool], dict[str, int]]], ...] = (
    ("registry", seed_registry),
    ("smes", seed_smes),
    ("funnel", seed_funnel),
    ("search_demand", seed_search_demand),
)


def seed_all(sizes: Sizes, seed: int, today: dt.date, progress: bool) -> dict[str, Any]:
    counts: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for name, seeder in SEEDERS:
        started = time.perf_counter()
        counts |= seeder(sizes, seed, today, progress)
        seconds[name] = round(time.perf_counter() - started, 2)
    return {"counts": counts, "seconds": seconds, "total_s": round(sum(seconds.values()), 2)}


# --- measuring -------------------------------------------------------------------------


def time_refresh(today: dt.date, runs: int = REFRESH_RUNS, progress: bool = True) -> dict[str, Any]:
    """`refresh_insights()` `runs` times (each replaces the facts of the last)."""
    from sekispe.insights.refresh import AREAS, refresh_insights

    seconds: list[float] = []
    areas: dict[str, float] = {}
    cells = 0
    with tqdm(
        total=runs * (len(AREAS) + 1),
        desc="refresh",
        unit="area",
        file=sys.stderr,
        disable=None if progress else True,
    ) as bar:
        for _ in range(runs):
            last = time.perf_counter()
            marks: dict[str, float] = {}

            def tick(name: str, marks: dict[str, float] = marks) -> None:
                nonlocal last
                now = time.perf_counter()
                marks[name] = now - last
                last = now
                bar.update(1)

            started = time.perf_counter()
            run = refresh_insights(today, progress=tick)
            seconds.append(time.perf_counter() - started)
            cells = run.cells
            if seconds[-1] == min(seconds):
                areas = {name: round(s, 2) for name, s in marks.items()}
    return {
        "runs_s": [round(s, 2) for s in seconds],
        "best_s": round(min(seconds), 2),
        "areas_s": areas,
        "cells": cells,
    }


@dataclass(frozen=True)
class Page:
    name: str  # "namespace:name", or the API path
    path: str
    public: bool


def _walk(
    patterns: Iterable[Any], prefix: str, namespace: str | None
) -> Iterator[tuple[str, str, Any]]:
    from django.urls import URLPattern, URLResolver

    for pattern in patterns:
        route = str(pattern.pattern).lstrip("^").rstrip("$").replace("\\Z", "")
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + route, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern):
            yield (namespace or "", prefix + route, pattern)


_ARG = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def discover_pages(
    prefectures: Iterable[str] = PREFECTURE_PAGES,
) -> tuple[list[Page], list[Page]]:
    """Every route of the insights, insights_map and opendata namespaces and of the
    statistics API: those without arguments as they are, those taking a prefecture
    code once per code in `prefectures`. Returns (pages, routes with other arguments,
    as pages whose path is the route)."""
    from django.urls import get_resolver

    pages: list[Page] = []
    skipped: list[Page] = []
    namespaces = (*SIGNED_IN_NAMESPACES, *PUBLIC_NAMESPACES)
    for namespace, route, pattern in _walk(get_resolver().url_patterns, "/", None):
        api = route.startswith(API_PREFIX)
        if namespace not in namespaces and not api:
            continue
        public = api or namespace in PUBLIC_NAMESPACES
        name = f"{namespace}:{pattern.name}" if not api else route
        args = _ARG.findall(route)
        if not args:
            pages.append(Page(name, route, public))
        elif len(args) == 1 and "prefecture" in route:
            pages += [
                Page(f"{name}[{code}]", _ARG.sub(code, route), public) for code in prefectures
            ]
        else:
            skipped.append(Page(name, route, public))
    # The same path mounted twice (ninja's trailing-slash variants) is timed once.
    unique = {page.path: page for page in pages}
    return sorted(unique.values(), key=lambda p: (p.public, p.path)), skipped


_LINK = re.compile(r"""(/(?:insights|statistics|api/v1/statistics)/[^"'\s<>#?]*)""")


def linked_pages(
    pages: list[Page], skipped: list[Page], *, per_route: int | None = None
) -> tuple[list[Page], list[Page]]:
    """Routes that take arguments other than a prefecture (a table's page, CSV or
    JSON) are timed through the links the timed pages give: every one, or
    `per_route` of each. A route nothing links to (the API's table, whose index
    names the tables without links) is tried with the argument values the links
    carried, keeping those that answer 200. Returns (the extra pages, routes
    still untimed)."""
    from django.urls import Resolver404, resolve

    signed_in, anonymous = _clients()
    found: dict[str, list[Page]] = {route.path: [] for route in skipped}
    values: dict[str, None] = {}  # the arguments seen, in order
    seen = {page.path for page in pages}
    for page in pages:
        response = (anonymous if page.public else signed_in).get(page.path)
        for path in sorted(set(_LINK.findall(response.content.decode("utf-8", "replace")))):
            if path in seen:
                continue
            seen.add(path)
            try:
                match = resolve(path)
            except Resolver404:
                continue
            route = "/" + match.route.lstrip("^").rstrip("$").replace("\\Z", "")
            if route in found and (per_route is None or len(found[route]) < per_route):
                values |= dict.fromkeys(str(v) for v in match.kwargs.values())
                found[route].append(Page(_page_name(match.view_name, path), path, page.public))
    for route in skipped:
        found_here = found[route.path]
        if found_here or len(_ARG.findall(route.path)) != 1:
            continue
        for value in values:
            path = _ARG.sub(value, route.path)
            if (anonymous if route.public else signed_in).get(path).status_code == 200:
                found_here.append(Page(_page_name(route.name, path), path, route.public))
                if per_route is not None and len(found_here) == per_route:
                    break
    extra = [page for route in skipped for page in found[route.path]]
    return extra, [route for route in skipped if not found[route.path]]


def _page_name(view: str, path: str) -> str:
    return f"{view}[{path.rstrip('/').rsplit('/', 1)[-1]}]"


def _clients() -> tuple[Any, Any]:
    """A client signed in as an analyst, and an anonymous one."""
    from django.test import Client

    from sekispe.accounts.models import Role, User

    analyst, _ = User.objects.get_or_create(
        email="bench-analyst@example.jp", defaults={"role": Role.ANALYST}
    )
    signed_in = Client()
    signed_in.force_login(analyst)
    return signed_in, Client()


def _percentiles(values_ns: list[int]) -> dict[str, float]:
    ms = np.array(values_ns, dtype=np.float64) / 1e6
    p50, p95 = np.percentile(ms, [50, 95])
    return {
        "p50_ms": round(float(p50), 1),
        "p95_ms": round(float(p95), 1),
        "max_ms": round(float(ms.max()), 1),
    }


@contextmanager
def _quiet_request_log() -> Iterator[None]:
    """The request log's INFO line per request would bury the figures under
    thousands of lines; the record is still made, only not written out. And
    every request comes from one client address: the statistics API's limit per
    address (meant for many clients) would answer 429 after 1,200, so it is
    raised; the limiter still runs, so its cost stays in the timings."""
    import logging

    from django.test.utils import override_settings

    logger = logging.getLogger("sekispe.request")
    handlers = [(h, h.level) for h in logger.handlers + logging.getLogger().handlers]
    for handler, _level in handlers:
        handler.setLevel(logging.WARNING)
    try:
        with override_settings(STATISTICS_API_PER_IP=(10**9, 3600)):
            yield
    finally:
        for handler, level in handlers:
            handler.setLevel(level)


def time_pages(
    pages: list[Page], *, requests: int, warmups: int = WARMUPS, progress: bool = True
) -> dict[str, dict[str, Any]]:
    """Each page `warmups` times untimed, then `requests` times; an analyst's
    session for the policy pages, no session for the public ones."""
    signed_in, anonymous = _clients()
    results: dict[str, dict[str, Any]] = {}
    with (
        _quiet_request_log(),
        tqdm(
            total=len(pages) * (warmups + requests),
            desc="pages",
            unit="req",
            file=sys.stderr,
            disable=None if progress else True,
        ) as bar,
    ):
        for page in pages:
            client = anonymous if page.public else signed_in
            statuses: Counter[int] = Counter()
            size = 0
            # The first request fills whatever the page caches: shown apart.
            first_ns = None
            for _ in range(warmups):
                started = time.perf_counter_ns()
                client.get(page.path)
                first_ns = first_ns or time.perf_counter_ns() - started
                bar.update(1)
            timings: list[int] = []
            for _ in range(requests):
                started = time.perf_counter_ns()
                response = client.get(page.path)
                timings.append(time.perf_counter_ns() - started)
                statuses[response.status_code] += 1
                size = len(response.content)
                bar.update(1)
            results[page.name] = {
                "path": page.path,
                "public": page.public,
                "statuses": {str(k): v for k, v in sorted(statuses.items())},
                "bytes": size,
                "first_ms": round((first_ns or timings[0]) / 1e6, 1),
                **_percentiles(timings),
            }
    return results


def run_insights_bench(
    sizes: Sizes,
    *,
    seed: int,
    progress: bool = True,
    refresh_runs: int = REFRESH_RUNS,
    warmups: int = WARMUPS,
    prefectures: Iterable[str] = PREFECTURE_PAGES,
    links_per_route: int | None = None,
) -> dict[str, Any]:
    """Seed the current (empty) database, time the refresh and the pages; the report.
    (The smoke test lowers the runs, warm-ups and prefecture pages to stay quick.)"""
    from django.db import connection
    from django.utils import timezone

    today = timezone.localdate()
    seeded = seed_all(sizes, seed, today, progress)
    refresh = time_refresh(today, runs=refresh_runs, progress=progress)
    pages, skipped = discover_pages(prefectures)
    with _quiet_request_log():
        extra, skipped = linked_pages(pages, skipped, per_route=links_per_route)
    pages += extra
    timed = time_pages(pages, requests=sizes.requests, warmups=warmups, progress=progress)
    worst = max(timed.items(), key=lambda item: item[1]["p95_ms"], default=("", {"p95_ms": 0.0}))
    failed = {name: t["statuses"] for name, t in timed.items() if set(t["statuses"]) != {"200"}}
    return {
        "date": timezone.now().isoformat(timespec="seconds"),
        "vendor": connection.vendor,
        "db_version": scratchdb.db_version(connection),
        "seed": seed,
        "sizes": sizes.__dict__,
        "seeded": seeded,
        "refresh": refresh,
        "pages": timed,
        "skipped_routes": [route.path for route in skipped],
        "failed_pages": failed,
        "worst_page": worst[0],
        "targets": {
            "refresh_s": {
                "target": TARGET_REFRESH_S,
                "value": refresh["best_s"],
                "pass": refresh["best_s"] < TARGET_REFRESH_S,
            },
            "worst_page_p95_ms": {
                "target": TARGET_P95_MS,
                "value": worst[1]["p95_ms"],
                "pass": worst[1]["p95_ms"] < TARGET_P95_MS and not failed,
            },
        },
        "machine": scratchdb.machine(),
    }


# --- reporting -------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def format_report(report: dict[str, Any], label: str) -> str:
    counts = report["seeded"]["counts"]
    refresh = report["refresh"]
    lines = [
        f"Insights benchmark: {label} ({report['db_version']}), "
        f"{report['machine']['cpus']} CPUs, {report['date']}",
        "seeded: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in counts.items()),
        "seeding: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in report["seeded"]["seconds"].items())
        + f" (total {report['seeded']['total_s']:.1f} s)",
        "",
        f"refresh_insights(): {' / '.join(f'{s:.2f}' for s in refresh['runs_s'])} s, "
        f"best {refresh['best_s']:.2f} s, {refresh['cells']:,} cells",
        "  best run by area: " + ", ".join(f"{k} {v:.2f} s" for k, v in refresh["areas_s"].items()),
        "",
        f"{'page':<52}{'status':>7}{'first ms':>9}{'p50 ms':>8}{'p95 ms':>8}{'KB':>6}",
    ]
    for name, page in report["pages"].items():
        status = ",".join(page["statuses"])
        lines.append(
            f"{name[:51]:<52}{status:>7}{page['first_ms']:>9.1f}{page['p50_ms']:>8.1f}"
            f"{page['p95_ms']:>8.1f}{page['bytes'] / 1024:>6.0f}"
        )
    if report["skipped_routes"]:
        lines.append(f"routes needing arguments, not timed: {', '.join(report['skipped_routes'])}")
    if report["failed_pages"]:
        lines.append(f"pages answering other than 200: {report['failed_pages']}")
    lines.append("")
    for name, target in report["targets"].items():
        unit = "s" if name.endswith("_s") else "ms"
        lines.append(
            f"{name} {target['value']:.2f} {unit} (target < {target['target']:.0f} {unit}): "
            f"{_verdict(target['pass'])}"
            + (f" — {report['worst_page']}" if name.startswith("worst") else "")
        )
    return "\n".join(lines)


def write_report(report: dict[str, Any], label: str, out_dir: Path) -> Path:
    return scratchdb.write_report(report, f"insights-{label}.json", out_dir)


def format_comparison(reports: dict[str, dict[str, Any]]) -> str:
    """A markdown table per database, for docs/benchmarks.md."""
    labels = list(reports)
    lines = [
        "| measure | " + " | ".join(labels) + " |",
        "|---" * (1 + len(labels)) + "|",
        "| seeding | "
        + " | ".join(f"{r['seeded']['total_s']:.0f} s" for r in reports.values())
        + " |",
        "| refresh runs | "
        + " | ".join(
            " / ".join(f"{s:.1f}" for s in r["refresh"]["runs_s"]) + " s" for r in reports.values()
        )
        + " |",
        "| **refresh, best** | "
        + " | ".join(
            f"**{r['refresh']['best_s']:.1f} s** {_verdict(r['targets']['refresh_s']['pass'])}"
            for r in reports.values()
        )
        + " |",
    ]
    first = next(iter(reports.values()))
    for name in first["pages"]:
        cells = []
        for report in reports.values():
            page = report["pages"].get(name)
            cells.append(f"{page['p50_ms']:.0f} / {page['p95_ms']:.0f} ms" if page else "–")
        lines.append(f"| {name} (p50 / p95) | " + " | ".join(cells) + " |")
    lines.append(
        "| **worst page p95** | "
        + " | ".join(
            f"**{r['targets']['worst_page_p95_ms']['value']:.0f} ms** ({r['worst_page']}) "
            f"{_verdict(r['targets']['worst_page_p95_ms']['pass'])}"
            for r in reports.values()
        )
        + " |"
    )
    return "\n".join(lines)


# --- the subprocess on a scratch database (sekispe/devtools/scratchdb.py) --------------------


def run_scratch_benchmarks(
    *,
    databases: list[str],
    postgres_url: str | None,
    sizes: Sizes,
    seed: int,
    out_dir: Path,
    progress: bool,
    echo: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    """Run the worker once per database against a scratch copy; return the reports."""
    return run_workers(
        "insights",
        databases=databases,
        postgres_url=postgres_url,
        pg_name=SCRATCH_PG_NAME,
        worker_args=[*sizes.args(), "--seed", str(seed)],
        out_dir=out_dir,
        progress=progress,
        echo=echo,
    )


def worker(label: str, *, sizes: Sizes, seed: int, out_dir: Path, progress: bool) -> dict[str, Any]:
    """Inside the subprocess: check we are on the scratch database, migrate, seed, measure."""
    from sekispe.registry.models import RegistryRecord

    migrate_s = prepare_worker_database("seed", must_be_empty=RegistryRecord)
    report = run_insights_bench(sizes, seed=seed, progress=progress)
    report["label"] = label
    report["migrate_s"] = round(migrate_s, 2)
    report["generated_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    write_report(report, label, out_dir)
    return report

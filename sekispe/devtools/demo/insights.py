"""Demo data for the policy pages (issue 17): a year of history to draw trends from.

seed-demo otherwise writes everything "now", so /insights/ would show one month.
This adds, deterministically for a seed:

- logged search demand for every day of the last 12 months (search.demand.add_demand):
  prefectures weighted flatter than the registrants (companies are spread more
  evenly than specialists). `results` is the local accepting supply of the
  seeded specialists (search.demand.local_supply) thinned at random
  (SUPPLY_ON_THE_DAY): on a given day many are full, away or outside the
  searcher's other filters, and a seeded list of thousands would otherwise
  answer every cell with "3 or more" and show no unmet demand at all;
- anonymous self-diagnoses spread over the last 15 months, with a profile
  (prefecture, industry, size) so the SME pages have Steps by prefecture;
- demo companies (SME accounts `company-NNNN@demo.sekispe.example`, no
  usable password) with one to three diagnoses climbing the Steps, and
  SECURITY ACTION declarations after them, some stepping up from ★ to ★★;
- past inquiries of those companies to seeded specialists, each already over
  (declined, expired, or accepted and later closed), with their transitions
  dated over the months: the funnel gets inquiries, acceptances, reasons and
  times to accept without any engagement still open (an open one would take
  a specialist's capacity and need a consultation, plan and visits the demo
  cannot make up consistently);
- a ★ declaration for the demo SME account (when seed-demo made it with
  --accounts), so its result page suggests the step-up to ★★.

The history ends today (Japan time), not at seed-demo's anchor, because the
insight pages count up to today; with the same seed and day the data is the
same. Idempotent: a database that already has the demo companies gets nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

import numpy as np
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from sekispe.accounts.models import Role, User
from sekispe.diagnosis import rules, services
from sekispe.diagnosis.models import Diagnosis, SecurityActionDeclaration
from sekispe.inquiries.models import (
    CloseReason,
    DeclineReason,
    Inquiry,
    InquiryState,
    InquiryTransition,
)
from sekispe.listings.models import Listing, ListingStatus
from sekispe.reference import data
from sekispe.reference import services as ref
from sekispe.search import demand
from sekispe.search import index as ix
from sekispe.search.models import SearchDemand

COMPANY_EMAIL = "company-{:04d}@demo.sekispe.example"
DEMAND_DAYS = 365
DIAGNOSIS_DAYS = 455  # about 15 months
# Share of searches naming no theme / no form, as people browse before filtering.
NO_THEME = 0.35
NO_FORM = 0.7
SUPPLY_ON_THE_DAY = 0.04
SIZES = tuple(code for code, _label in services.EMPLOYEE_BANDS)
SIZE_WEIGHTS = (30, 30, 18, 10, 8, 4)
INDUSTRIES = tuple(ref.INDUSTRY_CODES)


def _prefecture_weights() -> tuple[list[str], np.ndarray]:
    codes = list(data.REGISTRANTS_2021)
    weights = np.array([data.REGISTRANTS_2021[c] for c in codes], dtype=np.float64) ** 0.6
    return codes, weights / weights.sum()


def _days(today: dt.date, span: int) -> list[dt.date]:
    return [today - dt.timedelta(days=offset) for offset in range(span - 1, -1, -1)]


def seed_search_demand(seed: int, today: dt.date, per_day: int) -> int:
    """Searches for each of the last DEMAND_DAYS days, growing over the year; returns
    how many searches were logged."""
    rng = np.random.default_rng(seed)
    codes, weights = _prefecture_weights()
    themes = np.array(ref.THEME_CODES)
    forms = list(ref.FORM_CODES)
    # The seed's own index, never the process's: the seed runs in one transaction,
    # and an index of rows no other connection can see yet, once shared, sent this
    # process's poller into a rebuild ("change N is gone") on every first make run.
    index = ix.build_index(today)
    days = _days(today, DEMAND_DAYS)
    growth = np.linspace(0.6, 1.2, len(days))
    weekday = np.array([0.55 if d.weekday() >= 5 else 1.0 for d in days])
    totals = rng.poisson(per_day * growth * weekday)
    n = int(totals.sum())
    day_of = np.repeat(np.arange(len(days)), totals)
    pref_of = rng.choice(len(codes) + 1, size=n, p=np.append(weights * 0.9, 0.1))
    theme_of = np.where(rng.random(n) < NO_THEME, 0, rng.choice(themes, size=n))
    form_of = np.where(rng.random(n) < NO_FORM, -1, rng.integers(0, len(forms), size=n))
    cells, counts = np.unique(
        np.stack([day_of, pref_of, theme_of, form_of]), axis=1, return_counts=True
    )
    rows = []
    for (d, p, t, f), count in zip(cells.T.tolist(), counts.tolist(), strict=True):
        prefecture = codes[p] if p < len(codes) else ""
        form = forms[f] if f >= 0 else ""
        supply = demand.local_supply(index, prefecture, int(t), form)
        results = int(rng.binomial(supply, SUPPLY_ON_THE_DAY)) if supply else 0
        rows.append((days[d], prefecture, int(t), form, results, count))
    return demand.add_demand(rows)


def _answers(rng: random.Random, maturity: float) -> dict[str, str]:
    """Answers of a company whose practices are `maturity` (0..1) done; basics first."""
    answers = {}
    for question in rules.current().questions:
        # Earlier Steps are more often done: companies start with the basics.
        done = min(0.99, maturity + 0.35 - 0.12 * question.step)
        roll = rng.random()
        if roll < done:
            answers[question.id] = "done"
        elif roll < done + 0.2:
            answers[question.id] = "partly"
        elif roll < done + 0.28:
            answers[question.id] = "unknown"
        else:
            answers[question.id] = "not_done"
    return answers


def _profile(rng: random.Random, codes: list[str], weights: list[float]) -> dict[str, str]:
    return {
        "prefecture": rng.choices(codes, weights)[0],
        "industry": rng.choice(INDUSTRIES),
        "employees": rng.choices(SIZES, SIZE_WEIGHTS)[0],
    }


def _moment(day: dt.date, rng: random.Random) -> dt.datetime:
    at = dt.datetime.combine(day, dt.time(9 + rng.randrange(9), rng.randrange(60)))
    return min(timezone.make_aware(at), timezone.now())


def _diagnosis(
    rng: random.Random, answers: dict[str, str], profile: dict[str, str], user: Any = None
) -> Diagnosis:
    questionnaire = rules.current()
    result = rules.evaluate(questionnaire, answers)
    return Diagnosis(
        version=questionnaire.version,
        answers=answers,
        profile=profile,
        step=result.step,
        total_score=result.total,
        share_token=f"demo-{rng.getrandbits(128):032x}",
        user=user,
    )


def _backdate(pairs: list[tuple[dt.datetime, int]]) -> None:
    """Set created_at, which auto_now_add fills on insert, to the demo moments."""
    table = Diagnosis._meta.db_table
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET created_at = %s WHERE id = %s", pairs)  # noqa: S608


def _save_diagnoses(made: list[tuple[Diagnosis, dt.datetime]]) -> None:
    # SQLite and PostgreSQL both return the new ids from a bulk insert.
    Diagnosis.objects.bulk_create([d for d, _ in made])
    _backdate([(moment, d.pk) for d, moment in made])


def seed_anonymous_diagnoses(seed: int, today: dt.date, count: int) -> int:
    """Results of visitors without an account, more of them recently (the scheme
    becomes known)."""
    rng = random.Random(f"anonymous-{seed}")
    codes, weights = _prefecture_weights()
    days = _days(today, DIAGNOSIS_DAYS)
    made = []
    for _ in range(count):
        day = days[int(len(days) * rng.random() ** 0.7)]
        profile = _profile(rng, codes, weights.tolist())
        made.append((_diagnosis(rng, _answers(rng, rng.random()), profile), _moment(day, rng)))
    _save_diagnoses(made)
    return len(made)


def seed_companies(seed: int, today: dt.date, companies: int) -> dict[str, int]:
    """Demo SME accounts, each with one to three diagnoses climbing the Steps and
    the SECURITY ACTION declarations a company makes after reaching a level."""
    rng = random.Random(f"companies-{seed}")
    codes, np_weights = _prefecture_weights()
    weights = np_weights.tolist()
    days = _days(today, DIAGNOSIS_DAYS)
    password = make_password(None)  # unusable: nobody signs in as a demo company
    emails = [COMPANY_EMAIL.format(i) for i in range(1, companies + 1)]
    User.objects.bulk_create(
        [
            User(email=email, role=Role.SME, organization=f"デモ企業{i:04d}", password=password,
                 email_verified_at=timezone.now())
            for i, email in enumerate(emails, start=1)
        ]
    )  # fmt: skip
    made: list[tuple[Diagnosis, dt.datetime]] = []
    declarations: list[SecurityActionDeclaration] = []
    step_ups = 0
    for user in User.objects.filter(email__in=emails).order_by("email"):
        profile = _profile(rng, codes, weights)
        maturity = rng.uniform(0.3, 0.85)
        first = rng.randrange(len(days) - 30)
        attempt_days = sorted(
            {first, *(rng.randrange(first, len(days)) for _ in range(rng.randrange(3)))}
        )
        declared = 0
        for position in attempt_days:
            diagnosis = _diagnosis(rng, _answers(rng, maturity), profile, user)
            made.append((diagnosis, _moment(days[position], rng)))
            reached = min(diagnosis.step - 1, 2)
            maturity = min(0.98, maturity + rng.uniform(0.05, 0.3))
            if reached > declared and rng.random() < 0.7:
                on = min(today, days[position] + dt.timedelta(days=rng.randrange(1, 40)))
                # Most declare ★ first; a company ready for ★★ sometimes declares it straight away.
                level = 1 if declared == 0 and rng.random() < 0.75 else reached
                declarations.append(
                    SecurityActionDeclaration(
                        user=user,
                        level=level,
                        declared_on=on,
                        declaration_id=f"{rng.randrange(10**10, 10**11)}",
                        prefecture_id=profile["prefecture"],
                    )
                )
                step_ups += int(declared == 1 and level == 2)
                declared = level
    _save_diagnoses(made)
    SecurityActionDeclaration.objects.bulk_create(declarations)
    return {
        "company_diagnoses": len(made),
        "companies": companies,
        "declarations": len(declarations),
        "step_ups": step_ups,
    }


def seed_past_inquiries(seed: int, today: dt.date) -> dict[str, int]:
    """One past inquiry for about half of the demo companies (see the module doc)."""
    rng = random.Random(f"inquiries-{seed}")
    listings = list(
        Listing.objects.filter(status=ListingStatus.PUBLISHED, record__account__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not listings:
        return {"inquiries": 0}
    companies = User.objects.filter(email__startswith="company-", role=Role.SME).order_by("email")
    latest = dict(
        Diagnosis.objects.filter(user__in=companies)
        .order_by("user_id", "created_at")
        .values_list("user_id", "profile")
    )
    declines, closes = list(DeclineReason.values), list(CloseReason.values)
    days = _days(today - dt.timedelta(days=30), DIAGNOSIS_DAYS - 30)
    made: list[tuple[Inquiry, list[tuple[str, str, dt.datetime]]]] = []
    for user in companies:
        if rng.random() < 0.5:
            continue
        sent = _moment(days[int(len(days) * rng.random() ** 0.8)], rng)
        roll = rng.random()
        inquiry = Inquiry(
            listing_id=rng.choice(listings),
            sender=user,
            sme_account=user,
            company_name=user.organization,
            contact_name="デモ 担当",
            contact_email=user.email,
            company_profile=latest.get(user.pk, {}),
            theme=rng.choice(ref.THEME_CODES),
            preferred_form=rng.choice(("visit", "online", "either")),
            message="デモデータの相談です。",
            wants_free_first_session=rng.random() < 0.6,
            created_at=sent,
            answer_by=sent + dt.timedelta(days=7),
        )
        accepted = sent + dt.timedelta(hours=rng.randrange(2, 24 * 6))
        if roll < 0.2:
            steps = [("sent", "declined", accepted)]
            inquiry.decline_reason = rng.choice(declines)
        elif roll < 0.3:
            steps = [("sent", "expired", sent + dt.timedelta(days=7))]
        else:
            closed = accepted + dt.timedelta(days=rng.randrange(3, 30))
            steps = [("sent", "accepted", accepted), ("accepted", "closed", closed)]
            inquiry.close_reason = rng.choice(closes)
        inquiry.state = InquiryState(steps[-1][1])
        inquiry.state_changed_at = steps[-1][2]
        made.append((inquiry, [("", "sent", sent), *steps]))
    Inquiry.objects.bulk_create([inquiry for inquiry, _ in made])
    transitions = [
        InquiryTransition(inquiry=inquiry, from_state=a, to_state=b, actor_label="seed-demo")
        for inquiry, steps in made
        for a, b, _ in steps
    ]
    InquiryTransition.objects.bulk_create(transitions)
    moments = [at for _, steps in made for _, _, at in steps]
    table = InquiryTransition._meta.db_table
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET at = %s WHERE id = %s",  # noqa: S608
            [(min(at, timezone.now()), t.pk) for t, at in zip(transitions, moments, strict=True)],
        )
    return {"inquiries": len(made)}


def declare_for_demo_sme(today: dt.date) -> int:
    """The demo SME reached Step 2 about 180 days ago: it declared ★ then, so its
    latest result (Step 3) suggests stepping up to ★★."""
    sme = User.objects.filter(email="sme@demo.sekispe.example", role=Role.SME).first()
    if sme is None or SecurityActionDeclaration.objects.filter(user=sme).exists():
        return 0
    SecurityActionDeclaration.objects.create(
        user=sme,
        level=1,
        declared_on=today - dt.timedelta(days=170),
        declaration_id="20260101234",
        prefecture_id="13",
    )
    return 1


def create_demo_insights(
    seed: int,
    specialists: int,
    *,
    accounts: bool = False,
    today: dt.date | None = None,
    write: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Everything above, scaled to the number of seeded specialists. The demo
    companies are accounts, so they come only with seed-demo --accounts. Each
    part is written once: seeding again adds nothing."""
    today = today or timezone.localdate()
    counts: dict[str, int] = {}
    with transaction.atomic():
        if not SearchDemand.objects.exists():
            per_day = max(20, specialists // 10)
            counts["searches"] = seed_search_demand(seed, today, per_day=per_day)
            counts["diagnoses"] = seed_anonymous_diagnoses(seed, today, max(60, specialists // 3))
        if accounts:
            counts["demo_sme_declarations"] = declare_for_demo_sme(today)
            if not User.objects.filter(email=COMPANY_EMAIL.format(1)).exists():
                counts.update(seed_companies(seed, today, max(40, specialists // 10)))
                counts.update(seed_past_inquiries(seed, today))
    if write is not None and "searches" in counts:
        write(
            f"  政策ページ用の履歴: 検索 {counts['searches']} 件（12か月）、"
            f"自己診断 {counts['diagnoses']} 件（15か月）"
        )
    if write is not None and "companies" in counts:
        write(
            f"  デモ企業 {counts['companies']} 社（自己診断 {counts['company_diagnoses']} 件、"
            f"SECURITY ACTION の宣言 {counts['declarations']} 件、うち★→★★ {counts['step_ups']} 件、"
            f"終わった相談の依頼 {counts['inquiries']} 件）"
        )
    return counts

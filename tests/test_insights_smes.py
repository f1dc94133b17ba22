"""SME and SECURITY ACTION measures against brute-force counts over generated rows."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekispe.diagnosis import rules
from sekispe.diagnosis.models import Diagnosis, SecurityActionDeclaration
from sekispe.insights.areas import security_action, smes
from sekispe.insights.tally import PREFECTURE_CODES, month_of
from sekispe.insights.targets import EXCLUDED_PREFECTURES, outside_metro
from tests.factories import TODAY, make_user

SLOW = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
QUESTIONS = [q.id for q in rules.load(1).questions]


@pytest.fixture
def accounts(db):
    return [make_user("sme") for _ in range(3)]


def facts_of(tallies) -> dict:
    return {
        (c.measure, c.month, c.prefecture, c.theme, c.key): c.value
        for tally in tallies
        for c in tally.cells()
    }


diagnosis = st.tuples(
    st.one_of(st.none(), st.integers(0, 2)),  # which account, or none
    st.lists(st.sampled_from(rules.ANSWERS), min_size=len(QUESTIONS), max_size=len(QUESTIONS)),
    st.fixed_dictionaries(
        {},
        optional={
            "prefecture": st.sampled_from(["01", "13"]),
            "industry": st.sampled_from(["E", "I"]),
            "employees": st.sampled_from(["1-5", "21-50"]),
        },
    ),
)


@SLOW
@given(rows=st.lists(diagnosis, max_size=12))
def test_sme_measures_match_a_brute_force_count(accounts, rows):
    questionnaire = rules.load(1)
    with transaction.atomic():
        made = []
        for n, (who, answers, profile) in enumerate(rows):
            answer_map = dict(zip(QUESTIONS, answers, strict=True))
            step = rules.step_of(questionnaire, answer_map)
            d = Diagnosis.objects.create(
                version=1,
                answers=answer_map,
                profile=profile,
                step=step,
                total_score=0,
                share_token=f"t{n}",
                user=None if who is None else accounts[who],
            )
            Diagnosis.objects.filter(pk=d.pk).update(
                created_at=timezone.now() - dt.timedelta(days=100 - n)
            )
            made.append((who, answer_map, profile, step))
        facts = facts_of(smes.compute(TODAY))
        transaction.set_rollback(True)

    latest, first, seen = {}, {}, Counter()
    companies = []
    for who, answers, profile, step in made:
        if who is None:
            companies.append((answers, profile, step))
        else:
            latest[who] = (answers, profile, step)
            first.setdefault(who, step)
            seen[who] += 1
    companies += list(latest.values())

    def get(measure, prefecture="", theme="", key=""):
        return facts.get((measure, None, prefecture, theme, key), 0)

    assert get("smes.step") == len(companies)
    for p in ("", "01", "13"):
        mine = [c for c in companies if not p or c[1].get("prefecture") == p]
        for s in range(1, 5):
            assert get("smes.step", p, key=str(s)) == sum(c[2] == s for c in mine)
        for level in (0, 1, 2):
            assert get("smes.security_action_level", p, key=str(level)) == sum(
                max(min(c[2] - 1, 2), 0) == level for c in mine
            )
        for theme in range(1, 6):
            assert get("smes.themes_recommended", p, str(theme)) == sum(
                theme in rules.recommended_themes(questionnaire, c[0], c[2]) for c in mine
            )
    for code in ("E", "I", ""):
        for s in range(1, 5):
            assert get("smes.industry_step", key=f"{code}:{s}") == sum(
                c[1].get("industry", "") == code and c[2] == s for c in companies
            )
            assert get("smes.industry_step", key=f"*:{s}") == sum(c[2] == s for c in companies)
        assert get("smes.industry_step", key=f"{code}:*") == sum(
            c[1].get("industry", "") == code for c in companies
        )
    assert get("smes.size_step") == len(companies)
    ups = Counter(
        f"{first[w]}:{latest[w][2]}" for w in latest if seen[w] > 1 and latest[w][2] > first[w]
    )
    for key, n in ups.items():
        assert get("smes.step_ups", key=key) == n
    assert get("smes.step_ups") == sum(ups.values())
    assert get("smes.diagnosed_twice") == sum(1 for w in seen if seen[w] > 1)


declaration = st.tuples(
    st.integers(0, 2),
    st.sampled_from([1, 2]),
    st.dates(dt.date(2025, 1, 1), TODAY + dt.timedelta(days=5)),
    st.sampled_from(["01", "13", "27", "47"]),
)


@SLOW
@given(rows=st.lists(declaration, max_size=15))
def test_security_action_measures_match_a_brute_force_count(accounts, rows):
    with transaction.atomic():
        for n, (who, level, on, prefecture) in enumerate(rows):
            SecurityActionDeclaration.objects.create(
                user=accounts[who],
                level=level,
                declared_on=on,
                declaration_id=f"SA-{n}",
                prefecture_id=prefecture,
            )
        facts = facts_of(security_action.compute(TODAY))
        ordered = list(
            SecurityActionDeclaration.objects.filter(declared_on__lte=TODAY)
            .order_by("declared_on", "id")
            .values_list("user_id", "level", "declared_on", "prefecture_id")
        )
        transaction.set_rollback(True)

    latest = {}
    for user, level, _on, prefecture in ordered:
        latest[user] = (level, prefecture)
    for p in ("", *PREFECTURE_CODES):
        for key in ("", "1", "2"):
            expected = sum(
                (not p or pref == p) and (not key or str(level) == key)
                for level, pref in latest.values()
            )
            assert facts[("security_action.declared_now", None, p, "", key)] == expected
    steps: Counter = Counter()
    for user in {u for u, *_rest in ordered}:
        mine = [r for r in ordered if r[0] == user]
        for i, (_u, level, on, prefecture) in enumerate(mine):
            if level == 2 and any(r[1] == 1 for r in mine[:i]):
                steps[(month_of(on), prefecture)] += 1
                break
    for (month, prefecture), n in steps.items():
        assert facts[("security_action.step_ups", month, prefecture, "", "")] == n
    assert sum(
        v for k, v in facts.items() if k[0] == "security_action.step_ups" and k[2] == ""
    ) == sum(steps.values())
    months = Counter((month_of(on), level) for _u, level, on, _p in ordered)
    for (month, level), n in months.items():
        assert facts[("security_action.declared", month, "", "", str(level))] == n


def test_the_target_counts_the_36_prefectures_outside_the_three_metropolitan_areas():
    assert len(EXCLUDED_PREFECTURES) == 11
    assert sum(outside_metro(code) for code in PREFECTURE_CODES) == 36
    # 36 道県: Tokyo, Osaka and Kyoto are among the excluded, Hokkaido is not.
    assert {"13", "26", "27"} <= EXCLUDED_PREFECTURES
    assert outside_metro("01") and not outside_metro("")

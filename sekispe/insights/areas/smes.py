"""SMEs, from the stored diagnoses.

A company is an SME account (its latest diagnosis stands for it), or one
diagnosis taken without an account. Its Step and SECURITY ACTION level
(`rules.evaluate`: min(Step − 1, 2)) are those of that diagnosis, broken down
by the profile it gave (prefecture, industry, employees). A step-up: an
account whose latest diagnosis has a higher Step than its first. Themes
recommended: the up to three themes `rules.recommended_themes` gives the
latest diagnosis, re-derived from its stored version and answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import lru_cache

from django.db.models.fields.json import KT

from sekispe.diagnosis import rules
from sekispe.diagnosis.models import Diagnosis
from sekispe.insights.tally import Tally

BATCH = 5_000
# The margin of one side of a "code:step" key.
ANY = "*"


def pair_keys(code: str, step: int) -> tuple[str, str, str]:
    """The cells of a company in a "code:step" measure, with the margins a
    two-way table needs: "code:*" (every Step) and "*:step" (every code);
    "" stays the grand total. An unanswered code is "" (":2")."""
    return (f"{code}:{step}", f"{code}:{ANY}", f"{ANY}:{step}")


def security_action_level(step: int) -> int:
    """The level the result page gives (rules.evaluate)."""
    return max(min(step - 1, 2), 0)


@lru_cache(maxsize=8)
def _questionnaire(version: int) -> rules.Questionnaire:
    return rules.load(version)


def themes_for(version: int, answers: Mapping[str, str], step: int) -> tuple[int, ...]:
    try:
        questionnaire = _questionnaire(version)
        return rules.recommended_themes(questionnaire, answers, step)
    except (rules.QuestionnaireError, KeyError, FileNotFoundError):
        # A stored diagnosis the rules cannot read again adds no theme.
        return ()


def compute(today: dt.date) -> list[Tally]:
    steps = Tally("smes.step")
    industry_step = Tally("smes.industry_step")
    size_step = Tally("smes.size_step")
    levels = Tally("smes.security_action_level")
    step_ups = Tally("smes.step_ups")
    twice = Tally("smes.diagnosed_twice")
    themes = Tally("smes.themes_recommended")

    # Oldest first, so each account's latest diagnosis replaces its earlier ones.
    # The answers (the bulk of a row) are read afterwards, for the counted ones only.
    latest: dict[int, tuple[int, int, tuple[str, str, str]]] = {}
    first_step: dict[int, int] = {}
    count: dict[int, int] = {}
    anonymous: list[tuple[int, int, tuple[str, str, str]]] = []
    for pk, user_id, step, *profile in (
        Diagnosis.objects.order_by("created_at", "id")
        # As text, not JSON: cheaper to read, and "13" stays "13" on SQLite.
        .annotate(
            p=KT("profile__prefecture"), i=KT("profile__industry"), e=KT("profile__employees")
        )
        .values_list("pk", "user_id", "step", "p", "i", "e")
        .iterator(chunk_size=BATCH)
    ):
        fields = tuple(v if isinstance(v, str) else "" for v in profile)
        if user_id is None:
            anonymous.append((pk, step, fields))
            continue
        latest[user_id] = (pk, step, fields)
        first_step.setdefault(user_id, step)
        count[user_id] = count.get(user_id, 0) + 1

    companies = [*latest.values(), *anonymous]
    for _pk, step, (prefecture, industry, employees) in companies:
        where = (prefecture,) if prefecture else ()
        steps.add(prefectures=where, keys=(str(step),))
        industry_step.add(keys=pair_keys(industry, step))
        size_step.add(keys=pair_keys(employees, step))
        levels.add(prefectures=where, keys=(str(security_action_level(step)),))
    where_of = {pk: (step, fields[0]) for pk, step, fields in companies}
    ids = sorted(where_of)
    for start in range(0, len(ids), BATCH):
        for pk, version, answers in Diagnosis.objects.filter(
            pk__in=ids[start : start + BATCH]
        ).values_list("pk", "version", "answers"):
            if not isinstance(answers, Mapping):
                continue
            step, prefecture = where_of[pk]
            themes.add(
                prefectures=(prefecture,) if prefecture else (),
                themes=[str(t) for t in themes_for(version, answers, step)],
            )
    for user_id, (_pk, step, _profile) in latest.items():
        if count[user_id] > 1:
            twice.add()
            if step > first_step[user_id]:
                step_ups.add(keys=(f"{first_step[user_id]}:{step}",))
    return [steps, industry_step, size_step, levels, step_ups, twice, themes]

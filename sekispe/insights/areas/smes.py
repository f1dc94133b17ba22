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

from sekispe.diagnosis import rules
from sekispe.diagnosis.models import Diagnosis
from sekispe.insights.tally import Tally


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


def _text(profile: Mapping[str, object], field: str) -> str:
    value = profile.get(field) if isinstance(profile, Mapping) else None
    return value if isinstance(value, str) else ""


def compute(today: dt.date) -> list[Tally]:
    steps = Tally("smes.step")
    industry_step = Tally("smes.industry_step")
    size_step = Tally("smes.size_step")
    levels = Tally("smes.security_action_level")
    step_ups = Tally("smes.step_ups")
    twice = Tally("smes.diagnosed_twice")
    themes = Tally("smes.themes_recommended")

    # Oldest first, so each account's latest diagnosis replaces its earlier ones.
    latest: dict[int, tuple] = {}
    first_step: dict[int, int] = {}
    count: dict[int, int] = {}
    anonymous: list[tuple] = []
    for row in (
        Diagnosis.objects.order_by("created_at", "id")
        .values_list("user_id", "version", "step", "profile", "answers")
        .iterator(chunk_size=5000)
    ):
        user_id = row[0]
        if user_id is None:
            anonymous.append(row)
            continue
        latest[user_id] = row
        first_step.setdefault(user_id, row[2])
        count[user_id] = count.get(user_id, 0) + 1

    for _user, version, step, profile, answers in (*latest.values(), *anonymous):
        prefecture = _text(profile, "prefecture")
        where = (prefecture,) if prefecture else ()
        steps.add(prefectures=where, keys=(str(step),))
        industry_step.add(keys=(f"{_text(profile, 'industry')}:{step}",))
        size_step.add(keys=(f"{_text(profile, 'employees')}:{step}",))
        levels.add(prefectures=where, keys=(str(security_action_level(step)),))
        if isinstance(answers, Mapping):
            themes.add(
                prefectures=where, themes=[str(t) for t in themes_for(version, answers, step)]
            )
    for user_id, row in latest.items():
        if count[user_id] > 1:
            twice.add()
            if row[2] > first_step[user_id]:
                step_ups.add(keys=(f"{first_step[user_id]}:{row[2]}",))
    return [steps, industry_step, size_step, levels, step_ups, twice, themes]

"""SECURITY ACTION declarations, from the append-only declaration rows.

- declared now: each account's latest declaration (by declared date, then
  row), counted at its level in its prefecture;
- declared: every declaration row, in the month it was made;
- step-up: an account whose ★★ declaration follows an earlier ★ one, counted
  once, in the month of its first ★★ after a ★ and the prefecture it gave then.
"""

from __future__ import annotations

import datetime as dt

from sekispe.diagnosis.models import SecurityActionDeclaration, SecurityActionLevel
from sekispe.insights.tally import Tally

LEVEL_KEYS = tuple(str(level) for level in SecurityActionLevel.values)


def compute(today: dt.date) -> list[Tally]:
    declared_now = Tally("security_action.declared_now")
    declared = Tally("security_action.declared")
    step_ups = Tally("security_action.step_ups")

    latest: dict[int, tuple[int, str]] = {}
    had_one_star: set[int] = set()
    stepped: set[int] = set()
    for user_id, level, declared_on, prefecture in (
        SecurityActionDeclaration.objects.filter(declared_on__lte=today)
        .order_by("declared_on", "id")
        .values_list("user_id", "level", "declared_on", "prefecture_id")
    ):
        latest[user_id] = (level, prefecture)
        declared.add(month=declared_on, keys=(str(level),))
        if level == SecurityActionLevel.ONE_STAR:
            had_one_star.add(user_id)
        elif user_id in had_one_star and user_id not in stepped:
            stepped.add(user_id)
            step_ups.add(month=declared_on, prefectures=(prefecture,))
    for level, prefecture in latest.values():
        declared_now.add(prefectures=(prefecture,), keys=(str(level),))
    declared_now.zero_fill(keys=LEVEL_KEYS)
    return [declared_now, declared, step_ups]

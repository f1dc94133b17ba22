"""Demo data: the demo SME's three self-diagnoses over a year, climbing from
Step 1 to Step 3, so the history page and its progress chart have something to show."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from sekispe.diagnosis import rules, services
from sekispe.diagnosis.models import Diagnosis

PROFILE = {
    "prefecture": "13",
    "industry": "E",
    "employees": "21-50",
    "it_dependence": "medium",
    "customer_demand": "yes",
}
STEP_2 = ("e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e10", "e11", "e12", "o2", "o3")


def _answers(done: set[str], partly: set[str], unknown: set[str]) -> dict[str, str]:
    def kind(question_id: str) -> str:
        if question_id in done:
            return "done"
        if question_id in partly:
            return "partly"
        return "unknown" if question_id in unknown else "not_done"

    return {q: kind(q) for q in rules.current().ids}


def create_demo_history(user: AbstractBaseUser) -> int:
    """Add the three results unless the account already has a history; returns how many."""
    if Diagnosis.objects.filter(user=user).exists():
        return 0
    basics = {"b1", "b2", "b3", "b4", "b5", "o1"}
    attempts = [
        (365, _answers({"b1", "b2", "o1"}, {"b3", "b4", "e2", "e4"}, {"b5", "e9", "o5", "o7"})),
        (180, _answers(basics | {"e1", "e2", "e4", "e11", "e12"}, {"e3", "o2", "o3"}, {"e9"})),
        (20, _answers(basics | set(STEP_2) | {"e9"}, {"o4", "o5", "e13"}, {"o6"})),
    ]
    now = timezone.now()
    with transaction.atomic():
        for days_ago, answers in attempts:
            diagnosis = services.record(answers, PROFILE, user=user)
            Diagnosis.objects.filter(pk=diagnosis.pk).update(
                created_at=now - dt.timedelta(days=days_ago)
            )
    return len(attempts)

"""Storing, re-reading, sharing and claiming self-diagnosis results.

The rules themselves are in `rules.py`; a stored result is re-evaluated from
its own version and answers every time it is shown, so the page, the PDF and
the API always agree with the rules that version shipped with.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from sekispe.accounts.models import Role
from sekispe.diagnosis import rules
from sekispe.diagnosis.models import Diagnosis
from sekispe.reference import data

# Share tokens of results made in this browser session, so a visitor who signs
# up or in afterwards can keep them; never taken from the request itself.
SESSION_KEY = "diagnosis_tokens"
SESSION_KEEP = 20

EMPLOYEE_BANDS: tuple[tuple[str, str], ...] = (
    ("1-5", _("5人以下")),
    ("6-20", _("6〜20人")),
    ("21-50", _("21〜50人")),
    ("51-100", _("51〜100人")),
    ("101-300", _("101〜300人")),
    ("301+", _("301人以上")),
)
IT_DEPENDENCE: tuple[tuple[str, str], ...] = (
    ("low", _("あまり使わない（電話や紙が中心）")),
    ("medium", _("メールや会計などで毎日使う")),
    ("high", _("ITが止まると仕事が止まる（ネット販売、受発注システムなど）")),
)
CUSTOMER_DEMAND: tuple[tuple[str, str], ...] = (
    ("yes", _("求められている")),
    ("no", _("求められていない")),
    ("unknown", _("分からない")),
)
PROFILE_CHOICES: dict[str, frozenset[str]] = {
    "prefecture": frozenset(p.code for p in data.PREFECTURES),
    "industry": frozenset(code for code, _name, _en in data.INDUSTRIES),
    "employees": frozenset(code for code, _label in EMPLOYEE_BANDS),
    "it_dependence": frozenset(code for code, _label in IT_DEPENDENCE),
    "customer_demand": frozenset(code for code, _label in CUSTOMER_DEMAND),
}


class InvalidDiagnosis(ValueError):
    """Answers or profile values the rules refuse; `problems` names each one."""

    def __init__(self, problems: list[tuple[tuple[str, ...], str]]) -> None:
        self.problems = problems  # [(("answers", "b1"), message), ...]
        super().__init__("; ".join(message for _loc, message in problems))


def profile_problems(profile: Mapping[str, object]) -> list[tuple[tuple[str, ...], str]]:
    problems: list[tuple[tuple[str, ...], str]] = []
    for key, value in profile.items():
        if key not in PROFILE_CHOICES:
            problems.append((("profile", str(key)), f"「{key}」という項目はありません。"))
        elif value not in ("", None) and (
            # A list or object (from JSON) is never a choice, and is unhashable.
            not isinstance(value, str) or value not in PROFILE_CHOICES[key]
        ):
            problems.append((("profile", key), f"{key}: 「{value}」は選べる値ではありません。"))
    return problems


def clean_profile(profile: Mapping[str, object]) -> dict[str, str]:
    """Only the known fields with a value; an empty choice means "not given"."""
    return {k: str(v) for k, v in profile.items() if k in PROFILE_CHOICES and v not in ("", None)}


@dataclass(frozen=True)
class Evaluation:
    questionnaire: rules.Questionnaire
    answers: Mapping[str, str]
    profile: Mapping[str, str]
    result: rules.Result
    search_url: str


def search_url(result: rules.Result, profile: Mapping[str, str]) -> str:
    query = urlencode(rules.search_query(result, profile), doseq=True)
    return reverse("search:index") + (f"?{query}" if query else "")


def evaluate(
    answers: Mapping[str, object],
    profile: Mapping[str, object] | None = None,
    *,
    version: int | None = None,
) -> Evaluation:
    """Check and evaluate answers against a version (the current one by default).
    Raises InvalidDiagnosis naming every bad answer and profile field."""
    questionnaire = rules.current() if version is None else rules.load(version)
    profile = profile or {}
    problems = [
        (("answers", p.question_id), p.message)
        for p in rules.validate_answers(questionnaire, answers)
    ] + profile_problems(profile)
    if problems:
        raise InvalidDiagnosis(problems)
    clean = clean_profile(profile)
    typed = {k: str(v) for k, v in answers.items()}
    result = rules.evaluate(questionnaire, typed)
    return Evaluation(questionnaire, typed, clean, result, search_url(result, clean))


def record(
    answers: Mapping[str, object],
    profile: Mapping[str, object] | None = None,
    *,
    user: AbstractBaseUser | None = None,
) -> Diagnosis:
    """Evaluate and store a result with a fresh share token. Only an SME account
    keeps a history; anyone else's result is stored as anonymous."""
    evaluation = evaluate(answers, profile)
    owner = user if user is not None and getattr(user, "role", None) == Role.SME else None
    return Diagnosis.objects.create(
        version=evaluation.questionnaire.version,
        answers=dict(evaluation.answers),
        profile=dict(evaluation.profile),
        step=evaluation.result.step,
        total_score=evaluation.result.total,
        share_token=secrets.token_urlsafe(24),
        user=owner,
    )


def evaluation_of(diagnosis: Diagnosis) -> Evaluation:
    """A stored result as its own version's rules give it."""
    return evaluate(diagnosis.answers, diagnosis.profile, version=diagnosis.version)


def by_token(token: str) -> Diagnosis:
    """Raises Diagnosis.DoesNotExist for an unknown token."""
    return Diagnosis.objects.get(share_token=token)


def remember(session: dict, diagnosis: Diagnosis) -> None:
    tokens = [t for t in session.get(SESSION_KEY, []) if t != diagnosis.share_token]
    session[SESSION_KEY] = [*tokens, diagnosis.share_token][-SESSION_KEEP:]


def unclaimed_in_session(session: Mapping) -> list[Diagnosis]:
    tokens = session.get(SESSION_KEY, [])
    if not tokens:
        return []
    return list(Diagnosis.objects.filter(share_token__in=tokens, user__isnull=True))


def claim(user: AbstractBaseUser, session: Mapping) -> int:
    """Give an SME account the anonymous results made in this browser session.
    Tokens come from the session only, so nobody can claim a result by guessing
    or by having been sent its link."""
    if getattr(user, "role", None) != Role.SME:
        raise PermissionError("only SME accounts keep a diagnosis history")
    tokens = session.get(SESSION_KEY, [])
    if not tokens:
        return 0
    with transaction.atomic():
        return Diagnosis.objects.filter(share_token__in=tokens, user__isnull=True).update(user=user)


def history(user: AbstractBaseUser) -> list[Diagnosis]:
    """Oldest first, as the progress chart reads."""
    return list(Diagnosis.objects.filter(user=user).order_by("created_at", "id"))


def latest(user: AbstractBaseUser) -> Diagnosis | None:
    if not user.is_authenticated or getattr(user, "role", None) != Role.SME:
        return None
    return Diagnosis.objects.filter(user=user).order_by("-created_at", "-id").first()


def initial_for_retake(previous: Diagnosis | None) -> dict[str, str]:
    """The last answers and profile, where the current version still asks them."""
    if previous is None:
        return {}
    questionnaire = rules.current()
    answers = {k: v for k, v in previous.answers.items() if k in questionnaire.ids}
    return {**answers, **clean_profile(previous.profile)}


def answered_counts(answers: Iterable[str]) -> dict[str, int]:
    values = list(answers)
    return {kind: values.count(kind) for kind in rules.ANSWERS}

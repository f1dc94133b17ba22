"""SECURITY ACTION declarations an SME account records (issue 17, part 3).

Why: IPA counts SMEs that self-declare SECURITY ACTION (★ one star, ★★ two
stars) and how many step up from ★ to ★★. sekispe keeps each declaration a
company records as its own row, never overwriting one: the history shows the
step-up, and the statistics count it (docs/security-action.md).

The self-declaration ID is the number IPA's application site issues. Its
exact format is not published in the sources sekispe has, so the check is a
sane one (ID_PATTERN): half-width digits, optionally grouped by hyphens.
Full-width digits and hyphens are accepted and normalised.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sekispe.accounts.models import Role
from sekispe.audit.services import record_event
from sekispe.diagnosis import services
from sekispe.diagnosis.models import SecurityActionDeclaration, SecurityActionLevel
from sekispe.reference.models import Prefecture

ID_PATTERN = re.compile(r"^[0-9]+(?:-[0-9]+)*$")
ID_DIGITS = (5, 20)


class DeclarationError(ValueError):
    """A declaration that cannot be recorded; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def normalise_id(raw: str) -> str:
    """The ID as stored: NFKC (full-width digits become half-width), no spaces,
    every dash-like character a hyphen."""
    text = unicodedata.normalize("NFKC", raw).strip().replace(" ", "")
    return re.sub(r"[‐‑‒–—―−ー－]", "-", text)


def check_id(raw: str) -> str:
    value = normalise_id(raw)
    digits = sum(c.isdigit() for c in value)
    if not ID_PATTERN.match(value) or not ID_DIGITS[0] <= digits <= ID_DIGITS[1]:
        raise DeclarationError(
            "declaration_id",
            _(
                "自己宣言IDは、宣言後にIPAから届いた数字（%(low)d〜%(high)d桁、"
                "区切りのハイフンは可）を入力してください。"
            )
            % {"low": ID_DIGITS[0], "high": ID_DIGITS[1]},
        )
    return value


def check_date(declared_on: dt.date, today: dt.date) -> None:
    if declared_on > today:
        raise DeclarationError("declared_on", _("宣言日に未来の日付は入力できません。"))
    if declared_on < dt.date(2017, 4, 1):
        # SECURITY ACTION started in April 2017.
        raise DeclarationError(
            "declared_on",
            _("SECURITY ACTION は2017年4月に始まりました。宣言日を確認してください。"),
        )


def history(user: AbstractBaseUser) -> list[SecurityActionDeclaration]:
    """The account's declarations, newest first."""
    return list(
        SecurityActionDeclaration.objects.filter(user=user)
        .select_related("prefecture")
        .order_by("-declared_on", "-id")
    )


def current_level(user: AbstractBaseUser) -> int:
    """The level of the account's latest declaration (by date, then recording); 0 if none."""
    if not user.is_authenticated or getattr(user, "role", None) != Role.SME:
        return 0
    latest = (
        SecurityActionDeclaration.objects.filter(user=user)
        .order_by("-declared_on", "-id")
        .values_list("level", flat=True)
        .first()
    )
    return int(latest or 0)


def highest_level(user: AbstractBaseUser) -> int:
    """The highest level the account ever declared; 0 if none."""
    if not user.is_authenticated or getattr(user, "role", None) != Role.SME:
        return 0
    levels = SecurityActionDeclaration.objects.filter(user=user).values_list("level", flat=True)
    return max(levels, default=0)


def default_prefecture(user: AbstractBaseUser) -> str:
    """The prefecture of the latest declaration, else of the latest diagnosis profile."""
    last = (
        SecurityActionDeclaration.objects.filter(user=user)
        .order_by("-declared_on", "-id")
        .values_list("prefecture_id", flat=True)
        .first()
    )
    if last:
        return str(last)
    diagnosis = services.latest(user)
    return str(diagnosis.profile.get("prefecture", "")) if diagnosis is not None else ""


@dataclass(frozen=True)
class Suggestion:
    """What a diagnosis result page says about SECURITY ACTION."""

    reached: int  # the level the diagnosis reached (0, 1, 2)
    declared: int  # the highest level the viewer's account declared (0 when none or not an SME)
    suggest: int  # the level to suggest declaring now (0: none)


def suggestion(reached: int, user: AbstractBaseUser) -> Suggestion:
    """Suggest the level the diagnosis reached unless the company already declared it
    (or more); then there is nothing to declare until the next level is reached."""
    declared = highest_level(user)
    return Suggestion(
        reached=reached, declared=declared, suggest=reached if reached > declared else 0
    )


@dataclass(frozen=True)
class Recorded:
    declaration: SecurityActionDeclaration
    previous_level: int  # the account's current level before this one (0: first)

    @property
    def step_up(self) -> bool:
        return self.previous_level == SecurityActionLevel.ONE_STAR and (
            self.declaration.level == SecurityActionLevel.TWO_STARS
        )

    @property
    def lower(self) -> bool:
        return 0 < self.declaration.level < self.previous_level


def record(
    user: AbstractBaseUser,
    *,
    level: int,
    declared_on: dt.date,
    declaration_id: str,
    prefecture: str,
    today: dt.date | None = None,
) -> Recorded:
    """Record a new declaration for an SME account (always a new row)."""
    if not user.is_authenticated or getattr(user, "role", None) != Role.SME:
        raise PermissionError("only SME accounts declare SECURITY ACTION")
    if level not in SecurityActionLevel.values:
        raise DeclarationError("level", _("★（一つ星）か★★（二つ星）を選んでください。"))
    check_date(declared_on, today or timezone.localdate())
    clean_id = check_id(declaration_id)
    place = Prefecture.objects.filter(pk=prefecture).first()
    if place is None:
        raise DeclarationError("prefecture", _("所在地の都道府県を選んでください。"))
    with transaction.atomic():
        previous = current_level(user)
        declaration = SecurityActionDeclaration.objects.create(
            user=user,
            level=level,
            declared_on=declared_on,
            declaration_id=clean_id,
            prefecture=place,
        )
        record_event(
            "diagnosis.security_action_declared",
            actor=user,
            target_type="security_action_declaration",
            target_id=str(declaration.pk),
            data={"level": level, "previous_level": previous},
        )
    return Recorded(declaration, previous)

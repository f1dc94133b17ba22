"""Display names for the codes the facts hold."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from sekispe.diagnosis.services import EMPLOYEE_BANDS
from sekispe.events.report import theme_name
from sekispe.inquiries.models import CloseReason, DeclineReason
from sekispe.insights.areas import registrants
from sekispe.reference import data as reference_data
from sekispe.reference.models import ServiceForm
from sekispe.registrant_requests.models import DeregistrationReason
from sekispe.registry.models import ExamSeason, RegistryStatus
from sekispe.reports.services import AGE_BANDS, HalfYear

PREFECTURE_NAMES: dict[str, str] = {p.code: p.name for p in reference_data.PREFECTURES}
THEME_CODES: tuple[str, ...] = tuple(str(t.code) for t in reference_data.GUIDANCE_THEMES)


def month_label(month: dt.date) -> str:
    return _("%(year)s年%(month)s月") % {"year": month.year, "month": month.month}


def prefecture(code: str) -> str:
    return PREFECTURE_NAMES.get(code, _("不明"))


def theme(code: str) -> str:
    return theme_name(int(code) if code.isdigit() else None)


def end_reason(key: str) -> str:
    if key in DeregistrationReason.values:
        return _("消除（%(reason)s）") % {"reason": DeregistrationReason(key).label}
    if key in (RegistryStatus.DECEASED, RegistryStatus.REVOKED):
        return str(RegistryStatus(key).label)
    return _("消除（理由の記録なし）")


def exam(key: str) -> str:
    if key in ExamSeason.values:
        return str(ExamSeason(key).label)
    if key == registrants.EXEMPT:
        return _("試験免除")
    return _("不明")


AGE_LABELS = {key: str(label) for key, label in AGE_BANDS}


def age(key: str) -> str:
    return AGE_LABELS.get(key, key)


def cohort(key: str) -> str:
    try:
        return HalfYear.parse(key).label
    except ValueError:
        return key


def decline(key: str) -> str:
    return str(DeclineReason(key).label) if key in DeclineReason.values else _("理由の記録なし")


def close(key: str) -> str:
    return str(CloseReason(key).label) if key in CloseReason.values else _("理由の記録なし")


def form(key: str) -> str:
    return str(ServiceForm(key).label) if key in ServiceForm.values else key


INDUSTRY_NAMES = {code: name for code, name, _en in reference_data.INDUSTRIES}
SIZE_NAMES = {code: str(label) for code, label in EMPLOYEE_BANDS}


def industry(code: str) -> str:
    return INDUSTRY_NAMES.get(code, _("未回答"))


def size(code: str) -> str:
    return SIZE_NAMES.get(code, _("未回答"))


def step(key: str) -> str:
    return _("ステップ%(n)s") % {"n": key}


def level(key: str) -> str:
    return {"0": _("未達"), "1": "★", "2": "★★"}.get(key, key)

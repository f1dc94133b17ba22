"""Keep the reference tables equal to `reference.data`, and look codes up."""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Any

from django.db import transaction

from sekispe.reference import data
from sekispe.reference.models import (
    GuidanceTheme,
    Industry,
    Prefecture,
    Qualification,
    RegionBlock,
    SupportPeriod,
    SyllabusItem,
    SyllabusMajor,
)


@transaction.atomic
def sync_reference_data() -> None:
    """Upsert every code list. Idempotent; runs after each migrate and flush."""
    for order, block in enumerate(data.BLOCKS):
        RegionBlock.objects.update_or_create(
            code=block.code, defaults={"name": block.name, "name_en": block.name_en, "order": order}
        )
    for pref in data.PREFECTURES:
        Prefecture.objects.update_or_create(
            code=pref.code,
            defaults={
                "name": pref.name,
                "short_name": pref.short_name,
                "name_en": pref.name_en,
                "block_id": pref.block,
            },
        )
    for code, name, name_en in data.INDUSTRIES:
        Industry.objects.update_or_create(code=code, defaults={"name": name, "name_en": name_en})
    for code, name, name_en in data.SYLLABUS_MAJORS:
        SyllabusMajor.objects.update_or_create(
            code=code, defaults={"name": name, "name_en": name_en}
        )
    for order, (code, name, name_en) in enumerate(data.SYLLABUS_ITEMS):
        detail = data.SYLLABUS_DETAILS[code]
        SyllabusItem.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "major_id": code[0],
                "order": order,
                "summary": detail.summary,
                "knowledge": list(detail.knowledge),
                "skills": list(detail.skills),
                "source": detail.source,
            },
        )
    for theme in data.GUIDANCE_THEMES:
        obj, _ = GuidanceTheme.objects.update_or_create(
            code=theme.code,
            defaults={
                "name": theme.name,
                "short_name": theme.short_name,
                "name_en": theme.name_en,
                "goals": list(theme.goals),
            },
        )
        obj.syllabus_items.set(theme.syllabus)
    for order, (code, name, name_en) in enumerate(data.SUPPORT_PERIODS):
        SupportPeriod.objects.update_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "order": order}
        )
    for order, (code, name, name_en) in enumerate(data.QUALIFICATIONS):
        Qualification.objects.update_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "order": order}
        )


def sync_reference_data_on_migrate(using: str = "default", **kwargs: Any) -> None:
    if using != "default":
        return
    sync_reference_data()


PREFECTURE_CODES: tuple[str, ...] = tuple(p.code for p in data.PREFECTURES)
BLOCK_CODES: tuple[str, ...] = tuple(b.code for b in data.BLOCKS)
THEME_CODES: tuple[int, ...] = tuple(t.code for t in data.GUIDANCE_THEMES)
INDUSTRY_CODES: tuple[str, ...] = tuple(code for code, _, _ in data.INDUSTRIES)
SYLLABUS_CODES: tuple[str, ...] = tuple(code for code, _, _ in data.SYLLABUS_ITEMS)
PERIOD_CODES: tuple[str, ...] = tuple(code for code, _, _ in data.SUPPORT_PERIODS)
FORM_CODES: tuple[str, ...] = tuple(code for code, _, _ in data.SERVICE_FORMS)
AFFILIATION_CODES: tuple[str, ...] = tuple(code for code, _, _ in data.AFFILIATIONS)
QUALIFICATION_CODES: tuple[str, ...] = tuple(code for code, _, _ in data.QUALIFICATIONS)


@cache
def block_prefectures(block_code: str) -> tuple[str, ...]:
    return tuple(p.code for p in data.PREFECTURES if p.block == block_code)


def prefecture_block(pref_code: str) -> str:
    return _PREF_BY_CODE[pref_code].block


_PREF_BY_CODE = {p.code: p for p in data.PREFECTURES}


@cache
def _prefecture_lookup() -> dict[str, str]:
    table: dict[str, str] = {}
    for p in data.PREFECTURES:
        table[p.code] = p.code
        table[str(int(p.code))] = p.code  # "1" as well as "01"
        table[p.name] = p.code
        table[p.short_name] = p.code
    return table


def resolve_prefecture(value: str) -> str | None:
    """A JIS code ("27", "7"), full name ("大阪府") or short name ("大阪") -> JIS code."""
    key = unicodedata.normalize("NFKC", value).strip()
    return _prefecture_lookup().get(key)


def resolve_qualification(value: str) -> str | None:
    """A qualification code or its Japanese name -> code."""
    key = unicodedata.normalize("NFKC", value).strip()
    for code, name, _name_en in data.QUALIFICATIONS:
        if key in (code, unicodedata.normalize("NFKC", name)):
            return code
    return None

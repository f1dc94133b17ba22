"""Keep the reference tables equal to `reference.data`, and look codes up."""

from __future__ import annotations

import unicodedata
from functools import cache, reduce
from operator import or_
from typing import Any

from django.db import models, transaction
from django.db.models import Q

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


def _upsert(model: type[models.Model], wanted: dict[Any, dict[str, Any]]) -> None:
    """Make `model`'s rows for these primary keys hold these values: one read,
    then one insert for the missing and one update for the changed. Rows for
    other keys are left alone (a code withdrawn from `data` may still be
    referenced)."""
    fields = sorted({name for values in wanted.values() for name in values})
    current = {row.pk: row for row in model.objects.filter(pk__in=wanted)}
    missing: list[models.Model] = []
    changed: list[models.Model] = []
    for pk, values in wanted.items():
        row = current.get(pk)
        if row is None:
            missing.append(model(pk=pk, **values))
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            changed.append(row)
    if missing:
        model.objects.bulk_create(missing)
    if changed:
        model.objects.bulk_update(changed, fields)


@transaction.atomic
def sync_reference_data() -> None:
    """Upsert every code list. Idempotent; runs after each migrate and after each
    flush (every transactional test), so an up-to-date database costs one read
    per table."""
    _upsert(
        RegionBlock,
        {
            block.code: {"name": block.name, "name_en": block.name_en, "order": order}
            for order, block in enumerate(data.BLOCKS)
        },
    )
    _upsert(
        Prefecture,
        {
            pref.code: {
                "name": pref.name,
                "short_name": pref.short_name,
                "name_en": pref.name_en,
                "block_id": pref.block,
            }
            for pref in data.PREFECTURES
        },
    )
    _upsert(
        Industry,
        {code: {"name": name, "name_en": name_en} for code, name, name_en in data.INDUSTRIES},
    )
    _upsert(
        SyllabusMajor,
        {code: {"name": name, "name_en": name_en} for code, name, name_en in data.SYLLABUS_MAJORS},
    )
    _upsert(
        SyllabusItem,
        {
            code: {
                "name": name,
                "name_en": name_en,
                "major_id": code[0],
                "order": order,
                "summary": data.SYLLABUS_DETAILS[code].summary,
                "knowledge": list(data.SYLLABUS_DETAILS[code].knowledge),
                "skills": list(data.SYLLABUS_DETAILS[code].skills),
                "source": data.SYLLABUS_DETAILS[code].source,
            }
            for order, (code, name, name_en) in enumerate(data.SYLLABUS_ITEMS)
        },
    )
    _upsert(
        GuidanceTheme,
        {
            theme.code: {
                "name": theme.name,
                "short_name": theme.short_name,
                "name_en": theme.name_en,
                "goals": list(theme.goals),
            }
            for theme in data.GUIDANCE_THEMES
        },
    )
    _sync_theme_syllabus()
    _upsert(
        SupportPeriod,
        {
            code: {"name": name, "name_en": name_en, "order": order}
            for order, (code, name, name_en) in enumerate(data.SUPPORT_PERIODS)
        },
    )
    _upsert(
        Qualification,
        {
            code: {"name": name, "name_en": name_en, "order": order}
            for order, (code, name, name_en) in enumerate(data.QUALIFICATIONS)
        },
    )


def _sync_theme_syllabus() -> None:
    """Each theme links exactly the syllabus items `data` gives it."""
    link = GuidanceTheme.syllabus_items.through
    wanted = {(theme.code, item) for theme in data.GUIDANCE_THEMES for item in theme.syllabus}
    themes = [theme.code for theme in data.GUIDANCE_THEMES]
    current = set(
        link.objects.filter(guidancetheme_id__in=themes).values_list(
            "guidancetheme_id", "syllabusitem_id"
        )
    )
    if stale := current - wanted:
        link.objects.filter(
            reduce(or_, (Q(guidancetheme_id=t, syllabusitem_id=i) for t, i in sorted(stale)))
        ).delete()
    if new := wanted - current:
        link.objects.bulk_create(
            [link(guidancetheme_id=theme, syllabusitem_id=item) for theme, item in sorted(new)]
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

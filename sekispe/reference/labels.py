"""Code-to-name maps for the reference code lists, in Japanese and English.

Every page that shows a prefecture, block, theme, industry, syllabus item,
period, form, affiliation or qualification by name reads it here, so the
Active List, the registry search, the listing forms and the diagnosis all
name a code the same way in each language.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import get_language

from sekispe.reference import data

PREF_NAMES = {p.code: p.name for p in data.PREFECTURES}
PREF_SHORT = {p.code: p.short_name for p in data.PREFECTURES}
BLOCK_NAMES = {b.code: b.name for b in data.BLOCKS}
THEME_NAMES = {t.code: t.name for t in data.GUIDANCE_THEMES}
INDUSTRY_NAMES = {c: n for c, n, _ in data.INDUSTRIES}
SYLLABUS_NAMES = {c: n for c, n, _ in data.SYLLABUS_ITEMS}
PERIOD_NAMES = {c: n for c, n, _ in data.SUPPORT_PERIODS}
FORM_NAMES = {c: n for c, n, _ in data.SERVICE_FORMS}
AFFILIATION_NAMES = {c: n for c, n, _ in data.AFFILIATIONS}
QUAL_NAMES = {c: n for c, n, _ in data.QUALIFICATIONS}
CIRCLED = "①②③④⑤"


@dataclass(frozen=True)
class Labels:
    """Code-to-name maps for one language."""

    pref: dict[str, str]
    pref_short: dict[str, str]
    block: dict[str, str]
    theme: dict[int, str]
    industry: dict[str, str]
    syllabus: dict[str, str]
    period: dict[str, str]
    form: dict[str, str]
    affiliation: dict[str, str]
    qualification: dict[str, str]
    # Between the circled theme number and the name: none in Japanese.
    circled_gap: str


LABELS_JA = Labels(
    pref=PREF_NAMES,
    pref_short=PREF_SHORT,
    block=BLOCK_NAMES,
    theme=THEME_NAMES,
    industry=INDUSTRY_NAMES,
    syllabus=SYLLABUS_NAMES,
    period=PERIOD_NAMES,
    form=FORM_NAMES,
    affiliation=AFFILIATION_NAMES,
    qualification=QUAL_NAMES,
    circled_gap="",
)

LABELS_EN = Labels(
    pref={p.code: p.name_en for p in data.PREFECTURES},
    pref_short={p.code: p.name_en for p in data.PREFECTURES},
    block={b.code: b.name_en for b in data.BLOCKS},
    theme={t.code: t.name_en for t in data.GUIDANCE_THEMES},
    industry={c: en for c, _, en in data.INDUSTRIES},
    syllabus={c: en for c, _, en in data.SYLLABUS_ITEMS},
    period={c: en for c, _, en in data.SUPPORT_PERIODS},
    form={c: en for c, _, en in data.SERVICE_FORMS},
    affiliation={c: en for c, _, en in data.AFFILIATIONS},
    qualification={c: en for c, _, en in data.QUALIFICATIONS},
    circled_gap=" ",
)


def labels() -> Labels:
    """The labels for the active language: English for "en*", Japanese otherwise."""
    return LABELS_EN if (get_language() or "").startswith("en") else LABELS_JA

"""GET /api/v1/reference: every code list with its Japanese labels. Public."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema

from sekispe.reference import data

router = Router(tags=["reference"])


class Code(Schema):
    code: str
    name: str
    name_en: str


class PrefectureCode(Code):
    block: str


class ThemeCode(Schema):
    code: int
    name: str
    name_en: str
    goals: list[str]
    syllabus_items: list[str]


class SyllabusItemCode(Code):
    major: str
    summary: str
    knowledge: list[str]
    skills: list[str]
    source: Literal["003", "sekispe"] = Field(
        description='"003": summary, knowledge and skills as listed in the 2025 study-group '
        'report; "sekispe": sekispe\'s own summary of the IPA syllabus (see the official syllabus)'
    )


class ReferenceOut(Schema):
    prefectures: list[PrefectureCode]
    regions: list[Code]
    industries: list[Code]
    themes: list[ThemeCode]
    syllabus_majors: list[Code]
    syllabus_items: list[SyllabusItemCode]
    forms: list[Code]
    periods: list[Code]
    affiliations: list[Code]
    qualifications: list[Code]


def _codes(rows: tuple[tuple[str, str, str], ...]) -> list[dict[str, Any]]:
    return [{"code": c, "name": n, "name_en": e} for c, n, e in rows]


@router.get("", response=ReferenceOut, auth=None, summary="Code lists with labels")
def reference(request: HttpRequest) -> dict[str, Any]:
    return {
        "prefectures": [
            {"code": p.code, "name": p.name, "name_en": p.name_en, "block": p.block}
            for p in data.PREFECTURES
        ],
        "regions": [{"code": b.code, "name": b.name, "name_en": b.name_en} for b in data.BLOCKS],
        "industries": _codes(data.INDUSTRIES),
        "themes": [
            {
                "code": t.code,
                "name": t.name,
                "name_en": t.name_en,
                "goals": list(t.goals),
                "syllabus_items": list(t.syllabus),
            }
            for t in data.GUIDANCE_THEMES
        ],
        "syllabus_majors": _codes(data.SYLLABUS_MAJORS),
        "syllabus_items": [
            {
                "code": c,
                "name": n,
                "name_en": e,
                "major": c.split("-")[0],
                "summary": data.SYLLABUS_DETAILS[c].summary,
                "knowledge": list(data.SYLLABUS_DETAILS[c].knowledge),
                "skills": list(data.SYLLABUS_DETAILS[c].skills),
                "source": data.SYLLABUS_DETAILS[c].source,
            }
            for c, n, e in data.SYLLABUS_ITEMS
        ],
        "forms": _codes(data.SERVICE_FORMS),
        "periods": _codes(data.SUPPORT_PERIODS),
        "affiliations": _codes(data.AFFILIATIONS),
        "qualifications": _codes(data.QUALIFICATIONS),
    }

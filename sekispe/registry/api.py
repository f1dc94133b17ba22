"""GET /api/v1/registry: the public search service as JSON. Public, read-only;
the same rules and the same functions (`registry.public`) as the /registry/ page."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from pydantic import WithJsonSchema

from sekispe.core.api import NO_CONTROL, ErrorOut, InvalidQuery, MessageOut
from sekispe.reference import data
from sekispe.registry import public

router = Router(tags=["registry"])

# What `prefecture` accepts: the JIS code with or without its leading zero,
# the full name and the short name (reference.services.resolve_prefecture).
PREFECTURES = tuple(
    dict.fromkeys(
        value
        for p in data.PREFECTURES
        for value in (p.code, str(int(p.code)), p.name, p.short_name)
    )
)
Prefecture = Literal[PREFECTURES]  # type: ignore[valid-type]
# `q` declares that it holds no control character; public.parse_query refuses
# them (a 422 with its own message), so the pattern is documentation only.
RegistryText = Annotated[
    str,
    WithJsonSchema({"type": "string", "maxLength": public.MAX_QUERY_LENGTH, "pattern": NO_CONTROL}),
]
_Q = Query(
    "",
    max_length=public.MAX_QUERY_LENGTH,
    description="Registration number, or part of a name or kana",
)
_PREFECTURE = Query(None, description="JIS X 0401 code (01 or 1), prefecture name or short name")


class CourseOut(Schema):
    kind: str = Field(
        description=(
            "practical (IPA's practical course), specific, or deemed (deemed attendance, "
            "みなし受講: certified practical work approved by IPA in place of the course)"
        )
    )
    kind_label: str
    completed_on: dt.date
    provider: str
    course_code: str


class RegistryEntryOut(Schema):
    """Items the registrant has not published (公開届) are null."""

    registration_number: str
    name: str | None
    name_kana: str | None
    birth_year: int | None
    home_prefecture: str | None = Field(description="JIS X 0401 code")
    home_prefecture_name: str | None
    registered_on: dt.date | None
    email: str | None
    expires_on: dt.date
    valid_until: dt.date = Field(description="Later than expires_on under a disaster extension")
    application_deadline: dt.date = Field(description="Renewal-application deadline (更新申請期限)")
    renewal_count: int
    renewal_under_review: bool = Field(description="A renewal application awaits a decision")
    practical_courses: list[CourseOut] = Field(
        description=(
            "Practical and specific course completions and deemed attendance, oldest first"
        )
    )
    listing_url: str | None = Field(description="Path of the Active List listing, if visible")


class RegistrySearchOut(Schema):
    count: int
    limit: int
    offset: int
    results: list[RegistryEntryOut]


@router.get(
    "",
    response={200: RegistrySearchOut, 422: ErrorOut},
    auth=None,
    summary="Search the registry of registered specialists",
    description=(
        "Registered (active) registrants only. `q` is a six-digit registration number "
        "(exact) or part of a name or kana (spaces ignored, hiragana read as katakana); "
        "name, kana and prefecture only find registrants who published that item. "
        "At least one of `q` and `prefecture` is required. A `q` of digits only must "
        "be six digits (after NFKC: full-width digits count)."
    ),
    openapi_extra={
        "responses": {
            422: {
                "description": "A parameter is invalid, or neither `q` nor `prefecture` "
                'was given (then `loc` is `["query", "q"]`), or `q` is digits but not '
                "six of them. `loc` names the parameter."
            }
        }
    },
)
def search_registry(
    request: HttpRequest,
    q: RegistryText = _Q,
    prefecture: Prefecture | None = _PREFECTURE,
    limit: int = Query(public.PAGE_SIZE, ge=1, le=public.MAX_LIMIT),
    offset: int = Query(0, ge=0),
) -> Any:
    query = public.parse_query(q, prefecture)
    if query.empty:
        raise InvalidQuery(
            "q", "q: 登録番号・氏名・フリガナ、または prefecture を指定してください。"
        )
    return public.search(query, timezone.localdate(), offset=offset, limit=limit)


@router.get(
    "/{registration_number}",
    response={200: RegistryEntryOut, 404: MessageOut},
    auth=None,
    summary="One registered specialist",
    description="404 when no registered specialist has that registration number.",
)
def registry_record(request: HttpRequest, registration_number: str) -> Any:
    try:
        return public.get_entry(registration_number, timezone.localdate())
    except LookupError:
        raise Http404("No registered specialist with that registration number") from None

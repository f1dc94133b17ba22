"""GET /api/v1/specialists and /api/v1/specialists/{registration_number}. Public:
the Active List is published for anyone, and only visible listings are served."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from sekispe.search import services

router = Router(tags=["specialists"])


class SpecialistFilters(Schema):
    prefecture: list[str] = Field(default_factory=list, description="JIS X 0401 code, repeatable")
    region: str | None = Field(None, description="Regional block code, e.g. kinki")
    theme: list[int] = Field(default_factory=list, description="Guidance theme 1-5, repeatable")
    industry: list[str] = Field(default_factory=list, description="JSIC letter A-T, repeatable")
    form: list[str] = Field(default_factory=list, description="visit|online|training|product")
    max_fee: int | None = Field(None, description="Yen per session, for the chosen forms")
    first_free: bool | None = None
    period: list[str] = Field(default_factory=list, description="spot|1-3m|3-6m|6-12m|12m+")
    affiliation: str | None = Field(None, description="sole|company")
    qualification: list[str] = Field(default_factory=list, description="Qualification code")
    q: str = Field("", description="Free text over name, kana, profile, track record")
    include_not_accepting: bool = False
    page: int = 1
    page_size: int = Field(services.DEFAULT_PAGE_SIZE, description="At most 100")

    def to_query(self) -> services.SearchQuery:
        return services.SearchQuery(
            prefectures=tuple(self.prefecture),
            region=self.region or None,
            themes=tuple(self.theme),
            industries=tuple(self.industry),
            forms=tuple(self.form),
            max_fee=self.max_fee,
            first_free=self.first_free,
            periods=tuple(self.period),
            affiliation=self.affiliation or None,
            qualifications=tuple(self.qualification),
            q=self.q,
            include_not_accepting=self.include_not_accepting,
            page=self.page,
            page_size=self.page_size,
        )


class VerifiedOut(Schema):
    """Facts from IPA's registry, not declared by the specialist."""

    registration_number: str
    registered_on: dt.date
    expires_on: dt.date
    renewal_count: int
    courses_up_to_date: bool


class SpecialistOut(Schema):
    registration_number: str
    name: str
    name_kana: str
    prefectures: list[str]
    themes: list[int]
    syllabus_items: list[str]
    industries: list[str]
    periods: list[str]
    first_free: bool
    fees: dict[str, int]
    qualifications: list[str]
    other_qualifications: str
    affiliation: str
    company_name: str
    accepting: bool
    updated_at: dt.datetime
    verified: VerifiedOut


class SpecialistDetailOut(SpecialistOut):
    email: str
    phone: str
    web: str
    profile: str
    track_record: str


class SearchOut(Schema):
    count: int
    page: int
    page_size: int
    results: list[SpecialistOut]


@router.get("", response=SearchOut, auth=None, summary="Search the Active List")
def search_specialists(request: HttpRequest, filters: Query[SpecialistFilters]) -> HttpResponse:
    result = services.search(filters.to_query())
    # Rows come from the index already encoded in SpecialistOut's shape (a test
    # holds them to the schema); validating and encoding 20 nested rows per
    # request would cost more than the search. SearchOut still documents it.
    head = json.dumps(
        {"count": result.count, "page": result.query.page, "page_size": result.query.page_size}
    )
    body = f'{head[:-1]}, "results": [{", ".join(result.results_json)}]}}'
    return HttpResponse(body.encode(), content_type="application/json")


@router.get(
    "/{registration_number}", response=SpecialistDetailOut, auth=None, summary="One specialist"
)
def specialist_detail(request: HttpRequest, registration_number: str) -> dict[str, Any]:
    try:
        return services.get_specialist(registration_number)
    except LookupError:
        raise Http404("No visible listing with that registration number") from None

"""GET /api/v1/specialists and /api/v1/specialists/{registration_number}. Public:
the Active List is published for anyone, and only visible listings are served."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, Router, Schema

from sekispe.search import bots, services
from sekispe.search.forms import query_from_params

router = Router(tags=["specialists"])


class SpecialistFilters(Schema):
    """The search parameters, for the OpenAPI document. Requests are parsed by
    `search.forms.query_from_params`, the same parser as the web page, so the
    page and the API can never disagree on what a URL means."""

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
    order: str = Field(
        "",
        description="The `order` of an earlier response: the next page keeps that "
        "response's order (same viewer and 30-minute bucket). Without it, every client "
        "shares one order per search and bucket. An invalid or expired token is ignored.",
    )


def _query_parameters(schema: type[Schema]) -> list[dict[str, Any]]:
    properties = schema.model_json_schema()["properties"]
    return [
        {
            "in": "query",
            "name": name,
            "required": False,
            "description": prop.get("description", ""),
            "schema": {k: v for k, v in prop.items() if k != "description"},
            **({"explode": True, "style": "form"} if prop.get("type") == "array" else {}),
        }
        for name, prop in properties.items()
    ]


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
    stale: bool = Field(description="Not updated for 180 days or more (listings are hidden at 365)")
    verified: VerifiedOut


class SpecialistDetailOut(SpecialistOut):
    """No e-mail address or phone number: those are shown only on the web
    page, one logged and rate-limited request at a time (search/contact.py),
    so the API cannot be used to copy them in bulk."""

    web: str
    profile: str
    track_record: str


class ErrorDetail(Schema):
    loc: list[str]
    msg: str
    type: str


class ErrorOut(Schema):
    detail: list[ErrorDetail]


class SearchOut(Schema):
    count: int
    page: int
    page_size: int
    order: str = Field(description="Pass back as `order` to page through the same order")
    results: list[SpecialistOut]


@router.get(
    "",
    response={200: SearchOut, 422: ErrorOut},
    auth=None,
    summary="Search the Active List",
    openapi_extra={"parameters": _query_parameters(SpecialistFilters)},
)
def search_specialists(request: HttpRequest) -> HttpResponse:
    # Rate-limited per address; a served page counts in the exposure ledger
    # unless a bot or a heavy client asked (search/bots.py).
    admission = bots.admit_search(request)
    if not admission.allowed:
        response = HttpResponse(
            json.dumps({"detail": "Too many searches from this address; retry later."}),
            status=429,
            content_type="application/json",
        )
        response["Retry-After"] = str(admission.retry_after_seconds)
        return response
    query = query_from_params(request.GET, api=True)
    result = services.search(query, record_exposure=admission.count_exposure)
    # Rows come from the index already encoded in SpecialistOut's shape (a test
    # holds them to the schema); validating and encoding 20 nested rows per
    # request would cost more than the search. SearchOut still documents it.
    head = json.dumps(
        {
            "count": result.count,
            "page": result.query.page,
            "page_size": result.query.page_size,
            "order": result.order_token,
        }
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

"""GET /api/v1/specialists and /api/v1/specialists/{registration_number}. Public:
the Active List is published for anyone, and only visible listings are served."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from ninja import Field, Router, Schema

from sekispe.core.api import NO_CONTROL, ErrorOut, InvalidQuery, MessageOut
from sekispe.reference import services as ref
from sekispe.search import bots, demand, services
from sekispe.search.forms import query_from_params

router = Router(tags=["specialists"])

# The length services.validate_query allows for `q`, counted here before stripping.
MAX_Q_LENGTH = 200


# The search parameters as the OpenAPI document declares them: (name, JSON
# Schema, description, repeatable). Requests are parsed by
# `search.forms.query_from_params`, the same parser as the web page, so the page
# and the API never disagree on what a URL means; `check_parameters` first holds
# API requests to these declarations (the page is lenient with empty fields).
SEARCH_PARAMETERS: tuple[tuple[str, dict[str, Any], str, bool], ...] = (
    (
        "prefecture",
        {"type": "string", "enum": list(ref.PREFECTURE_CODES)},
        "JIS X 0401 code. A prefecture inside `region` narrows the region to the "
        "chosen prefectures; one outside it adds to it",
        True,
    ),
    (
        "region",
        {"type": "string", "enum": list(ref.BLOCK_CODES)},
        "Regional block code: the whole block, unless `prefecture` names some of its prefectures",
        False,
    ),
    ("theme", {"type": "integer", "enum": list(ref.THEME_CODES)}, "Guidance theme 1-5", True),
    ("industry", {"type": "string", "enum": list(ref.INDUSTRY_CODES)}, "JSIC letter A-T", True),
    ("form", {"type": "string", "enum": list(ref.FORM_CODES)}, "Service form", True),
    (
        "max_fee",
        {"type": "integer", "minimum": 0},
        "Yen per session, for the chosen forms",
        False,
    ),
    ("first_free", {"type": "boolean"}, "First consultation free", False),
    ("period", {"type": "string", "enum": list(ref.PERIOD_CODES)}, "Support period", True),
    ("affiliation", {"type": "string", "enum": list(ref.AFFILIATION_CODES)}, "sole|company", False),
    (
        "qualification",
        {"type": "string", "enum": list(ref.QUALIFICATION_CODES)},
        "Qualification code",
        True,
    ),
    (
        "q",
        {"type": "string", "maxLength": MAX_Q_LENGTH, "pattern": NO_CONTROL},
        "Free text over name, kana, profile, track record",
        False,
    ),
    (
        "include_not_accepting",
        {"type": "boolean"},
        "Also list specialists not accepting new clients",
        False,
    ),
    ("page", {"type": "integer", "minimum": 1}, "1 for the first page", False),
    (
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": services.MAX_PAGE_SIZE},
        f"Rows per page (default {services.DEFAULT_PAGE_SIZE})",
        False,
    ),
    (
        "order",
        {"type": "string", "pattern": NO_CONTROL},
        "The `order` of an earlier response: the next page keeps that "
        "response's order (same viewer and 30-minute bucket). Without it, every client "
        "shares one order per search and bucket. An invalid or expired token is ignored.",
        False,
    ),
)
# What JSON Schema's integer and boolean are in a query string: ASCII digits,
# `true` / `false` (in any case: Python clients send `True`). No padding, no
# thousands separators, no empty value.
_INTEGER = re.compile(r"-?[0-9]+")
_BOOLEANS = ("true", "false")


def check_parameters(params: QueryDict) -> None:
    """Refuse a value the declared schema does not allow in form: an empty or
    padded value, a non-integer, a boolean other than true/false, a `q` over
    its length. Codes and ranges are checked by the parser, with its messages.
    Raises InvalidQuery naming the parameter."""
    for name, schema, _description, repeatable in SEARCH_PARAMETERS:
        # Most requests carry two or three of the fifteen: a membership test
        # skips the rest without copying their (empty) value lists.
        if name not in params:
            continue
        values = params.getlist(name)
        # A single-valued parameter given twice: the parser reads the last one.
        for value in values if repeatable else values[-1:]:
            kind = schema["type"]
            if kind == "integer":
                if not _INTEGER.fullmatch(value):
                    raise InvalidQuery(name, f"{name}: 「{value}」は整数ではありません。")
            elif kind == "boolean":
                if value.lower() not in _BOOLEANS:
                    raise InvalidQuery(
                        name, f"{name}: 「{value}」は true / false で指定してください。"
                    )
            elif "enum" in schema:
                if not value or value != value.strip():
                    raise InvalidQuery(name, f"{name}: 「{value}」は有効なコードではありません。")
            elif len(value) > schema.get("maxLength", len(value)):
                raise InvalidQuery(
                    name, f"{name}: {schema['maxLength']}文字以内で入力してください。"
                )


def _query_parameters() -> list[dict[str, Any]]:
    parameters = []
    for name, schema, description, repeatable in SEARCH_PARAMETERS:
        parameter = {"in": "query", "name": name, "required": False, "description": description}
        if repeatable:
            description += ", repeatable"
            parameter.update(
                description=description,
                schema={"type": "array", "items": schema},
                style="form",
                explode=True,
            )
        else:
            parameter["schema"] = schema
        parameters.append(parameter)
    return parameters


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


class SearchOut(Schema):
    count: int
    page: int
    page_size: int
    order: str = Field(description="Pass back as `order` to page through the same order")
    results: list[SpecialistOut]


@router.get(
    "",
    response={200: SearchOut, 422: ErrorOut, 429: MessageOut},
    auth=None,
    summary="Search the Active List",
    description="A parameter the schema below does not allow (an empty value, an unknown "
    "code, a number out of range) gets a 422 naming it in `loc`. Too many searches "
    "from one address get a 429 with `Retry-After`.",
    openapi_extra={"parameters": _query_parameters()},
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
    check_parameters(request.GET)
    query = query_from_params(request.GET, api=True)
    result = services.search(query, record_exposure=admission.count_exposure, json_only=True)
    if admission.count_exposure:
        demand.record(query)
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
    ).encode()
    body = b"".join((head[:-1], b', "results": [', b", ".join(result.results_json), b"]}"))
    return HttpResponse(body, content_type="application/json")


@router.get(
    "/{registration_number}",
    response={200: SpecialistDetailOut, 404: MessageOut},
    auth=None,
    summary="One specialist",
    description="404 when no visible listing has that registration number.",
)
def specialist_detail(request: HttpRequest, registration_number: str) -> dict[str, Any]:
    try:
        return services.get_specialist(registration_number)
    except LookupError:
        raise Http404("No visible listing with that registration number") from None

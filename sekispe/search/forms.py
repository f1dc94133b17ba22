"""Turn the search page's GET parameters into a SearchQuery, and results into
template context with Japanese labels. The parameter names are the API's, so a
page URL and an API URL carry the same filters."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, QueryDict
from django.urls import reverse

from sekispe.reference import data
from sekispe.search.services import DEFAULT_PAGE_SIZE, InvalidQuery, SearchQuery, SearchResult

TRUE_VALUES = {"1", "true", "on", "yes"}
FALSE_VALUES = {"0", "false", "off", "no"}

PREF_NAMES = {p.code: p.name for p in data.PREFECTURES}
PREF_SHORT = {p.code: p.short_name for p in data.PREFECTURES}
BLOCK_NAMES = {b.code: b.name for b in data.BLOCKS}
THEME_NAMES = {t.code: t.name for t in data.GUIDANCE_THEMES}
THEME_SHORT = {t.code: t.short_name for t in data.GUIDANCE_THEMES}
INDUSTRY_NAMES = {c: n for c, n, _ in data.INDUSTRIES}
SYLLABUS_NAMES = {c: n for c, n, _ in data.SYLLABUS_ITEMS}
PERIOD_NAMES = {c: n for c, n, _ in data.SUPPORT_PERIODS}
FORM_NAMES = {c: n for c, n, _ in data.SERVICE_FORMS}
AFFILIATION_NAMES = {c: n for c, n, _ in data.AFFILIATIONS}
QUAL_NAMES = {c: n for c, n, _ in data.QUALIFICATIONS}
CIRCLED = "①②③④⑤"


def _list(params: QueryDict, name: str) -> list[str]:
    return [v.strip() for v in params.getlist(name) if v.strip()]


def _single(params: QueryDict, name: str) -> str | None:
    value = params.get(name, "").strip()
    return value or None


def _int(params: QueryDict, name: str, default: Any) -> Any:
    value = _single(params, name)
    if value is None:
        return default
    try:
        return int(value.replace(",", ""))
    except ValueError:
        raise InvalidQuery(name, f"{name}: 「{value}」は数値ではありません。") from None


def _bool(params: QueryDict, name: str) -> bool | None:
    value = _single(params, name)
    if value is None:
        return None
    lowered = value.lower()
    if lowered in TRUE_VALUES:
        return True
    if lowered in FALSE_VALUES:
        return False
    raise InvalidQuery(name, f"{name}: 「{value}」は true / false で指定してください。")


def query_from_params(params: QueryDict, *, api: bool = False) -> SearchQuery:
    """Parse search parameters (the page's and the API's are the same).

    The page always shows 20 rows; the API takes `page_size`.
    """
    themes: list[int] = []
    for value in _list(params, "theme"):
        if not value.isdigit():
            raise InvalidQuery("theme", f"theme: 「{value}」は有効なコードではありません。")
        themes.append(int(value))
    return SearchQuery(
        prefectures=tuple(_list(params, "prefecture")),
        region=_single(params, "region"),
        themes=tuple(themes),
        industries=tuple(_list(params, "industry")),
        forms=tuple(_list(params, "form")),
        max_fee=_int(params, "max_fee", None),
        first_free=_bool(params, "first_free"),
        periods=tuple(_list(params, "period")),
        affiliation=_single(params, "affiliation"),
        qualifications=tuple(_list(params, "qualification")),
        q=params.get("q", "").strip(),
        include_not_accepting=bool(_bool(params, "include_not_accepting")),
        page=_int(params, "page", 1),
        page_size=_int(params, "page_size", DEFAULT_PAGE_SIZE) if api else DEFAULT_PAGE_SIZE,
    )


def _url(params: dict[str, Any]) -> str:
    pairs: list[tuple[str, Any]] = []
    for key, value in params.items():
        if isinstance(value, list | tuple):
            pairs.extend((key, v) for v in value)
        elif value not in (None, "", False):
            pairs.append((key, value))
    qs = urlencode(pairs)
    return reverse("search:index") + (f"?{qs}" if qs else "")


def _params(request: HttpRequest) -> dict[str, Any]:
    return {key: request.GET.getlist(key) for key in request.GET if key != "page"}


def _option(code: Any, label: str, selected: Any, counts: dict[Any, int]) -> dict[str, Any]:
    return {
        "code": code,
        "label": label,
        "checked": code in selected,
        "count": counts.get(code, 0) if counts else None,
    }


def region_labels(codes: list[str]) -> list[str]:
    """Prefectures served, with whole blocks (and the whole country) folded:
    a specialist serving all of 近畿 reads 「近畿全域」, not seven names."""
    chosen = set(codes)
    if len(chosen) == len(data.PREFECTURES):
        return ["全国"]
    labels: list[str] = []
    for block in data.BLOCKS:
        members = [p for p in data.PREFECTURES if p.block == block.code]
        if len(members) > 1 and all(p.code in chosen for p in members):
            labels.append(f"{block.name}全域")
        else:
            labels.extend(p.short_name for p in members if p.code in chosen)
    return labels


def row_context(row: dict[str, Any]) -> dict[str, Any]:
    """Labels for one specialist, shared by the results table and the detail page."""
    return {
        **row,
        "theme_labels": [f"{CIRCLED[t - 1]}{THEME_NAMES[t]}" for t in row["themes"]],
        "theme_short_labels": [
            (f"{CIRCLED[t - 1]}{THEME_SHORT[t]}", THEME_NAMES[t]) for t in row["themes"]
        ],
        "region_labels": region_labels(row["prefectures"]),
        "syllabus_labels": [(c, SYLLABUS_NAMES[c]) for c in row["syllabus_items"]],
        "industry_labels": [INDUSTRY_NAMES[c] for c in row["industries"]],
        "prefecture_labels": [PREF_SHORT[c] for c in row["prefectures"]],
        "period_labels": [PERIOD_NAMES[c] for c in row["periods"]],
        "fee_labels": [(FORM_NAMES[f], fee) for f, fee in row["fees"].items()],
        "qualification_labels": [QUAL_NAMES[c] for c in row["qualifications"]]
        + ([row["other_qualifications"]] if row["other_qualifications"] else []),
        "affiliation_label": (
            row["company_name"]
            if row["affiliation"] == "company" and row["company_name"]
            else AFFILIATION_NAMES[row["affiliation"]]
        ),
        "detail_url": reverse("search:detail", args=[row["registration_number"]]),
    }


def page_context(
    request: HttpRequest,
    query: SearchQuery,
    result: SearchResult | None,
    error: InvalidQuery | None,
) -> dict[str, Any]:
    facets = result.facets if result else {}
    params = _params(request)
    blocks = []
    for block in data.BLOCKS:
        prefs = [
            _option(p.code, p.name, query.prefectures, facets.get("prefecture", {}))
            for p in data.PREFECTURES
            if p.block == block.code
        ]
        blocks.append({"code": block.code, "name": block.name, "prefectures": prefs})
    context: dict[str, Any] = {
        "query": query,
        "result": result,
        "error": error,
        "blocks": blocks,
        "regions": [
            _option(b.code, b.name, (query.region,), facets.get("region", {})) for b in data.BLOCKS
        ],
        "themes": [
            _option(t.code, f"{CIRCLED[t.code - 1]}{t.name}", query.themes, facets.get("theme", {}))
            for t in data.GUIDANCE_THEMES
        ],
        "industries": [
            _option(c, n, query.industries, facets.get("industry", {}))
            for c, n, _ in data.INDUSTRIES
        ],
        "forms": [
            _option(c, n, query.forms, facets.get("form", {})) for c, n, _ in data.SERVICE_FORMS
        ],
        "periods": [
            _option(c, n, query.periods, facets.get("period", {}))
            for c, n, _ in data.SUPPORT_PERIODS
        ],
        "affiliations": [
            _option(c, n, (query.affiliation,), facets.get("affiliation", {}))
            for c, n, _ in data.AFFILIATIONS
        ],
        "qualifications": [
            _option(c, n, query.qualifications, facets.get("qualification", {}))
            for c, n, _ in data.QUALIFICATIONS
        ],
        "first_free_count": facets.get("first_free", {}).get(True),
        "rows": [row_context(r) for r in result.results] if result else [],
        "selected_prefecture_names": [PREF_NAMES.get(c, c) for c in query.prefectures],
        "selected_region_name": BLOCK_NAMES.get(query.region or ""),
    }
    if result:
        page = query.page
        context["pages"] = {
            "current": page,
            "total": result.page_count,
            "first": (page - 1) * query.page_size + 1 if result.count else 0,
            "last": min(page * query.page_size, result.count),
            "prev_url": _url({**params, "page": page - 1}) if page > 1 else None,
            "next_url": _url({**params, "page": page + 1}) if page < result.page_count else None,
        }
        if result.not_accepting_hidden:
            context["include_not_accepting_url"] = _url({**params, "include_not_accepting": "1"})
        if result.fallback:
            context["fallback"] = {
                "nearby": [
                    {"name": name, "count": count, "url": _url({**params, "prefecture": [code]})}
                    for code, name, count in result.fallback.nearby
                ],
                "online_count": result.fallback.online_nationwide,
                "online_url": _url(
                    {**params, "prefecture": [], "region": None, "form": ["online"]}
                ),
            }
    return context


def detail_context(specialist: dict[str, Any]) -> dict[str, Any]:
    return {"s": row_context(specialist)}

"""Turn the search page's GET parameters into a SearchQuery, and results into
template context with labels in the active language (Japanese unless the request
asked for English). The parameter names are the API's, so a page URL and an API
URL carry the same filters."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, QueryDict
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.translation import gettext

from sekispe.core.api import InvalidQuery
from sekispe.lib.text import INVISIBLE, UnsafeText, reject_control, visible
from sekispe.listings.models import is_stale
from sekispe.reference import data
from sekispe.reference.labels import CIRCLED, Labels, labels
from sekispe.search.ranking import read_order_token
from sekispe.search.services import DEFAULT_PAGE_SIZE, SearchQuery, SearchResult

TRUE_VALUES = {"1", "true", "on", "yes"}
FALSE_VALUES = {"0", "false", "off", "no"}


def _theme_label(code: int, names: dict[int, str], lab: Labels) -> str:
    return f"{CIRCLED[code - 1]}{lab.circled_gap}{names[code]}"


# A request names two or three of the fifteen parameters: the membership tests
# skip the others without copying their (empty) value lists.
def _list(params: QueryDict, name: str) -> list[str]:
    if name not in params:
        return []
    return [v.strip() for v in params.getlist(name) if v.strip()]


def _single(params: QueryDict, name: str) -> str | None:
    if name not in params:
        return None
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


def _reject_control_characters(params: QueryDict) -> None:
    """No parameter may carry a control character (issue 13, finding 9): PostgreSQL
    refuses NUL in a query, and none belongs in a search. Invisible formatting
    characters are harmless in a search term and only dropped from `q`."""
    for name, values in params.lists():
        for value in values:
            try:
                reject_control(value, multiline=False)
            except UnsafeText as exc:
                raise InvalidQuery(
                    visible(name),
                    f"{visible(name)}: 制御文字（{exc.code_point}）を含めることはできません。",
                ) from None


def query_from_params(params: QueryDict, *, api: bool = False) -> SearchQuery:
    """Parse search parameters (the page's and the API's are the same).

    The page always shows 20 rows; the API takes `page_size`. `order` is the
    token of an earlier page (SearchResult.order_token): it keeps the order of
    that search. A token that does not verify is ignored, never an error, as
    old links are normal; that search then starts a fresh order.
    """
    _reject_control_characters(params)
    order = read_order_token(params.get("order", "").strip())
    themes: list[int] = []
    for value in _list(params, "theme"):
        # isdecimal(), not isdigit(): int() refuses digits such as "²".
        if not value.isdecimal():
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
        q=INVISIBLE.sub("", params.get("q", "")).strip(),
        include_not_accepting=bool(_bool(params, "include_not_accepting")),
        page=_int(params, "page", 1),
        page_size=_int(params, "page_size", DEFAULT_PAGE_SIZE) if api else DEFAULT_PAGE_SIZE,
        order_bucket=order[0] if order else None,
        viewer_seed=order[1] if order else 0,
    )


_index_paths: dict[str, str] = {}


@receiver(setting_changed)
def _forget_paths(**_kwargs: Any) -> None:
    _index_paths.clear()


def _index_path() -> str:
    """reverse("search:index") once per script prefix (and urlconf): a page
    builds up to four links, at about 10 µs a reverse()."""
    prefix = get_script_prefix()
    path = _index_paths.get(prefix)
    if path is None:
        path = _index_paths[prefix] = reverse("search:index")
    return path


def _url(params: dict[str, Any]) -> str:
    pairs: list[tuple[str, Any]] = []
    for key, value in params.items():
        if isinstance(value, list | tuple):
            pairs.extend((key, v) for v in value)
        elif value not in (None, "", False):
            pairs.append((key, value))
    qs = urlencode(pairs)
    return _index_path() + (f"?{qs}" if qs else "")


def _params(request: HttpRequest) -> dict[str, Any]:
    """The filters of this request: without the page, nor the order token, which
    only the pagination links carry (any other link starts a new search)."""
    return {key: request.GET.getlist(key) for key in request.GET if key not in ("page", "order")}


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
    lab = labels()
    chosen = set(codes)
    if len(chosen) == len(data.PREFECTURES):
        return [gettext("全国")]
    result: list[str] = []
    for block in data.BLOCKS:
        members = [p for p in data.PREFECTURES if p.block == block.code]
        if len(members) > 1 and all(p.code in chosen for p in members):
            # Translators: a whole region, e.g. 「近畿全域」 / "All of Kinki".
            result.append(gettext("%(block)s全域") % {"block": lab.block[block.code]})
        else:
            result.extend(lab.pref_short[p.code] for p in members if p.code in chosen)
    return result


def row_context(row: dict[str, Any]) -> dict[str, Any]:
    """Labels for one specialist, shared by the result cards and the detail page."""
    lab = labels()
    return {
        **row,
        "theme_labels": [_theme_label(t, lab.theme, lab) for t in row["themes"]],
        "region_labels": region_labels(row["prefectures"]),
        "syllabus_labels": [(c, lab.syllabus[c]) for c in row["syllabus_items"]],
        "industry_labels": [lab.industry[c] for c in row["industries"]],
        "prefecture_labels": [lab.pref_short[c] for c in row["prefectures"]],
        "period_labels": [lab.period[c] for c in row["periods"]],
        "fee_labels": [(lab.form[f], fee) for f, fee in row["fees"].items()],
        "qualification_labels": [lab.qualification[c] for c in row["qualifications"]]
        + ([row["other_qualifications"]] if row["other_qualifications"] else []),
        "affiliation_label": (
            row["company_name"]
            if row["affiliation"] == "company" and row["company_name"]
            else lab.affiliation[row["affiliation"]]
        ),
        "detail_url": reverse("search:detail", args=[row["registration_number"]]),
        "contact_url": reverse("search:contact", args=[row["registration_number"]]),
        # Not from the row: previews build their dict from the database.
        "stale": is_stale(row["updated_at"], timezone.localdate()),
    }


def page_context(
    request: HttpRequest,
    query: SearchQuery,
    result: SearchResult | None,
    error: InvalidQuery | None,
    *,
    with_rows: bool = True,
) -> dict[str, Any]:
    """`with_rows=False`: leave out `rows` (the page renders its cards through
    search.rendering, cached)."""
    lab = labels()
    facets = result.facets if result else {}
    params = _params(request)
    blocks = []
    for block in data.BLOCKS:
        prefs = [
            _option(p.code, lab.pref[p.code], query.prefectures, facets.get("prefecture", {}))
            for p in data.PREFECTURES
            if p.block == block.code
        ]
        blocks.append({"code": block.code, "name": lab.block[block.code], "prefectures": prefs})
    context: dict[str, Any] = {
        "query": query,
        "result": result,
        "error": error,
        "blocks": blocks,
        "regions": [
            _option(code, name, (query.region,), facets.get("region", {}))
            for code, name in lab.block.items()
        ],
        "themes": [
            _option(code, _theme_label(code, lab.theme, lab), query.themes, facets.get("theme", {}))
            for code in lab.theme
        ],
        "industries": [
            _option(code, name, query.industries, facets.get("industry", {}))
            for code, name in lab.industry.items()
        ],
        "forms": [
            _option(code, name, query.forms, facets.get("form", {}))
            for code, name in lab.form.items()
        ],
        "periods": [
            _option(code, name, query.periods, facets.get("period", {}))
            for code, name in lab.period.items()
        ],
        "affiliations": [
            _option(code, name, (query.affiliation,), facets.get("affiliation", {}))
            for code, name in lab.affiliation.items()
        ],
        "qualifications": [
            _option(code, name, query.qualifications, facets.get("qualification", {}))
            for code, name in lab.qualification.items()
        ],
        "first_free_count": facets.get("first_free", {}).get(True),
        "rows": [row_context(r) for r in result.results] if result and with_rows else [],
        "selected_prefecture_names": [lab.pref.get(c, c) for c in query.prefectures],
        "selected_region_name": lab.block.get(query.region or ""),
        # Set below when they apply; present either way, as the template
        # engine pays for a missing name with an exception.
        "include_not_accepting_url": None,
        "fallback": None,
    }
    if result:
        page = query.page
        context["pages"] = {
            "current": page,
            "total": result.page_count,
            "first": (page - 1) * query.page_size + 1 if result.count else 0,
            "last": min(page * query.page_size, result.count),
            "prev_url": (
                _url({**params, "page": page - 1, "order": result.order_token})
                if page > 1
                else None
            ),
            "next_url": (
                _url({**params, "page": page + 1, "order": result.order_token})
                if page < result.page_count
                else None
            ),
        }
        if result.not_accepting_hidden:
            context["include_not_accepting_url"] = _url({**params, "include_not_accepting": "1"})
        if result.fallback:
            context["fallback"] = {
                "nearby": [
                    {
                        "name": lab.pref.get(code, name),
                        "count": count,
                        # That prefecture alone (no region), so the link
                        # gives the count shown.
                        "url": _url({**params, "prefecture": [code], "region": None}),
                    }
                    for code, name, count in result.fallback.nearby
                ],
                "online_count": result.fallback.online_nationwide,
                "online_url": _url(
                    {**params, "prefecture": [], "region": None, "form": ["online"]}
                ),
            }
    return context


def detail_context(specialist: dict[str, Any], *, contact_shown: bool = False) -> dict[str, Any]:
    """`contact_shown`: print the e-mail address and phone number (after a
    logged reveal, or in a preview); otherwise the page offers the reveal button."""
    return {"s": row_context(specialist), "contact_shown": contact_shown}

"""Active List search: filters, ordering, facets and the low-match fallback.

Semantics (documented in docs/search.md):
- OR within one facet, AND across facets.
- `prefectures` and `region` form one location facet: a listing matches when
  it serves any wanted prefecture (`wanted_prefectures`: the chosen region
  narrowed to the prefectures chosen inside it, or whole if none is; plus the
  chosen prefectures outside it).
- `max_fee` applies to the chosen forms, or to any offered form when no form
  is chosen: some chosen (or offered) form must cost at most `max_fee` yen.
- Not-accepting listings are left out unless `include_not_accepting`.

Ordering (ranking.py, docs/search.md "Ordering"): accepting first, then by
relevance tier (documented points from the soft criteria), then, within a
tier, whoever has had less exposure than their fair share (exposure.py). The
order is fixed per (filters, date, viewer seed, 30-minute ledger snapshot),
so the pages of one search are disjoint and complete; `SearchResult.order_token`
carries the viewer seed and the bucket to the next page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from sekispe.core.api import InvalidQuery
from sekispe.lib.text import search_terms
from sekispe.listings.models import Listing, is_stale
from sekispe.reference import services as ref
from sekispe.registry import rules
from sekispe.registry.services import renewal_status_of
from sekispe.search import exposure, ranking
from sekispe.search import index as ix

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# Below this many matches in the chosen prefectures, offer nearby alternatives.
FEW_MATCHES = 5


@dataclass(frozen=True)
class SearchQuery:
    prefectures: tuple[str, ...] = ()
    region: str | None = None
    themes: tuple[int, ...] = ()
    industries: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()
    max_fee: int | None = None
    first_free: bool | None = None
    periods: tuple[str, ...] = ()
    affiliation: str | None = None
    qualifications: tuple[str, ...] = ()
    q: str = ""
    include_not_accepting: bool = False
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    # From the order token (not filters): who is looking (0 = the shared order
    # of API clients without a token) and which ledger snapshot orders the pages.
    viewer_seed: int = 0
    order_bucket: int | None = None

    def location_codes(self) -> tuple[str, ...]:
        """The wanted prefectures (docs/search.md, "Filters"): the chosen region
        is represented by its chosen prefectures if any, else all of it; plus
        the chosen prefectures outside it."""
        return wanted_prefectures(self.prefectures, self.region)

    def canonical(self) -> str:
        """A stable text of the filters (not the page) that seeds the tie-break order."""
        parts = [
            ",".join(sorted(self.location_codes())),
            ",".join(str(t) for t in sorted(self.themes)),
            ",".join(sorted(self.industries)),
            ",".join(sorted(self.forms)),
            str(self.max_fee),
            str(self.first_free),
            ",".join(sorted(self.periods)),
            str(self.affiliation),
            ",".join(sorted(self.qualifications)),
            " ".join(search_terms(self.q)),
            str(self.include_not_accepting),
        ]
        return "|".join(parts)


def wanted_prefectures(prefectures: tuple[str, ...], region: str | None) -> tuple[str, ...]:
    """The one location rule: a prefecture chosen inside the chosen region narrows
    the region to it; a region with none of its prefectures chosen counts whole;
    prefectures outside the region add to it. Unknown codes pass through (the
    query is validated separately)."""
    codes = list(dict.fromkeys(prefectures))
    if region:
        block = ref.block_prefectures(region)
        if not any(c in block for c in codes):
            codes.extend(block)
    return tuple(codes)


def _check_codes(field: str, values: tuple[Any, ...], allowed: tuple[Any, ...]) -> None:
    for value in values:
        if value not in allowed:
            raise InvalidQuery(field, f"{field}: 「{value}」は有効なコードではありません。")


def validate_query(query: SearchQuery) -> SearchQuery:
    """Check every code against the reference lists; raise InvalidQuery naming the field."""
    _check_codes("prefecture", query.prefectures, ref.PREFECTURE_CODES)
    if query.region is not None:
        _check_codes("region", (query.region,), ref.BLOCK_CODES)
    _check_codes("theme", query.themes, ref.THEME_CODES)
    _check_codes("industry", query.industries, ref.INDUSTRY_CODES)
    _check_codes("form", query.forms, ref.FORM_CODES)
    _check_codes("period", query.periods, ref.PERIOD_CODES)
    _check_codes("qualification", query.qualifications, ref.QUALIFICATION_CODES)
    if query.affiliation is not None:
        _check_codes("affiliation", (query.affiliation,), ref.AFFILIATION_CODES)
    if query.max_fee is not None and query.max_fee < 0:
        raise InvalidQuery("max_fee", "max_fee: 0以上の金額（円）を指定してください。")
    if query.page < 1:
        raise InvalidQuery("page", "page: 1以上を指定してください。")
    if not 1 <= query.page_size <= MAX_PAGE_SIZE:
        raise InvalidQuery("page_size", f"page_size: 1から{MAX_PAGE_SIZE}の間で指定してください。")
    if len(query.q) > 200:
        raise InvalidQuery("q", "q: 検索語は200文字以内で入力してください。")
    return query


@dataclass
class Fallback:
    """Alternatives when the chosen prefectures have few matches."""

    nearby: list[tuple[str, str, int]] = field(default_factory=list)  # (code, name, count)
    online_nationwide: int = 0


@dataclass
class SearchResult:
    query: SearchQuery
    count: int
    results: list[dict[str, Any]]
    results_json: list[bytes] = field(default_factory=list)  # UTF-8
    facets: dict[str, dict[Any, int]] = field(default_factory=dict)
    not_accepting_hidden: int = 0
    fallback: Fallback | None = None
    # Pass back as `order` to get the next page in the same order.
    order_token: str = ""
    # (position, *index.row_key(position)) per result, taken under the index
    # lock, so a delta landing later never files an old card under a new
    # version: the page keys its cached cards by them (search/rendering.py).
    row_keys: list[tuple[int, int, int]] = field(default_factory=list)
    # The ranked page this result came from (an opaque identity): kept exactly
    # as long as the order and rows stand, so the page's HTML can be kept
    # with it (rendering.page_html_cache).
    ranked: object | None = field(default=None, compare=False, repr=False)

    @property
    def page_count(self) -> int:
        return max(1, -(-self.count // self.query.page_size))


# --- filtering --------------------------------------------------------------


def _any_bits(column: np.ndarray, codes: tuple[Any, ...], bits: dict[Any, int]) -> np.ndarray:
    return (column & np.uint64(ix.mask_of(codes, bits))) != 0


def _cached_any_bits(
    index: ix.SpecialistIndex, name: str, codes: tuple[Any, ...], bits: dict[Any, int]
) -> np.ndarray:
    """Rows having any of `codes` in facet `name`, memoised on the index (deltas
    patch it): the same few locations and themes are asked for all day long."""
    key = (name, ix.mask_of(codes, bits))
    mask = index.facet_cache.get(key)
    if mask is None:
        mask = _any_bits(getattr(index, name), codes, bits)
        index.facet_cache[key] = mask
    return mask


def _facet_masks(
    index: ix.SpecialistIndex | None,
    query: SearchQuery,
    *,
    text: bool = True,
    rows: _RowFacts | None = None,
) -> dict[str, np.ndarray]:
    """One boolean vector per active facet; the result is their AND.

    `rows`: over those few rows only, computed and not cached (a delta asking
    which kept pages its rows move, where whole vectors would cost scans);
    `index` is then not read."""
    if rows is None:
        column = partial(getattr, index)
        any_bits = partial(_cached_any_bits, index)
    else:
        column = partial(getattr, rows)

        def any_bits(name: str, codes: tuple[Any, ...], bits: dict[Any, int]) -> np.ndarray:
            return _any_bits(column(name), codes, bits)

    masks: dict[str, np.ndarray] = {}
    locations = query.location_codes()
    if locations:
        masks["prefecture"] = any_bits("prefectures", locations, ix.PREF_BIT)
    if query.themes:
        masks["theme"] = any_bits("themes", query.themes, ix.THEME_BIT)
    if query.industries:
        masks["industry"] = any_bits("industries", query.industries, ix.INDUSTRY_BIT)
    if query.periods:
        masks["period"] = any_bits("periods", query.periods, ix.PERIOD_BIT)
    if query.qualifications:
        masks["qualification"] = any_bits("qualifications", query.qualifications, ix.QUAL_BIT)
    if query.forms or query.max_fee is not None:
        if rows is None:
            masks["form"] = _form_mask(index, query.forms, query.max_fee)
        else:
            masks["form"] = _form_test(query.forms, query.max_fee)[1](rows)
    if query.first_free is not None:
        masks["first_free"] = column("first_free") == query.first_free
    if query.affiliation is not None:
        masks["affiliation"] = column("affiliation") == ix.AFFILIATION_NUM[query.affiliation]
    terms = search_terms(query.q)
    if terms and text:
        if rows is None:
            masks["q"] = _text_mask(index, terms)
        else:
            masks["q"] = np.array(
                [all(term in text for term in terms) for text in rows.texts], dtype=bool
            )
    return masks


class _RowFacts:
    """The columns a search filters on, for a few rows of an index (read once
    per delta for every kept page it checks)."""

    COLUMNS = (
        "live",
        "accepting",
        "prefectures",
        "themes",
        "industries",
        "periods",
        "qualifications",
        "fees",
        "first_free",
        "affiliation",
    )

    def __init__(self, index: ix.SpecialistIndex, rows: np.ndarray) -> None:
        for name in self.COLUMNS:
            setattr(self, name, getattr(index, name)[rows])
        self.texts = [index.search_texts[pos] for pos in rows.tolist()]


def _form_mask(
    index: ix.SpecialistIndex, forms: tuple[str, ...], max_fee: int | None
) -> np.ndarray:
    key, compute = _form_test(forms, max_fee)
    return ranking.cached_vector(index, key, compute)


def _form_test(
    forms: tuple[str, ...], max_fee: int | None
) -> tuple[tuple[object, ...], Callable[[Any], np.ndarray]]:
    """Rows offering any of `forms` (any form when none) at most `max_fee`:
    the cache key and the test over rows having `fees`. The vector is
    memoised and patched by deltas like the points (a fee cap over 1,000,000
    rows costs milliseconds, and the same few caps recur)."""
    columns = tuple(sorted({ix.FORM_COL[f] for f in forms})) or tuple(ix.FORM_COL.values())
    cap = ix.NOT_OFFERED - 1 if max_fee is None else max_fee

    def compute(rows: Any) -> np.ndarray:
        # Column by column: a strided view each, no copy of the fee matrix.
        mask = rows.fees[:, columns[0]] <= cap
        for column in columns[1:]:
            mask |= rows.fees[:, column] <= cap
        return mask

    return ("form", columns, cap), compute


def _text_mask(index: ix.SpecialistIndex, terms: list[str]) -> np.ndarray:
    mask = index.term_mask(terms[0])
    for term in terms[1:]:
        mask = mask & index.term_mask(term)
    return mask


# A never-seen term is matched over the whole index (and cached) once more
# than 1/TEXT_CACHE_SHARE of the rows are still in play, else over those only.
TEXT_CACHE_SHARE = 16


def _narrow_by_text(index: ix.SpecialistIndex, terms: list[str], rows: np.ndarray) -> np.ndarray:
    """`rows` (a boolean vector) keeping only those whose text has every term.

    Cached terms cost an AND. A term never seen before is matched over the
    whole index (and cached) when over 1/16 of the rows are in play, else only over
    the remaining rows. Either way only rows whose bigram signature admits
    the term are scanned.
    """
    remaining = rows
    pending: list[str] = []
    for term in terms:
        cached = index.term_cache.get(term)
        if cached is None:
            pending.append(term)
        else:
            remaining = remaining & cached
    for term in pending:
        # Beyond a few rows, match the whole index once and cache it: the same
        # terms come back with other filters (a location, a theme) all day.
        if np.count_nonzero(remaining) * TEXT_CACHE_SHARE > index.size:
            remaining = remaining & index.term_mask(term)
        else:
            remaining = index.verify_term(term, remaining)
    return remaining


def _combine(index: ix.SpecialistIndex, masks: dict[str, np.ndarray], skip: str = "") -> np.ndarray:
    result = index.live.copy()
    for name, mask in masks.items():
        if name != skip:
            result &= mask
    return result


# --- serialisation ----------------------------------------------------------


def _remember(cache: Any, pos: int, value: Any) -> Any:
    cache[pos] = value
    if len(cache) > ix.ROW_CACHE_SIZE:
        cache.popitem(last=False)
    return value


def serialize_row(index: ix.SpecialistIndex, pos: int) -> dict[str, Any]:
    """One result, built once per row version and reused (callers must not mutate it)."""
    cached = index.serialized.get(pos)
    if cached is None:
        cached = _remember(index.serialized, pos, _serialize_row(index, pos))
    return cached


def row_json(index: ix.SpecialistIndex, pos: int) -> bytes:
    """The row as JSON in UTF-8, encoded once per row version: encoding 20
    nested rows per request would otherwise cost as much as the search, and
    turning their text into bytes alone a tenth of it."""
    cached = index.serialized_json.get(pos)
    if cached is None:
        cached = _remember(
            index.serialized_json,
            pos,
            json.dumps(
                serialize_row(index, pos), cls=DjangoJSONEncoder, ensure_ascii=False
            ).encode(),
        )
    return cached


def _serialize_row(index: ix.SpecialistIndex, pos: int) -> dict[str, Any]:
    base = index.rows[pos]
    fees = {
        form: int(index.fees[pos, col])
        for form, col in ix.FORM_COL.items()
        if index.fees[pos, col] != ix.NOT_OFFERED
    }
    return {
        "registration_number": base["registration_number"],
        "name": base["name"],
        "name_kana": base["name_kana"],
        "prefectures": ix.codes_of(int(index.prefectures[pos]), ref.PREFECTURE_CODES),
        "themes": ix.codes_of(int(index.themes[pos]), ref.THEME_CODES),
        "syllabus_items": ix.codes_of(int(index.syllabus[pos]), ref.SYLLABUS_CODES),
        "industries": ix.codes_of(int(index.industries[pos]), ref.INDUSTRY_CODES),
        "periods": ix.codes_of(int(index.periods[pos]), ref.PERIOD_CODES),
        "first_free": bool(index.first_free[pos]),
        "fees": fees,
        "qualifications": ix.codes_of(int(index.qualifications[pos]), ref.QUALIFICATION_CODES),
        "other_qualifications": base["other_qualifications"],
        "affiliation": ref.AFFILIATION_CODES[int(index.affiliation[pos])],
        "company_name": base["company_name"],
        "accepting": bool(index.accepting[pos]),
        "updated_at": base["updated_at"],
        # The index is rebuilt each day, so its date is today's.
        "stale": is_stale(base["updated_at"], index.today),
        "verified": dict(base["verified"]),
    }


# --- facets and fallback ------------------------------------------------------


def _bit_counts(column: np.ndarray, rows: np.ndarray, codes: tuple[Any, ...]) -> dict[Any, int]:
    values = column[rows]
    return {code: int(np.count_nonzero(values & np.uint64(1 << i))) for i, code in enumerate(codes)}


def _any_count(column: np.ndarray, codes: tuple[Any, ...], bits: dict[Any, int]) -> int:
    """Rows of `column` holding any of `codes` (none when `codes` is empty)."""
    return int(np.count_nonzero(_any_bits(column, codes, bits))) if codes else 0


def _added_counts(
    column: np.ndarray, chosen: tuple[Any, ...], codes: tuple[Any, ...], bits: dict[Any, int]
) -> dict[Any, int]:
    """For each code, the rows holding any of `chosen` plus that code: the
    count after ticking it (for a ticked code, the current count)."""
    held = _any_count(column, chosen, bits)
    rest = column[~_any_bits(column, chosen, bits)] if chosen else column
    added = _bit_counts(rest, np.ones(rest.shape[0], dtype=bool), codes)
    return {code: held if code in chosen else held + added[code] for code in codes}


def _facet_counts(
    index: ix.SpecialistIndex, query: SearchQuery, masks: dict[str, np.ndarray], base: np.ndarray
) -> dict[str, dict[Any, int]]:
    """Per facet value, how many results choosing it gives: for a
    multiple-choice facet, with that value added to the facet's current choices
    (so a ticked value shows the current count); for the single-choice region,
    affiliation and first consultation free, with that value instead of the
    current one. The other facets apply."""

    def rows_without(name: str) -> np.ndarray:
        return np.flatnonzero(base & _combine(index, masks, skip=name))

    def added(name: str, column: np.ndarray, chosen: tuple[Any, ...], codes, bits) -> dict:
        return _added_counts(column[rows_without(name)], chosen, codes, bits)

    facets: dict[str, dict[Any, int]] = {
        "theme": added("theme", index.themes, query.themes, ref.THEME_CODES, ix.THEME_BIT),
        "industry": added(
            "industry", index.industries, query.industries, ref.INDUSTRY_CODES, ix.INDUSTRY_BIT
        ),
        "period": added("period", index.periods, query.periods, ref.PERIOD_CODES, ix.PERIOD_BIT),
        "qualification": added(
            "qualification",
            index.qualifications,
            query.qualifications,
            ref.QUALIFICATION_CODES,
            ix.QUAL_BIT,
        ),
    }
    # Location: each count applies the one rule (wanted_prefectures) to the
    # choices after the click. A listing serving several wanted prefectures
    # counts once.
    places = index.prefectures[rows_without("prefecture")]
    chosen = tuple(query.prefectures)
    block = set(ref.block_prefectures(query.region)) if query.region else set()
    wanted = wanted_prefectures(chosen, query.region)
    prefecture = _added_counts(places, wanted, ref.PREFECTURE_CODES, ix.PREF_BIT)
    if block and not block & set(chosen):
        # Ticking the first prefecture inside the region narrows the region to it.
        for code in block:
            after = wanted_prefectures((*chosen, code), query.region)
            prefecture[code] = _any_count(places, after, ix.PREF_BIT)
    facets["prefecture"] = prefecture
    facets["region"] = {
        region: _any_count(places, wanted_prefectures(chosen, region), ix.PREF_BIT)
        for region in ref.BLOCK_CODES
    }
    # Over whole-index vectors (the fee masks are cached): gathering the fee
    # rows of half the register costs tens of milliseconds at 1,000,000.
    form_rows = base & _combine(index, masks, skip="form")
    # With no form chosen, ticking one makes it the only form the fee applies to.
    if query.forms:
        form_rows = form_rows & ~_form_mask(index, query.forms, query.max_fee)
        chosen = int(np.count_nonzero(base & _combine(index, masks)))
    else:
        chosen = 0
    facets["form"] = {
        form: chosen + int(np.count_nonzero(form_rows & _form_mask(index, (form,), query.max_fee)))
        for form in ix.FORM_COL
    }
    free_rows = rows_without("first_free")
    facets["first_free"] = {True: int(np.count_nonzero(index.first_free[free_rows]))}
    affil_rows = rows_without("affiliation")
    facets["affiliation"] = {
        code: int(np.count_nonzero(index.affiliation[affil_rows] == num))
        for code, num in ix.AFFILIATION_NUM.items()
    }
    return facets


def _facets_key(query: SearchQuery) -> SearchQuery:
    """What facet counts depend on: the filters, not the page or the viewer."""
    return dataclasses.replace(query, page=1, page_size=1, viewer_seed=0, order_bucket=None)


class _FacetCounts:
    """Facet counts per query for one index, so the next pages of a search
    reuse them (at 1,000,000 listings they cost tens of milliseconds a page).

    Held in the index's points_cache, whose deltas write into every entry
    (index._patch_caches writes both vectors of (recompute, points, inverted)):
    a write here empties it, so counts are never older than the index. Evicted
    from that cache, it is simply gone."""

    KEY = ("facet counts",)
    LIMIT = 256

    def __init__(self) -> None:
        self.entries: OrderedDict[SearchQuery, tuple[dict[str, dict[Any, int]], int]] = (
            OrderedDict()
        )

    @classmethod
    def of(cls, index: ix.SpecialistIndex) -> _FacetCounts:
        found = index.points_cache.get(cls.KEY)
        if found is None:
            counts = cls()
            found = (lambda rows: (None, None), counts, counts)
            index.points_cache[cls.KEY] = found
        return found[2]

    def __setitem__(self, rows: object, values: object) -> None:
        self.entries.clear()  # a delta changed `rows`

    def get(self, key: SearchQuery) -> tuple[dict[str, dict[Any, int]], int] | None:
        found = self.entries.get(key)
        if found is not None:
            self.entries.move_to_end(key)
        return found

    def put(self, key: SearchQuery, value: tuple[dict[str, dict[Any, int]], int]) -> None:
        self.entries[key] = value
        while len(self.entries) > self.LIMIT:
            self.entries.popitem(last=False)


def _fallback(
    index: ix.SpecialistIndex, query: SearchQuery, masks: dict[str, np.ndarray], base: np.ndarray
) -> Fallback:
    others = base & _combine(index, masks, skip="prefecture")
    chosen = set(query.location_codes())
    blocks = {ref.prefecture_block(code) for code in chosen}
    nearby_codes = [
        code for b in sorted(blocks) for code in ref.block_prefectures(b) if code not in chosen
    ]
    rows = np.flatnonzero(others)
    counts = _bit_counts(index.prefectures, rows, ref.PREFECTURE_CODES)
    names = {p.code: p.name for p in ref.data.PREFECTURES}
    nearby = [(code, names[code], counts[code]) for code in nearby_codes if counts[code] > 0]
    online_col = ix.FORM_COL["online"]
    cap = ix.NOT_OFFERED - 1 if query.max_fee is None else query.max_fee
    online = others & (index.fees[:, online_col] <= cap)
    return Fallback(nearby=nearby, online_nationwide=int(np.count_nonzero(online)))


# --- entry points -------------------------------------------------------------


def matches(index: ix.SpecialistIndex, query: SearchQuery) -> np.ndarray:
    """Rows passing every hard filter (accepting only, unless asked otherwise).

    The filter step of `search` without free text, for `sekispe bench matching`.
    """
    base = index.live if query.include_not_accepting else index.accepting
    return _matched(index, base, _facet_masks(index, query, text=False))


def _matched(
    index: ix.SpecialistIndex, base: np.ndarray, masks: dict[str, np.ndarray]
) -> np.ndarray:
    """`base & _combine(index, masks)`, making one vector instead of two."""
    matched = base & index.live
    for mask in masks.values():
        matched &= mask
    return matched


# The seed is a pure function of the query and the day, and its canonical text
# and hash cost about 10 µs of a search; the common searches recur all day.
_SEED_MEMO_SIZE = 4096
_order_seeds: dict[tuple[SearchQuery, dt.date], int] = {}


def order_seed(query: SearchQuery, today: dt.date) -> int:
    """The tie-break seed of `query` for its viewer (see ranking.order_seed)."""
    key = (query, today)
    seed = _order_seeds.get(key)
    if seed is None:
        seed = ranking.order_seed(query, today, query.viewer_seed)
        if len(_order_seeds) >= _SEED_MEMO_SIZE:
            _order_seeds.clear()
        _order_seeds[key] = seed
    return seed


def rank_matches(
    index: ix.SpecialistIndex, query: SearchQuery, matched: np.ndarray, snapshot: exposure.Snapshot
) -> ranking.Ranking:
    """The production ordering of the matched rows (also run by `sekispe bench matching`)."""
    return ranking.rank(
        index,
        query,
        np.flatnonzero(matched),
        standing=snapshot.bits_for(index),
        seed=order_seed(query, index.today),
    )


@dataclass(frozen=True)
class _RankedPage:
    """One page of a query's order under one exposure snapshot, and what
    serving it adds to the ledger.

    Kept in the index's page_cache: the order is a pure function of the rows
    the search matches, the query (the viewer's seed included) and the
    snapshot, which is fixed for its bucket (exposure.BUCKET_SECONDS). People
    page back and forth through one search and the popular ones recur, so a
    repeat skips the filters, the ranking and the tiers' membership, most of
    the search (issue 18).

    A delta asks every kept page what its rows were before and are after
    (index.pages_before, index.forget_pages; `rows_state`, `after_change`).
    A row the search matches in neither state, or in both with the same sort
    key, moves nothing. A row that comes, goes or moves only behind the
    page's last row, or moves only among the rows in front of its first,
    leaves the page as it is: its count changes, and the members of a tier
    shown on the page are patched. Anything else drops the page, and the
    next search ranks again."""

    snapshot: exposure.Snapshot
    # The search without page, viewer or bucket: what its matches depend on.
    filters: SearchQuery
    seed: int  # the order's tie-break seed (the viewer's)
    count: int
    page_size: int
    positions: list[int]
    # (sort key, listing id) of the page's last row; None for an empty page.
    last: tuple[int, int] | None
    # The same of its first row: a row moving among the rows in front of it
    # leaves the page as it is.
    first: tuple[int, int] | None
    # The group of each row on the page (ranking.group_of).
    page_groups: np.ndarray
    # What serving the page adds to the ledger, when it was asked for; None
    # too for an empty page, which adds nothing.
    served: ranking.Served | None
    with_served: bool

    @property
    def nbytes(self) -> int:
        """For the cache's byte budget: the served tiers' members dominate."""
        held = 64 * (len(self.positions) + 8)
        if self.served is not None:
            held += self.served.shown.nbytes + self.served.weights.nbytes
            held += sum(members.nbytes for members, _share in self.served.shares)
        return held

    @staticmethod
    def facts(index: ix.SpecialistIndex, rows: np.ndarray) -> _RowFacts:
        """What `matches` reads of `rows` (a delta reads them once a phase)."""
        return _RowFacts(index, rows)

    def matches(self, facts: _RowFacts) -> np.ndarray:
        """Per row `facts` describes, whether the search matches it as the
        index holds it now: `_search`'s test, on those rows only."""
        query = self.filters
        hit = facts.live if query.include_not_accepting else facts.live & facts.accepting
        if not hit.any():
            return hit
        for mask in _facet_masks(None, query, rows=facts).values():
            hit = hit & mask
        return hit

    def matches_any(self, facts: _RowFacts) -> bool:
        return bool(self.matches(facts).any())

    def rows_state(
        self,
        index: ix.SpecialistIndex,
        rows: np.ndarray,
        facts: _RowFacts,
        memo: dict[Any, Any],
    ) -> dict[int, int | None]:
        """Per row (index position): its sort key in this page's order, or
        None when the search does not match it. `memo` is shared by the pages
        a delta asks in one phase (one search, many pages and viewers)."""
        matched = memo.get(self.filters)
        if matched is None:
            matched = memo[self.filters] = self.matches(facts)
        if not matched.any():
            return {}
        memo_key = (self.filters, self.seed, self.snapshot.bucket)
        keys = memo.get(memo_key)
        if keys is None:
            keys = memo[memo_key] = ranking.sort_keys(
                index, self.filters, rows, standing=self.snapshot.bits_for(index), seed=self.seed
            ).tolist()
        return {pos: keys[i] for i, pos in enumerate(rows.tolist()) if matched[i]}

    def after_change(
        self,
        index: ix.SpecialistIndex,
        rows: np.ndarray,
        facts: _RowFacts,
        before: dict[int, int | None] | None,
        memo: dict[Any, Any],
    ) -> _RankedPage | None:
        """This page after a delta wrote `rows` (`before`: `rows_state`
        before it): itself, a recounted copy, or None when it must go."""
        if before is None:  # not asked before the change: nothing is known
            return None
        after = self.rows_state(index, rows, facts, memo)
        count = self.count
        served = self.served
        on_page = False
        for pos in rows.tolist():
            was, now = before.get(pos), after.get(pos)
            if was == now:  # matched in neither state, or in both at one place
                # A row shown here keeps its place but not its text: a new
                # object, so nothing kept for this one (the page's HTML) stays.
                on_page = on_page or pos in self.positions
                continue
            listing_id = int(index.listing_ids[pos])
            if (
                was is not None
                and now is not None
                and self.first is not None
                and (was, listing_id) < self.first
                and (now, listing_id) < self.first
            ):
                # Moved among the rows in front of the page: as many stay in
                # front, so the page keeps its rows (the deep pages of a
                # broad search met most changes this way).
                if served is not None and ranking.group_of(was) != ranking.group_of(now):
                    served = self._with_member(served, pos, was, now)
                continue
            if self.last is None or len(self.positions) < self.page_size:
                return None  # a last page: a row behind it would join it
            for key in (was, now):
                if key is not None and (key, listing_id) <= self.last:
                    return None  # at or before the page's last row: it moves
            count += (now is not None) - (was is not None)
            if served is not None:
                served = self._with_member(served, pos, was, now)
        if count == self.count and served is self.served and not on_page:
            return self
        return dataclasses.replace(self, count=count, served=served)

    def _with_member(
        self, served: ranking.Served, pos: int, was: int | None, now: int | None
    ) -> ranking.Served:
        """`served` with `pos` moved between the members of the page's tiers
        (from `was`'s group to `now`'s), and those tiers' shares recomputed as
        ranking.served computes them."""
        shown = np.unique(self.page_groups).tolist()  # the order of served.shares
        shares = list(served.shares)
        changed = False
        for key, change in ((was, -1), (now, +1)):
            if key is None or ranking.group_of(key) not in shown:
                continue
            group = ranking.group_of(key)
            at = shown.index(group)
            members = shares[at][0]
            if change < 0:
                members = members[members != pos]
            else:  # ascending, as ranking.served lists them
                members = np.insert(members, np.searchsorted(members, pos), pos)
            weight = float(served.weights[self.page_groups == group].sum())
            shares[at] = (members, weight / members.size)
            changed = True
        return dataclasses.replace(served, shares=shares) if changed else served

    @staticmethod
    def find(
        index: ix.SpecialistIndex, query: SearchQuery, snapshot: exposure.Snapshot, *, served: bool
    ) -> _RankedPage | None:
        page = index.page_cache.get((query, snapshot.bucket))
        # The same bucket's snapshot object, unless it was dropped and read
        # again (then the same rows, but a test may have reset the ledger).
        if page is None or page.snapshot is not snapshot or (served and not page.with_served):
            return None
        return page

    @staticmethod
    def rank(
        index: ix.SpecialistIndex,
        query: SearchQuery,
        matched: np.ndarray,
        snapshot: exposure.Snapshot,
        *,
        served: bool,
    ) -> _RankedPage:
        ranked = rank_matches(index, query, matched, snapshot)
        start = (query.page - 1) * query.page_size
        local = ranked.order(start, start + query.page_size)
        page_rows = ranked.rows[local]
        first = last = None
        if local.size:
            ends = ranked._keys_at(local[[0, -1]])
            first = (int(ends[0]), int(index.listing_ids[page_rows[0]]))
            last = (int(ends[1]), int(index.listing_ids[page_rows[-1]]))
        page = _RankedPage(
            snapshot=snapshot,
            filters=_facets_key(query),
            seed=order_seed(query, index.today),
            count=ranked.size,
            page_size=query.page_size,
            positions=page_rows.tolist(),
            last=last,
            first=first,
            page_groups=ranked.groups[local],
            served=ranking.served(ranked, local) if served and local.size else None,
            with_served=served,
        )
        index.page_cache[(query, snapshot.bucket)] = page
        return page


def search(
    query: SearchQuery,
    *,
    today: dt.date | None = None,
    with_facets: bool = False,
    record_exposure: bool = False,
    json_only: bool = False,
) -> SearchResult:
    """Run a validated query against the current index.

    `record_exposure`: the page is shown to someone (the web page, the API),
    so count its impressions in the exposure ledger.
    `json_only` (the API): the rows only as `results_json`, and no `fallback`;
    `results` and `row_keys` stay empty. The JSON is all the API sends, and
    building the rest cost a tenth of its request (issue 18).
    """
    validate_query(query)
    today = today or timezone.localdate()
    index = ix.get_index(today)
    with index.lock:  # the poller's deltas wait for this search, and it for them
        return _search(
            index,
            query,
            with_facets=with_facets,
            record_exposure=record_exposure,
            json_only=json_only,
        )


def _search(
    index: ix.SpecialistIndex,
    query: SearchQuery,
    *,
    with_facets: bool,
    record_exposure: bool,
    json_only: bool = False,
) -> SearchResult:
    terms = search_terms(query.q)
    facets_key = _facets_key(query) if with_facets else None
    known = _FacetCounts.of(index).get(facets_key) if facets_key is not None else None
    base = index.live if query.include_not_accepting else index.accepting
    snapshot = exposure.snapshot(query.order_bucket)
    page = _RankedPage.find(index, query, snapshot, served=record_exposure)
    masks: dict[str, np.ndarray] | None = None
    if page is None:
        # Facet counts and the fallback recombine masks without one facet, so
        # they need the text match over every row; a plain search only needs
        # it over the rows the other filters left.
        masks = _facet_masks(index, query, text=with_facets and known is None)
        matched = _matched(index, base, masks)
        if terms and "q" not in masks:
            matched = _narrow_by_text(index, terms, matched)
        page = _RankedPage.rank(index, query, matched, snapshot, served=record_exposure)
    if record_exposure and page.served is not None:
        exposure.record(index, page.served)
    positions = page.positions
    result = SearchResult(
        query=query,
        count=page.count,
        results=[] if json_only else [serialize_row(index, pos) for pos in positions],
        results_json=[row_json(index, pos) for pos in positions],
        order_token=ranking.order_token(snapshot.bucket, query.viewer_seed),
        row_keys=[] if json_only else [(pos, *index.row_key(pos)) for pos in positions],
        ranked=page,
    )
    if facets_key is not None:
        if known is None:
            if masks is None:
                masks = _facet_masks(index, query, text=True)
            hidden = 0
            if not query.include_not_accepting:
                everyone = _combine(index, masks)
                hidden = int(np.count_nonzero(everyone & ~index.accepting))
            known = (_facet_counts(index, query, masks, base), hidden)
            _FacetCounts.of(index).put(facets_key, known)
        result.facets, result.not_accepting_hidden = known
    if not json_only and query.location_codes() and page.count < FEW_MATCHES:
        if masks is None:
            masks = _facet_masks(index, query, text=False)
        if terms:
            masks["q"] = _text_mask(index, terms)
        result.fallback = _fallback(index, query, masks, base)
    return result


# Shown only through `search.contact.reveal_contact`: never on the public
# detail page or in the API, so the list cannot be harvested for spam.
CONTACT_FIELDS = ("email", "phone")
# Public on the detail page: the web site is the specialist's own marketing,
# meant to be found, unlike a personal address or number.
PUBLIC_DETAIL_FIELDS = ("web", "profile", "track_record")


def get_specialist(
    registration_number: str, *, today: dt.date | None = None, with_contact: bool = False
) -> dict[str, Any]:
    """One visible specialist: a search result plus web site, profile and track record,
    and the e-mail address and phone number only `with_contact`.

    Raises LookupError when there is no visible listing for that number, so an
    expired or deregistered registrant is indistinguishable from a stranger.

    Visibility is checked against the database on every call, whatever the
    index says: a listing suspended, withdrawn, expired or hidden a moment ago
    is never shown, even by a process whose index is stale or cannot rebuild.
    """
    today = today or timezone.localdate()
    index = ix.get_index(today)
    with index.lock:
        pos = index.position_by_number.get(registration_number)
        if pos is None or not index.live[pos]:
            raise LookupError(registration_number)
        detail = dict(serialize_row(index, pos))
        listing_id = int(index.listing_ids[pos])
    if detail["registration_number"] != registration_number:
        raise LookupError(registration_number)
    fields = PUBLIC_DETAIL_FIELDS + (CONTACT_FIELDS if with_contact else ())
    extra = (
        Listing.objects.visible(today)
        .filter(pk=listing_id)
        .values(*fields, *_EXTENSION_FIELDS)
        .first()
    )
    if extra is None:  # not visible (or deleted) since the index was built
        raise LookupError(registration_number)
    new_deadline, deadline_from = (extra.pop(name) for name in _EXTENSION_FIELDS)
    detail.update(extra)
    # A copy: the index's row is shared by every request.
    detail["verified"] = {
        **detail["verified"],
        "application_deadline": _application_deadline(
            detail["verified"]["expires_on"], new_deadline, deadline_from
        ),
    }
    return detail


_EXTENSION_FIELDS = (
    "record__extension_measure__new_deadline",
    "record__extension_measure__deadline_from",
)


def _application_deadline(
    expires_on: dt.date, new_deadline: dt.date | None, deadline_from: dt.date | None
) -> dt.date:
    """The renewal-application deadline, moved by a disaster measure if one applies.

    Shown on the detail page only: the search results and the API keep their
    documented shape (the registry API, /api/v1/registry, carries the deadline).
    """
    extension = (
        rules.Extension(new_deadline=new_deadline, deadline_from=deadline_from)
        if new_deadline is not None and deadline_from is not None
        else None
    )
    return rules.application_deadline(expires_on, extension)


def specialist_from_listing(listing: Any, *, today: dt.date | None = None) -> dict[str, Any]:
    """The same dict as `get_specialist`, built from the database for any listing.

    Used by the specialist's preview and the operator's review, which must
    show drafts and submitted listings the index does not hold.
    """
    today = today or timezone.localdate()
    record = listing.record
    status = renewal_status_of(record, today)

    def codes(name: str, order: tuple[Any, ...]) -> list[Any]:
        chosen = set(getattr(listing, name).values_list("pk", flat=True))
        return [code for code in order if code in chosen]

    return {
        "registration_number": record.registration_number,
        "name": record.name,
        "name_kana": record.name_kana,
        "prefectures": codes("prefectures", ref.PREFECTURE_CODES),
        "themes": codes("themes", ref.THEME_CODES),
        "syllabus_items": codes("syllabus_items", ref.SYLLABUS_CODES),
        "industries": codes("industries", ref.INDUSTRY_CODES),
        "periods": codes("periods", ref.PERIOD_CODES),
        "first_free": listing.first_free,
        "fees": {
            form: offered[form]
            for offered in [dict(listing.offers.values_list("form", "fee_yen"))]
            for form in ix.FORM_COL
            if form in offered
        },
        "qualifications": codes("qualifications", ref.QUALIFICATION_CODES),
        "other_qualifications": listing.other_qualifications,
        "affiliation": listing.affiliation,
        "company_name": listing.company_name,
        "accepting": listing.is_accepting(today),
        "updated_at": listing.updated_at,
        "verified": {
            "registration_number": record.registration_number,
            "registered_on": record.registered_on,
            "expires_on": record.expires_on,
            "renewal_count": record.renewal_count,
            "courses_up_to_date": status.courses_up_to_date,
            "application_deadline": status.application_deadline,
        },
        "email": listing.email,
        "phone": listing.phone,
        "web": listing.web,
        "profile": listing.profile,
        "track_record": listing.track_record,
    }


def ordering_facts() -> dict[str, Any]:
    """The numbers the public "how results are ordered" page quotes, from the code."""
    return {
        "points_per_extra_value": ranking.POINTS_PER_EXTRA_VALUE,
        "syllabus_full_points": ranking.SYLLABUS_FULL_POINTS,
        "syllabus_part_points": ranking.SYLLABUS_PART_POINTS,
        "local_points": ranking.LOCAL_POINTS,
        "budget_points": ranking.BUDGET_POINTS,
        "first_free_points": ranking.FIRST_FREE_POINTS,
        "fresh_points": ranking.FRESH_POINTS,
        "fresh_days": ranking.FRESH_DAYS,
        "points_per_tier": ranking.POINTS_PER_TIER,
        # Two scores that share a tier, and the next one up.
        "tier_example": (
            2 * ranking.POINTS_PER_TIER,
            3 * ranking.POINTS_PER_TIER - 1,
            3 * ranking.POINTS_PER_TIER,
        ),
        "bucket_minutes": exposure.BUCKET_SECONDS // 60,
        "position_weights": [
            (position, f"{weight:.2f}")
            for position, weight in enumerate(ranking.position_weights(5).tolist(), start=1)
        ],
    }

"""Ranking.order keys only the rows that can reach the requested page (the
groups, then the standing steps, the page reaches). Every page must be exactly
the slice of a full sort of all matched rows by the documented key, ties by
listing id (docs/search.md "Ordering", "Stable paging").

No database: a random in-memory index, random standings (ties included) and
random queries and pages."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekispe.reference import services as ref
from sekispe.search import exposure, ranking, services
from sekispe.search import index as ix
from sekispe.search.services import MAX_PAGE_SIZE, SearchQuery

TODAY = dt.date(2026, 12, 4)
FEES = (0, 3000, 5000, 10000, 20000, 30000, 50000, 100000)


def _random_masks(rng: np.random.Generator, n: int, bits: dict, share: float) -> np.ndarray:
    held = rng.random((n, len(bits))) < share
    weights = np.array([1 << b for b in bits.values()], dtype=np.uint64)
    return np.bitwise_or.reduce(np.where(held, weights, np.uint64(0)), axis=1)


def random_index(seed: int, n: int, *, hash_values: int) -> ix.SpecialistIndex:
    """`n` rows (some spare, some not accepting); `hash_values` > 0 gives every
    row one of that many tie-break hashes, so sort keys collide."""
    rng = np.random.default_rng(seed)
    ids = rng.permutation(np.arange(1, 4 * n + 1, dtype=np.int64))[:n]
    live = rng.random(n) < 0.95
    ids = np.where(live, ids, 0)
    fees = np.where(
        rng.random((n, len(ix.FORM_COL))) < 0.5,
        rng.choice(np.array(FEES, dtype=np.int64), (n, len(ix.FORM_COL))),
        ix.NOT_OFFERED,
    )
    tie_base = ix.splitmix64(ids)
    if hash_values:
        tie_base = ix.splitmix64(rng.integers(0, hash_values, n))
    updated = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    return ix.SpecialistIndex(
        generation=0,
        today=TODAY,
        size=n,
        listing_ids=ids,
        tie_base=tie_base,
        prefectures=_random_masks(rng, n, ix.PREF_BIT, 0.15),
        themes=_random_masks(rng, n, ix.THEME_BIT, 0.4),
        syllabus=_random_masks(rng, n, ix.SYLLABUS_BIT, 0.3),
        industries=_random_masks(rng, n, ix.INDUSTRY_BIT, 0.2),
        periods=_random_masks(rng, n, ix.PERIOD_BIT, 0.4),
        qualifications=_random_masks(rng, n, ix.QUAL_BIT, 0.3),
        fees=fees,
        first_free=rng.random(n) < 0.4,
        affiliation=rng.integers(0, len(ix.AFFILIATION_NUM), n).astype(np.uint8),
        accepting=live & (rng.random(n) < 0.8),
        rows=[
            {
                "registration_number": f"{i:06d}",
                "name": "",
                "name_kana": "",
                "other_qualifications": "",
                "company_name": "",
                "updated_at": updated,
                "verified": {},
            }
            for i in range(n)
        ],
        search_texts=[""] * n,
        position_by_number={f"{i:06d}": i for i in range(n)},
        text_signatures=np.zeros((ix.SIGNATURE_WORDS, n), dtype=np.uint64),
        age_days=rng.integers(0, 200, n).astype(np.int32),
        capacity=np.ones(n, dtype=np.int32),
        at_capacity=np.zeros(n, dtype=bool),
        live=live,
    )


def random_snapshot(index: ix.SpecialistIndex, seed: int, kind: str) -> exposure.Snapshot:
    """A ledger snapshot whose standings are all equal, of a few values (many
    ties within a step), spread, or far beyond the clipped range."""
    rng = np.random.default_rng(seed + 1)
    ids = np.sort(index.listing_ids[index.live])
    n = ids.size
    deserved = np.full(n, 10.0)
    if kind == "equal":
        shown = deserved.copy()
    elif kind == "few":
        shown = deserved + rng.integers(-2, 3, n) * ranking.STANDING_STEP
    elif kind == "spread":
        shown = deserved + rng.normal(0, 4.0, n)
    else:
        shown = deserved + rng.choice(np.array([-1e6, 0.0, 1e6]), n)
    return exposure.Snapshot(
        bucket=1,
        listing_ids=ids,
        exposure=shown,
        deserved=deserved,
        inquiries=np.zeros(n, dtype=np.int64),
    )


def full_sort(
    index: ix.SpecialistIndex,
    query: SearchQuery,
    rows: np.ndarray,
    standing: np.ndarray | None,
    seed: int,
) -> np.ndarray:
    """Every matched row in result order, the obvious way: the documented key
    [not accepting | 127 - tier | standing step | viewer hash] for every row,
    sorted, equal keys by listing id."""
    tier = ranking.tiers(ranking.points(index, query, rows))
    keys = (ranking.MAX_TIER - tier).astype(np.uint64) << np.uint64(56)
    if query.include_not_accepting:
        keys |= (~index.accepting[rows]).astype(np.uint64) << np.uint64(63)
    middle = np.uint64(1 << 15) << np.uint64(40)
    keys |= standing[rows] if standing is not None else middle
    keys |= ((index.tie_base[rows] ^ np.uint64(seed)) * ranking._GOLDEN) >> np.uint64(24)
    return rows[np.lexsort((index.listing_ids[rows], keys))]


def subsets(codes: tuple, max_size: int) -> st.SearchStrategy:
    return st.lists(st.sampled_from(codes), max_size=max_size, unique=True).map(tuple)


# Only the filters that change points or narrow a little: broad matches, many ties.
queries = st.builds(
    SearchQuery,
    prefectures=subsets(ref.PREFECTURE_CODES, 3),
    themes=subsets(ref.THEME_CODES, 3),
    industries=subsets(ref.INDUSTRY_CODES, 1) | subsets(ref.INDUSTRY_CODES, 3),
    forms=subsets(ref.FORM_CODES, 3),
    max_fee=st.none() | st.sampled_from(FEES),
    first_free=st.none() | st.booleans(),
    periods=st.just(()) | subsets(ref.PERIOD_CODES, 2),
    qualifications=st.just(()) | subsets(ref.QUALIFICATION_CODES, 2),
    include_not_accepting=st.booleans(),
)


def page_starts(draw: st.DrawFn, total: int, size: int, boundaries: list[int]) -> int:
    """A first page, the last, one past it, a deep one, or one straddling a
    group boundary."""
    last = max(0, (total - 1) // size) * size
    near = [max(0, b - draw(st.integers(0, size))) for b in boundaries] or [0]
    return draw(
        st.sampled_from([0, last, last + size])
        | st.integers(0, max(0, total))
        | st.sampled_from(near)
    )


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.sampled_from([0, 1, 7, 60, 400, 3000]),
    hash_values=st.sampled_from([0, 0, 1, 3]),
    standing_kind=st.sampled_from(["none", "equal", "few", "spread", "clipped"]),
    query=queries,
    viewer=st.integers(0, 2**64 - 1),
    narrow_below=st.sampled_from([0, 16, ranking._NARROW_BY_STEP]),
    cached=st.booleans(),
    data=st.data(),
)
def test_every_page_is_the_slice_of_a_full_sort(
    seed, n, hash_values, standing_kind, query, viewer, narrow_below, cached, data
):
    index = random_index(seed, n, hash_values=hash_values)
    rows = np.flatnonzero(services.matches(index, query))
    standing = None
    if standing_kind != "none" and n:
        standing = random_snapshot(index, seed, standing_kind).bits_for(index)
    if cached:  # the tiers from the whole-index cache, not computed for the rows
        ranking._inverted_column(index, query)
    expected = full_sort(index, query, rows, standing, viewer)
    groups = np.sort(ranking.inverted_tiers(index, query, rows))
    boundaries = np.flatnonzero(np.diff(groups)).tolist()
    size = data.draw(st.integers(1, MAX_PAGE_SIZE), label="page size")
    start = page_starts(data.draw, rows.size, size, boundaries)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ranking, "_NARROW_BY_STEP", narrow_below)
        ranked = ranking.rank(index, query, rows, standing=standing, seed=viewer)
        page = ranked.rows[ranked.order(start, start + size)]
        # The same ranking asked again, and the whole order page by page.
        assert ranked.rows[ranked.order(start, start + size)].tolist() == page.tolist()
    assert page.tolist() == expected[start : start + size].tolist()
    assert ranked.size == rows.size


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    standing_kind=st.sampled_from(["none", "few", "spread"]),
    query=queries,
    size=st.sampled_from([1, 7, 20, 100]),
)
def test_paging_through_search_gives_the_full_sort_once(seed, standing_kind, query, size):
    """services.search over the same index and snapshot: the pages, in turn,
    are the full sort, each row exactly once, the last page short, then empty."""
    index = random_index(seed, 700, hash_values=0)
    snapshot = random_snapshot(index, seed, standing_kind)
    standing = None if standing_kind == "none" else snapshot.bits_for(index)
    rows = np.flatnonzero(services.matches(index, query))
    expected = full_sort(
        index, query, rows, standing, ranking.order_seed(query, TODAY, query.viewer_seed)
    )
    numbers = [index.rows[int(pos)]["registration_number"] for pos in expected]
    seen: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ix, "get_index", lambda today: index)
        if standing_kind == "none":
            patch.setattr(snapshot, "bits_for", lambda index: None)
        patch.setattr(exposure, "snapshot", lambda bucket=None: snapshot)
        for page in range(1, rows.size // size + 3):
            result = services.search(
                SearchQuery(**{**query.__dict__, "page": page, "page_size": size}), today=TODAY
            )
            assert result.count == rows.size
            seen += [r["registration_number"] for r in result.results]
    assert seen == numbers


def _fresh(index: ix.SpecialistIndex) -> ix.SpecialistIndex:
    """The same columns with empty caches (as a fresh build would answer)."""
    return dataclasses.replace(
        index,
        term_cache=ix.CacheBudget(index.term_cache.limit),
        facet_cache=ix.CacheBudget(index.facet_cache.limit),
        points_cache=ix.CacheBudget(index.points_cache.limit),
        serialized=collections.OrderedDict(),
        serialized_json=collections.OrderedDict(),
    )


def _search(index: ix.SpecialistIndex, query: SearchQuery, page: int) -> services.SearchResult:
    snapshot = random_snapshot(index, 7, "few")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ix, "get_index", lambda today: index)
        patch.setattr(exposure, "snapshot", lambda bucket=None: snapshot)
        return services.search(dataclasses.replace(query, page=page), today=TODAY, with_facets=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), query=queries, changed=st.integers(0, 599))
def test_facet_counts_kept_for_the_next_page_follow_a_delta(seed, query, changed):
    """Facet counts are reused by the next pages of a search, and a delta
    (rows rewritten in place, caches patched) makes them be counted again."""
    index = random_index(seed, 600, hash_values=0)
    first = _search(index, query, 1)
    assert _search(index, query, 2).facets == first.facets
    # A delta: the row gets another listing's themes, fees and prefectures, or leaves.
    donor = (changed * 7 + 1) % index.size
    for name in ("themes", "prefectures", "industries", "syllabus", "first_free", "age_days"):
        getattr(index, name)[changed] = getattr(index, name)[donor]
    index.fees[changed] = index.fees[donor]
    index.accepting[changed] = not index.accepting[changed]
    ix._patch_caches(index, np.array([changed], dtype=np.int64))
    after = _search(index, query, 2)
    fresh = _search(_fresh(index), query, 2)
    assert after.facets == fresh.facets
    assert after.not_accepting_hidden == fresh.not_accepting_hidden
    assert after.count == fresh.count
    assert [r["registration_number"] for r in after.results] == [
        r["registration_number"] for r in fresh.results
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), query=queries)
def test_each_form_count_is_the_count_after_ticking_it(seed, query):
    """The form facet (counted over cached whole-index fee masks): ticking a
    form adds it to the chosen ones, and max_fee then applies to those."""
    index = random_index(seed, 500, hash_values=0)
    facets = _search(index, query, 1).facets["form"]
    for form in ref.FORM_CODES:
        forms = query.forms if form in query.forms else (*query.forms, form)
        clicked = dataclasses.replace(query, forms=forms)
        assert facets[form] == int(np.count_nonzero(services.matches(index, clicked))), form

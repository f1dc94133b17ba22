"""The Active List's ordering policy (docs/search.md "Ordering"; in plain
Japanese on /specialists/about/ordering/).

1. Hard filters (services._facet_masks) decide who is in the results at all.
2. Relevance tiers. Each matched listing gets integer points from the soft
   criteria (`points`); every POINTS_PER_TIER points is one tier (`tiers`).
   A higher tier is always listed before a lower one.
3. Exposure balance within a tier. Members of one tier are equally suitable,
   so among them whoever has so far been shown (and contacted) less than
   their fair share comes first. The standing comes from the exposure ledger
   (exposure.py, Biega et al. 2018 "Equity of Attention": amortised exposure
   proportional to relevance), in steps of STANDING_STEP; within a step the
   order is random per viewer, so viewers in one bucket see different pages.
4. Stable paging. The order is a pure function of (index, query, date,
   viewer seed, ledger snapshot of one 30-minute bucket): the same viewer
   paging through the same search sees every match exactly once, however
   many impressions are recorded meanwhile. `order_token` carries the seed
   and the bucket from page to page.

`sekispe bench matching` calls exactly these functions (matching_bench.py).
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from django.core import signing

from sekispe.reference import data
from sekispe.search import index as ix

if TYPE_CHECKING:
    from sekispe.search.services import SearchQuery

# --- relevance points and tiers --------------------------------------------------------
# Each constant is one line of the public explanation; change both together.

# Each requested value matched beyond the first, in a facet where several were
# asked for (themes, industries, periods, qualifications, forms).
POINTS_PER_EXTRA_VALUE = 2
# The syllabus items linked to the requested themes (reference data): a listing
# declaring at least 2/3 of them gets 2 points, at least 1/3 gets 1.
SYLLABUS_FULL_POINTS = 2
SYLLABUS_PART_POINTS = 1
# A location was asked for and the specialist visits on site (訪問), rather than
# serving that prefecture online only. Not when the search asks for other forms only.
LOCAL_POINTS = 2
# max_fee was given and every chosen form (or every offered form, with none
# chosen) that the specialist offers costs at most that.
BUDGET_POINTS = 1
# The first consultation is free (when the search does not filter on it):
# it lets an SME that "doesn't know whom to ask" try an expert.
FIRST_FREE_POINTS = 1
# Updated or confirmed within FRESH_DAYS days.
FRESH_POINTS = 1
FRESH_DAYS = 90

# Points per tier: one strong criterion (2 points) lifts a listing by a tier,
# minor ones (1 point) only in pairs, so "equally suitable" stays broad.
POINTS_PER_TIER = 2
MAX_TIER = 127  # 7 bits of the sort key

# Standings are compared in steps of this much exposure (1.0 = one view at the
# top of a page): within one step the order is random per viewer. About the
# weight of one view near the bottom of a page (1 / log2(21) = 0.23): enough to
# give viewers within one bucket different pages, too little to undo the balance.
STANDING_STEP = 0.25

_THEME_SYLLABUS = {t.code: ix.mask_of(t.syllabus, ix.SYLLABUS_BIT) for t in data.GUIDANCE_THEMES}
_VISIT = ix.FORM_COL["visit"]


def _points_key(query: SearchQuery) -> tuple[object, ...]:
    """The parts of a query that points depend on (not the filters' other effects)."""

    def several(values: tuple[object, ...]) -> tuple[object, ...]:
        return tuple(sorted(values)) if len(values) > 1 else ()  # type: ignore[type-var]

    local = bool(query.location_codes()) and (not query.forms or "visit" in query.forms)
    budget = (query.max_fee, tuple(sorted(query.forms))) if query.max_fee is not None else None
    return (
        several(query.themes),
        several(query.industries),
        several(query.periods),
        several(query.qualifications),
        several(query.forms),
        tuple(sorted(query.themes)),
        local,
        budget,
        query.first_free is None,
    )


class _Unkept:
    """Stands in for the first vector of a points_cache entry, which
    index._patch_caches writes as (recompute, points, inverted): the entries
    here keep one vector (the tiers: one byte a row where points and tiers took
    three, so three times as many query shapes fit at 1,000,000 listings)."""

    def __setitem__(self, rows: object, values: object) -> None:
        pass


_UNKEPT = _Unkept()


def cached_vector(
    index: ix.SpecialistIndex, key: object, compute: Callable[[ix.RowsView], np.ndarray]
) -> np.ndarray:
    """`compute(index)`, a vector over every row from the columns `ix.RowsView`
    carries, memoised in index.points_cache: an entry carries the function
    that computed it, so a delta recomputes just the rows it changed
    (index._patch_caches). Callers must not modify the vector."""
    found = index.points_cache.get(key)
    if found is None:

        def recompute(rows: ix.RowsView) -> tuple[None, np.ndarray]:
            return None, compute(rows)

        found = (recompute, _UNKEPT, compute(index))  # type: ignore[arg-type]
        index.points_cache[key] = found
    return found[2]


def _inverted(points: np.ndarray) -> np.ndarray:
    return (MAX_TIER - tiers(points)).astype(np.uint8)


def _inverted_column(index: ix.SpecialistIndex, query: SearchQuery) -> np.ndarray:
    """127 - tier of every row for `query`, memoised on the index."""
    return cached_vector(
        index, _points_key(query), lambda rows: _inverted(_points_of_every_row(rows, query))
    )


# A query matching fewer than 1/SUBSET_SHARE of the rows gets its points
# computed for those rows only, uncached: at 1,000,000 listings a whole-index
# computation costs ~10 ms, and narrow queries (a prefecture and a theme) vary
# more than the cache holds. Up to 1/WHOLE_SHARE, a query shape is computed
# for its rows the first time it is seen and for the whole index (cached) the
# next: many shapes come once (first-free with a region and a theme pair).
SUBSET_SHARE = 32
WHOLE_SHARE = 4
_SEEN_LIMIT = 4096
_seen: OrderedDict[tuple[object, ...], None] = OrderedDict()


def _seen_before(key: tuple[object, ...]) -> bool:
    if key in _seen:
        _seen.move_to_end(key)
        return True
    _seen[key] = None
    while len(_seen) > _SEEN_LIMIT:
        _seen.popitem(last=False)
    return False


class _Rows:
    """Some rows of an index, each column gathered when first read: points
    read only the columns the query asks about (ix.RowsView gathers all)."""

    def __init__(self, index: ix.SpecialistIndex, rows: np.ndarray) -> None:
        self._index = index
        self._rows = rows
        self.size = int(rows.size)

    def __getattr__(self, name: str) -> np.ndarray:
        value = getattr(self._index, name)[self._rows]
        setattr(self, name, value)
        return value


def inverted_tiers(index: ix.SpecialistIndex, query: SearchQuery, rows: np.ndarray) -> np.ndarray:
    """127 - tier of each of `rows` (uint8), from the cache when it holds the query's shape."""
    key = _points_key(query)
    cached = index.points_cache.get(key)
    if cached is not None:
        return cached[2][rows]
    if rows.size * SUBSET_SHARE < index.size or (
        rows.size * WHOLE_SHARE < index.size and not _seen_before(key)
    ):
        return _inverted(_points_of_every_row(_Rows(index, rows), query))  # type: ignore[arg-type]
    return _inverted_column(index, query)[rows]


def points(index: ix.SpecialistIndex, query: SearchQuery, rows: np.ndarray) -> np.ndarray:
    """The documented relevance points of each row (index positions) for `query`."""
    return _points_of_every_row(_Rows(index, rows), query).astype(np.int64)  # type: ignore[arg-type]


def _points_of_every_row(index: ix.SpecialistIndex, query: SearchQuery) -> np.ndarray:
    """Whole columns, not gathered rows: a column of `fees` is a cheap strided view,
    while gathering rows of a 2-D array costs more than the search. Summed in
    int16 (a few dozen points at most): a quarter of the memory traffic of int64."""
    score = np.zeros(index.size, dtype=np.int16)
    if not index.size:
        return score
    # More of the requested values (industry match among them).
    pairs = (
        (index.themes, query.themes, ix.THEME_BIT),
        (index.industries, query.industries, ix.INDUSTRY_BIT),
        (index.periods, query.periods, ix.PERIOD_BIT),
        (index.qualifications, query.qualifications, ix.QUAL_BIT),
    )
    extra = np.int16(POINTS_PER_EXTRA_VALUE)
    for column, codes, bits in pairs:
        if len(codes) > 1:
            matched = np.bitwise_count(column & np.uint64(ix.mask_of(codes, bits)))
            score += extra * np.maximum(matched.astype(np.int16) - 1, 0)
    if len(query.forms) > 1:
        offered = np.zeros(index.size, dtype=np.int16)
        for form in query.forms:
            offered += index.fees[:, ix.FORM_COL[form]] != ix.NOT_OFFERED
        score += extra * np.maximum(offered - 1, 0)
    # Syllabus coverage of the requested themes.
    if query.themes:
        linked = 0
        for theme in query.themes:
            linked |= _THEME_SYLLABUS[theme]
        total = linked.bit_count()
        covered = np.bitwise_count(index.syllabus & np.uint64(linked)).astype(np.int16) * 3
        score += np.where(
            covered >= 2 * total,
            np.int16(SYLLABUS_FULL_POINTS),
            np.where(covered >= total, np.int16(SYLLABUS_PART_POINTS), np.int16(0)),
        )
    # Local before online.
    if query.location_codes() and (not query.forms or "visit" in query.forms):
        score += np.int16(LOCAL_POINTS) * (index.fees[:, _VISIT] != ix.NOT_OFFERED)
    # Fee within budget.
    if query.max_fee is not None:
        forms = query.forms or tuple(ix.FORM_COL)
        within = np.ones(index.size, dtype=bool)
        offered_any = np.zeros(index.size, dtype=bool)
        for form in forms:
            fee = index.fees[:, ix.FORM_COL[form]]
            offered = fee != ix.NOT_OFFERED
            within &= ~offered | (fee <= query.max_fee)
            offered_any |= offered
        score += np.int16(BUDGET_POINTS) * (within & offered_any)
    if query.first_free is None:
        score += np.int16(FIRST_FREE_POINTS) * index.first_free
    score += np.int16(FRESH_POINTS) * (index.age_days <= FRESH_DAYS)
    return score


def tiers(score: np.ndarray) -> np.ndarray:
    return np.minimum(score // POINTS_PER_TIER, MAX_TIER)


# --- the sort key -----------------------------------------------------------------------
# uint64, ascending = shown first; equal keys (rare) are ordered by listing id,
# so the order never depends on where a row sits in the index (a delta puts
# new listings in spare rows) and pages never overlap nor miss a row:
#   [not accepting: 1 | 127 - tier: 7 | standing step: 16 | viewer hash: 40]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_GROUP_SHIFT = np.uint64(56)
_STEP_SHIFT = np.uint64(40)
_STEP_LIMIT = (1 << 16) - 1
_MIDDLE_STEP = 1 << 15
_HASH_SHIFT = np.uint64(24)  # the top 40 bits of the mixed hash


def order_seed(query: SearchQuery, today: object, viewer_seed: int = 0) -> int:
    """64 well-mixed bits from the date, the filters (not the page) and the viewer."""
    crc = zlib.crc32(f"{today.isoformat()}|{query.canonical()}".encode())  # type: ignore[attr-defined]
    if viewer_seed:  # the viewer's bits above the crc's 32; seed 0 keeps the shared order
        crc ^= (ix.splitmix64_int(viewer_seed) << 32) & 0xFFFFFFFF00000000
    return ix.splitmix64_int(crc)


def standing_bits(standing: np.ndarray) -> np.ndarray:
    """Standings as the sort key's step field: floor(standing / STANDING_STEP),
    offset to unsigned and shifted into place (beyond ±8,192 units of exposure
    they clip, then the viewer hash orders them). Once per snapshot and index."""
    steps = np.floor(np.asarray(standing, dtype=np.float64) / STANDING_STEP) + _MIDDLE_STEP
    return np.clip(steps, 0, _STEP_LIMIT).astype(np.uint64) << _STEP_SHIFT


# Below this many rows in the groups a page reaches, their full keys are built
# at once; above it, their standing steps narrow them first (Ranking.order).
_NARROW_BY_STEP = 2048


class Ranking:
    """Matched rows and what orders them; ascending sort key = shown first.

    `rank` keys lazily: each row's group (accepting bit and tier, the key's top
    byte) is known for every row, but the full key only for the rows `order`
    needs, those of the groups, then standing steps, that reach the requested
    page. At 1,000,000 listings a broad query matches half a million rows and
    building every key cost more than the rest of the search. Pages are cut
    exactly as a full sort of every key (ties by listing id) would cut them.
    """

    def __init__(
        self,
        rows: np.ndarray,
        keys: np.ndarray | None = None,
        every_points: np.ndarray | None = None,
        ids: np.ndarray | None = None,
        *,
        index: ix.SpecialistIndex | None = None,
        query: SearchQuery | None = None,
        groups: np.ndarray | None = None,
        standing: np.ndarray | None = None,
        seed: int = 0,
    ) -> None:
        self.rows = rows  # index positions, in no particular order
        self._keys = keys  # uint64 per row, when given or built for every row
        # Points of every index row (rankings built from keys); else computed on demand.
        self._every_points = every_points
        self._ids = ids  # listing ids per row: the tie-break of equal keys
        self._index = index
        self._query = query
        self._groups = groups
        self._standing = standing
        self._seed = np.uint64(seed)

    @property
    def size(self) -> int:
        return int(self.rows.size)

    @property
    def keys(self) -> np.ndarray:
        """The sort key of every row (see the layout above)."""
        if self._keys is None:
            self._keys = self._keys_at(np.arange(self.size))
        return self._keys

    @property
    def ids(self) -> np.ndarray:
        if self._ids is None:
            self._ids = self.rows if self._index is None else self._index.listing_ids[self.rows]
        return self._ids

    @property
    def score(self) -> np.ndarray:
        """Relevance points, one per row."""
        if self._every_points is not None:
            return self._every_points[self.rows].astype(np.int64)
        return points(self._index, self._query, self.rows)  # type: ignore[arg-type]

    @property
    def groups(self) -> np.ndarray:
        """Per row: accepting bit and tier; rows of one group are equally suitable."""
        if self._groups is None:
            self._groups = (self.keys >> _GROUP_SHIFT).astype(np.uint8)
        return self._groups

    def tier(self) -> np.ndarray:
        return MAX_TIER - (self.groups & np.uint8(MAX_TIER)).astype(np.int64)

    def _keys_at(self, local: np.ndarray) -> np.ndarray:
        """Full sort keys of the rows at positions `local` (within `rows`)."""
        index = self._index
        assert index is not None  # noqa: S101 (a ranking without keys has its index)
        rows = self.rows[local]
        keys = self.groups[local].astype(np.uint64) << _GROUP_SHIFT
        standing = self._standing
        keys |= standing[rows] if standing is not None else np.uint64(_MIDDLE_STEP) << _STEP_SHIFT
        # tie_base is splitmix64(listing id); one xor-multiply with the seed
        # re-mixes it into a fresh order (uint64 array arithmetic wraps silently).
        mixed = (index.tie_base[rows] ^ self._seed) * _GOLDEN
        keys |= mixed >> _HASH_SHIFT
        return keys

    def order(self, start: int, end: int) -> np.ndarray:
        """Positions within `rows` of the results start..end (0-based, end exclusive)."""
        end = min(end, self.size)
        if start >= end:
            return np.empty(0, dtype=np.int64)
        if self._keys is not None or self._index is None:
            return _cut(self.keys, self.ids, start, end)
        # The groups holding results start..end-1: rows of lower groups come
        # before the page, of higher groups after it.
        groups = self.groups
        first, skipped = _group_at(groups, start)
        candidates = np.flatnonzero(groups == first)
        if end - skipped > candidates.size:  # the page runs into later groups
            last = _group_at(groups, end - 1)[0]
            candidates = np.flatnonzero((groups >= first) & (groups <= last))
        start, end = start - skipped, end - skipped
        if self._standing is not None and candidates.size > _NARROW_BY_STEP:
            candidates, skipped = self._narrow_by_step(candidates, start, end)
            start, end = start - skipped, end - skipped
        if self._ids is not None:
            ties = self._ids[candidates]
        else:
            ties = self._index.listing_ids[self.rows[candidates]]
        return candidates[_cut(self._keys_at(candidates), ties, start, end)]

    def _narrow_by_step(
        self, candidates: np.ndarray, start: int, end: int
    ) -> tuple[np.ndarray, int]:
        """The candidates whose (group, standing step), the key's top 24 bits,
        can reach results start..end-1 among them; and how many come before."""
        steps = _steps_of(self._standing)[self.rows[candidates]]  # type: ignore[arg-type]
        groups = self.groups[candidates]
        if groups[0] == groups[-1] and np.all(groups == groups[0]):
            # One group (the usual case): count the rows per step.
            below = np.cumsum(np.bincount(steps, minlength=_STEP_LIMIT + 1))
            low = int(np.searchsorted(below, start, side="right"))
            high = int(np.searchsorted(below, end - 1, side="right"))
            before = int(below[low - 1]) if low else 0
            if low == high:
                return candidates[steps == low], before
            return candidates[(steps >= low) & (steps <= high)], before
        coarse = (groups.astype(np.uint32) << np.uint32(16)) | steps
        low, high = np.partition(coarse, (start, end - 1))[[start, end - 1]]
        keep = (coarse >= low) & (coarse <= high)
        return candidates[keep], int(np.count_nonzero(coarse < low))


_steps: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _steps_of(standing: np.ndarray) -> np.ndarray:
    """The standing step of every index row (uint16), once per standing vector
    (exposure.Snapshot.bits_for makes one per snapshot and index)."""
    found = _steps.get(id(standing))
    if found is None or found[0] is not standing:
        found = (standing, (standing >> _STEP_SHIFT).astype(np.uint16))
        if len(_steps) >= 2:
            _steps.clear()
        _steps[id(standing)] = found
    return found[1]


def _group_at(groups: np.ndarray, rank: int) -> tuple[int, int]:
    """The group holding result `rank` (0-based) and how many rows come in
    lower groups. A binary search on counts of `groups <= g`: bincount of a
    few distinct values is slow (at 800,000 rows 5 ms, each count 0.15 ms)."""
    low, high = int(groups.min()), int(groups.max())
    while low < high:
        middle = (low + high) // 2
        if np.count_nonzero(groups <= middle) > rank:
            high = middle
        else:
            low = middle + 1
    return low, int(np.count_nonzero(groups < low))


def _cut(keys: np.ndarray, ties: np.ndarray, start: int, end: int) -> np.ndarray:
    """Positions (within `keys`) of the results start..end of the order by
    (key, tie); `end` at most keys.size. Only the rows up to the page are sorted:
    everything keyed at most the end-th smallest key (ties at the cut included)."""
    if end < keys.size:
        last = np.partition(keys, end - 1)[end - 1]
        head = np.flatnonzero(keys <= last)
    else:
        head = np.arange(keys.size)
    head = head[np.lexsort((ties[head], keys[head]))]
    return head[start:end]


def rank(
    index: ix.SpecialistIndex,
    query: SearchQuery,
    rows: np.ndarray,
    *,
    standing: np.ndarray | None,
    seed: int,
) -> Ranking:
    """The ranking of `rows` (see the key layout above); keys are built by `Ranking.order`.

    `standing` is `standing_bits` per index position (exposure.Snapshot.bits_for),
    or None when nothing has been recorded: every standing is then equal and
    the viewer hash alone orders each tier.
    """
    groups = inverted_tiers(index, query, rows)
    if query.include_not_accepting:  # otherwise every matched row is accepting
        groups |= (~index.accepting[rows]).astype(np.uint8) << np.uint8(7)
    return Ranking(rows, index=index, query=query, groups=groups, standing=standing, seed=seed)


def sort_keys(
    index: ix.SpecialistIndex,
    query: SearchQuery,
    rows: np.ndarray,
    *,
    standing: np.ndarray | None,
    seed: int,
) -> np.ndarray:
    """The full sort key each of `rows` (index positions) has in `query`'s
    order, as `rank(...)` keys them; ties go by listing id. Its top byte is
    the row's group (`_GROUP_SHIFT`)."""
    return rank(index, query, rows, standing=standing, seed=seed)._keys_at(np.arange(rows.size))


def group_of(key: int) -> int:
    """The group (accepting bit and tier) a sort key belongs to."""
    return key >> int(_GROUP_SHIFT)


# --- what a served page gives each listing -------------------------------------------------


def position_weights(count: int) -> np.ndarray:
    """Attention at positions 1..count of a page: 1 / log2(1 + position)."""
    return 1.0 / np.log2(np.arange(2, count + 2, dtype=np.float64))


@dataclass
class Served:
    """One served page: who was shown with what weight, and each shown tier's
    exposure shared equally among all of that tier's members."""

    shown: np.ndarray  # index positions
    weights: np.ndarray
    shares: list[tuple[np.ndarray, float]]  # (members' index positions, share each)


def served(ranking: Ranking, local: np.ndarray) -> Served:
    """`local` = Ranking.order(...) of the page that was shown."""
    weights = position_weights(local.size)
    groups = ranking.groups
    page_groups = groups[local]
    shares = []
    for group in np.unique(page_groups):
        members = ranking.rows[groups == group]
        shares.append((members, float(weights[page_groups == group].sum()) / members.size))
    return Served(shown=ranking.rows[local], weights=weights, shares=shares)


# --- the order token ------------------------------------------------------------------------

_SIGNER = signing.Signer(salt="sekispe.search.order")
# Tokens signed, and tokens verified, in this process. A token is a pure
# function of (bucket, seed) under _SIGNER's key, fixed at import, and every
# API client without a token shares seed 0: signing each time (a key
# derivation and an HMAC, ~10 µs of a request) gave the same text. Only
# tokens that verified are remembered, so a forged one is still refused.
_TOKEN_MEMO_SIZE = 4096
_signed: dict[tuple[int, int], str] = {}
_verified: dict[str, tuple[int, int]] = {}


def order_token(bucket: int, viewer_seed: int) -> str:
    """Opaque and signed, so nobody can ask for a bucket that was never served."""
    key = (bucket, viewer_seed)
    token = _signed.get(key)
    if token is None:
        token = _SIGNER.sign(f"{bucket:x}.{viewer_seed:x}")
        if len(_signed) >= _TOKEN_MEMO_SIZE:
            _signed.clear()
        _signed[key] = token
    return token


def read_order_token(token: str) -> tuple[int, int] | None:
    """(bucket, viewer seed), or None for a missing, altered or malformed token."""
    if not token or len(token) > 100:
        return None
    found = _verified.get(token)
    if found is not None:
        return found
    try:
        bucket, seed = _SIGNER.unsign(token).split(".")
        found = int(bucket, 16), int(seed, 16)
    except (signing.BadSignature, ValueError):
        return None
    if len(_verified) >= _TOKEN_MEMO_SIZE:
        _verified.clear()
    _verified[token] = found
    return found

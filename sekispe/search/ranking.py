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
from dataclasses import dataclass, field
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


def _popcount(values: np.ndarray) -> np.ndarray:
    return np.bitwise_count(values).astype(np.int64)


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


def _columns(index: ix.SpecialistIndex, query: SearchQuery) -> tuple[np.ndarray, np.ndarray]:
    """(points, 127 - tier) of every row for `query`, memoised on the index.

    Each cache entry carries the function that computed it, so a delta can
    recompute just the rows it changed (index._patch_caches).
    """
    key = _points_key(query)
    found = index.points_cache.get(key)
    if found is None:

        def recompute(rows: object) -> tuple[np.ndarray, np.ndarray]:
            every = _points_of_every_row(rows, query)  # type: ignore[arg-type]
            return every, (MAX_TIER - tiers(every)).astype(np.uint8)

        found = (recompute, *recompute(index))
        index.points_cache[key] = found
    return found[1], found[2]


# A query matching fewer than 1/SUBSET_SHARE of the rows gets its points
# computed for those rows only, uncached: at 1,000,000 listings a whole-index
# computation costs ~35 ms, and narrow queries (a prefecture and a theme) vary
# more than the cache holds.
SUBSET_SHARE = 32


def _columns_for(
    index: ix.SpecialistIndex, query: SearchQuery, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(points, 127 - tier) valid at least at `rows` (see `_columns`)."""
    cached = index.points_cache.get(_points_key(query))
    if cached is not None or rows.size * SUBSET_SHARE >= index.size:
        return _columns(index, query)
    subset = _points_of_every_row(ix.RowsView.of(index, rows), query)
    every = np.zeros(index.size, dtype=np.int16)
    every[rows] = subset
    inverted = np.zeros(index.size, dtype=np.uint8)
    inverted[rows] = (MAX_TIER - tiers(subset)).astype(np.uint8)
    return every, inverted


def points(index: ix.SpecialistIndex, query: SearchQuery, rows: np.ndarray) -> np.ndarray:
    """The documented relevance points of each row (index positions) for `query`."""
    return _columns(index, query)[0][rows].astype(np.int64)


def _points_of_every_row(index: ix.SpecialistIndex, query: SearchQuery) -> np.ndarray:
    """Whole columns, not gathered rows: a column of `fees` is a cheap strided view,
    while gathering rows of a 2-D array costs more than the search."""
    score = np.zeros(index.size, dtype=np.int64)
    if not index.size:
        return score.astype(np.int16)
    # More of the requested values (industry match among them).
    pairs = (
        (index.themes, query.themes, ix.THEME_BIT),
        (index.industries, query.industries, ix.INDUSTRY_BIT),
        (index.periods, query.periods, ix.PERIOD_BIT),
        (index.qualifications, query.qualifications, ix.QUAL_BIT),
    )
    for column, codes, bits in pairs:
        if len(codes) > 1:
            matched = _popcount(column & np.uint64(ix.mask_of(codes, bits)))
            score += POINTS_PER_EXTRA_VALUE * np.maximum(matched - 1, 0)
    if len(query.forms) > 1:
        offered = sum(
            (index.fees[:, ix.FORM_COL[f]] != ix.NOT_OFFERED).astype(np.int64) for f in query.forms
        )
        score += POINTS_PER_EXTRA_VALUE * np.maximum(offered - 1, 0)
    # Syllabus coverage of the requested themes.
    if query.themes:
        linked = 0
        for theme in query.themes:
            linked |= _THEME_SYLLABUS[theme]
        total = linked.bit_count()
        covered = _popcount(index.syllabus & np.uint64(linked))
        score += np.where(
            3 * covered >= 2 * total,
            SYLLABUS_FULL_POINTS,
            np.where(3 * covered >= total, SYLLABUS_PART_POINTS, 0),
        )
    # Local before online.
    if query.location_codes() and (not query.forms or "visit" in query.forms):
        score += LOCAL_POINTS * (index.fees[:, _VISIT] != ix.NOT_OFFERED)
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
        score += BUDGET_POINTS * (within & offered_any)
    if query.first_free is None:
        score += FIRST_FREE_POINTS * index.first_free
    score += FRESH_POINTS * (index.age_days <= FRESH_DAYS)
    return score.astype(np.int16)


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


@dataclass
class Ranking:
    """Matched rows and their sort keys; ascending key = shown first."""

    rows: np.ndarray  # index positions, in no particular order
    keys: np.ndarray  # uint64, one per row
    # Points of every index row for this query (ranking.points), gathered on demand.
    every_points: np.ndarray = field(repr=False)
    _groups: np.ndarray | None = field(default=None, repr=False)
    # Listing ids, one per row: the tie-break of equal keys (rows when absent).
    ids: np.ndarray | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return int(self.rows.size)

    @property
    def score(self) -> np.ndarray:
        """Relevance points, one per row."""
        return self.every_points[self.rows].astype(np.int64)

    @property
    def groups(self) -> np.ndarray:
        """Per row: accepting bit and tier; rows of one group are equally suitable."""
        if self._groups is None:
            self._groups = self.keys >> _GROUP_SHIFT
        return self._groups

    def tier(self) -> np.ndarray:
        return MAX_TIER - (self.groups & np.uint64(MAX_TIER)).astype(np.int64)

    def order(self, start: int, end: int) -> np.ndarray:
        """Positions within `rows` of the results start..end (0-based, end exclusive)."""
        end = min(end, self.size)
        if start >= end:
            return np.empty(0, dtype=np.int64)
        if end < self.size:
            # Only the rows up to this page need ordering: everything keyed at
            # most the end-th smallest key (ties at the cut included), sorted.
            last = np.partition(self.keys, end - 1)[end - 1]
            head = np.flatnonzero(self.keys <= last)
        else:
            head = np.arange(self.size)
        ties = self.rows if self.ids is None else self.ids
        head = head[np.lexsort((ties[head], self.keys[head]))]
        return head[start:end]


def rank(
    index: ix.SpecialistIndex,
    query: SearchQuery,
    rows: np.ndarray,
    *,
    standing: np.ndarray | None,
    seed: int,
) -> Ranking:
    """Sort keys for `rows` (see the layout above).

    `standing` is `standing_bits` per index position (exposure.Snapshot.bits_for),
    or None when nothing has been recorded: every standing is then equal and
    the viewer hash alone orders each tier.
    """
    every_points, inverted_tier = _columns_for(index, query, rows)
    keys = inverted_tier[rows].astype(np.uint64) << _GROUP_SHIFT
    if query.include_not_accepting:  # otherwise every matched row is accepting
        keys |= (~index.accepting[rows]).astype(np.uint64) << np.uint64(63)
    keys |= standing[rows] if standing is not None else np.uint64(_MIDDLE_STEP) << _STEP_SHIFT
    # tie_base is splitmix64(listing id); one xor-multiply with the seed
    # re-mixes it into a fresh order (uint64 array arithmetic wraps silently).
    mixed = (index.tie_base[rows] ^ np.uint64(seed)) * _GOLDEN
    keys |= mixed >> _HASH_SHIFT
    return Ranking(rows=rows, keys=keys, every_points=every_points, ids=index.listing_ids[rows])


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


def order_token(bucket: int, viewer_seed: int) -> str:
    """Opaque and signed, so nobody can ask for a bucket that was never served."""
    return _SIGNER.sign(f"{bucket:x}.{viewer_seed:x}")


def read_order_token(token: str) -> tuple[int, int] | None:
    """(bucket, viewer seed), or None for a missing, altered or malformed token."""
    if not token or len(token) > 100:
        return None
    try:
        bucket, seed = _SIGNER.unsign(token).split(".")
        return int(bucket, 16), int(seed, 16)
    except (signing.BadSignature, ValueError):
        return None

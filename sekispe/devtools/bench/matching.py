"""`sekispe bench matching`: is exposure fair, and what does fairness cost?

An in-memory simulation (no database) of SMEs searching the Active List and
sending inquiries, run three times on the same searches with three orderings:

- (a) relevance order with a fixed tie-break: points, high first, then listing id;
- (b) tiers, with a fresh random shuffle within each tier per search;
- (c) sekispe's policy: exactly the production code (`services.matches`,
  `services.rank_matches`, `ranking.served`, `exposure.Accumulator`,
  `exposure.Snapshot` and through it `fairness.standing`, the controller on
  exposure and inquiries; `index.accepting_rule`), with its ledger folded
  into a new snapshot at every 30-minute bucket, as the database ledger is.

(a) and (b) ignore capacity, as an ordering without a ledger would; (c)
hides whoever the index would hide (at capacity). See docs/benchmarks.md for
the model, the metrics and the figures.
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
import math
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from django.utils import timezone
from tqdm import tqdm

from sekispe.devtools import scratchdb
from sekispe.devtools.demo.listings import DEMO_ANCHOR, generate_specialists
from sekispe.listings.models import HIDDEN_AFTER_DAYS, effective_accepting, stale_cutoff
from sekispe.reference import data
from sekispe.reference import services as ref
from sekispe.search import exposure, fairness, ranking
from sekispe.search import index as ix
from sekispe.search.services import SearchQuery, matches, rank_matches

# --- the model (every number is documented in docs/benchmarks.md) ----------------------------

REGISTRANTS = 24_000  # registered RISS, April 2025
LISTED_SHARE = 0.30
SEARCHES = 20_000
DAYS = 120  # simulated period the searches are spread over
PAGE_SIZE = 20
SECOND_PAGE_SHARE = 0.25  # searches whose SME also opens page 2
# P(inquiry | examined), for a specialist of the best tier available to that
# search; each tier below halves it. At most one inquiry per search.
INQUIRY_RATE = 0.025
TIER_DISCOUNT = 0.5
CAPACITY_WEIGHTS = {1: 45, 2: 30, 3: 15, 5: 10}
# An inquiry holds a capacity slot from when it is sent: 35% end within 2-10
# days (declined, closed), the rest run 30-90 days (consultation + 3 visits).
SHORT_SHARE, SHORT_DAYS, LONG_DAYS = 0.35, (2, 10), (30, 90)
# A (search, tier) group counts in the Gini when its members received, on
# average under (a), at least this much exposure: a tier of 500 shown to 3
# SMEs cannot be balanced by any ordering.
MIN_GROUP_EXPOSURE = 1.0
NDCG_DEPTH = 10

TARGET_NDCG_RATIO = 0.97
TARGET_EXPOSURE_GINI = 0.15
# The inquiry targets (issue: inquiries concentrated although exposure did not).
# (c)'s inquiry Gini in tier must be at most (b)'s, a random shuffle's.
TARGET_NDCG_POINTS = 0.97
TARGET_TOP_1PCT_SHARE = 0.12
# Draws for the chance level of the inquiry Gini (see `chance_inquiry_gini`).
CHANCE_DRAWS = 20

# Where SMEs are: approximate numbers of SMEs per prefecture, in thousands
# (rounded; the order of magnitude of the Economic Census counts, about 3.6
# million in all). A simulation input, not a statistic to quote.
SME_THOUSANDS: dict[str, int] = {
    "01": 146, "02": 40, "03": 39, "04": 62, "05": 35, "06": 40, "07": 64,
    "08": 83, "09": 63, "10": 68, "11": 160, "12": 128, "13": 413, "14": 191,
    "15": 83, "16": 37, "17": 44, "18": 31, "19": 31, "20": 80, "21": 74,
    "22": 130, "23": 210, "24": 56, "25": 41, "26": 85, "27": 272, "28": 152,
    "29": 34, "30": 36, "31": 17, "32": 24, "33": 57, "34": 90, "35": 43,
    "36": 26, "37": 34, "38": 46, "39": 26, "40": 141, "41": 25, "42": 44,
    "43": 56, "44": 37, "45": 36, "46": 56, "47": 46,
}  # fmt: skip
# What SMEs ask for most: staff education and security rules first.
THEME_DEMAND: dict[int, float] = {5: 30, 1: 25, 4: 20, 3: 15, 2: 10}
# SMEs by industry (JSIC), roughly: retail/wholesale, food and lodging, construction, ...
SME_INDUSTRIES: dict[str, float] = {
    "I": 24, "M": 13, "D": 12, "E": 11, "N": 10, "K": 9, "P": 6, "R": 5, "H": 3, "L": 3,
    "G": 2, "O": 2,
}  # fmt: skip
# Shares of the search forms: location (prefecture / its block / online only),
# number of themes, and the optional filters.
LOCATION_SHARES = {"prefecture": 0.60, "region": 0.25, "online": 0.15}
THEME_COUNT_SHARES = {0: 0.05, 1: 0.75, 2: 0.20}
INDUSTRY_SHARE = 0.35
FIRST_FREE_SHARE = 0.15
MAX_FEE_SHARE = 0.15
MAX_FEES = (10_000, 20_000, 30_000)

POLICIES = {
    "a": "(a) relevance, fixed tie-break",
    "b": "(b) random within tier",
    "c": "(c) sekispe policy",
}


def _pick(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


_BLOCK_OF = {p.code: p.block for p in data.PREFECTURES}


def draw_query(rng: random.Random) -> SearchQuery:
    """One SME's search, from the demand model above."""
    pref = _pick(rng, SME_THOUSANDS)
    location = _pick(rng, LOCATION_SHARES)
    count = _pick(rng, THEME_COUNT_SHARES)
    themes: list[int] = []
    while len(themes) < count:
        theme = _pick(rng, THEME_DEMAND)
        if theme not in themes:
            themes.append(theme)
    return SearchQuery(
        prefectures=(pref,) if location == "prefecture" else (),
        region=_BLOCK_OF[pref] if location == "region" else None,
        forms=("online",) if location == "online" else (),
        themes=tuple(sorted(themes)),
        industries=(_pick(rng, SME_INDUSTRIES),) if rng.random() < INDUSTRY_SHARE else (),
        first_free=True if rng.random() < FIRST_FREE_SHARE else None,
        max_fee=rng.choice(MAX_FEES) if rng.random() < MAX_FEE_SHARE else None,
        page_size=PAGE_SIZE,
    )


# --- the population ------------------------------------------------------------------------


@dataclass
class Population:
    index: ix.SpecialistIndex  # accepting = available by their own setting
    available: np.ndarray
    capacity: np.ndarray
    registrants: int
    listed: int
    kanto_share: float


def index_from_inputs(items: list[Any], today: dt.date) -> ix.SpecialistIndex:
    """An in-memory SpecialistIndex of `items` (ListingInput), built as build_index
    builds one from the database, for the columns search and ranking read."""
    n = len(items)
    ids = np.arange(1, n + 1, dtype=np.int64)

    def masks(name: str, bits: dict[Any, int]) -> np.ndarray:
        return np.array([ix.mask_of(getattr(it, name), bits) for it in items], dtype=np.uint64)

    fees = np.full((n, len(ix.FORM_COL)), ix.NOT_OFFERED, dtype=np.int64)
    for i, it in enumerate(items):
        for form, fee in it.fees.items():
            fees[i, ix.FORM_COL[form]] = fee
    available = np.array(
        [effective_accepting(it.availability, it.availability_until, today) for it in items],
        dtype=bool,
    )
    age = np.array(
        [(today - timezone.localtime(it.updated_at).date()).days for it in items], dtype=np.int32
    )
    return ix.SpecialistIndex(
        generation=0,
        today=today,
        size=n,
        listing_ids=ids,
        tie_base=ix.splitmix64(ids),
        prefectures=masks("prefectures", ix.PREF_BIT),
        themes=masks("themes", ix.THEME_BIT),
        syllabus=masks("syllabus_items", ix.SYLLABUS_BIT),
        industries=masks("industries", ix.INDUSTRY_BIT),
        periods=masks("periods", ix.PERIOD_BIT),
        qualifications=masks("qualifications", ix.QUAL_BIT),
        fees=fees,
        first_free=np.array([it.first_free for it in items], dtype=bool),
        affiliation=np.array([ix.AFFILIATION_NUM[it.affiliation] for it in items], dtype=np.uint8),
        accepting=available.copy(),
        rows=[{"registration_number": it.registration_number} for it in items],
        search_texts=[""] * n,
        position_by_number={it.registration_number: i for i, it in enumerate(items)},
        text_signatures=np.zeros((ix.SIGNATURE_WORDS, n), dtype=np.uint64),
        age_days=age,
        capacity=np.ones(n, dtype=np.int32),
        at_capacity=np.zeros(n, dtype=bool),
    )


def build_population(
    registrants: int, seed: int, *, unlimited_capacity: bool = False
) -> Population:
    """`registrants` demo registrants (home prefectures by the 2021 table), of whom
    LISTED_SHARE are listed; the visible listed ones are searched.

    `unlimited_capacity`: the counterfactual where nobody is ever full."""
    from sekispe.registry.models import RegistryStatus

    today = DEMO_ANCHOR
    rng = random.Random(f"{seed}-population")
    people = generate_specialists(registrants, seed, today)
    listed = [p for p in people if rng.random() < LISTED_SHARE]
    hidden_before = stale_cutoff(today, HIDDEN_AFTER_DAYS)
    visible = [
        p
        for p in listed
        if p.status == RegistryStatus.ACTIVE
        and p.expires_on >= today
        and p.updated_at is not None
        and p.updated_at >= hidden_before
    ]
    index = index_from_inputs(visible, today)
    capacity = np.array([_pick(rng, CAPACITY_WEIGHTS) for _ in visible], dtype=np.int32)
    if unlimited_capacity:
        capacity[:] = np.iinfo(np.int32).max
    index.capacity = capacity
    kanto = set(ref.block_prefectures("kanto"))
    return Population(
        index=index,
        available=index.accepting.copy(),
        capacity=capacity,
        registrants=registrants,
        listed=len(listed),
        kanto_share=sum(p.home_prefecture in kanto for p in people) / max(1, len(people)),
    )


# --- metrics ---------------------------------------------------------------------------------


def gini(values: np.ndarray) -> float:
    """0 = everyone equal, 1 = one takes all (mean absolute difference / 2 x mean)."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = x.size
    total = x.sum()
    if n < 2 or total <= 0:
        return 0.0
    cumulative = np.cumsum(x)
    return float((n + 1 - 2 * cumulative.sum() / total) / n)


_DISCOUNT = 1.0 / np.log2(np.arange(2, NDCG_DEPTH + 2, dtype=np.float64))


def ndcg(shown: np.ndarray, candidates: np.ndarray, *, exponential: bool) -> float | None:
    """NDCG@10 of the grades shown against the best 10 grades among `candidates`;
    None when no candidate has a positive grade."""
    top = np.sort(candidates)[::-1][:NDCG_DEPTH].astype(np.float64)
    got = np.asarray(shown[:NDCG_DEPTH], dtype=np.float64)
    if exponential:
        top, got = np.exp2(top) - 1, np.exp2(got) - 1
    ideal = float((top * _DISCOUNT[: top.size]).sum())
    if ideal <= 0:
        return None
    return float((got * _DISCOUNT[: got.size]).sum()) / ideal


# --- one ordering's run ----------------------------------------------------------------------


@dataclass
class Run:
    name: str
    size: int
    open: np.ndarray = field(init=False)
    ends: list[tuple[float, int]] = field(default_factory=list)
    ever_over: np.ndarray = field(init=False)
    # --inquiry-cap only: inquiries received within the cap's window, and when
    # each leaves it.
    recent: np.ndarray = field(init=False)
    recent_ends: list[tuple[float, int]] = field(default_factory=list)
    # Exposure and fair share ("deserved") per specialist, summed as the ledger sums them.
    total: exposure.Accumulator = field(init=False)
    inquiries: np.ndarray = field(init=False)
    ndcg_tier: list[float] = field(default_factory=list)
    ndcg_points: list[float] = field(default_factory=list)
    ndcg_tier_incl_full: list[float] = field(default_factory=list)
    shown: dict[str, list[tuple[np.ndarray, np.ndarray]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    asked: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    empty_pages: int = 0
    # (c) only: the snapshot of the current 30-minute bucket.
    snapshot: exposure.Snapshot | None = None
    bucket: int = -1

    def __post_init__(self) -> None:
        self.open = np.zeros(self.size, dtype=np.int32)
        self.ever_over = np.zeros(self.size, dtype=bool)
        self.recent = np.zeros(self.size, dtype=np.int32)
        self.total = exposure.Accumulator(self.size)
        self.inquiries = np.zeros(self.size, dtype=np.int64)

    def release(self, now: float) -> None:
        while self.ends and self.ends[0][0] <= now:
            _, pos = heapq.heappop(self.ends)
            self.open[pos] -= 1
        while self.recent_ends and self.recent_ends[0][0] <= now:
            _, pos = heapq.heappop(self.recent_ends)
            self.recent[pos] -= 1

    def fold(self, index: ix.SpecialistIndex, bucket: int) -> None:
        """What the database holds at a bucket boundary (everything flushed, every
        inquiry recorded), snapshotted as exposure.snapshot() does."""
        self.snapshot = exposure.Snapshot(
            bucket=bucket,
            listing_ids=index.listing_ids,
            exposure=self.total.exposure.copy(),
            deserved=self.total.deserved.copy(),
            inquiries=self.inquiries.copy(),
        )
        self.bucket = bucket


def _plain_ranking(rows: np.ndarray, points: np.ndarray, tier_of: np.ndarray) -> ranking.Ranking:
    """A Ranking whose groups are the tiers, so `ranking.served` shares exposure
    for (a) and (b) exactly as for (c). Only `groups` is read from the keys."""
    keys = (np.uint64(ranking.MAX_TIER) - tier_of.astype(np.uint64)) << np.uint64(56)
    every = np.zeros(int(rows.max()) + 1 if rows.size else 0, dtype=np.int64)
    every[rows] = points
    return ranking.Ranking(rows=rows, keys=keys, every_points=every)


def simulate(
    population: Population,
    *,
    searches: int,
    seed: int,
    progress: bool = True,
    inquiry_cap: tuple[int, float] | None = None,
) -> dict[str, Any]:
    """`inquiry_cap` (K, days): the counterfactual product rule where (c) also
    hides whoever received K inquiries in the last `days` days, as if full."""
    index = population.index
    n = index.size
    available = population.available
    capacity = population.capacity
    runs = {name: Run(name, n) for name in POLICIES}
    demand = random.Random(f"{seed}-demand")
    times = sorted(demand.uniform(0, DAYS) for _ in range(searches))
    queries: dict[str, SearchQuery] = {}

    for step in tqdm(
        range(searches),
        desc="searches",
        unit="search",
        file=sys.stderr,
        disable=None if progress else True,
    ):
        now = times[step]
        bucket = int(now * 86400 // exposure.BUCKET_SECONDS)
        query = draw_query(demand)
        key = query.canonical()
        queries.setdefault(key, query)
        # Common random numbers: every ordering meets the same SME.
        look = [demand.random() for _ in range(2 * PAGE_SIZE)]
        ask = [demand.random() for _ in range(2 * PAGE_SIZE)]
        second_page = demand.random() < SECOND_PAGE_SHARE
        short = demand.random() < SHORT_SHARE
        duration = demand.uniform(*(SHORT_DAYS if short else LONG_DAYS))
        viewer_seed = demand.getrandbits(32) | 1
        shuffle = demand.getrandbits(64)

        # Everyone available by their own setting, capacity aside: what (a) and
        # (b) show, and the ideal "including full" for (c).
        index.accepting = available
        rows = np.flatnonzero(matches(index, query))
        points = ranking.points(index, query, rows)
        tier_of = ranking.tiers(points)
        best_tier = int(tier_of.max()) if rows.size else 0

        for name, run in runs.items():
            run.release(now)
            if name == "c":
                if bucket != run.bucket:
                    run.fold(index, bucket)
                index.accepting = ix.accepting_rule(available, capacity, run.open)
                if inquiry_cap is not None:
                    index.accepting = index.accepting & (run.recent < inquiry_cap[0])
                seen = replace(query, viewer_seed=viewer_seed)
                assert run.snapshot is not None  # noqa: S101
                ordered = rank_matches(index, seen, matches(index, seen), run.snapshot)
                index.accepting = available
                pages = [ordered.order(0, PAGE_SIZE)]
                if second_page:
                    pages.append(ordered.order(PAGE_SIZE, 2 * PAGE_SIZE))
                candidate_tiers, candidate_points = ordered.tier(), ordered.score
            else:
                ordered = _plain_ranking(rows, points, tier_of)
                if name == "a":
                    chosen = np.lexsort((index.listing_ids[rows], -points))
                else:
                    noise = (index.tie_base[rows] ^ np.uint64(shuffle)) * np.uint64(
                        0x9E3779B97F4A7C15
                    )
                    chosen = np.lexsort((noise, -tier_of))
                pages = [chosen[:PAGE_SIZE]]
                if second_page:
                    pages.append(chosen[PAGE_SIZE : 2 * PAGE_SIZE])
                candidate_tiers, candidate_points = tier_of, points
            weights: list[np.ndarray] = []
            for local in pages:
                if local.size:
                    page = ranking.served(ordered, local)
                    run.total.add(page)
                    weights.append(page.weights)
            local_all = np.concatenate(pages)
            shown = ordered.rows[local_all]
            if not shown.size:
                run.empty_pages += 1
            page_weights = np.concatenate(weights) if weights else np.empty(0)
            run.shown[key].append((shown, page_weights))
            shown_tiers = candidate_tiers[local_all]
            for target, grades, candidates, exponential in (
                (run.ndcg_tier, shown_tiers, candidate_tiers, True),
                (run.ndcg_points, candidate_points[local_all], candidate_points, False),
                (run.ndcg_tier_incl_full, shown_tiers, tier_of, True),
            ):
                score = ndcg(grades, candidates, exponential=exponential)
                if score is not None:
                    target.append(score)
            # The SME reads down the page(s) and sends at most one inquiry.
            for k in range(shown.size):
                examined = look[k] < page_weights[k]
                chance = INQUIRY_RATE * TIER_DISCOUNT ** (best_tier - int(shown_tiers[k]))
                if examined and ask[k] < chance:
                    pos = int(shown[k])
                    run.inquiries[pos] += 1
                    run.asked[key].append(pos)
                    run.open[pos] += 1
                    if run.open[pos] > capacity[pos]:
                        run.ever_over[pos] = True
                    heapq.heappush(run.ends, (now + duration, pos))
                    if inquiry_cap is not None:
                        run.recent[pos] += 1
                        heapq.heappush(run.recent_ends, (now + inquiry_cap[1], pos))
                    break
    index.accepting = available
    return {"runs": runs, "queries": queries}


def weighted_gini(amounts: np.ndarray, weights: np.ndarray) -> float:
    """Gini of `amounts` over units of `weights`: 0 when every specialist's amount
    is the same multiple of its weight (exposure proportional to fair share)."""
    keep = weights > 0
    amounts, weights = amounts[keep].astype(np.float64), weights[keep].astype(np.float64)
    if amounts.size < 2 or amounts.sum() <= 0:
        return 0.0
    order = np.argsort(amounts / weights, kind="stable")
    people = np.concatenate([[0.0], np.cumsum(weights[order]) / weights.sum()])
    share = np.concatenate([[0.0], np.cumsum(amounts[order]) / amounts.sum()])
    return float(1 - np.sum((people[1:] - people[:-1]) * (share[1:] + share[:-1])))


def share_of(values: np.ndarray, members: np.ndarray) -> float:
    """The share of the total of `values` held by `members` (0 without a total)."""
    total = float(np.sum(values))
    return float(np.sum(np.asarray(values)[members])) / total if total > 0 else 0.0


def top_share(values: np.ndarray, count: int) -> float:
    """The share of the total held by the `count` largest values (0 without a total)."""
    return share_of(values, np.argsort(-np.asarray(values), kind="stable")[:count])


def chance_inquiry_gini(deserved: np.ndarray, inquiries: int, seed: int) -> float:
    """The inquiry Gini in tier that `inquiries` would have if each one went to a
    specialist drawn in proportion to the fair share (multinomial): what pure
    chance leaves when inquiries are exactly as fair as exposure. It depends on
    how concentrated the fair shares are, so each ordering has its own."""
    total = float(deserved.sum())
    if inquiries <= 0 or total <= 0:
        return 0.0
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(inquiries, deserved / total, size=CHANCE_DRAWS)
    return float(np.mean([weighted_gini(draw, deserved) for draw in draws]))


def _group_metrics(
    population: Population, runs: dict[str, Run], queries: dict[str, SearchQuery]
) -> dict[str, dict[str, float]]:
    """Per-search tiers: the mean Gini within (search, tier) groups, weighted by
    members, over groups whose members received MIN_GROUP_EXPOSURE on average under (a)."""
    index = population.index
    n = index.size
    totals: dict[str, dict[str, float]] = {
        name: {"exposure": 0.0, "inquiries": 0.0, "weight": 0.0, "groups": 0} for name in runs
    }
    index.accepting = population.available
    for key, query in queries.items():
        rows = np.flatnonzero(matches(index, query))
        if not rows.size:
            continue
        tier_of = ranking.tiers(ranking.points(index, query, rows))
        received = {}
        asked = {}
        for name, run in runs.items():
            entries = run.shown.get(key, [])
            positions = np.concatenate([e[0] for e in entries]) if entries else np.empty(0, int)
            amounts = np.concatenate([e[1] for e in entries]) if entries else np.empty(0)
            received[name] = np.bincount(positions, weights=amounts, minlength=n)
            asked[name] = np.bincount(np.array(run.asked.get(key, []), dtype=np.int64), minlength=n)
        for tier in np.unique(tier_of):
            members = rows[tier_of == tier]
            if members.size < 2 or received["a"][members].mean() < MIN_GROUP_EXPOSURE:
                continue
            for name in runs:
                entry = totals[name]
                entry["exposure"] += members.size * gini(received[name][members])
                entry["inquiries"] += members.size * gini(asked[name][members])
                entry["weight"] += members.size
                entry["groups"] += 1
    return {
        name: {
            "exposure_gini": entry["exposure"] / entry["weight"] if entry["weight"] else 0.0,
            "inquiry_gini": entry["inquiries"] / entry["weight"] if entry["weight"] else 0.0,
            "groups": int(entry["groups"]),
            "members": int(entry["weight"]),
        }
        for name, entry in totals.items()
    }


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def run_matching_bench(
    *, registrants: int = REGISTRANTS, searches: int = SEARCHES, seed: int = 1,
    unlimited_capacity: bool = False, inquiry_cap: tuple[int, float] | None = None,
    progress: bool = True, echo: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """Build the population, simulate, and return the report (JSON-ready)."""
    started = time.perf_counter()
    if echo:
        echo(f"generating {registrants:,} registrants ...")
    population = build_population(registrants, seed, unlimited_capacity=unlimited_capacity)
    built = time.perf_counter()
    if echo:
        echo(
            f"{population.listed:,} listed, {population.index.size:,} visible; "
            f"simulating {searches:,} searches x 3 orderings"
        )
    simulated = simulate(
        population, searches=searches, seed=seed, progress=progress, inquiry_cap=inquiry_cap
    )
    runs: dict[str, Run] = simulated["runs"]
    groups = _group_metrics(population, runs, simulated["queries"])
    n = population.index.size
    top = max(1, math.ceil(n / 100))
    results: dict[str, Any] = {}
    for name, run in runs.items():
        total = int(run.inquiries.sum())
        # The top 1% by fair share: what inquiries exactly in proportion to the
        # fair share would give them is the floor of the top-1% share for any
        # ordering that is fair in the sense of the inquiry Gini.
        by_fair = np.argsort(-run.total.deserved, kind="stable")[:top]
        results[name] = {
            "label": POLICIES[name],
            "ndcg_at_10": _mean(run.ndcg_tier),
            "ndcg_at_10_points": _mean(run.ndcg_points),
            "ndcg_at_10_incl_full": _mean(run.ndcg_tier_incl_full),
            "exposure_gini_within_tier": round(
                weighted_gini(run.total.exposure, run.total.deserved), 4
            ),
            "inquiry_gini_within_tier": round(weighted_gini(run.inquiries, run.total.deserved), 4),
            "inquiry_gini_within_tier_chance": round(
                chance_inquiry_gini(run.total.deserved, total, seed), 4
            ),
            "exposure_gini_per_search_tier": round(groups[name]["exposure_gini"], 4),
            "inquiry_gini_per_search_tier": round(groups[name]["inquiry_gini"], 4),
            "gini_groups": groups[name]["groups"],
            "gini_members": groups[name]["members"],
            "top_1pct_inquiry_share": round(top_share(run.inquiries, top), 4),
            "top_1pct_by_fair_share_fair_share": round(share_of(run.total.deserved, by_fair), 4),
            "top_1pct_by_fair_share_inquiry_share": round(share_of(run.inquiries, by_fair), 4),
            "over_capacity": int(run.ever_over.sum()),
            "inquiries": total,
            "specialists_with_inquiry": int(np.count_nonzero(run.inquiries)),
            "empty_pages": run.empty_pages,
            "exposure_gini_all": round(gini(run.total.exposure), 4),
        }
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "population": {
            "registrants": registrants,
            "listed": population.listed,
            "visible": n,
            "kanto_share_of_registrants": round(population.kanto_share, 3),
            "available": int(population.available.sum()),
            "capacity_total": None if unlimited_capacity else int(population.capacity.sum()),
            "unlimited_capacity": unlimited_capacity,
        },
        "model": {
            "searches": searches,
            "days": DAYS,
            "page_size": PAGE_SIZE,
            "second_page_share": SECOND_PAGE_SHARE,
            "inquiry_rate": INQUIRY_RATE,
            "tier_discount": TIER_DISCOUNT,
            "capacity_weights": CAPACITY_WEIGHTS,
            "theme_demand": THEME_DEMAND,
            "location_shares": LOCATION_SHARES,
            "min_group_exposure": MIN_GROUP_EXPOSURE,
            "bucket_seconds": exposure.BUCKET_SECONDS,
            "standing_step": ranking.STANDING_STEP,
            "inquiry_gain": fairness.INQUIRY_GAIN,
            "inquiry_cap": None
            if inquiry_cap is None
            else {"inquiries": inquiry_cap[0], "days": inquiry_cap[1]},
            "distinct_searches": len(simulated["queries"]),
        },
        "results": results,
        "targets": targets_for(results),
        "timings_s": {
            "population": round(built - started, 1),
            "simulation": round(time.perf_counter() - built, 1),
        },
        "machine": scratchdb.machine(),
    }


def _target(value: float, op: str, target: float, text: str) -> dict[str, Any]:
    passed = {"<=": value <= target, ">=": value >= target, "==": value == target}[op]
    return {"target": target, "op": op, "value": value, "pass": bool(passed), "text": text}


def targets_for(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What (c) must reach, each with its verdict."""
    a, b, c = results["a"], results["b"], results["c"]
    ratio = (c["ndcg_at_10"] or 0) / a["ndcg_at_10"] if a["ndcg_at_10"] else 0.0
    return {
        "ndcg_ratio_c_over_a": _target(
            round(ratio, 4), ">=", TARGET_NDCG_RATIO, "NDCG@10 (by tier) of (c) / (a)"
        ),
        "ndcg_at_10_points_c": _target(
            c["ndcg_at_10_points"] or 0.0, ">=", TARGET_NDCG_POINTS, "NDCG@10 graded by points"
        ),
        "exposure_gini_within_tier_c": _target(
            c["exposure_gini_within_tier"], "<=", TARGET_EXPOSURE_GINI, "exposure Gini in tier"
        ),
        "inquiry_gini_within_tier_c_vs_b": _target(
            c["inquiry_gini_within_tier"],
            "<=",
            b["inquiry_gini_within_tier"],
            "inquiry Gini in tier, at most (b)'s",
        ),
        "top_1pct_inquiry_share_c": _target(
            c["top_1pct_inquiry_share"], "<=", TARGET_TOP_1PCT_SHARE, "top 1% share of inquiries"
        ),
        "over_capacity_c": _target(c["over_capacity"], "==", 0, "specialists over capacity"),
    }


_COLUMNS = (
    # (heading, key, format)
    ("NDCG@10", "ndcg_at_10", "{:.4f}"),
    ("NDCG@10 points", "ndcg_at_10_points", "{:.4f}"),
    ("NDCG@10 incl. full", "ndcg_at_10_incl_full", "{:.4f}"),
    ("exposure Gini in tier", "exposure_gini_within_tier", "{:.4f}"),
    ("exposure Gini per search tier", "exposure_gini_per_search_tier", "{:.4f}"),
    ("inquiry Gini in tier", "inquiry_gini_within_tier", "{:.4f}"),
    ("  by chance at fair shares", "inquiry_gini_within_tier_chance", "{:.4f}"),
    ("inquiry Gini per search tier", "inquiry_gini_per_search_tier", "{:.4f}"),
    ("top 1% share of inquiries", "top_1pct_inquiry_share", "{:.1%}"),
    ("top 1% by fair share: fair share", "top_1pct_by_fair_share_fair_share", "{:.1%}"),
    ("  and their share of inquiries", "top_1pct_by_fair_share_inquiry_share", "{:.1%}"),
    ("specialists with an inquiry", "specialists_with_inquiry", "{:,}"),
    ("over capacity", "over_capacity", "{:,}"),
    ("inquiries", "inquiries", "{:,}"),
)


def _cell(result: dict[str, Any], key: str, fmt: str) -> str:
    value = result[key]
    return "–" if value is None else fmt.format(value)


def format_report(report: dict[str, Any]) -> str:
    """The figures as a text table: one row per measure, one column per ordering."""
    pop = report["population"]
    model = report["model"]
    results = report["results"]
    lines = [
        f"Matching benchmark, {report['date']}: {pop['registrants']:,} registrants, "
        f"{pop['listed']:,} listed ({pop['visible']:,} visible), {model['searches']:,} searches "
        f"({model['distinct_searches']:,} distinct) over {model['days']} days, seed {report['seed']}"
        + (", unlimited capacity" if pop.get("unlimited_capacity") else "")
        + (
            f", (c) capped at {cap['inquiries']} inquiries per {cap['days']:g} days"
            if (cap := model.get("inquiry_cap"))
            else ""
        ),
        "",
        f"{'':<32}" + "".join(f"{r['label'][:3]:>12}" for r in results.values()),
    ]
    for heading, key, fmt in _COLUMNS:
        lines.append(
            f"{heading:<32}" + "".join(f"{_cell(r, key, fmt):>12}" for r in results.values())
        )
    lines.append("")
    lines.extend(f"{code} = {r['label']}" for code, r in results.items())
    lines.append("")
    lines.append("targets for (c):")
    for target in report["targets"].values():
        verdict = "PASS" if target["pass"] else "FAIL"
        op = {"<=": "≤", ">=": "≥", "==": "="}[target["op"]]
        lines.append(
            f"  {target['text']:<36} {_number(target['value']):>8} {op} "
            f"{_number(target['target']):<8} {verdict}"
        )
    return "\n".join(lines)


def _number(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:.4f}"


def format_markdown(report: dict[str, Any]) -> str:
    """The same table for docs/benchmarks.md."""
    results = report["results"]
    lines = [
        "| measure | " + " | ".join(r["label"] for r in results.values()) + " |",
        "|---" + "|---:" * len(results) + "|",
    ]
    for heading, key, fmt in _COLUMNS:
        cells = " | ".join(_cell(r, key, fmt) for r in results.values())
        lines.append(f"| {heading} | {cells} |")
    return "\n".join(lines)


def write_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "matching.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    markdown = out_dir / "matching.md"
    markdown.write_text(format_markdown(report) + "\n", encoding="utf-8")
    return path, markdown

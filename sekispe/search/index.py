"""An in-memory, column-oriented index of the visible Active List.

Why in memory: a search must answer filters, a total count, per-value facet
counts and a fair ordering over up to 50,000 listings in a few milliseconds.
Row-wise SQL over six many-to-many tables cannot do that on SQLite, and the
numbers would differ between SQLite and PostgreSQL. Each multi-valued item is
held as a bitmask per listing in a numpy array, so "OR within a facet" is
`(mask & wanted) != 0` over the whole column, and "AND across facets" is the
`&` of those boolean vectors.

The database stays the single source of truth. An index is stale when the
`SearchGeneration` token moves (any write to listings or the registry) or the
date changes (availability dates and course status depend on today). A stale
index keeps serving while one background thread builds its successor, so a
write never stalls searchers; only a process with no index at all builds in
the foreground. `SEARCH_INDEX_BACKGROUND_REFRESH = False` (tests) makes every
refresh synchronous, so a write is visible to the very next search.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from django.utils import timezone

from sekispe.lib.text import normalize_many
from sekispe.reference import data
from sekispe.reference import services as ref
from sekispe.registry.services import course_status, extensions_by_record

logger = logging.getLogger(__name__)

# Bit position of each code within its facet's mask.
PREF_BIT = {code: i for i, code in enumerate(ref.PREFECTURE_CODES)}
THEME_BIT = {code: i for i, code in enumerate(ref.THEME_CODES)}
SYLLABUS_BIT = {code: i for i, code in enumerate(ref.SYLLABUS_CODES)}
INDUSTRY_BIT = {code: i for i, code in enumerate(ref.INDUSTRY_CODES)}
PERIOD_BIT = {code: i for i, code in enumerate(ref.PERIOD_CODES)}
QUAL_BIT = {code: i for i, code in enumerate(ref.QUALIFICATION_CODES)}
FORM_COL = {code: i for i, code in enumerate(ref.FORM_CODES)}
AFFILIATION_NUM = {code: i for i, code in enumerate(ref.AFFILIATION_CODES)}
QUAL_NAMES = {code: name for code, name, _ in data.QUALIFICATIONS}

# Fee stored for a form that is not offered: larger than any real cap.
NOT_OFFERED = np.iinfo(np.int64).max
TERM_CACHE_SIZE = 256
# The sort key keeps a row's position in 18 bits (ranking.py): 5x the 2030 target.
MAX_ROWS = 1 << 18
FACET_CACHE_SIZE = 1024


def mask_of(codes: Any, bits: dict[Any, int]) -> int:
    value = 0
    for code in codes:
        value |= 1 << bits[code]
    return value


def codes_of(mask: int, order: tuple[Any, ...]) -> list[Any]:
    return [code for i, code in enumerate(order) if mask >> i & 1]


@dataclass
class SpecialistIndex:
    generation: int
    today: dt.date
    size: int
    listing_ids: np.ndarray  # int64
    tie_base: np.ndarray  # uint64, splitmix64(listing id): the raw material of tie-breaks
    prefectures: np.ndarray  # uint64 mask
    themes: np.ndarray  # uint64 mask
    syllabus: np.ndarray  # uint64 mask
    industries: np.ndarray  # uint64 mask
    periods: np.ndarray  # uint64 mask
    qualifications: np.ndarray  # uint64 mask
    fees: np.ndarray  # int64 [size, forms]; NOT_OFFERED where absent
    first_free: np.ndarray  # bool
    affiliation: np.ndarray  # uint8
    accepting: np.ndarray  # bool: available, and below capacity (see accepting_rule)
    # Row-wise Python values, used to serialise one page of results.
    rows: list[dict[str, Any]]
    search_texts: list[str]
    position_by_number: dict[str, int]
    # Bloom-style bigram signatures, SIGNATURE_WORDS x size: which hashed
    # character pairs each row's text contains (see text_candidates).
    text_signatures: np.ndarray
    # Days since the specialist last updated or confirmed the listing (freshness tier points).
    age_days: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    capacity: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    # Available by their own setting but full: open engagements >= capacity.
    at_capacity: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    # raw text -> normalised text, handed on to the next build (see _normalize_all).
    normalized: dict[str, str] = field(default_factory=dict, repr=False)
    # Per-term match vectors; the index is immutable, so they never go stale.
    term_cache: OrderedDict[str, np.ndarray] = field(default_factory=OrderedDict, repr=False)
    facet_cache: dict[tuple[str, int], np.ndarray] = field(default_factory=dict, repr=False)
    # Relevance points over every row, per points-relevant part of a query
    # (ranking.points): the same few theme and location choices recur all day.
    points_cache: OrderedDict[tuple[Any, ...], np.ndarray] = field(
        default_factory=OrderedDict, repr=False
    )
    serialized: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)
    serialized_json: dict[int, str] = field(default_factory=dict, repr=False)
    # Random per build: with `row_versions`, a key for anything derived from one
    # row (its rendered HTML) that changes exactly when the row does.
    token: int = field(default_factory=lambda: secrets.randbits(62))
    row_versions: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def row_key(self, pos: int) -> tuple[int, int]:
        """Changes whenever the row at `pos` changes (a delta bumps its version)."""
        versions = self.row_versions
        return (self.token, int(versions[pos]) if pos < versions.size else 0)

    def verify_term(self, term: str, rows: np.ndarray) -> np.ndarray:
        return verify_term(self.text_signatures, self.search_texts, term, rows)

    def term_mask(self, term: str) -> np.ndarray:
        """Rows whose search text contains `term`; cached, since people search
        the same few words (ランサム, クラウド) over and over."""
        cached = self.term_cache.get(term)
        if cached is not None:
            self.term_cache.move_to_end(term)
            return cached
        mask = self.verify_term(term, np.ones(self.size, dtype=bool))
        self.term_cache[term] = mask
        if len(self.term_cache) > TERM_CACHE_SIZE:
            self.term_cache.popitem(last=False)
        return mask


def splitmix64(values: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


_SIGNATURE_LOG2 = 10
SIGNATURE_BITS = 1 << _SIGNATURE_LOG2  # ~400 distinct bigrams per profile fill about a third
SIGNATURE_WORDS = SIGNATURE_BITS // 64


def bigram_bits(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Hash character pairs (code points) to a bit number below SIGNATURE_BITS."""
    with np.errstate(over="ignore"):
        mixed = first.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) ^ second.astype(
            np.uint64
        ) * np.uint64(0xC2B2AE3D27D4EB4F)
        mixed *= np.uint64(0x165667B19E3779F9)
    return mixed >> np.uint64(64 - _SIGNATURE_LOG2)


def text_signatures(texts: list[str]) -> np.ndarray:
    """One SIGNATURE_BITS-bit set per text of the character bigrams in it,
    word-major (SIGNATURE_WORDS x len(texts)) so a query reads contiguous rows.

    Why: scanning 50,000 profiles for a never-seen term costs ~50 ms; testing
    a handful of signature bits first leaves only the rows worth scanning.
    """
    signatures = np.zeros((SIGNATURE_WORDS, len(texts)), dtype=np.uint64)
    # Chunks keep the temporaries (several arrays per character) small.
    for start in range(0, len(texts), 4096):
        chunk = texts[start : start + 4096]
        signatures[:, start : start + len(chunk)] = _chunk_signatures(chunk)
    return signatures


def _chunk_signatures(texts: list[str]) -> np.ndarray:
    size = len(texts)
    flat = np.zeros(size * SIGNATURE_WORDS, dtype=np.uint64)
    codes = np.frombuffer("\x00".join(texts).encode("utf-32-le"), dtype=np.uint32)
    if codes.size > 1:
        lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=size)
        row_of = np.repeat(np.arange(size, dtype=np.int64), lengths)[: codes.size - 1]
        first, second = codes[:-1], codes[1:]
        inside = (first != 0) & (second != 0)  # no pair across two rows
        bits = bigram_bits(first[inside], second[inside])
        slots = row_of[inside] * SIGNATURE_WORDS + (bits >> np.uint64(6)).astype(np.int64)
        np.bitwise_or.at(flat, slots, np.uint64(1) << (bits & np.uint64(63)))
    return flat.reshape(size, SIGNATURE_WORDS).T


def _signatures_reusing(texts: list[str], previous: SpecialistIndex | None) -> np.ndarray:
    """Signatures for `texts`, copied from the previous build where a text is unchanged."""
    if previous is None or not previous.size:
        return text_signatures(texts)
    # The texts are the very objects of the previous build (see _normalize_all),
    # so their hashes are cached and this dict is cheap.
    previous_position = {text: i for i, text in enumerate(previous.search_texts)}
    source = np.fromiter(
        (previous_position.get(text, -1) for text in texts), dtype=np.int64, count=len(texts)
    )
    signatures = np.empty((SIGNATURE_WORDS, len(texts)), dtype=np.uint64)
    reused = source >= 0
    signatures[:, reused] = previous.text_signatures[:, source[reused]]
    missing = np.flatnonzero(~reused)
    if missing.size:
        signatures[:, missing] = text_signatures([texts[i] for i in missing])
    return signatures


def text_candidates(signatures: np.ndarray, term: str) -> np.ndarray:
    """Rows that may contain `term`: every bigram of the term is in the row's
    signature. No false negatives; `verify_term` removes the false positives."""
    candidates = np.ones(signatures.shape[1], dtype=bool)
    if len(term) < 2:
        return candidates
    codes = np.frombuffer(term.encode("utf-32-le"), dtype=np.uint32)
    words: dict[int, int] = defaultdict(int)
    for bit in bigram_bits(codes[:-1], codes[1:]).tolist():
        words[bit >> 6] |= 1 << (bit & 63)
    for word, bits in words.items():
        wanted = np.uint64(bits)
        candidates &= (signatures[word] & wanted) == wanted
    return candidates


def verify_term(
    signatures: np.ndarray, texts: list[str], term: str, rows: np.ndarray
) -> np.ndarray:
    """`rows` (a boolean vector) narrowed to the texts that really contain `term`."""
    positions = np.flatnonzero(rows & text_candidates(signatures, term))
    keep = np.fromiter((term in texts[i] for i in positions), dtype=bool, count=positions.size)
    result = np.zeros(len(texts), dtype=bool)
    result[positions[keep]] = True
    return result


_MASK64 = (1 << 64) - 1


def splitmix64_int(value: int) -> int:
    """splitmix64 of one Python int: the same mixing as `splitmix64`, without
    numpy's per-call overhead on a single value."""
    z = (value * 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def accepting_rule(
    available: np.ndarray, capacity: np.ndarray, open_engagements: np.ndarray
) -> np.ndarray:
    """Who takes new requests: available by their own setting and below capacity.

    The one rule for "accepting", used by the index and by `sekispe bench
    matching`, so the simulation hides exactly whom search hides.
    """
    return available & (open_engagements < capacity)


def open_engagements() -> dict[int, int]:
    """Listing id -> open engagements, from the inquiries app once it exists.

    Only a missing module means "no engagements yet"; any other import error
    is a bug and is raised.
    """
    try:
        from sekispe.inquiries import services as inquiries
    except ModuleNotFoundError as exc:
        if exc.name in ("sekispe.inquiries", "sekispe.inquiries.services"):
            return {}
        raise
    counter = getattr(inquiries, "open_engagements_by_listing", None)
    return dict(counter()) if counter is not None else {}


def current_generation() -> int:
    # Raw SQL: this runs on every search, and the ORM costs 20x the query here.
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM search_searchgeneration WHERE id = 1")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _pairs(sql: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def _normalize_all(raw: list[str], previous: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """Normalise every row's text, reusing the previous build's results, so
    after the first build only the texts that changed are normalised again."""
    missing = list({text for text in raw if text not in previous})
    table = {text: previous[text] for text in raw if text in previous}
    table.update(zip(missing, normalize_many(missing), strict=True))
    return [table[text] for text in raw], table


def build_index(
    today: dt.date, generation: int | None = None, previous: SpecialistIndex | None = None
) -> SpecialistIndex:
    """Load every visible listing from the database into column arrays.

    One query per table, never one per row.
    """
    from sekispe.listings.models import Listing, effective_accepting

    if generation is None:
        generation = current_generation()

    listing_rows = list(
        Listing.objects.visible(today)
        .order_by("id")
        .values_list(
            "id",
            "record_id",
            "record__registration_number",
            "record__name",
            "record__name_kana",
            "record__registered_on",
            "record__expires_on",
            "record__renewal_count",
            "first_free",
            "affiliation",
            "company_name",
            "availability",
            "availability_until",
            "other_qualifications",
            "profile",
            "track_record",
            "updated_at",
            "capacity",
        )
    )
    # Rows are stored in a per-day pseudo-random order: for a search that
    # ranks nothing, the order of its results is then just this order rotated
    # by a per-query offset, and a page needs no sort (see services._ordered_page).
    day = today.toordinal()
    listing_rows.sort(key=lambda row: splitmix64_int(row[0] * 1_000_003 + day))
    n = len(listing_rows)
    if n > MAX_ROWS:  # the sort key holds the row position in 18 bits (ranking.py)
        raise ValueError(f"{n} visible listings: the search index holds at most {MAX_ROWS}")
    position = {row[0]: i for i, row in enumerate(listing_rows)}
    record_position = {row[1]: i for i, row in enumerate(listing_rows)}

    def masks(table: str, column: str, bits: dict[Any, int], cast: Any = str) -> np.ndarray:
        values = [0] * n
        for listing_id, code in _pairs(f"SELECT listing_id, {column} FROM {table}"):  # noqa: S608
            pos = position.get(listing_id)
            if pos is not None:
                values[pos] |= 1 << bits[cast(code)]
        return np.array(values, dtype=np.uint64)

    through = {name: getattr(Listing, name).through._meta.db_table for name in _M2M_COLUMNS}
    prefectures = masks(through["prefectures"], "prefecture_id", PREF_BIT)
    themes = masks(through["themes"], "guidancetheme_id", THEME_BIT, int)
    syllabus = masks(through["syllabus_items"], "syllabusitem_id", SYLLABUS_BIT)
    industries = masks(through["industries"], "industry_id", INDUSTRY_BIT)
    periods = masks(through["periods"], "supportperiod_id", PERIOD_BIT)
    qualifications = masks(through["qualifications"], "qualification_id", QUAL_BIT)

    fees = np.full((n, len(FORM_COL)), NOT_OFFERED, dtype=np.int64)
    for listing_id, form, fee in _pairs(
        "SELECT listing_id, form, fee_yen FROM listings_serviceoffer"
    ):
        pos = position.get(listing_id)
        if pos is not None:
            fees[pos, FORM_COL[form]] = fee

    from sekispe.registry.models import CourseCompletion

    completions: dict[int, list[tuple[str, int, dt.date]]] = defaultdict(list)
    for record_id, kind, fy, completed_on in CourseCompletion.objects.values_list(
        "record_id", "kind", "fiscal_year", "completed_on"
    ).iterator(chunk_size=20000):
        if record_id in record_position:
            completions[record_id].append((kind, fy, completed_on))

    extensions = extensions_by_record()
    engagements = open_engagements()
    available = np.zeros(n, dtype=bool)
    age_days = np.zeros(n, dtype=np.int32)
    capacity = np.zeros(n, dtype=np.int32)
    open_now = np.zeros(n, dtype=np.int32)
    first_free = np.zeros(n, dtype=bool)
    affiliation = np.zeros(n, dtype=np.uint8)
    raw_texts: list[str] = []
    rows: list[dict[str, Any]] = []
    for i, row in enumerate(listing_rows):
        (listing_id, record_id, number, name, kana, registered_on, expires_on, renewals, free,
         affil, company, availability, until, other_quals, profile, track, updated_at,
         cap) = row  # fmt: skip
        available[i] = effective_accepting(availability, until, today)
        age_days[i] = (today - timezone.localtime(updated_at).date()).days
        capacity[i] = cap
        open_now[i] = engagements.get(listing_id, 0)
        first_free[i] = free
        affiliation[i] = AFFILIATION_NUM[affil]
        quals = " ".join(
            QUAL_NAMES[c] for c in codes_of(int(qualifications[i]), ref.QUALIFICATION_CODES)
        )
        raw_texts.append(" ".join((name, kana, profile, track, quals, other_quals)))
        status = course_status(
            expires_on, completions.get(record_id, ()), today, extensions.get(record_id)
        )
        rows.append(
            {
                "registration_number": number,
                "name": name,
                "name_kana": kana,
                "company_name": company,
                "other_qualifications": other_quals,
                "updated_at": updated_at,
                "verified": {
                    "registration_number": number,
                    "registered_on": registered_on,
                    "expires_on": expires_on,
                    "renewal_count": renewals,
                    "courses_up_to_date": status.up_to_date,
                },
            }
        )
    listing_ids = np.array([r[0] for r in listing_rows], dtype=np.int64)
    accepting = accepting_rule(available, capacity, open_now)
    texts, normalized = _normalize_all(raw_texts, previous.normalized if previous else {})

    return SpecialistIndex(
        generation=generation,
        today=today,
        size=n,
        listing_ids=listing_ids,
        tie_base=splitmix64(listing_ids),
        prefectures=prefectures,
        themes=themes,
        syllabus=syllabus,
        industries=industries,
        periods=periods,
        qualifications=qualifications,
        fees=fees,
        first_free=first_free,
        affiliation=affiliation,
        accepting=accepting,
        rows=rows,
        search_texts=texts,
        position_by_number={r["registration_number"]: i for i, r in enumerate(rows)},
        normalized=normalized,
        text_signatures=_signatures_reusing(texts, previous),
        age_days=age_days,
        capacity=capacity,
        at_capacity=available & ~accepting,
    )


_M2M_COLUMNS = (
    "prefectures",
    "themes",
    "syllabus_items",
    "industries",
    "periods",
    "qualifications",
)

_lock = threading.Lock()
_build_lock = threading.Lock()
_current: SpecialistIndex | None = None
_refreshing = False

# A failed build is retried after 1 s, 2, 4, … at most 5 minutes, not on every
# request: a database that cannot serve the build must not also get one
# attempt per search. Each step is logged once, and readiness reports it.
BUILD_RETRY_FIRST_SECONDS = 1.0
BUILD_RETRY_CAP_SECONDS = 300.0


class IndexUnavailable(RuntimeError):
    """No index yet, and the last build failed; retried after a back-off."""


@dataclass
class BuildHealth:
    built_at: dt.datetime | None = None
    build_seconds: float = 0.0
    failures: int = 0
    last_error: str = ""
    retry_at: float = 0.0  # time.monotonic() before which no build starts

    def backing_off(self) -> bool:
        return time.monotonic() < self.retry_at


_health = BuildHealth()


def _build(today: dt.date, generation: int) -> SpecialistIndex:
    """Build, and record the outcome for the back-off and for readiness."""
    global _current
    started = time.perf_counter()
    try:
        index = build_index(today, generation, previous=_current)
    except Exception as exc:
        _health.failures += 1
        delay = min(
            BUILD_RETRY_FIRST_SECONDS * 2 ** (_health.failures - 1), BUILD_RETRY_CAP_SECONDS
        )
        _health.retry_at = time.monotonic() + delay
        _health.last_error = f"{type(exc).__name__}: {exc}"[:500]
        logger.exception(
            "search index build failed (%d in a row); next try in %.0f s",
            _health.failures,
            delay,
        )
        raise
    with _lock:
        _current = index
    _health.built_at = timezone.now()
    _health.build_seconds = time.perf_counter() - started
    _health.failures, _health.last_error, _health.retry_at = 0, "", 0.0
    return index


def _is_current(index: SpecialistIndex | None, generation: int, today: dt.date) -> bool:
    return index is not None and index.generation == generation and index.today == today


def get_index(today: dt.date) -> SpecialistIndex:
    """The index to answer a search with. Costs one single-row query when fresh.

    A stale index keeps answering while a build is due or backing off; only a
    process with no index at all waits for (or, backing off, is refused) a build.
    """
    generation = current_generation()
    index = _current
    if _is_current(index, generation, today):
        return index  # type: ignore[return-value]
    if index is not None and (
        getattr(settings, "SEARCH_INDEX_BACKGROUND_REFRESH", True) or _health.backing_off()
    ):
        _start_background_refresh(today)
        return index
    # One foreground build at a time: the other first requests wait for it.
    with _build_lock:
        index = _current
        if _is_current(index, generation, today):
            return index  # type: ignore[return-value]
        if _health.backing_off():
            raise IndexUnavailable(_health.last_error)
        return _build(today, generation)


def _start_background_refresh(today: dt.date) -> None:
    global _refreshing
    with _lock:
        if _refreshing or _health.backing_off():
            return
        _refreshing = True
    threading.Thread(target=_refresh, args=(today,), name="search-index", daemon=True).start()


def _refresh(today: dt.date) -> None:
    """Build until the index matches the database; writes during a build loop once more."""
    global _refreshing
    try:
        while True:
            generation = current_generation()
            if _is_current(_current, generation, today):
                return
            index = _build(today, generation)
            logger.info(
                "search index rebuilt: %d listings in %.2fs", index.size, _health.build_seconds
            )
    except Exception:  # logged by _build; the old index keeps serving
        return
    finally:
        connection.close()  # this thread's own; closed before anyone waits on us
        with _lock:
            _refreshing = False


@dataclass(frozen=True)
class IndexStatus:
    """This process's index, as readiness reports it."""

    built: bool
    generation: int | None
    size: int
    built_at: dt.datetime | None
    build_seconds: float
    failures: int
    last_error: str
    retry_in_seconds: float


def index_status() -> IndexStatus:
    index = _current
    return IndexStatus(
        built=index is not None,
        generation=index.generation if index is not None else None,
        size=index.size if index is not None else 0,
        built_at=_health.built_at,
        build_seconds=round(_health.build_seconds, 3),
        failures=_health.failures,
        last_error=_health.last_error,
        retry_in_seconds=round(max(0.0, _health.retry_at - time.monotonic()), 1),
    )


def reset_index() -> None:
    """Forget the index and the per-process exposure state (tests start from nothing)."""
    global _current, _health
    from sekispe.search import exposure

    with _lock:
        _current = None
        _health = BuildHealth()
    exposure.reset()


def wait_for_refresh(timeout: float = 30.0) -> None:
    """Block until no background build is running (tests and the benchmark)."""
    deadline = time.monotonic() + timeout
    while _refreshing and time.monotonic() < deadline:
        time.sleep(0.01)

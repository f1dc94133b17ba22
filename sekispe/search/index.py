"""The search index of the visible Active List: columns, a shared snapshot, deltas.

Why in memory: a search must answer filters, a total count, per-value facet
counts and a fair ordering over up to 1,000,000 listings in a few milliseconds.
Row-wise SQL over six many-to-many tables cannot do that on SQLite, and the
numbers would differ between SQLite and PostgreSQL. Each multi-valued item is
held as a bitmask per listing in a numpy array, so "OR within a facet" is
`(mask & wanted) != 0` over the whole column, and "AND across facets" is the
`&` of those boolean vectors.

How it stays current at little cost (docs/search.md):
- One build, shared. A full build writes the columns into a snapshot file
  (snapshot.py) for the day; every process maps that file copy-on-write, so
  the operating system shares its pages. The worker builds it just after
  midnight; otherwise the first process to need it builds it, under a file
  lock, while the others wait for it (in the background once they serve).
- Deltas, not rebuilds. Every write logs the listings it changed in the
  change log (core.changes). Each process polls the log (SEARCH_POLL_SECONDS)
  and rewrites only those listings' rows in its mapping, which makes private
  copies of just the pages touched. New listings take spare rows the build
  left at the end; hidden ones are marked not `live`. A change naming no
  listing (an import) or too many makes one process build a new snapshot.
- Nothing per request: a search reads the index this process holds; the
  poller thread (or, with SEARCH_INDEX_BACKGROUND_REFRESH = False in tests, the
  search itself) applies the log. While it applies a delta, searches wait
  for it (at most DELTA_FIRST_SECONDS), or a busy process would starve it.

The database stays the single source of truth: the detail page and the
contact reveal check visibility there on every call.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import itertools
import json
import logging
import multiprocessing
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from django.utils import timezone

from sekispe.core.changes import latest_change
from sekispe.core.models import SearchChange
from sekispe.lib.text import normalize_many
from sekispe.listings.models import Listing, effective_accepting
from sekispe.reference import data
from sekispe.reference import services as ref
from sekispe.registry.models import CourseCompletion
from sekispe.registry.services import course_status, extensions_by_record
from sekispe.search import snapshot as snap

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
# Rows a build leaves free for listings that appear before the next build.
SPARE_ROWS_MIN = 1024
SPARE_ROWS_SHARE = 0.02
# A change naming more listings than this rebuilds rather than applies deltas.
DELTA_LIMIT = 5000
# Bytes of each per-query cache (term, facet and points vectors) per index:
# whole-index vectors are 1 to 3 bytes per row, so what fits adapts to the size
# (at 50,000 rows several hundred vectors, at 1,000,000 a few dozen).
CACHE_BYTES_MIN = 16 << 20
CACHE_BYTES_PER_ROW = 48


def cache_limit(rows: int) -> int:
    return max(CACHE_BYTES_MIN, CACHE_BYTES_PER_ROW * rows)


ROW_CACHE_SIZE = 4096
# Ranked pages (services.search): a page of a broad search keeps its tiers'
# members for the exposure ledger, up to 8 bytes a matched row.
PAGE_CACHE_BYTES = 16 << 20
TERMS_ASKED_KEPT = 1024
# Change-log rows committed late (a long transaction) are still found for this long.
LOOKBACK_SECONDS = 30.0
# How long a search waits for this process's poller thread to finish a delta.
# Why wait at all: CPython hands its interpreter lock to a waiting thread only
# after 5 ms without a switch, and each brief release a busy request thread
# makes (os.urandom for a request id, a database call) counts as one. So
# while searches arrive back to back the poller hardly runs: a delta of 25 ms
# of CPU took 1-3 s (`sekispe bench search`, "freshness while the web process
# searches without pause"). A search that waits releases the lock and the
# delta finishes in its own time; the cap bounds the wait on a slow database.
DELTA_FIRST_SECONDS = 0.1
# Kept for callers that sized arrays by it; the index no longer has a row limit.
MAX_ROWS = 1 << 31


def mask_of(codes: Any, bits: dict[Any, int]) -> int:
    value = 0
    for code in codes:
        value |= 1 << bits[code]
    return value


def codes_of(mask: int, order: tuple[Any, ...]) -> list[Any]:
    return [code for i, code in enumerate(order) if mask >> i & 1]


class TextColumn:
    """Each row's normalised search text, from one UTF-8 blob and row offsets.

    `overrides` holds rows rewritten by a delta; the blob stays shared.

    Why a mapped snapshot's text is read with os.pread, not through the
    mapping: the text is three quarters of the file (1,206 of 1,617 bytes per
    listing). A term scan reads a large share of it, and through the mapping
    every page read would stay resident in each process (counted in its
    PSS) for good. Read from the file, the pages stay in the page cache,
    shared by all processes and reclaimable, and the process keeps none.
    """

    # Candidates whose texts lie within this many bytes of each other are
    # read with one pread (reading the gap costs less than another call).
    READ_GAP = 16 << 10
    # At most this much is read at once (a bounded, short-lived buffer).
    READ_CHUNK = 4 << 20

    def __init__(
        self, blob: np.ndarray, offsets: np.ndarray, *, file: Any = None, file_offset: int = 0
    ) -> None:
        self.blob = blob
        self.offsets = offsets
        self.overrides: dict[int, str] = {}
        self.file = file  # the snapshot, open for reads; None: `blob` is in memory
        self.file_offset = file_offset
        # In memory (a build not yet written): the bytes the blob views, if any.
        base = blob.base if isinstance(blob, np.ndarray) else None
        self._memory: bytes | None = base if isinstance(base, bytes) else None

    def __len__(self) -> int:
        return self.offsets.size - 1

    def _bytes(self, start: int, end: int) -> bytes:
        if self.file is not None:
            data = os.pread(self.file.fileno(), end - start, self.file_offset + start)
            if len(data) != end - start:
                raise OSError(f"search snapshot: short read at {start}")
            return data
        if self._memory is not None and self.blob.size == len(self._memory):
            return self._memory[start:end]
        return self.blob[start:end].tobytes()

    def __getitem__(self, pos: int) -> str:
        text = self.overrides.get(pos)
        if text is not None:
            return text
        start, end = int(self.offsets[pos]), int(self.offsets[pos + 1])
        return self._bytes(start, end).decode()

    def containing(self, term: str, positions: np.ndarray) -> np.ndarray:
        """For each row of `positions` (ascending), whether its text contains `term`.

        Matching the UTF-8 bytes is matching the characters: UTF-8 is
        self-synchronising, so an encoded term found in encoded text always
        starts and ends on character boundaries.
        """
        found = np.zeros(positions.size, dtype=bool)
        if not positions.size:
            return found
        needle = term.encode()
        starts = self.offsets[positions]
        ends = self.offsets[positions + 1]
        # Runs of candidates read together: split where the gap is large.
        splits = np.flatnonzero(starts[1:] - ends[:-1] > self.READ_GAP) + 1
        bounds = [0, *splits.tolist(), positions.size]
        for run_lo, run_hi in itertools.pairwise(bounds):
            lo = run_lo
            while lo < run_hi:
                # As many candidates as fit in one read (at least one).
                limit = int(starts[lo]) + self.READ_CHUNK
                hi = lo + max(1, int(np.searchsorted(ends[lo:run_hi], limit, side="right")))
                first = int(starts[lo])
                data = self._bytes(first, int(ends[hi - 1]))
                find = data.find
                found[lo:hi] = [
                    find(needle, a, b) >= 0
                    for a, b in zip(
                        (starts[lo:hi] - first).tolist(),
                        (ends[lo:hi] - first).tolist(),
                        strict=True,
                    )
                ]
                lo = hi
        for pos, text in self.overrides.items():
            at = int(np.searchsorted(positions, pos))
            if at < positions.size and int(positions[at]) == pos:
                found[at] = term in text
        return found


class RowColumn:
    """What a result shows beyond the columns (names, dates), one JSON text per row."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        self.text = TextColumn(blob, offsets)
        self.overrides: dict[int, dict[str, Any] | None] = {}

    def __len__(self) -> int:
        return len(self.text)

    def __getitem__(self, pos: int) -> dict[str, Any] | None:
        if pos in self.overrides:
            return self.overrides[pos]
        raw = self.text[pos]
        return _row_from_json(raw) if raw else None


def _row_from_json(raw: str) -> dict[str, Any]:
    number, name, kana, company, other, updated, registered, expires, renewals, courses = (
        json.loads(raw)
    )
    return {
        "registration_number": number,
        "name": name,
        "name_kana": kana,
        "company_name": company,
        "other_qualifications": other,
        "updated_at": dt.datetime.fromisoformat(updated),
        "verified": {
            "registration_number": number,
            "registered_on": dt.date.fromisoformat(registered),
            "expires_on": dt.date.fromisoformat(expires),
            "renewal_count": renewals,
            "courses_up_to_date": courses,
        },
    }


class NumberLookup:
    """Registration number -> row, by binary search over the build's sorted numbers.

    A dict of 1,000,000 strings would cost ~100 MB per process; the sorted
    array lives in the shared mapping. Rows placed by deltas are in `extra`.
    """

    def __init__(self, keys: np.ndarray, positions: np.ndarray) -> None:
        self.keys = keys
        self.positions = positions
        self.extra: dict[str, int] = {}

    @classmethod
    def of(cls, numbers: list[str]) -> NumberLookup:
        width = max((len(n.encode()) for n in numbers), default=1)
        keys = np.array([n.encode() for n in numbers], dtype=f"S{max(width, 1)}")
        order = np.argsort(keys, kind="stable")
        return cls(keys[order], order.astype(np.int64))

    def get(self, number: str, default: int | None = None) -> int | None:
        found = self.extra.get(number)
        if found is not None:
            return found
        encoded = number.encode()
        if not self.keys.size or len(encoded) > self.keys.dtype.itemsize:
            return default
        i = int(np.searchsorted(self.keys, encoded))
        if i < self.keys.size and self.keys[i] == encoded:
            return int(self.positions[i])
        return default

    def __contains__(self, number: object) -> bool:
        return isinstance(number, str) and self.get(number) is not None

    def items(self) -> Iterable[tuple[str, int]]:
        for key, pos in zip(self.keys.tolist(), self.positions.tolist(), strict=True):
            if key.decode() not in self.extra:
                yield key.decode(), pos
        yield from self.extra.items()

    def __getitem__(self, number: str) -> int:
        found = self.get(number)
        if found is None:
            raise KeyError(number)
        return found


class CacheBudget:
    """An LRU of per-query vectors bounded by their total bytes, not their count."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.entries: OrderedDict[Any, Any] = OrderedDict()

    @staticmethod
    def _size(value: Any) -> int:
        if isinstance(value, np.ndarray):
            return value.nbytes
        if isinstance(value, tuple):
            return sum(v.nbytes for v in value if isinstance(v, np.ndarray))
        # Anything else that knows its weight (services' ranked pages).
        return int(getattr(value, "nbytes", 64))

    def get(self, key: Any) -> Any:
        value = self.entries.get(key)
        if value is not None:
            self.entries.move_to_end(key)
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self.used -= self._size(old)
        self.entries[key] = value
        self.used += self._size(value)
        while self.used > self.limit and len(self.entries) > 1:
            _, dropped = self.entries.popitem(last=False)
            self.used -= self._size(dropped)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def items(self) -> list[tuple[Any, Any]]:
        return list(self.entries.items())

    def discard(self, key: Any) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self.used -= self._size(old)

    def clear(self) -> None:
        self.entries.clear()
        self.used = 0


def _cache() -> CacheBudget:
    return CacheBudget(CACHE_BYTES_MIN)


def _row_cache() -> OrderedDict[int, Any]:
    return OrderedDict()


@dataclass
class SpecialistIndex:
    """The columns of every visible listing, one row each (plus spare rows not `live`)."""

    generation: int  # the newest change-log id applied
    today: dt.date
    size: int  # rows, spare ones included: every column's length
    listing_ids: np.ndarray  # int64; 0 for a spare row
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
    accepting: np.ndarray  # bool: live, available, and below capacity (see accepting_rule)
    # What a result shows beyond the columns: RowColumn, or a list in simulations.
    rows: Any
    search_texts: Any  # TextColumn, or a list of normalised texts
    position_by_number: Any  # NumberLookup, or a dict
    # Bloom-style bigram signatures, SIGNATURE_WORDS x size: which hashed
    # character pairs each row's text contains (see text_candidates).
    text_signatures: np.ndarray
    # Days since the specialist last updated or confirmed the listing (freshness tier points).
    age_days: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    capacity: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    # Available by their own setting but full: open engagements >= capacity.
    at_capacity: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    # Rows holding a visible listing; spare rows and rows hidden by a delta are not.
    live: np.ndarray | None = None
    # Where `listing_ids` is ascending (a build's rows); rows after it were placed by deltas.
    sorted_rows: int = -1
    # Listing id -> row, for rows placed by deltas (the build's rows are found by bisection).
    placed: dict[int, int] = field(default_factory=dict, repr=False)
    next_spare: int = -1
    # Random per build: with `row_versions`, a key for anything derived from one
    # row (its rendered HTML) that changes exactly when the row does.
    token: int = field(default_factory=lambda: secrets.randbits(62))
    row_versions: dict[int, int] = field(default_factory=dict, repr=False)
    path: str = ""  # the snapshot file mapped, if any
    # A fresh build's (metadata, columns), until written to a snapshot file.
    built: tuple[dict[str, Any], dict[str, np.ndarray]] | None = field(default=None, repr=False)
    mapping: Any = field(default=None, repr=False)
    # Per-query vectors over every row; deltas patch the rows they change.
    term_cache: CacheBudget = field(default_factory=_cache, repr=False)
    facet_cache: CacheBudget = field(default_factory=_cache, repr=False)
    # Relevance points over every row, per points-relevant part of a query
    # (ranking.points): the same few theme and location choices recur all day.
    points_cache: CacheBudget = field(default_factory=_cache, repr=False)
    # Ranked pages per query and exposure snapshot (services.search): with the
    # ledger frozen per snapshot, a page's order changes only when a row the
    # search matches does (pages_before, forget_pages).
    page_cache: CacheBudget = field(
        default_factory=lambda: CacheBudget(PAGE_CACHE_BYTES), repr=False
    )
    # Rows scanned so far for terms matched over a few rows only (verify_term).
    terms_asked: OrderedDict[str, int] = field(default_factory=OrderedDict, repr=False)
    serialized: OrderedDict[int, dict[str, Any]] = field(default_factory=_row_cache, repr=False)
    serialized_json: OrderedDict[int, bytes] = field(default_factory=_row_cache, repr=False)
    # Searches read, deltas write: one at a time per process.
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def __post_init__(self) -> None:
        if self.live is None:
            self.live = np.ones(self.size, dtype=bool)
        if self.sorted_rows < 0:
            self.sorted_rows = self.size
        if self.next_spare < 0:
            self.next_spare = self.size
        for cache in (self.term_cache, self.facet_cache, self.points_cache):
            cache.limit = cache_limit(self.size)

    @property
    def visible(self) -> int:
        return int(np.count_nonzero(self.live))

    def row_key(self, pos: int) -> tuple[int, int]:
        """Changes whenever the row at `pos` changes (a delta bumps its version)."""
        return (self.token, self.row_versions.get(pos, 0))

    def row_of(self, listing_id: int) -> int | None:
        """The row holding (or that last held) `listing_id`, live or not."""
        placed = self.placed.get(listing_id)
        if placed is not None:
            return placed
        ids = self.listing_ids[: self.sorted_rows]
        i = int(np.searchsorted(ids, listing_id))
        if i < ids.size and int(ids[i]) == listing_id:
            return i
        return None

    def verify_term(self, term: str, rows: np.ndarray) -> np.ndarray:
        """`rows` narrowed to those whose text contains `term`.

        A search narrowed by a location scans its few candidate rows, and the
        same term comes back with other locations all day. Once the rows
        scanned for a term add up to what matching it over the whole index
        would scan, it is matched over the whole index and cached (term_mask):
        never more than twice the cheaper of the two, whatever comes next.
        """
        cached = self.term_cache.get(term)
        if cached is not None:
            return rows & cached
        candidates = text_candidates(self.text_signatures, term)
        positions = np.flatnonzero(rows & candidates)
        scanned = self.terms_asked.pop(term, 0) + positions.size
        if scanned >= np.count_nonzero(candidates & self.live):
            return rows & self.term_mask(term)
        self.terms_asked[term] = scanned
        if len(self.terms_asked) > TERMS_ASKED_KEPT:
            self.terms_asked.popitem(last=False)
        result = np.zeros(self.size, dtype=bool)
        result[positions[texts_containing(self.search_texts, term, positions)]] = True
        return result

    def term_mask(self, term: str) -> np.ndarray:
        """Rows whose search text contains `term`; cached, since people search
        the same few words (ランサム, クラウド) over and over. Deltas patch it."""
        cached = self.term_cache.get(term)
        if cached is not None:
            return cached
        mask = verify_term(self.text_signatures, self.search_texts, term, self.live)
        self.term_cache[term] = mask
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
    """Why one byte per (row, bit) then packbits: a plain scatter into bytes and
    one pack cost about a third of `np.bitwise_or.at` on the words (the build
    computes a million signatures)."""
    size = len(texts)
    dummy = size * SIGNATURE_BITS  # where pairs across two rows go
    flat = np.zeros(dummy + 1, dtype=np.uint8)
    codes = np.frombuffer("\x00".join(texts).encode("utf-32-le"), dtype=np.uint32)
    if codes.size > 1:
        lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=size)
        row_base = np.arange(0, dummy, SIGNATURE_BITS, dtype=np.int64)
        slots = np.repeat(row_base, lengths)[: codes.size - 1]
        first, second = codes[:-1], codes[1:]
        slots += bigram_bits(first, second).astype(np.int64)
        slots[(first == 0) | (second == 0)] = dummy  # no pair across two rows
        flat[slots] = 1
    # Bit b of a row is bit b % 64 of its word b // 64 (little-endian words).
    packed = np.packbits(flat[:dummy].reshape(size, SIGNATURE_BITS), axis=1, bitorder="little")
    return packed.view("<u8").T


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


def texts_containing(texts: Any, term: str, positions: np.ndarray) -> np.ndarray:
    """For each row of `positions`, whether its text contains `term` (a
    TextColumn reads its rows in chunks; a list, in simulations, one by one)."""
    if isinstance(texts, TextColumn):
        return texts.containing(term, positions)
    return np.fromiter((term in texts[i] for i in positions), dtype=bool, count=positions.size)


def verify_term(signatures: np.ndarray, texts: Any, term: str, rows: np.ndarray) -> np.ndarray:
    """`rows` (a boolean vector) narrowed to the texts that really contain `term`."""
    positions = np.flatnonzero(rows & text_candidates(signatures, term))
    result = np.zeros(len(texts), dtype=bool)
    result[positions[texts_containing(texts, term, positions)]] = True
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


# Listing id -> open engagements, from whoever counts them: the inquiries app,
# which sits above search, registers its counter when it loads (its AppConfig),
# so this module never imports it. None: nobody is engaged yet.
EngagementCounter = Callable[[list[int] | None], Mapping[int, int]]
_engagement_counter: EngagementCounter | None = None


def count_open_engagements_with(counter: EngagementCounter | None) -> None:
    global _engagement_counter
    _engagement_counter = counter


def open_engagements(listing_ids: list[int] | None = None) -> dict[int, int]:
    """Listing id -> open engagements (all listings, or only `listing_ids`)."""
    if _engagement_counter is None:
        return {}
    return dict(_engagement_counter(listing_ids))


def current_generation() -> int:
    """The newest change-log id: what an index that applied everything has seen."""
    return latest_change()


_M2M_COLUMNS = (
    ("prefectures", "prefecture_id", PREF_BIT),
    ("themes", "guidancetheme_id", THEME_BIT),
    ("syllabus_items", "syllabusitem_id", SYLLABUS_BIT),
    ("industries", "industry_id", INDUSTRY_BIT),
    ("periods", "supportperiod_id", PERIOD_BIT),
    ("qualifications", "qualification_id", QUAL_BIT),
)
# The index's name for each many-to-many field's mask column.
_MASK_NAMES = {
    "prefectures": "prefectures",
    "themes": "themes",
    "syllabus_items": "syllabus",
    "industries": "industries",
    "periods": "periods",
    "qualifications": "qualifications",
}
# Per-row columns: name -> dtype (fees is 2-D and handled apart).
_ROW_COLUMNS = {
    "listing_ids": np.int64,
    "tie_base": np.uint64,
    "prefectures": np.uint64,
    "themes": np.uint64,
    "syllabus": np.uint64,
    "industries": np.uint64,
    "periods": np.uint64,
    "qualifications": np.uint64,
    "first_free": bool,
    "affiliation": np.uint8,
    "accepting": bool,
    "age_days": np.int32,
    "capacity": np.int32,
    "at_capacity": bool,
    "live": bool,
}
_IN_CHUNK = 900  # ids per IN (...): below every backend's parameter limit


@dataclass
class Batch:
    """Visible listings loaded from the database, in listing id order."""

    columns: dict[str, np.ndarray]  # _ROW_COLUMNS and "fees"
    texts: list[str]
    row_texts: list[str]
    numbers: list[str]

    @property
    def size(self) -> int:
        return int(self.columns["listing_ids"].size)


@dataclass(frozen=True)
class IdRange:
    """Listings with lo <= id < hi: one worker's share of a parallel build."""

    lo: int
    hi: int


def _where_ids(
    column: str, ids: list[int] | IdRange | None, *, of_records: bool = False
) -> Iterable[tuple[str, list[int]]]:
    """WHERE clauses (and their parameters) restricting `column` to `ids`.

    `of_records`: `column` holds registry record ids, and an IdRange names
    listings, so it is matched through the listings of that range.
    """
    if ids is None:
        yield "", []
        return
    if isinstance(ids, IdRange):
        if of_records:
            yield (
                f" WHERE {column} IN (SELECT record_id FROM listings_listing"  # noqa: S608
                " WHERE id >= %s AND id < %s)",
                [ids.lo, ids.hi],
            )
        else:
            yield f" WHERE {column} >= %s AND {column} < %s", [ids.lo, ids.hi]
        return
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        yield f" WHERE {column} IN ({', '.join(['%s'] * len(chunk))})", chunk


def _pairs(
    sql: str, column: str, ids: list[int] | IdRange | None, *, of_records: bool = False
) -> Iterable[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        for where, params in _where_ids(column, ids, of_records=of_records):
            cursor.execute(sql + where, params)
            yield from cursor.fetchall()


# Texts normalised per call: whole-corpus arrays of 1,000,000 profiles would
# take several GB at once (4 bytes per character, several copies).
_NORMALIZE_CHUNK = 20_000
_UPDATED_AT = 16  # the position of updated_at in load()'s fields


def _raw_rows(values: Any) -> list[tuple[Any, ...]]:
    """The rows of a `values_list` query without the ORM's per-value converters.

    At 1,000,000 listings the converters cost a third of the build. Both
    drivers already return dates and booleans (Django declares SQLite's
    column types); SQLite's datetimes come back naive UTC and are made aware.
    """
    sql, params = values.query.get_compiler(using=values.db).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows or rows[0][_UPDATED_AT].tzinfo is not None:
        return rows
    utc = dt.UTC
    return [
        (*row[:_UPDATED_AT], row[_UPDATED_AT].replace(tzinfo=utc), *row[_UPDATED_AT + 1 :])
        for row in rows
    ]


def _positions(sorted_ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row of each wanted id in `sorted_ids`, whether it is there at all)."""
    if not sorted_ids.size:
        return np.zeros(wanted.size, dtype=np.int64), np.zeros(wanted.size, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_ids, wanted), sorted_ids.size - 1)
    return at, sorted_ids[at] == wanted


def _mask_rows(
    table: str, column: str, bits: dict[Any, int], ids: list[int] | IdRange | None
) -> list[tuple[int, int]]:
    """(listing id, bitmask) per listing, summed by the database: one row per
    listing instead of one per chosen value (23 million at 1,000,000 listings).
    Every facet has fewer than 63 values, and a (listing, value) pair is unique,
    so the sum of distinct powers of two is their OR on both databases."""
    cases = " ".join(["WHEN %s THEN %s"] * len(bits))
    params: list[Any] = []
    for code, bit in bits.items():
        params += [code, 1 << bit]
    rows: list[tuple[int, int]] = []
    with connection.cursor() as cursor:
        for where, chunk in _where_ids("listing_id", ids):
            cursor.execute(
                f"SELECT listing_id, CAST(SUM(CASE {column} {cases} ELSE 0 END) AS BIGINT)"  # noqa: S608
                f" FROM {table}{where} GROUP BY listing_id",
                params + chunk,
            )
            rows += cursor.fetchall()
    return rows


def load(
    today: dt.date, listing_ids: Iterable[int] | None = None, *, id_range: IdRange | None = None
) -> Batch:
    """Every visible listing (or those of `listing_ids`, or of `id_range`, that
    are visible), as columns.

    One query per table (per chunk of ids), never one per row.
    """
    wanted = None if listing_ids is None else sorted({int(i) for i in listing_ids})
    listings = Listing.objects.visible(today).order_by("id")
    fields = (
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
    if id_range is not None:
        listings = listings.filter(id__gte=id_range.lo, id__lt=id_range.hi)
    if wanted is None:
        listing_rows = _raw_rows(listings.values_list(*fields))
    else:
        listing_rows = []
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            listing_rows += _raw_rows(listings.filter(pk__in=chunk).values_list(*fields))
        listing_rows.sort(key=lambda row: row[0])
    n = len(listing_rows)
    ids = [row[0] for row in listing_rows]
    id_array = np.array(ids, dtype=np.int64)
    query_ids: list[int] | IdRange | None = id_range if wanted is None else ids

    columns: dict[str, np.ndarray] = {}
    for name, column, bits in _M2M_COLUMNS:
        table = getattr(Listing, name).through._meta.db_table
        masks = np.zeros(n, dtype=np.uint64)
        pairs = np.array(_mask_rows(table, column, bits, query_ids), dtype=np.int64)
        if pairs.size:
            at, found = _positions(id_array, pairs[:, 0])
            masks[at[found]] = pairs[found, 1].astype(np.uint64)
        columns[_MASK_NAMES[name]] = masks

    fees = np.full((n, len(FORM_COL)), NOT_OFFERED, dtype=np.int64)
    offers = list(
        _pairs(
            "SELECT listing_id, form, fee_yen FROM listings_serviceoffer", "listing_id", query_ids
        )
    )
    if offers:
        offer_ids = np.fromiter((o[0] for o in offers), dtype=np.int64, count=len(offers))
        forms = np.fromiter((FORM_COL[o[1]] for o in offers), dtype=np.int64, count=len(offers))
        amounts = np.fromiter((o[2] for o in offers), dtype=np.int64, count=len(offers))
        at, found = _positions(id_array, offer_ids)
        fees[at[found], forms[found]] = amounts[found]
    columns["fees"] = fees

    record_ids = [row[1] for row in listing_rows]
    completions: dict[int, list[tuple[str, int, dt.date]]] = defaultdict(list)
    record_set = set(record_ids)
    # Raw rows, dates parsed once per distinct value: the ORM's per-row
    # converters cost more than the rest of this loop at 300,000 completions.
    day_of: dict[Any, dt.date] = {}
    table = CourseCompletion._meta.db_table
    for record_id, kind, fy, completed_on in _pairs(
        f"SELECT record_id, kind, fiscal_year, completed_on FROM {table}",  # noqa: S608
        "record_id",
        id_range if wanted is None else record_ids,
        of_records=True,
    ):
        if record_id in record_set:
            day = day_of.get(completed_on)
            if day is None:
                day = day_of[completed_on] = (
                    completed_on
                    if isinstance(completed_on, dt.date)
                    else dt.date.fromisoformat(str(completed_on))
                )
            completions[record_id].append((kind, fy, day))

    # A delta asks about its own few listings; a build about everyone.
    extensions = extensions_by_record(None if wanted is None else record_ids)
    engagements = open_engagements() if wanted is None else open_engagements(ids)
    # Per-row values gathered in lists and converted once: a numpy item
    # assignment costs more than the append (a million rows, six columns).
    available: list[bool] = []
    age_days: list[int] = []
    capacity: list[int] = []
    open_now: list[int] = []
    first_free: list[bool] = []
    affiliation: list[int] = []
    raw_texts: list[str] = []
    row_texts: list[str] = []
    numbers: list[str] = []
    zone = timezone.get_current_timezone()
    # One encoder for every row: json.dumps with options builds a new one per call.
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    qual_texts: dict[int, str] = {}
    # course_status is pure in its inputs; registrants of one expiry date who
    # took the same sessions (the courses run on fixed dates) share the answer.
    up_to_date: dict[tuple[Any, ...], bool] = {}
    for row, quals_mask in zip(listing_rows, columns["qualifications"].tolist(), strict=True):
        (listing_id, record_id, number, name, kana, registered_on, expires_on, renewals, free,
         affil, company, availability, until, other_quals, profile, track, updated_at,
         cap) = row  # fmt: skip
        available.append(effective_accepting(availability, until, today))
        age_days.append((today - updated_at.astimezone(zone).date()).days)
        capacity.append(cap)
        open_now.append(engagements.get(listing_id, 0))
        first_free.append(free)
        affiliation.append(AFFILIATION_NUM[affil])
        quals = qual_texts.get(quals_mask)
        if quals is None:
            quals = qual_texts[quals_mask] = " ".join(
                QUAL_NAMES[c] for c in codes_of(quals_mask, ref.QUALIFICATION_CODES)
            )
        raw_texts.append(" ".join((name, kana, profile, track, quals, other_quals)))
        done = completions.get(record_id, ())
        extension = extensions.get(record_id)
        key = (expires_on, extension, tuple(done))
        current = up_to_date.get(key)
        if current is None:
            current = course_status(expires_on, done, today, extension).up_to_date
            up_to_date[key] = current
        numbers.append(number)
        row_texts.append(
            encode(
                [
                    number,
                    name,
                    kana,
                    company,
                    other_quals,
                    updated_at.isoformat(),
                    registered_on.isoformat(),
                    expires_on.isoformat(),
                    renewals,
                    current,
                ]
            )
        )
    texts: list[str] = []
    for start in range(0, len(raw_texts), _NORMALIZE_CHUNK):
        texts += normalize_many(raw_texts[start : start + _NORMALIZE_CHUNK])
    del raw_texts
    listing_ids_array = np.array(ids, dtype=np.int64)
    available_array = np.array(available, dtype=bool)
    capacity_array = np.array(capacity, dtype=np.int32)
    accepting = accepting_rule(available_array, capacity_array, np.array(open_now, dtype=np.int32))
    columns.update(
        listing_ids=listing_ids_array,
        tie_base=splitmix64(listing_ids_array),
        first_free=np.array(first_free, dtype=bool),
        affiliation=np.array(affiliation, dtype=np.uint8),
        accepting=accepting,
        age_days=np.array(age_days, dtype=np.int32),
        capacity=capacity_array,
        at_capacity=available_array & ~accepting,
        live=np.ones(n, dtype=bool),
    )
    return Batch(columns=columns, texts=texts, row_texts=row_texts, numbers=numbers)


# A full build of more listings than this splits the work across processes.
PARALLEL_BUILD_MIN = 100_000


@dataclass
class EncodedBatch:
    """A Batch as a snapshot stores it: texts as UTF-8 blobs, signatures computed.

    What a parallel build's workers send back: bytes and arrays pickle at
    memory speed, a million Python strings do not.
    """

    columns: dict[str, np.ndarray]
    signatures: np.ndarray  # SIGNATURE_WORDS x rows
    text_blob: bytes
    text_lengths: np.ndarray
    row_blob: bytes
    row_lengths: np.ndarray
    numbers: list[str]

    @property
    def size(self) -> int:
        return int(self.columns["listing_ids"].size)


def _blob(texts: list[str]) -> tuple[bytes, np.ndarray]:
    encoded = [t.encode() for t in texts]
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
    return b"".join(encoded), lengths


def encode_batch(batch: Batch) -> EncodedBatch:
    text_blob, text_lengths = _blob(batch.texts)
    row_blob, row_lengths = _blob(batch.row_texts)
    return EncodedBatch(
        columns=batch.columns,
        signatures=text_signatures(batch.texts),
        text_blob=text_blob,
        text_lengths=text_lengths,
        row_blob=row_blob,
        row_lengths=row_lengths,
        numbers=batch.numbers,
    )


def _load_range(today: dt.date, id_range: IdRange) -> EncodedBatch:
    """One forked worker's share of a parallel build (its own connection)."""
    try:
        return encode_batch(load(today, id_range=id_range))
    finally:
        connection.close()


def load_encoded(today: dt.date, workers: int | None = None) -> list[EncodedBatch]:
    """Every visible listing, in id order, loaded by `workers` processes over id ranges.

    Why: a build is Python work per listing (parsing, course status, text
    normalisation, signatures); at 1,000,000 listings one core needs minutes.
    Each forked worker loads and encodes a contiguous id range with its own
    connection; the parts, in id order, equal one serial load.
    """
    workers = workers or min(os.cpu_count() or 1, 4)
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id), COUNT(*) FROM listings_listing")
        low, high, count = cursor.fetchone()
    if workers < 2 or not count or count < PARALLEL_BUILD_MIN or connection.in_atomic_block:
        return [encode_batch(load(today))]
    bounds = np.linspace(low, high + 1, workers + 1).astype(np.int64).tolist()
    ranges = [IdRange(lo, hi) for lo, hi in itertools.pairwise(bounds)]
    connection.close()  # a forked child must not share this socket
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.starmap(_load_range, [(today, r) for r in ranges])


def _offsets(lengths: list[np.ndarray], capacity: int) -> np.ndarray:
    joined = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
    offsets = np.zeros(capacity + 1, dtype=np.int64)
    np.cumsum(joined, out=offsets[1 : joined.size + 1])
    offsets[joined.size + 1 :] = offsets[joined.size]
    return offsets


def spare_rows(visible: int) -> int:
    return max(SPARE_ROWS_MIN, int(visible * SPARE_ROWS_SHARE))


def build_columns(
    today: dt.date, generation: int, workers: int | None = None
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A full build as snapshot metadata and columns (spare rows included).

    Called through `build_index`, the one entry point of a full build.
    """
    parts = load_encoded(today, workers)
    n = sum(part.size for part in parts)
    capacity = n + spare_rows(n)
    columns: dict[str, np.ndarray] = {}
    for name, dtype in _ROW_COLUMNS.items():
        column = np.zeros(capacity, dtype=dtype)
        column[:n] = np.concatenate([part.columns[name] for part in parts])
        columns[name] = column
    fees = np.full((capacity, len(FORM_COL)), NOT_OFFERED, dtype=np.int64)
    fees[:n] = np.concatenate([part.columns["fees"] for part in parts])
    columns["fees"] = fees
    signatures = np.zeros((SIGNATURE_WORDS, capacity), dtype=np.uint64)
    signatures[:, :n] = np.concatenate([part.signatures for part in parts], axis=1)
    columns["text_signatures"] = signatures
    columns["text_blob"] = np.frombuffer(b"".join(p.text_blob for p in parts), dtype=np.uint8)
    columns["text_offsets"] = _offsets([p.text_lengths for p in parts], capacity)
    columns["row_blob"] = np.frombuffer(b"".join(p.row_blob for p in parts), dtype=np.uint8)
    columns["row_offsets"] = _offsets([p.row_lengths for p in parts], capacity)
    numbers = NumberLookup.of([number for part in parts for number in part.numbers])
    columns["number_keys"], columns["number_rows"] = numbers.keys, numbers.positions
    meta = {
        "today": today.isoformat(),
        "generation": generation,
        "stamp": _stamp(generation),
        "database": _database_identity(),
        "visible": n,
        "size": capacity,
    }
    return meta, columns


def index_from_columns(
    meta: dict[str, Any], columns: dict[str, np.ndarray], *, path: str = "", mapping: Any = None
) -> SpecialistIndex:
    n = int(meta["visible"])
    texts = TextColumn(columns["text_blob"], columns["text_offsets"])
    if isinstance(mapping, snap.SnapshotFile) and mapping.file is not None:
        texts.file, texts.file_offset = mapping.file, mapping.file_offset("text_blob")
    return SpecialistIndex(
        generation=int(meta["generation"]),
        today=dt.date.fromisoformat(meta["today"]),
        size=int(meta["size"]),
        **{name: columns[name] for name in _ROW_COLUMNS},
        fees=columns["fees"],
        rows=RowColumn(columns["row_blob"], columns["row_offsets"]),
        search_texts=texts,
        position_by_number=NumberLookup(columns["number_keys"], columns["number_rows"]),
        text_signatures=columns["text_signatures"],
        sorted_rows=n,
        next_spare=n,
        path=path,
        mapping=mapping,
    )


def build_index(today: dt.date, generation: int | None = None, **_: Any) -> SpecialistIndex:
    """A full build from the database, held in this process's memory.

    `write_snapshot` writes its columns to a file for every process to map.
    """
    if generation is None:
        generation = current_generation()
    meta, columns = build_columns(today, generation)
    index = index_from_columns(meta, columns)
    index.built = (meta, columns)
    return index


def column_schema() -> dict[str, str]:
    """The dtypes a snapshot of this code holds, to refuse another version's files."""
    return snap.schema_of(_empty_columns()[1])


def _empty_columns() -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    columns: dict[str, np.ndarray] = {
        name: np.zeros(0, dtype=dtype) for name, dtype in _ROW_COLUMNS.items()
    }
    columns["fees"] = np.zeros((0, len(FORM_COL)), dtype=np.int64)
    columns["text_signatures"] = np.zeros((SIGNATURE_WORDS, 0), dtype=np.uint64)
    for name in ("text_blob", "row_blob"):
        columns[name] = np.zeros(0, dtype=np.uint8)
    for name in ("text_offsets", "row_offsets", "number_rows"):
        columns[name] = np.zeros(0, dtype=np.int64)
    columns["number_keys"] = np.zeros(0, dtype="S1")
    return {}, columns


def _stamp(generation: int) -> str:
    """The change-log row a snapshot includes, as only this database has it.

    A snapshot is served only where that row exists with this time: a restored
    or different database (or a rolled-back test) never gets another's snapshot.
    """
    if not generation:
        return ""
    with connection.cursor() as cursor:
        cursor.execute("SELECT created_at FROM core_searchchange WHERE id = %s", [generation])
        row = cursor.fetchone()
    return str(row[0]) if row else "missing"


def _database_identity() -> str:
    db = connection.settings_dict
    key = f"{db['ENGINE']}|{db.get('HOST') or ''}|{db.get('PORT') or ''}|{db['NAME']}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


# --- deltas ------------------------------------------------------------------------------


class NeedsRebuild(Exception):
    """A change this index cannot take as a delta (no spare rows left, too many changes)."""


@dataclass
class RowsView:
    """A few rows of an index, with the attributes ranking._points_of_every_row reads."""

    size: int
    themes: np.ndarray
    industries: np.ndarray
    periods: np.ndarray
    qualifications: np.ndarray
    syllabus: np.ndarray
    fees: np.ndarray
    first_free: np.ndarray
    age_days: np.ndarray

    @classmethod
    def of(cls, index: SpecialistIndex, rows: np.ndarray) -> RowsView:
        return cls(
            size=int(rows.size),
            **{
                name: getattr(index, name)[rows]
                for name in (
                    "themes",
                    "industries",
                    "periods",
                    "qualifications",
                    "syllabus",
                    "fees",
                    "first_free",
                    "age_days",
                )
            },
        )


def apply_changes(index: SpecialistIndex, listing_ids: Iterable[int]) -> int:
    """Rewrite the rows of `listing_ids` from the database; returns the rows touched.

    A listing now visible is written into its row (its old one, or a spare
    row); one no longer visible is marked not live. The caches of per-query
    vectors are patched for those rows only, so they stay valid.
    """
    wanted = sorted({int(i) for i in listing_ids})
    if not wanted:
        return 0
    if len(wanted) > DELTA_LIMIT:
        raise NeedsRebuild(f"{len(wanted)} listings changed")
    batch = load(index.today, wanted)
    found = {int(listing_id): i for i, listing_id in enumerate(batch.columns["listing_ids"])}
    new_rows = [i for i in wanted if i in found and index.row_of(i) is None]
    if index.next_spare + len(new_rows) > index.size:
        raise NeedsRebuild("no spare rows left")
    touched: list[int] = []
    signatures = text_signatures(batch.texts) if batch.texts else None
    with index.lock:
        # The searches the rows matched before the change (a new listing's
        # spare row matched none).
        held = [pos for pos in map(index.row_of, wanted) if pos is not None]
        before = pages_before(index, np.array(sorted(held), dtype=np.int64))
        for listing_id in wanted:
            pos = index.row_of(listing_id)
            at = found.get(listing_id)
            if at is None:
                if pos is not None and index.live[pos]:
                    index.live[pos] = False
                    index.accepting[pos] = False
                    index.at_capacity[pos] = False
                    touched.append(pos)
                continue
            if pos is None:
                pos = index.next_spare
                index.next_spare += 1
                index.placed[listing_id] = pos
            for name in _ROW_COLUMNS:
                getattr(index, name)[pos] = batch.columns[name][at]
            index.fees[pos] = batch.columns["fees"][at]
            index.text_signatures[:, pos] = signatures[:, at]  # type: ignore[index]
            index.search_texts.overrides[pos] = batch.texts[at]
            index.rows.overrides[pos] = _row_from_json(batch.row_texts[at])
            lookup = index.position_by_number
            number = batch.numbers[at]
            if lookup.get(number) != pos:
                lookup.extra[number] = pos
            touched.append(pos)
        if touched:
            rows = np.array(sorted(set(touched)), dtype=np.int64)
            _patch_caches(index, rows)
            forget_pages(index, rows, before)
    return len(touched)


# Above this many changed rows a delta drops every kept page instead of
# checking which ones the rows could move.
PAGE_CHECK_ROWS = 64


def _each_kept_page(
    index: SpecialistIndex, rows: np.ndarray, what: str, visit: Callable[..., None]
) -> bool:
    """`visit(key, page, facts, memo)` for every kept ranked page (services),
    with the rows' facts read once (`page.facts`) and a memo shared by the
    pages of one search. A failure drops every kept page, which is always
    right, and returns False: the delta must still apply, or search would stop
    following the change log."""
    facts = None
    memo: dict[Any, Any] = {}
    try:
        for key, page in index.page_cache.items():
            if facts is None:
                facts = page.facts(index, rows)
            visit(key, page, facts, memo)
    except Exception:
        logger.exception("%s the kept search pages failed; all dropped", what)
        index.page_cache.clear()
        return False
    return True


def pages_before(index: SpecialistIndex, rows: np.ndarray) -> dict[Any, Any]:
    """Before a delta writes `rows`: what each kept ranked page (services)
    makes of them (`rows_state`), for `forget_pages` after it."""
    if not len(index.page_cache) or rows.size > PAGE_CHECK_ROWS:
        return {}
    if not rows.size:
        # Only listings the index held no row for: they matched no search, and
        # an unasked page would be dropped (every kept page, at each new listing).
        return {key: {} for key, _page in index.page_cache.items()}
    seen: dict[Any, Any] = {}

    def read(key: Any, page: Any, facts: Any, memo: dict[Any, Any]) -> None:
        seen[key] = page.rows_state(index, rows, facts, memo)

    return seen if _each_kept_page(index, rows, "reading", read) else {}


def forget_pages(index: SpecialistIndex, rows: np.ndarray, before: dict[Any, Any]) -> None:
    """After a delta wrote `rows`: keep, recount or drop each kept ranked page
    (services' `after_change`, given `pages_before`'s answer). A search's
    pages move only through rows it matches, before or after the change.
    Above PAGE_CHECK_ROWS rows every page is dropped instead."""
    if not len(index.page_cache) or not rows.size:
        return
    if rows.size > PAGE_CHECK_ROWS:
        index.page_cache.clear()
        return

    def check(key: Any, page: Any, facts: Any, memo: dict[Any, Any]) -> None:
        kept = page.after_change(index, rows, facts, before.get(key), memo)
        if kept is None:
            index.page_cache.discard(key)
        elif kept is not page:
            index.page_cache[key] = kept

    _each_kept_page(index, rows, "checking", check)


def _patch_caches(index: SpecialistIndex, rows: np.ndarray) -> None:
    for pos in rows.tolist():
        index.row_versions[pos] = index.row_versions.get(pos, 0) + 1
        index.serialized.pop(pos, None)
        index.serialized_json.pop(pos, None)
    live = index.live[rows]
    for term, mask in index.term_cache.items():
        mask[rows] = live & np.fromiter(
            (term in index.search_texts[p] for p in rows.tolist()), dtype=bool, count=rows.size
        )
    for (name, wanted), mask in index.facet_cache.items():
        mask[rows] = (getattr(index, name)[rows] & np.uint64(wanted)) != 0
    if len(index.points_cache):
        subset = RowsView.of(index, rows)
        # Each entry carries the function that computed it (ranking.cached_vector).
        for _key, (recompute, points, inverted) in index.points_cache.items():
            points[rows], inverted[rows] = recompute(subset)


# --- the snapshot files ------------------------------------------------------------------


def snapshot_dir() -> Path:
    return Path(settings.SEARCH_SNAPSHOT_DIR)


def _snapshot_path(today: dt.date, generation: int) -> Path:
    return snapshot_dir() / f"index-{today.isoformat()}-{generation:015d}-{os.getpid()}.snap"


def write_snapshot(today: dt.date, generation: int | None = None) -> Path:
    """Build from the database and write the day's snapshot file (the worker's job).

    The generation is read before the listings, so a change committed during
    the build is applied again as a delta rather than lost.
    """
    if generation is None:
        generation = current_generation()
    meta, columns = build_index(today, generation).built  # type: ignore[misc]
    path = _snapshot_path(today, generation)
    snap.write(path, meta, columns)
    _prune(today)
    return path


def _prune(today: dt.date, keep: int = 2) -> None:
    """Drop all but the newest files of today (a process mapping one keeps it until it lets go)."""
    files = list(snapshot_dir().glob("index-*.snap"))
    prefix = f"index-{today.isoformat()}-"

    def newest_first(path: Path) -> tuple[str, float]:
        try:  # the name holds the change id (fixed width); the time breaks ties
            return path.name.rsplit("-", 1)[0], path.stat().st_mtime
        except FileNotFoundError:
            return "", 0.0

    todays = sorted((f for f in files if f.name.startswith(prefix)), key=newest_first, reverse=True)
    for path in todays[keep:] + [f for f in files if not f.name.startswith(prefix)]:
        path.unlink(missing_ok=True)


def newest_snapshot(today: dt.date, at_least: int = 0) -> SpecialistIndex | None:
    """Map the newest valid snapshot of `today` holding change `at_least`, if any."""
    folder = snapshot_dir()
    if not folder.is_dir():
        return None
    schema = column_schema()
    identity = _database_identity()
    for path in sorted(folder.glob(f"index-{today.isoformat()}-*.snap"), reverse=True):
        try:
            meta = snap.read_meta(path)
            if int(meta.get("generation", -1)) < at_least:
                return None  # newest first: the rest are older still
            if meta.get("database") != identity or meta.get("stamp") != _stamp(
                int(meta["generation"])
            ):
                continue  # another database's, or one restored since
            if not meta["generation"]:
                continue  # built before the change log began: cannot tell what it misses
            loaded = snap.read(path, schema=schema)
        except (snap.SnapshotInvalid, KeyError, ValueError, OSError) as exc:
            logger.warning("search snapshot %s refused, rebuilding: %s", path.name, exc)
            path.unlink(missing_ok=True)
            continue
        return index_from_columns(loaded.meta, loaded.columns, path=str(path), mapping=loaded)
    return None


class _FileLock:
    """One builder per host: the others wait, then map what it wrote."""

    def __enter__(self) -> _FileLock:
        snapshot_dir().mkdir(parents=True, exist_ok=True)
        self.file = open(snapshot_dir() / ".build.lock", "a")
        fcntl.flock(self.file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def load_or_build(today: dt.date, at_least: int = 0) -> SpecialistIndex:
    """The day's index from its snapshot, building the snapshot if none will do."""
    if not current_generation():
        # An empty log cannot date a file (see newest_snapshot): build here, share nothing.
        started = time.perf_counter()
        index = build_index(today, 0)
        _health.build_seconds = time.perf_counter() - started
        _health.built_at = timezone.now()
        return index
    index = newest_snapshot(today, at_least)
    if index is None:
        with _FileLock():
            index = newest_snapshot(today, at_least)  # built while we waited?
            if index is None:
                started = time.perf_counter()
                # A child has its own connection: it cannot see rows this
                # process has not committed yet (a seed inside a transaction).
                if getattr(settings, "SEARCH_BUILD_IN_SUBPROCESS", True) and not (
                    connection.in_atomic_block
                ):
                    _build_in_subprocess(today)
                else:
                    write_snapshot(today, max(at_least, current_generation()))
                _health.build_seconds = time.perf_counter() - started
                index = newest_snapshot(today, at_least)
                if index is None:
                    raise IndexUnavailable("the snapshot just built could not be read back")
    _health.built_at = timezone.now()
    return index


def _build_in_subprocess(today: dt.date) -> None:
    """Build the snapshot in a child process (`sekispe search-snapshot --no-lock`; we hold it).

    Why: a build holds every listing as Python objects for a moment (several
    hundred MB at 50,000, GBs at 1,000,000). In a web process that memory would
    stay with it; in a child it is returned when the child exits, so a web
    process's peak stays near its steady state.
    """
    command = [sys.executable, "-m", "sekispe", "search-snapshot", "--no-lock", "--no-prune"]
    command += ["--today", today.isoformat(), "--dir", str(snapshot_dir())]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode:
        raise RuntimeError(f"search-snapshot exited {done.returncode}: {done.stderr[-400:]}")


# --- following the change log ------------------------------------------------------------


@dataclass
class _Follower:
    """What this process has applied from the change log."""

    watermark: int = 0
    # When the watermark row was written: if that row is gone or differs, the
    # log was rolled back or restored, and only a rebuild is safe.
    watermark_stamp: str = ""
    # Rows applied from the look-back window, as (id, time): a row committed
    # late (lower id than one already seen) is found by its time, applied once.
    seen: set[tuple[int, str]] = field(default_factory=set)
    polls: int = 0
    applied: int = 0
    last_poll: float = 0.0


class LogRewound(Exception):
    """The change log no longer holds what this process applied (a restore, a rollback)."""


def _poll(index: SpecialistIndex, follower: _Follower) -> tuple[set[int], int, _Follower]:
    """(listing ids to apply, id of the newest rebuild marker not yet in `index`,
    the follower once they are applied): committed by the caller only after
    success, so a failed rebuild or delta is tried again, never skipped."""
    cutoff = timezone.now() - dt.timedelta(seconds=LOOKBACK_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, listing_id, record_id, created_at FROM core_searchchange"
            " WHERE id >= %s OR created_at >= %s",
            [follower.watermark, cutoff],
        )
        rows = [(i, listing, record, str(at)) for i, listing, record, at in cursor.fetchall()]
    if follower.watermark:
        stamps = [at for i, _, _, at in rows if i == follower.watermark]
        if stamps != [follower.watermark_stamp]:
            raise LogRewound(f"change {follower.watermark} is gone or was rewritten")
    listings: set[int] = set()
    records: set[int] = set()
    rebuild = 0
    for change_id, listing_id, record_id, at in rows:
        if (change_id, at) in follower.seen or change_id == follower.watermark:
            continue
        if listing_id is not None:
            listings.add(listing_id)
        elif record_id is not None:
            records.add(record_id)
        elif change_id > index.generation:
            rebuild = max(rebuild, change_id)
    if records:
        with connection.cursor() as cursor:
            for where, params in _where_ids("record_id", sorted(records)):
                cursor.execute("SELECT id FROM listings_listing" + where, params)  # noqa: S608
                listings.update(row[0] for row in cursor.fetchall())
    after = _Follower(
        watermark=follower.watermark,
        watermark_stamp=follower.watermark_stamp,
        seen={(i, at) for i, _, _, at in rows},
        polls=follower.polls + 1,
        applied=follower.applied,
        last_poll=time.monotonic(),
    )
    if rows:
        newest = max(rows)
        after.watermark, after.watermark_stamp = newest[0], newest[3]
    return listings, rebuild, after


@contextmanager
def _searches_wait() -> Iterator[None]:
    """Searches in this process wait while the block runs, until DELTA_FIRST_SECONDS
    after it began: a delta stuck on the database delays searches once, not each."""
    global _poller_began
    _poller_began = time.monotonic()
    _poller_idle.clear()
    try:
        yield
    finally:
        _poller_idle.set()


def catch_up(index: SpecialistIndex, follower: _Follower) -> SpecialistIndex:
    """Apply what the log holds beyond `index`; a new index when it had to rebuild."""
    try:
        listings, rebuild, after = _poll(index, follower)
    except LogRewound as exc:
        logger.warning("search index: %s; rebuilding", exc)
        index = load_or_build(index.today, current_generation())
        after = _Follower(watermark=index.generation, watermark_stamp=_stamp(index.generation))
        index = catch_up(index, after)
        follower.__dict__.update(after.__dict__)
        return index
    if not rebuild and listings:
        try:
            with _searches_wait():
                after.applied += apply_changes(index, listings)
        except NeedsRebuild as exc:
            logger.info("search index: %s; loading a new snapshot", exc)
            rebuild = after.watermark
    if rebuild:
        index = load_or_build(index.today, rebuild)
        after = _Follower(watermark=index.generation, watermark_stamp=_stamp(index.generation))
        index = catch_up(index, after)
    follower.__dict__.update(after.__dict__)
    if follower.watermark > index.generation:
        index.generation = follower.watermark
    return index


# --- this process's index ----------------------------------------------------------------

_lock = threading.Lock()
_build_lock = threading.Lock()
# Cleared while the poller applies a delta: searches let it finish first
# (DELTA_FIRST_SECONDS). Set otherwise: polls that find nothing, rebuilds.
_poller_idle = threading.Event()
_poller_idle.set()
_poller_began = 0.0
_current: SpecialistIndex | None = None
_follower = _Follower()
_poller: threading.Thread | None = None
_poller_pid = 0
_stop = threading.Event()

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


def _refresh(today: dt.date) -> SpecialistIndex:
    """Bring this process's index up to the log (and to `today`), recording failures."""
    global _current, _follower
    try:
        index = _current
        if index is None or index.today != today:
            index = load_or_build(today)
            follower = _Follower(
                watermark=index.generation, watermark_stamp=_stamp(index.generation)
            )
            index = catch_up(index, follower)
            with _lock:
                _current, _follower = index, follower
        else:
            fresh = catch_up(index, _follower)
            if fresh is not index:
                with _lock:
                    _current = fresh
            index = fresh
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
    _health.failures, _health.last_error, _health.retry_at = 0, "", 0.0
    return index


def get_index(today: dt.date) -> SpecialistIndex:
    """The index to answer a search with: this process's, as the poller keeps it.

    Costs nothing per request once loaded. Only a process with no index at all
    waits, for a snapshot to map (or, when none exists yet, for its build).
    With SEARCH_INDEX_BACKGROUND_REFRESH = False (tests) every call reads the
    change log itself, so a write is visible to the very next search.
    """
    index = _current
    if not getattr(settings, "SEARCH_INDEX_BACKGROUND_REFRESH", True):
        with _build_lock:
            if _health.backing_off() and _current is not None:
                return _current
            if _health.backing_off():
                raise IndexUnavailable(_health.last_error)
            return _refresh(today)
    if index is not None:
        if not _poller_idle.is_set():
            left = _poller_began + DELTA_FIRST_SECONDS - time.monotonic()
            if left > 0:
                _poller_idle.wait(left)
                index = _current or index
        _ensure_poller()
        return index
    with _build_lock:
        if _current is None:
            if _health.backing_off():
                raise IndexUnavailable(_health.last_error)
            _refresh(today)
    _ensure_poller()
    return _current  # type: ignore[return-value]


def _ensure_poller() -> None:
    """One thread per process follows the log; started after a fork, not before."""
    global _poller, _poller_pid
    if _poller is not None and _poller_pid == os.getpid() and _poller.is_alive():
        return
    with _lock:
        if _poller is not None and _poller_pid == os.getpid() and _poller.is_alive():
            return
        _poller_pid = os.getpid()
        _poller = threading.Thread(target=_poll_forever, name="search-index", daemon=True)
        _poller.start()


# Work the poller thread does for modules above this one after each poll
# (exposure.py prepares the next ordering bucket), so no request waits for it.
# A list of callbacks because this lower module must not import them.
after_poll: list[Callable[[SpecialistIndex], None]] = []


def run_after_poll(index: SpecialistIndex) -> None:
    for hook in after_poll:
        try:
            hook(index)
        except Exception:  # the next poll tries again; a request would do it anyway
            logger.exception("search poller: %s failed", getattr(hook, "__name__", hook))
            connection.close()


def _poll_forever() -> None:
    interval = float(getattr(settings, "SEARCH_POLL_SECONDS", 0.2))
    try:
        while not _stop.wait(interval):
            if _health.backing_off():
                continue
            try:
                with _build_lock:
                    if _current is not None:
                        _refresh(timezone.localdate())
            except Exception:  # logged by _refresh; the index we have keeps serving
                connection.close()
                continue
            if _current is not None:
                run_after_poll(_current)
    finally:
        connection.close()


def stop_poller() -> None:
    """Stop this process's poller thread (tests; a fresh one starts on demand)."""
    global _poller
    thread = _poller
    if thread is not None and thread.is_alive():
        _stop.set()
        thread.join(timeout=10)
    _stop.clear()
    _poller = None


def poll_now(today: dt.date | None = None) -> SpecialistIndex:
    """Apply the change log at once (tests, the benchmark, the worker)."""
    with _build_lock:
        return _refresh(today or timezone.localdate())


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
    snapshot: str = ""
    spare_rows: int = 0


def index_status() -> IndexStatus:
    index = _current
    return IndexStatus(
        built=index is not None,
        generation=index.generation if index is not None else None,
        size=index.visible if index is not None else 0,
        built_at=_health.built_at,
        build_seconds=round(_health.build_seconds, 3),
        failures=_health.failures,
        last_error=_health.last_error,
        retry_in_seconds=round(max(0.0, _health.retry_at - time.monotonic()), 1),
        snapshot=Path(index.path).name if index is not None else "",
        spare_rows=index.size - index.next_spare if index is not None else 0,
    )


# Per-process state derived from an index (exposure.py's sums and snapshots)
# forgets itself with it; a list for the same reason as `after_poll`.
after_reset: list[Callable[[], None]] = []


def reset_index(*, files: bool = True) -> None:
    """Forget the index, what `after_reset` keeps beside it and (tests) the snapshot files."""
    global _current, _health, _follower
    stop_poller()
    with _lock:
        _current = None
        _health = BuildHealth()
        _follower = _Follower()
    if files and snapshot_dir().is_dir():
        for path in snapshot_dir().glob("index-*.snap"):
            path.unlink(missing_ok=True)
    for hook in after_reset:
        hook()


def wait_for_refresh(timeout: float = 30.0) -> None:
    """Bring the index up to date now, if it can be (tests and the benchmark)."""
    if _current is not None and not _health.backing_off():
        try:
            poll_now(_current.today)
        except Exception:  # logged by _refresh; the index held keeps serving
            return


# --- the worker's part -------------------------------------------------------------------

# Change-log rows older than this are deleted daily: every snapshot in use is
# of today, so no process needs to replay further back.
KEEP_CHANGES_DAYS = 2


@dataclass(frozen=True)
class SnapshotReport:
    path: str
    visible: int
    rows: int
    generation: int
    seconds: float
    bytes: int
    changes_deleted: int


def refresh_snapshot(today: dt.date, *, lock: bool = True, prune: bool = True) -> SnapshotReport:
    """Build the day's snapshot now (so no web process has to) and prune the change log.

    `lock=False` when the caller holds the build lock (a web process that
    runs this command as its builder).
    """
    started = time.perf_counter()
    if lock:
        with _FileLock():
            path = write_snapshot(today)
    else:
        path = write_snapshot(today)
    seconds = time.perf_counter() - started
    meta = snap.read_meta(path)
    deleted = 0
    if prune:
        newest = current_generation()
        cutoff = timezone.now() - dt.timedelta(days=KEEP_CHANGES_DAYS)
        # The newest row stays: it dates the snapshots (see _stamp).
        deleted, _ = SearchChange.objects.filter(created_at__lt=cutoff).exclude(pk=newest).delete()
    return SnapshotReport(
        path=str(path),
        visible=int(meta["visible"]),
        rows=int(meta["size"]),
        generation=int(meta["generation"]),
        seconds=round(seconds, 2),
        bytes=path.stat().st_size,
        changes_deleted=deleted,
    )

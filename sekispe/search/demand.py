"""The search-demand log (issue 17): what people ask the Active List for, per day.

Why: the policy pages compare demand with supply ("unmet demand": searches that
found fewer than 3 local specialists accepting work). Only aggregates are
kept: a row is (day, prefecture, theme, form, results) -> searches. No query
text, address, user, session or time of day is ever stored; the day is the
Japan date.

What counts (docs/search.md, "Search demand"):
- a first page (page 1) of results shown to a person through the web page or
  the API, under the same rule as the exposure ledger (search/bots.py: no
  declared bots, no heavy clients). Paging on does not count again.
- one count per asked prefecture x asked theme: the prefectures are the
  query's `location_codes()` (a region counts as its prefectures), none ->
  prefecture ""; no theme -> theme 0. The form is the asked form when exactly
  one is asked, else "" (none, or several, is "any form").
- `results`: specialists accepting work (index.accepting) whose service area
  covers the prefecture, who offer the theme (if any) and the form (if any),
  capped at 3 (3 = "3 or more"). It deliberately ignores the search's other
  filters (fee, industry, free text): it measures the supply for the cell the
  row records, so it is a function of the row's own columns and that day.
  With no prefecture, every accepting specialist with the theme and form
  counts.

Writes follow exposure.py: counts are summed in this process's memory (no
database write on the request path) and flushed as additive upserts
(`searches = searches + excluded.searches`) in one transaction, sorted by key
so concurrent flushes never deadlock, every FLUSH_SEARCHES searches or
FLUSH_SECONDS, at the daily exposure maintenance (`flush`) and at exit. A
failed flush keeps its counts for the next one; taking the counts out of the
buffer is atomic, so nothing is written twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from sekispe.search import flushing
from sekispe.search import index as ix
from sekispe.search.models import SearchDemand
from sekispe.search.services import SearchQuery

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 60.0
FLUSH_SEARCHES = 1000
# "3 or more": fewer than this many local accepting specialists is unmet demand.
RESULTS_CAP = 3
_UPSERT_CHUNK = 2000

# (day, prefecture, theme, form, results)
Cell = tuple[dt.date, str, int, str, int]


# --- what one search counts as ------------------------------------------------------------


class _Supply:
    """Local accepting specialists per (prefecture, theme, form), per index build."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.listing_ids: np.ndarray | None = None
        self.counts: dict[tuple[str, int, str], int] = {}

    def count(self, index: ix.SpecialistIndex, prefecture: str, theme: int, form: str) -> int:
        """Uncapped: how many accepting specialists cover the cell."""
        key = (prefecture, theme, form)
        with self.lock:
            if self.listing_ids is not index.listing_ids:
                self.listing_ids, self.counts = index.listing_ids, {}
            found = self.counts.get(key)
        if found is not None:
            return found
        rows = index.accepting.copy()
        if prefecture:
            rows &= (index.prefectures & np.uint64(ix.mask_of((prefecture,), ix.PREF_BIT))) != 0
        if theme:
            rows &= (index.themes & np.uint64(ix.mask_of((theme,), ix.THEME_BIT))) != 0
        if form:
            rows &= index.fees[:, ix.FORM_COL[form]] != ix.NOT_OFFERED
        found = int(np.count_nonzero(rows))
        with self.lock:
            if self.listing_ids is index.listing_ids:
                self.counts[key] = found
        return found


_supply = _Supply()


def local_supply(index: ix.SpecialistIndex, prefecture: str, theme: int, form: str) -> int:
    """Local accepting specialists in `index` for a cell, uncapped (`results` caps it)."""
    return _supply.count(index, prefecture, theme, form)


def cells_for(query: SearchQuery, index: ix.SpecialistIndex, day: dt.date) -> list[Cell]:
    """The demand cells one shown first page of `query` adds 1 to (see the module doc)."""
    prefectures = query.location_codes() or ("",)
    themes = tuple(dict.fromkeys(query.themes)) or (0,)
    form = query.forms[0] if len(set(query.forms)) == 1 else ""
    return [
        (
            day,
            prefecture,
            theme,
            form,
            min(RESULTS_CAP, _supply.count(index, prefecture, theme, form)),
        )
        for prefecture in prefectures
        for theme in themes
    ]


# --- the buffer ---------------------------------------------------------------------------


class _Buffer:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self.counts: Counter[Cell] = Counter()
        self.searches = 0
        self.last_flush = time.monotonic()
        self.flushing = False

    def add(self, cells: Iterable[Cell]) -> bool:
        """Add one search's cells; True when a flush is due (and claimed by the caller)."""
        with self.lock:
            self.counts.update(cells)
            self.searches += 1
            due = not self.flushing and (
                self.searches >= FLUSH_SEARCHES
                or time.monotonic() - self.last_flush >= FLUSH_SECONDS
            )
            if due:
                self.flushing = True
            return due

    def take(self) -> Counter[Cell]:
        with self.lock:
            taken = self.counts
            self.counts = Counter()
            self.searches = 0
            self.last_flush = time.monotonic()
        return taken

    def give_back(self, counts: Counter[Cell]) -> None:
        with self.lock:
            self.counts.update(counts)


_buffer = _Buffer()


def record(query: SearchQuery, *, today: dt.date | None = None) -> None:
    """Count a search whose results were shown to a person (no database write).

    Only a first page counts: paging through the same results is one search.
    """
    if query.page != 1:
        return
    today = today or timezone.localdate()
    cells = cells_for(query, ix.get_index(today), today)
    if _buffer.add(cells):
        _flusher.start()


def pending() -> int:
    """Searches counted in this process and not yet written."""
    return sum(_buffer.counts.values())


def flush() -> int:
    """Write this process's counts now; returns the rows touched.

    Raises if the write fails; the counts are kept for the next flush.
    """
    counts = _buffer.take()
    if not counts:
        return 0
    try:
        _upsert(counts)
    except Exception:
        _buffer.give_back(counts)
        raise
    return len(counts)


_flusher = flushing.Flusher(
    "search demand flush", _buffer, flush, lambda: bool(_buffer.counts), logger
)


def reset() -> None:
    """Forget this process's unflushed counts and supply cache (tests)."""
    _buffer.clear()
    with _supply.lock:
        _supply.listing_ids, _supply.counts = None, {}


# --- writing --------------------------------------------------------------------------------


def _upsert(counts: Counter[Cell] | dict[Cell, int]) -> None:
    """Add `counts` to the table (creating missing rows) in one transaction.

    Additive, so flushes of several processes at once add up; sorted keys make
    every flush lock rows in the same order (no deadlocks on PostgreSQL).
    """
    table = SearchDemand._meta.db_table
    sql = (
        f"INSERT INTO {table} (day, prefecture, theme, form, results, searches) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (day, prefecture, theme, form, results) DO UPDATE SET "
        f"searches = {table}.searches + excluded.searches"
    )
    rows = [(*cell, n) for cell, n in sorted(counts.items()) if n]
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), _UPSERT_CHUNK):
            cursor.executemany(sql, rows[start : start + _UPSERT_CHUNK])


def add_demand(rows: Iterable[tuple[dt.date, str, int, str, int, int]]) -> int:
    """Add logged searches in bulk (benchmarks, demo data): rows of
    (day, prefecture, theme, form, results, searches). Rows for the same cell
    are summed first; `results` is capped as `record` caps it. Returns the
    number of searches added."""
    counts: Counter[Cell] = Counter()
    for day, prefecture, theme, form, results, searches in rows:
        if searches < 0:
            raise ValueError("searches must not be negative")
        counts[(day, prefecture, int(theme), form, min(RESULTS_CAP, int(results)))] += searches
    _upsert(counts)
    return sum(counts.values())

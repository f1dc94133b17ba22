"""Which served searches count in the exposure ledger, and the search API's rate limit.

Why: the ledger (exposure.py) orders each relevance tier by who has been shown
least, so whoever generates page views moves the order. A crawler or a script
paging through the Active List would move it far more than the people the
ordering is for. The rule (docs/search.md, "Bots and heavy clients"):

- A request whose User-Agent declares a robot or an HTTP library (or sends
  none) never counts. Browsers always send one; honest robots say so.
- A client address counts for its first SEARCH_EXPOSURE_MAX_PER_IP searches
  in the hour (web page and API together); after that it is still served,
  it just no longer moves the ledger. Dishonest scrapers fake a browser's
  User-Agent, so this is the part that holds.
- The API refuses an address past SEARCH_API_PER_IP searches in the hour
  (429). The web page is never refused: a person reloading is not a threat,
  only the count of exposure is protected there.

The count is kept in memory per process and written in batches (one
`ratelimit.add_hits` for many searches: AdmissionCounts below), because a
database write per search cost more than the search itself (issue 18: search
p50 within 2x /healthz). Within one process every decision is exact. Across
processes, each sees the others' counts when it writes: its first search from
an address, then every FLUSH_HITS searches or FLUSH_SECONDS seconds. So a
client spread over P processes can run past a limit by at most about
P x FLUSH_HITS searches in a window (1,200 an hour by default), and a crash
loses at most that many counts. Neither limit guards a secret: the exact,
write-first counters (ratelimit.hit / consume) stay for logins and contact
reveals.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from sekispe.core import ratelimit
from sekispe.search import flushing

logger = logging.getLogger(__name__)

# Substrings, case-insensitive. Generic words (bot, crawl, spider, scrap) catch
# most self-declared robots; the rest are HTTP libraries and command-line tools.
BOT_USER_AGENT = re.compile(
    r"bot|crawl|spider|slurp|scrap|archiver|fetch|monitor|preview|headlesschrome"
    r"|curl|wget|httpie|python-requests|python-urllib|python-httpx|aiohttp|go-http-client"
    r"|okhttp|java/|libwww|apache-httpclient|node-fetch|axios|postman|phantomjs",
    re.IGNORECASE,
)
SCOPE = "search"
RULE_SETTING = "SEARCH_API_PER_IP"
FLUSH_HITS = 20  # searches (all addresses) between writes
FLUSH_SECONDS = 1.0  # ... or this long, whichever comes first
MAX_TALLIES = 10_000  # addresses kept in memory before written ones are dropped


def declares_bot(user_agent: str) -> bool:
    """True for a missing User-Agent or one naming a robot or an HTTP library."""
    return not user_agent.strip() or bool(BOT_USER_AGENT.search(user_agent))


@dataclass(frozen=True)
class SearchAdmission:
    allowed: bool  # False: the API answers 429 (the web page ignores it)
    count_exposure: bool
    retry_after_seconds: int


@dataclass
class _Tally:
    window_start: dt.datetime
    known: int = 0  # the shared count at this process's last write
    pending: int = 0  # searches counted here since, not yet written
    sending: int = 0  # searches in a write under way
    written: bool = False  # once written, `known` includes other processes


class AdmissionCounts:
    """One process's search counts per address, written in batches."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.lock = threading.Lock()
        self.clock = clock
        self.clear()

    def clear(self) -> None:
        self.tallies: dict[str, _Tally] = {}
        self.unwritten = 0
        self.last_write = self.clock()
        self.flushing = False

    def hit(
        self, key: str, rule: ratelimit.Limit, *, now: dt.datetime | None = None
    ) -> tuple[ratelimit.Decision, bool]:
        """Count one search; the decision, and whether a write is due (then
        claimed by the caller, who must call `flush`)."""
        now = now or timezone.now()
        with self.lock:
            tally = self.tallies.get(key)
            if tally is None or tally.window_start + rule.window <= now:
                tally = self.tallies[key] = _Tally(window_start=now)
            tally.pending += 1
            self.unwritten += 1
            count = tally.known + tally.sending + tally.pending
            due = not self.flushing and (
                not tally.written
                or self.unwritten >= FLUSH_HITS
                or self.clock() - self.last_write >= FLUSH_SECONDS
            )
            if due:
                self.flushing = True
            decision = ratelimit.Decision(
                count <= rule.limit, count, tally.window_start + rule.window - now
            )
        return decision, due

    def flush(self, rule: ratelimit.Limit, *, now: dt.datetime | None = None) -> int:
        """Write every pending count; returns how many addresses were written.

        Raises if the write fails, keeping the counts for the next one. Counts
        added while the write runs stay pending (only what was sent is taken
        off), and ended windows are forgotten here, which bounds the memory.
        """
        now = now or timezone.now()
        with self.lock:
            # Counts of an ended window no longer matter to anyone.
            self.tallies = {
                key: tally
                for key, tally in self.tallies.items()
                if tally.window_start + rule.window > now
            }
            if len(self.tallies) > MAX_TALLIES:
                # Addresses seen once an hour: the database has their count,
                # and their next search reads it back (an unwritten tally).
                self.tallies = {
                    key: tally
                    for key, tally in self.tallies.items()
                    if tally.pending or not tally.written
                }
            sent = {
                key: tally.pending
                for key, tally in self.tallies.items()
                if tally.pending or not tally.written
            }
            for key, count in sent.items():
                # Moved, not copied: a second write at the same time (the exit
                # hook) cannot send them again.
                self.tallies[key].pending -= count
                self.tallies[key].sending += count
            self.unwritten = 0
            self.last_write = self.clock()
        if not sent:
            return 0
        try:
            shared = ratelimit.add_hits(sent, rule, now=now)
        except Exception:
            with self.lock:
                for key, count in sent.items():
                    if (tally := self.tallies.get(key)) is not None:
                        tally.sending -= count
                        tally.pending += count
                self.unwritten = sum(tally.pending for tally in self.tallies.values())
            raise
        with self.lock:
            for key, decision in shared.items():
                if (tally := self.tallies.get(key)) is None:
                    continue  # cleared meanwhile
                tally.sending -= sent[key]
                tally.known = decision.count
                tally.window_start = now - (rule.window - decision.retry_after)
                tally.written = True
            self.unwritten = sum(tally.pending for tally in self.tallies.values())
        return len(sent)

    def pending(self) -> bool:
        return self.unwritten > 0


_counts = AdmissionCounts()


def flush() -> int:
    """Write this process's search counts now (tests, and at exit)."""
    return _counts.flush(ratelimit.rule(RULE_SETTING))


def reset() -> None:
    """Forget unwritten counts (tests)."""
    _counts.clear()


_flusher = flushing.Flusher("search admission counts", _counts, flush, _counts.pending, logger)


def admit_search(request: HttpRequest) -> SearchAdmission:
    """Count one search by the client's address (page and API share the
    counter) and decide whether it is served and whether it counts."""
    decision, due = _counts.hit(ratelimit.ip_key(SCOPE, request), ratelimit.rule(RULE_SETTING))
    if due:
        _flusher.start()
    counts = decision.count <= settings.SEARCH_EXPOSURE_MAX_PER_IP and not declares_bot(
        request.headers.get("User-Agent", "")
    )
    return SearchAdmission(
        allowed=decision.allowed,
        count_exposure=counts,
        retry_after_seconds=max(1, int(decision.retry_after.total_seconds())),
    )


def page_counts_exposure(request: HttpRequest) -> bool:
    """For the web page: never refused; a declared bot is not even counted
    (one database write saved per robot page view)."""
    if declares_bot(request.headers.get("User-Agent", "")):
        return False
    return admit_search(request).count_exposure

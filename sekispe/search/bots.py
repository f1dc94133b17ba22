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
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

from sekispe.core import ratelimit

# Substrings, case-insensitive. Generic words (bot, crawl, spider, scrap) catch
# most self-declared robots; the rest are HTTP libraries and command-line tools.
BOT_USER_AGENT = re.compile(
    r"bot|crawl|spider|slurp|scrap|archiver|fetch|monitor|preview|headlesschrome"
    r"|curl|wget|httpie|python-requests|python-urllib|python-httpx|aiohttp|go-http-client"
    r"|okhttp|java/|libwww|apache-httpclient|node-fetch|axios|postman|phantomjs",
    re.IGNORECASE,
)
SCOPE = "search"


def declares_bot(user_agent: str) -> bool:
    """True for a missing User-Agent or one naming a robot or an HTTP library."""
    return not user_agent.strip() or bool(BOT_USER_AGENT.search(user_agent))


@dataclass(frozen=True)
class SearchAdmission:
    allowed: bool  # False: the API answers 429 (the web page ignores it)
    count_exposure: bool
    retry_after_seconds: int


def admit_search(request: HttpRequest) -> SearchAdmission:
    """Count one search by the client's address (page and API share the
    counter) and decide whether it is served and whether it counts."""
    decision = ratelimit.hit(ratelimit.ip_key(SCOPE, request), ratelimit.rule("SEARCH_API_PER_IP"))
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

"""What the registry's rules need to know from the apps above it.

Two facts the registry does not own decide what it shows and does:

- a registrant whose renewal application waits for a decision stays
  registered past their expiry (the public search lists them, the expiry
  job skips them); the applications live in `registrant_requests`;
- the public search links an entry to its Active List page while the
  registrant has a visible listing; listings live in `listings`.

Both apps sit above the registry and import it. Each registers its answer
here when it loads (its `AppConfig.ready`), so the registry never imports
them and the app graph stays one-way, as with `search.index`'s engagement
counter. The answers are querysets, so callers still filter and combine
them in one SQL query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet

# () -> the renewal applications waiting for a decision (a queryset with a
# `record` foreign key to RegistryRecord).
PendingRenewals = Callable[[], QuerySet[Any]]
# (today) -> the listings visible on `today` (a queryset with a `record` key).
VisibleListings = Callable[[dt.date], QuerySet[Any]]

_pending_renewals: PendingRenewals | None = None
_visible_listings: VisibleListings | None = None


def provide_pending_renewals(provider: PendingRenewals) -> None:
    global _pending_renewals
    _pending_renewals = provider


def provide_visible_listings(provider: VisibleListings) -> None:
    global _visible_listings
    _visible_listings = provider


def pending_renewals() -> QuerySet[Any]:
    """Renewal applications submitted and not yet decided."""
    if _pending_renewals is None:
        raise ImproperlyConfigured("sekispe.registrant_requests is not installed")
    return _pending_renewals()


def visible_listings(today: dt.date) -> QuerySet[Any]:
    """Listings shown on the Active List on `today`."""
    if _visible_listings is None:
        raise ImproperlyConfigured("sekispe.listings is not installed")
    return _visible_listings(today)

"""The Active List paragraph of the renewal mails (issue 16, 003's 更新方法 row):
the renewal moment invites a registrant without a listing to list, and asks
one with a listing to confirm it is still right.

One plain function the mail builders call with what they already loaded, so
the reminder run adds no query per record.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

from sekispe.core.mail import site_url
from sekispe.listings.models import Listing, ListingStatus

LISTING_PAGE = "/me/listing/"


def listing_of(record: Any) -> Listing | None:
    """The record's listing, from `select_related("listing")` when the caller
    used it (no query then), else one query."""
    try:
        return record.listing
    except ObjectDoesNotExist:
        return None


def active_list_prompt(listing: Listing | None) -> dict[str, Any]:
    """The facts the mail's paragraph needs.

    A withdrawn listing is off the Active List, so it gets the invitation
    (to list again) rather than a request to confirm something not shown.
    """
    if listing is None or listing.status == ListingStatus.WITHDRAWN:
        return {"has_listing": False, "updated_on": None, "url": site_url(LISTING_PAGE)}
    return {
        "has_listing": True,
        "updated_on": timezone.localdate(listing.updated_at),
        "status": str(ListingStatus(listing.status).label),
        "url": site_url(LISTING_PAGE),
    }

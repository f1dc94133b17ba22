"""Showing a specialist's e-mail address and phone number on request.

Why contacts are not simply printed on the public page: the Active List is
open to anyone, and a page (or API) that prints thousands of addresses is a
ready-made spam list. Each showing is therefore a POST, rate-limited and
logged in `ContactReveal`:

- anonymous visitors are limited per IP address (CONTACT_REVEALS_ANONYMOUS_PER_IP);
  signed-in specialists are counted the same way, as they are not the people
  looking for help;
- signed-in SMEs and support institutions, the people the list is for, are
  limited per account with a ceiling (CONTACT_REVEALS_SIGNED_IN) that normal
  use never reaches but that stops one account from copying the whole list;
- operators are not limited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from sekispe.accounts.models import Role
from sekispe.core import ratelimit
from sekispe.listings.models import Listing
from sekispe.search import services

ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class RevealResult:
    """`specialist` is the detail dict with `email` and `phone` when `allowed`,
    and without them (as on the public page) when the limit was reached."""

    allowed: bool
    specialist: dict[str, Any]
    retry_after: dt.timedelta = dt.timedelta(0)


def viewer_role(user: Any) -> str:
    if user is None or not user.is_authenticated:
        return ANONYMOUS
    return str(user.role)


def _limit_for(user: Any, request: HttpRequest) -> tuple[str, ratelimit.Limit] | None:
    """The counter key and rule that apply to this viewer; None: not limited."""
    role = viewer_role(user)
    if role == Role.OPERATOR:
        return None
    if role in (Role.SME, Role.INSTITUTION):
        return f"contact:user:{user.pk}", ratelimit.rule("CONTACT_REVEALS_SIGNED_IN")
    return (
        ratelimit.ip_key("contact", request),
        ratelimit.rule("CONTACT_REVEALS_ANONYMOUS_PER_IP"),
    )


def reveal_contact(registration_number: str, *, user: Any, request: HttpRequest) -> RevealResult:
    """Show one visible specialist's contacts to `user`, within the rate limit.

    Raises LookupError when no visible listing has that number (checked before
    the limit, so probing unknown numbers costs a scraper nothing it could use).
    A refused request writes no ContactReveal row.
    """
    from sekispe.search.models import ContactReveal

    specialist = services.get_specialist(registration_number, with_contact=True)
    listing_id = (
        Listing.objects.visible()
        .filter(record__registration_number=registration_number)
        .values_list("pk", flat=True)
        .first()
    )
    if listing_id is None:  # hidden or deleted since the index was built
        raise LookupError(registration_number)
    limit = _limit_for(user, request)
    if limit is not None:
        decision = ratelimit.hit(*limit)
        if not decision.allowed:
            hidden = {k: v for k, v in specialist.items() if k not in services.CONTACT_FIELDS}
            return RevealResult(False, hidden, decision.retry_after)
    ContactReveal.objects.create(
        listing_id=listing_id,
        user=user if user is not None and user.is_authenticated else None,
        role=viewer_role(user),
        ip_hash=ratelimit.hashed_client_ip(request),
    )
    return RevealResult(True, specialist)

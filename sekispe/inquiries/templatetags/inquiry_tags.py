"""`{% inquiry_box s %}`: on a specialist's public page, the way to ask them
for help, or why one cannot now (not accepting, or at capacity).

A tag rather than view context so the search views stay unaware of inquiries;
it reads the listing's availability from the database, which is the truth the
send itself checks (the search index may be a moment behind).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse

from sekispe.accounts.models import Role
from sekispe.inquiries import services
from sekispe.listings.models import Listing

register = template.Library()

ASKERS = frozenset({Role.SME, Role.INSTITUTION})


@register.inclusion_tag("inquiries/_specialist_box.html", takes_context=True)
def inquiry_box(context: template.Context, specialist: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated)
    may_ask = not signed_in or user.role in ASKERS
    if not may_ask and specialist.get("accepting", True):
        return {"show": False}  # nothing to offer or explain: no query needed
    number = specialist["registration_number"]
    listing = Listing.objects.filter(record__registration_number=number).first()
    if listing is None:
        return {"show": False}
    availability = services.availability_of(listing)
    if availability.reason == "not_listed":
        if specialist.get("accepting", True):
            return {"show": False}
        # A preview of a listing not (yet) public still shows its own setting.
        availability = services.Availability(False, "not_accepting")
    params = [("theme", str(t)) for t in specialist.get("themes", [])] + [
        ("prefecture", p) for p in specialist.get("prefectures", [])
    ]
    return {
        "show": True,
        "s": specialist,
        "can_send": availability.can_send,
        "reason": availability.reason,
        "message": services.REFUSAL_MESSAGES.get(availability.reason, ""),
        "may_ask": may_ask,
        "signed_in": signed_in,
        "new_url": reverse("inquiries:new", args=[number]),
        "similar_url": reverse("search:index") + (f"?{urlencode(params)}" if params else ""),
    }

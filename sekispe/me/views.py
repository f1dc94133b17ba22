"""`/me/`: the signed-in specialist's front page (thin; see `presentation`), and
`/me/listing/preview/`: their listing as the Active List shows it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from sekispe.core.permissions import specialist_required
from sekispe.listings import lifecycle
from sekispe.listings.models import STALE_AFTER_DAYS, Listing, RevisionStatus
from sekispe.listings.revisions import ProposedListing, open_revision, revision_state
from sekispe.listings.services import get_specialist_listing
from sekispe.me.presentation import front_page
from sekispe.search.forms import detail_context
from sekispe.search.services import specialist_from_listing


@specialist_required
@never_cache
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    context = {"page": front_page(request.user), "stale_after_days": STALE_AFTER_DAYS}
    return render(request, "me/home.html", context)


@specialist_required
@never_cache
@require_GET
def listing_preview(request: HttpRequest) -> HttpResponse:
    listing = get_specialist_listing(request.user)
    today = timezone.localdate()
    revision = open_revision(listing) if lifecycle.reviews_edits(listing) else None
    pending = revision is not None and revision.status == RevisionStatus.PENDING
    # A change waiting for review is shown as it will look once approved.
    subject: Any = ProposedListing(listing, revision_state(revision)) if pending else listing
    # The owner sees their own contact details as they will be shown after a reveal.
    context = detail_context(specialist_from_listing(subject, today=today), contact_shown=True)
    context["listing"] = listing
    context["includes_pending"] = pending
    context["is_public"] = Listing.objects.visible(today).filter(pk=listing.pk).exists()
    return render(request, "me/preview.html", context)

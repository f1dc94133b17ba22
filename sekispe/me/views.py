"""`/me/`: the signed-in specialist's front page (thin; see `presentation`)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from sekispe.accounts.permissions import specialist_required
from sekispe.listings.models import STALE_AFTER_DAYS
from sekispe.me.presentation import front_page


@specialist_required
@never_cache
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    context = {"page": front_page(request.user), "stale_after_days": STALE_AFTER_DAYS}
    return render(request, "me/home.html", context)

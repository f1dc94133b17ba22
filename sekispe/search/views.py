"""The public Active List pages. Thin: parse, call services, render."""

from __future__ import annotations

import dataclasses
import secrets
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST

from sekispe.core.api import InvalidQuery
from sekispe.core.csrf import get_token
from sekispe.core.templatetags import fragments
from sekispe.search import bots, contact, demand, forms, rendering, services

# A random number per browser, used only to order results (see ranking.py):
# each viewer sees their own order, stable across reloads and pages.
ORDER_COOKIE = "sekispe_order"
_ORDER_SALT = "sekispe.search.viewer"

# Cookie values that verified, and their seed: a returning browser sends the
# same value on every search, and checking its signature again (a signer
# built from settings, a key derivation, an HMAC) cost more than the rest of
# reading the request. Only verified values are kept, so a forged one is still
# refused; a change of settings (a rotated SECRET_KEY) forgets them all.
_SEED_MEMO_SIZE = 10_000
_verified_seeds: dict[str, int] = {}


@receiver(setting_changed)
def _forget_seeds(**_kwargs: Any) -> None:
    _verified_seeds.clear()


def _viewer_seed(request: HttpRequest) -> tuple[int, bool]:
    """(seed, whether it is new and must be set as a cookie)."""
    raw = request.COOKIES.get(ORDER_COOKIE)
    if raw is not None and (seed := _verified_seeds.get(raw)) is not None:
        return seed, False
    try:
        seed = int(request.get_signed_cookie(ORDER_COOKIE, salt=_ORDER_SALT), 16)
    except (KeyError, signing.BadSignature, ValueError):
        return secrets.randbits(32) | 1, True  # never 0, the API's shared order
    if raw is not None:
        if len(_verified_seeds) >= _SEED_MEMO_SIZE:
            _verified_seeds.clear()
        _verified_seeds[raw] = seed
    return seed, False


def _same_for_everyone(request: HttpRequest) -> bool:
    """No session (so nobody signed in) and no message to show: the page is
    then the same for every visitor with its URL, language and order, but for
    the CSRF token."""
    return settings.SESSION_COOKIE_NAME not in request.COOKIES and not len(
        messages.get_messages(request)
    )


def _render_page(
    request: HttpRequest,
    query: services.SearchQuery,
    result: services.SearchResult | None,
    error: InvalidQuery | None,
) -> list[bytes | str]:
    """The page (or the htmx partial) as response pieces, the CSRF token left
    as a slot (rendering.fill)."""
    context = forms.page_context(request, query, result, error, with_rows=False)
    # The cards and the facet options as ready strings: rendered by the template
    # engine they were most of the page's time (search/rendering.py).
    context["cards"] = cards = rendering.result_cards(result) if result else []
    # The cards and the form are spliced into the response as the bytes kept
    # with them (rendering.page_pieces), not printed through the template.
    parts = {"cards": b"".join(rendering.utf8(card) for card in cards)}
    context["cards_html"] = rendering.page_slot("cards")
    context["csrf_token"] = rendering.page_slot("csrf")
    if request.htmx:  # the partial leaves the form in place, and updates its counts
        rendering.add_option_html(context, form=False)
    else:
        parts["filters"] = rendering.utf8(rendering.filters_html(context))
        context["filters_html"] = rendering.page_slot("filters")
    template = "search/_results.html" if request.htmx else "search/index.html"
    return rendering.page_pieces(render_to_string(template, context, request), parts)


@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    """Public. htmx requests get only the results partial."""
    new_seed = None
    try:
        query = forms.query_from_params(request.GET)
        if query.order_bucket is None:  # no order token: this browser's seed
            seed, is_new = _viewer_seed(request)
            query = dataclasses.replace(query, viewer_seed=seed)
            new_seed = seed if is_new else None
        counts = bots.page_counts_exposure(request)
        result = services.search(query, with_facets=True, record_exposure=counts)
        if counts:
            demand.record(query)
        error = None
    except InvalidQuery as exc:
        query, result, error = services.SearchQuery(), None, exc
    key = pieces = shown = None
    if result is not None and result.ranked is not None and _same_for_everyone(request):
        key = rendering.page_html_key(
            request.get_full_path(), query, bool(request.htmx), fragments.generation()
        )
        shown = (result.facets, result.not_accepting_hidden, result.fallback)
        pieces = rendering.page_html_cache.get(key, result.ranked, shown)
    if pieces is None:
        pieces = _render_page(request, query, result, error)
        if key is not None:
            rendering.page_html_cache.put(key, result.ranked, shown, pieces)  # type: ignore[union-attr]
    # The CSRF token is the one part of a kept page that differs per visitor.
    response = HttpResponse(
        rendering.fill(pieces, {"csrf": get_token(request).encode()}),
        status=400 if error else 200,
    )
    if new_seed is not None:
        # A browser-session cookie holding nothing but a random number.
        response.set_signed_cookie(
            ORDER_COOKIE,
            f"{new_seed:x}",
            salt=_ORDER_SALT,
            httponly=True,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response


@require_GET
def ordering_page(request: HttpRequest) -> HttpResponse:
    """Public: how results are ordered, in plain Japanese."""
    return render(request, "search/ordering.html", services.ordering_facts())


@require_GET
def specialist_page(request: HttpRequest, registration_number: str) -> HttpResponse:
    """Public; 404 for anyone not visibly listed. Contacts are behind `contact_page`."""
    try:
        specialist = services.get_specialist(registration_number)
    except LookupError:
        raise Http404 from None
    return render(request, "search/detail.html", forms.detail_context(specialist))


@require_POST
def contact_page(request: HttpRequest, registration_number: str) -> HttpResponse:
    """Public (every role and anonymous visitors), rate-limited per viewer:
    shows the contacts and logs the showing. htmx requests get the contact
    section only; without JavaScript the whole detail page comes back."""
    try:
        result = contact.reveal_contact(registration_number, user=request.user, request=request)
    except LookupError:
        raise Http404 from None
    context = {
        **forms.detail_context(result.specialist, contact_shown=result.allowed),
        "limit_reached": not result.allowed,
    }
    template = "search/_contact.html" if request.htmx else "search/detail.html"
    response = render(request, template, context, status=200 if result.allowed else 429)
    if not result.allowed:
        response["Retry-After"] = str(max(1, int(result.retry_after.total_seconds())))
    return response

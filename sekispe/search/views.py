"""The public Active List pages. Thin: parse, call services, render."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from sekispe.search import contact, forms, services


@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    """Public. htmx requests get only the results partial."""
    try:
        query = forms.query_from_params(request.GET)
        result = services.search(query, with_facets=True)
        error = None
    except services.InvalidQuery as exc:
        query, result, error = services.SearchQuery(), None, exc
    context = forms.page_context(request, query, result, error)
    template = "search/_results.html" if request.htmx else "search/index.html"
    return render(request, template, context, status=400 if error else 200)


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

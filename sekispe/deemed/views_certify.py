"""The certifier's page (/certify/<token>/): no account, the e-mailed link is
the credential.

An unknown token is a 404; a used, replaced or expired one is a 410 that says
what to do (ask the applicant to send a new link). The answer records the time
and a keyed hash of the address (`ratelimit.hashed_client_ip`), never the
address itself. Answers are rate-limited per address like every public form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from sekispe.core import ratelimit
from sekispe.deemed import pdf, services
from sekispe.deemed.forms import CertifyForm, DeclineForm
from sekispe.deemed.models import CertificationRequest

# The filled-in form stays downloadable this long after the link was answered.
PDF_AFTER_ANSWER = dt.timedelta(days=services.CERTIFICATION_DAYS)
CONFIRM, DECLINE = "confirm", "decline"


def _private(response: HttpResponse) -> HttpResponse:
    """Reached by its link alone: out of search engines and shared caches. The
    site's Referrer-Policy (same-origin) keeps the token out of other sites'
    Referer headers; no-referrer would make browsers send `Origin: null` on the
    forms' POST, which CSRF protection rightly refuses."""
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"
    return response


def _unknown(request: HttpRequest) -> HttpResponse:
    return _private(render(request, "deemed/certify_unknown.html", status=404))


def _gone(request: HttpRequest, certification: CertificationRequest | None) -> HttpResponse:
    context = {"application": certification.application if certification else None}
    return _private(render(request, "deemed/certify_gone.html", context, status=410))


def _page(
    request: HttpRequest,
    token: str,
    certification: CertificationRequest,
    *,
    certify_form: CertifyForm | None = None,
    decline_form: DeclineForm | None = None,
    limited: bool = False,
    status: int = 200,
) -> HttpResponse:
    application = certification.application
    context: dict[str, Any] = {
        "token": token,
        "certification": certification,
        "application": application,
        "record": application.record,
        "item": application.syllabus_item,
        "certify_form": certify_form
        or CertifyForm(
            prefix=CONFIRM,
            initial={"name": application.certifier_name, "title": application.certifier_title},
        ),
        "decline_form": decline_form or DeclineForm(prefix=DECLINE),
        "limited": limited,
    }
    return _private(render(request, "deemed/certify_form.html", context, status=status))


@require_http_methods(["GET", "POST"])
def form(request: HttpRequest, token: str) -> HttpResponse:
    state, certification = services.certification_of(token)
    if state == "unknown" or certification is None:
        return _unknown(request)
    if state != "valid":
        return _gone(request, certification)
    if request.method == "GET":
        return _page(request, token, certification)
    action = request.POST.get("action")
    certify_form = CertifyForm(request.POST, prefix=CONFIRM) if action == CONFIRM else None
    decline_form = DeclineForm(request.POST, prefix=DECLINE) if action == DECLINE else None
    answered = certify_form or decline_form
    if answered is None or not answered.is_valid():
        # No button (an empty POST) shows the page again, as a bad request.
        return _page(
            request,
            token,
            certification,
            certify_form=certify_form,
            decline_form=decline_form,
            status=400,
        )
    decision = ratelimit.hit(
        ratelimit.ip_key("deemed-certify", request), ratelimit.rule("DEEMED_CERTIFICATIONS_PER_IP")
    )
    if not decision.allowed:
        # What was typed stays in the form.
        response = _page(
            request,
            token,
            certification,
            certify_form=certify_form,
            decline_form=decline_form,
            limited=True,
            status=429,
        )
        response["Retry-After"] = str(max(1, int(decision.retry_after.total_seconds())))
        return response
    address = ratelimit.hashed_client_ip(request)
    try:
        if certify_form is not None:
            services.certify(
                token,
                name=certify_form.cleaned_data["name"],
                title=certify_form.cleaned_data["title"],
                address_hash=address,
            )
        else:
            assert decline_form is not None  # noqa: S101 - one of the two was answered
            services.decline_certification(
                token, reason=decline_form.cleaned_data["reason"], address_hash=address
            )
    except services.DeemedRefused as refused:
        if refused.field is None:
            # Answered in another tab, or the link was replaced meanwhile.
            state, certification = services.certification_of(token)
            return _gone(request, certification)
        answered.refuse(refused)
        return _page(
            request,
            token,
            certification,
            certify_form=certify_form,
            decline_form=decline_form,
            status=400,
        )
    return redirect("deemed_certify:done", token=token)


@require_GET
def done(request: HttpRequest, token: str) -> HttpResponse:
    """The thank-you page after answering; before that, the link's form."""
    state, certification = services.certification_of(token)
    if state == "unknown" or certification is None:
        return _unknown(request)
    if state == "valid":
        return redirect("deemed_certify:form", token=token)
    if state != "used":
        return _gone(request, certification)
    context = {
        "token": token,
        "certification": certification,
        "application": certification.application,
    }
    return _private(render(request, "deemed/certify_done.html", context))


@require_GET
def form_pdf(request: HttpRequest, token: str) -> HttpResponse:
    """The filled-in form, while the link is valid and for 30 days after it
    was answered (a certifier printing it for their files after confirming)."""
    state, certification = services.certification_of(token)
    if state == "unknown" or certification is None:
        return _unknown(request)
    answered = certification if certification.used_at is not None else None
    recent = answered is not None and answered.used_at > timezone.now() - PDF_AFTER_ANSWER
    if not (state == "valid" or (state == "used" and recent)):
        return _gone(request, certification)
    return _private(pdf.response(certification.application, answered))

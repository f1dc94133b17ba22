"""The public registration application: /register/ (form → check your answers →
submitted). No account needed; the answers travel in the form itself between
the steps, so nothing is stored until the applicant submits."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from sekispe.core import ratelimit
from sekispe.intake import services
from sekispe.intake.forms import ApplicationForm

# Applications per client address and hour, unless settings say otherwise.
DEFAULT_APPLICATIONS_PER_IP = (5, 3600)
SESSION_KEY = "intake_reference"


def _rule() -> ratelimit.Limit:
    count, seconds = getattr(settings, "INTAKE_APPLICATIONS_PER_IP", DEFAULT_APPLICATIONS_PER_IP)
    return ratelimit.Limit(count, dt.timedelta(seconds=seconds))


@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "intake/form.html", {"form": ApplicationForm()})
    form = ApplicationForm(request.POST)
    if "edit" in request.POST:
        # Back from the check page: the answers return to the form as typed.
        return render(request, "intake/form.html", {"form": form})
    if not form.is_valid():
        return render(request, "intake/form.html", {"form": form}, status=400)
    if "submit" not in request.POST:
        return render(request, "intake/confirm.html", {"form": form, "rows": form.summary()})
    decision = ratelimit.hit(ratelimit.ip_key("intake", request), _rule())
    if not decision.allowed:
        response = render(
            request,
            "intake/confirm.html",
            {"form": form, "rows": form.summary(), "limited": True},
            status=429,
        )
        response["Retry-After"] = str(max(1, int(decision.retry_after.total_seconds())))
        return response
    application = services.submit_application(form.details())
    request.session[SESSION_KEY] = application.reference
    return redirect("intake:done")


@require_GET
def done(request: HttpRequest) -> HttpResponse:
    reference = request.session.get(SESSION_KEY)
    if not reference:
        return redirect("intake:apply")
    return render(request, "intake/done.html", {"reference": reference})

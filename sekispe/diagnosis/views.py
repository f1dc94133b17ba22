"""The self-diagnosis pages. Thin: parse, call services, render.

Anyone may answer and see a result; a result is reached only through its
unguessable share link. The history is for SME accounts.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sekispe.accounts.models import Role
from sekispe.core import ratelimit
from sekispe.core.permissions import role_required
from sekispe.diagnosis import presentation, rules, security_action, services
from sekispe.diagnosis.forms import DiagnosisForm
from sekispe.diagnosis.models import Diagnosis


def _private(response: HttpResponse) -> HttpResponse:
    """A result is reached by its link alone: keep it out of search engines,
    shared caches and other sites' Referer headers."""
    response["X-Robots-Tag"] = "noindex, nofollow"
    # Not "no-referrer": browsers then send `Origin: null` with the page's own
    # forms, which CSRF protection rightly refuses. "same-origin" (the site's
    # default) already keeps the link out of other sites' Referer headers.
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """Public. The questionnaire; a signed-in SME starts from its last answers."""
    questionnaire = rules.current()
    previous = services.latest(request.user)
    if request.method == "POST":
        form = DiagnosisForm(request.POST, questionnaire=questionnaire)
        if not form.is_valid():
            context = {"form": form, "previous": previous}
            return render(request, "diagnosis/start.html", context, status=400)
        decision = ratelimit.hit(
            ratelimit.ip_key("diagnosis", request), ratelimit.rule("DIAGNOSES_PER_IP")
        )
        if not decision.allowed:
            # The answers stay in the form: nothing typed is lost.
            context = {"form": form, "previous": previous, "limited": True}
            response = render(request, "diagnosis/start.html", context, status=429)
            response["Retry-After"] = str(max(1, int(decision.retry_after.total_seconds())))
            return response
        diagnosis = services.record(form.answers(), form.profile(), user=request.user)
        if diagnosis.user_id is None:
            services.remember(request.session, diagnosis)
        return redirect("diagnosis:result", token=diagnosis.share_token)
    form = DiagnosisForm(initial=services.initial_for_retake(previous), questionnaire=questionnaire)
    return render(request, "diagnosis/start.html", {"form": form, "previous": previous})


def _diagnosis(token: str) -> Diagnosis:
    try:
        return services.by_token(token)
    except Diagnosis.DoesNotExist:
        raise Http404 from None


@require_GET
def result(request: HttpRequest, token: str) -> HttpResponse:
    """Public to whoever holds the link (the company, its chamber of commerce, a specialist)."""
    diagnosis = _diagnosis(token)
    context = presentation.result_context(services.evaluation_of(diagnosis), diagnosis)
    user = request.user
    is_sme = user.is_authenticated and user.role == Role.SME
    context["own"] = is_sme and diagnosis.user_id == user.pk
    context["claimable"] = (
        is_sme
        and diagnosis.user_id is None
        and token in request.session.get(services.SESSION_KEY, [])
    )
    context["anonymous_in_session"] = not user.is_authenticated and token in request.session.get(
        services.SESSION_KEY, []
    )
    context["share_url"] = request.build_absolute_uri()
    context["security_action"] = security_action.suggestion(context["result"].security_action, user)
    return _private(render(request, "diagnosis/result.html", context))


@require_GET
def result_pdf(request: HttpRequest, token: str) -> HttpResponse:
    """Public to whoever holds the link; the same result as a printable PDF."""
    from sekispe.diagnosis.pdf import render_pdf

    diagnosis = _diagnosis(token)
    context = presentation.result_context(services.evaluation_of(diagnosis), diagnosis)
    context["share_url"] = request.build_absolute_uri(
        reverse("diagnosis:result", args=[diagnosis.share_token])
    )
    response = HttpResponse(render_pdf(context), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="sekispe-diagnosis-{diagnosis.created_at:%Y%m%d}.pdf"'
    )
    return _private(response)


@role_required(Role.SME)
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    """SME accounts: every result kept, and the progress between them."""
    diagnoses = services.history(request.user)
    context = {
        "diagnoses": list(reversed(diagnoses)),
        "chart": presentation.progress_chart(diagnoses),
        "unclaimed": services.unclaimed_in_session(request.session),
    }
    return render(request, "diagnosis/history.html", context)


@role_required(Role.SME)
@require_POST
def claim(request: HttpRequest) -> HttpResponse:
    """SME accounts: keep the results this browser made before signing in."""
    count = services.claim(request.user, request.session)
    if count:
        messages.success(
            request,
            ngettext(
                "診断結果を%(count)d件、履歴に保存しました。",
                "診断結果を%(count)d件、履歴に保存しました。",
                count,
            )
            % {"count": count},
        )
    else:
        messages.info(request, _("保存できる診断結果はありませんでした。"))
    return redirect("diagnosis:history")

"""The specialist's self-service pages (/me/…).

Every view is for the signed-in specialist only, and the listing always comes
from `get_specialist_listing(request.user)`: no URL or form carries an id.
State changes go through `listings.lifecycle`; each POST redirects back.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from sekispe.core.permissions import specialist_required
from sekispe.listings import lifecycle
from sekispe.listings.criteria import criteria_met, evaluate_criteria
from sekispe.listings.export import export_personal_data
from sekispe.listings.forms import AvailabilityForm, ListingForm
from sekispe.listings.lifecycle import ListingChanges, ListingError
from sekispe.listings.models import (
    HIDDEN_AFTER_DAYS,
    STALE_AFTER_DAYS,
    Listing,
    ListingCriteria,
    ListingRevision,
    ListingStatus,
    RevisionStatus,
    stale_cutoff,
)
from sekispe.listings.revisions import (
    GATED_SCALARS,
    GATED_SETS,
    describe,
    live_state,
    open_revision,
    revision_state,
)
from sekispe.listings.services import get_specialist_listing
from sekispe.registry.services import course_status

S = ListingStatus

# Which status buttons to offer; the service functions enforce the same rules.
ACTIONS: dict[str, frozenset[str]] = {
    "submit": frozenset({S.DRAFT}),
    "confirm": frozenset({S.PUBLISHED, S.SUSPENDED}),
    "withdraw": frozenset({S.DRAFT, S.SUBMITTED, S.PUBLISHED, S.SUSPENDED}),
    "reopen": frozenset({S.WITHDRAWN}),
}


def _listing_form(
    listing: Listing, data: Any = None, revision: ListingRevision | None = None
) -> ListingForm:
    initial = ListingForm.initial_for(listing)
    if revision is not None and lifecycle.reviews_edits(listing):
        # The specialist keeps editing their own change, not the live version.
        state = revision_state(revision)
        initial.update({name: state.values[name] for name in GATED_SCALARS})
        initial.update({name: list(state.sets[name]) for name in GATED_SETS})
    return ListingForm(
        data,
        initial=initial,
        published=lifecycle.reviews_edits(listing),
        min_profile_chars=ListingCriteria.current().min_profile_chars,
    )


def _revision_context(listing: Listing, revision: ListingRevision | None) -> dict[str, Any]:
    """The open change of a live listing, for the status panel."""
    if revision is None or not lifecycle.reviews_edits(listing):
        return {"revision": None, "revision_changes": []}
    changes = describe(live_state(listing), revision_state(revision))
    return {
        "revision": revision,
        "revision_returned": revision.status == RevisionStatus.RETURNED,
        "revision_changes": changes,
        "revision_fields": _("、").join(c.label for c in changes),
    }


def _availability_form(listing: Listing, today: dt.date, data: Any = None) -> AvailabilityForm:
    return AvailabilityForm(data, initial=AvailabilityForm.initial_for(listing), today=today)


def _freshness(listing: Listing, today: dt.date) -> dict[str, Any]:
    return {
        "updated_at": listing.updated_at,
        "stale": listing.updated_at < stale_cutoff(today, STALE_AFTER_DAYS),
        "hidden": listing.updated_at < stale_cutoff(today, HIDDEN_AFTER_DAYS),
        "stale_days": STALE_AFTER_DAYS,
        "hidden_days": HIDDEN_AFTER_DAYS,
    }


def _page(
    request: HttpRequest,
    listing: Listing,
    *,
    form: ListingForm | None = None,
    availability_form: AvailabilityForm | None = None,
    action_error: ListingError | None = None,
    status: int = 200,
) -> HttpResponse:
    today = timezone.localdate()
    record = listing.record
    revision = open_revision(listing)
    checks = evaluate_criteria(listing, today)
    labels = {c.code: c.label for c in checks}
    courses = course_status(
        record.expires_on,
        record.courses.values_list("kind", "fiscal_year", "completed_on"),
        today,
    )
    context = {
        "listing": listing,
        "record": record,
        "courses": courses,
        "checks": checks,
        "criteria_met": criteria_met(checks),
        "freshness": _freshness(listing, today),
        "is_public": Listing.objects.visible(today).filter(pk=listing.pk).exists(),
        "actions": {name: listing.status in allowed for name, allowed in ACTIONS.items()},
        "show_note": bool(listing.status_note) and listing.status in (S.DRAFT, S.SUSPENDED),
        "form": form or _listing_form(listing, revision=revision),
        "availability_form": availability_form or _availability_form(listing, today),
        "editable": listing.status != S.WITHDRAWN,
        "action_error": action_error,
        "action_failed": [labels.get(code, code) for code in action_error.failed]
        if action_error
        else [],
        "S": S,
        **_revision_context(listing, revision),
    }
    return render(request, "me/listing.html", context, status=status)


# Posted by the confirmation page: save as confirmed, or go back to the form.
CONFIRM_FIELDS = ("confirm", "back")


def _confirm_page(request: HttpRequest, listing: Listing, plan: Any) -> HttpResponse:
    """GOV.UK "check your answers": what goes to review, in words, before it is saved.

    The posted answers travel on as hidden fields and are validated again
    when the specialist confirms; the listing still comes from the account.
    """
    hidden = [
        (name, value)
        for name, values in request.POST.lists()
        if name not in ("csrfmiddlewaretoken", *CONFIRM_FIELDS)
        for value in values
    ]
    context = {
        "listing": listing,
        "changes": describe(plan.live, plan.proposed),
        "replaces": plan.current is not None and plan.current.status == RevisionStatus.PENDING,
        "hidden": hidden,
    }
    return render(request, "me/confirm.html", context)


@specialist_required
@never_cache
@require_http_methods(["GET", "POST"])
def listing_view(request: HttpRequest) -> HttpResponse:
    listing = get_specialist_listing(request.user)
    if request.method == "GET":
        return _page(request, listing)
    revision = open_revision(listing)
    form = _listing_form(listing, request.POST, revision=revision)
    if "back" in request.POST:
        # 「戻って直す」: the answers as they were, nothing saved.
        form.is_valid()
        return _page(request, listing, form=form)
    if form.is_valid():
        changes = form.to_changes()
        if lifecycle.reviews_edits(listing) and "confirm" not in request.POST:
            plan = lifecycle.plan_gated(listing, changes)
            if plan.is_new_submission:
                return _confirm_page(request, listing, plan)
        try:
            result = lifecycle.update_listing(listing, changes, actor=request.user)
        except ListingError as exc:
            form.add_error(None, exc.message)
            form.describe()
        else:
            messages.success(request, _("掲載情報を保存しました。"))
            if result.resubmitted:
                messages.info(
                    request,
                    _(
                        "変更した内容を審査に出しました。審査が終わるまで、掲載中の内容がそのまま公開されます。"
                    ),
                )
            return redirect("me:listing")
    return _page(request, listing, form=form, status=400)


@specialist_required
@never_cache
@require_http_methods(["GET", "POST"])
def availability_view(request: HttpRequest) -> HttpResponse:
    listing = get_specialist_listing(request.user)
    today = timezone.localdate()
    if request.method == "GET":
        form = _availability_form(listing, today)
        return render(request, "me/availability.html", {"listing": listing, "form": form})
    form = _availability_form(listing, today, request.POST)
    if form.is_valid():
        try:
            # Both or neither: a refused capacity must not leave the availability half-saved.
            with transaction.atomic():
                lifecycle.set_availability(
                    listing,
                    actor=request.user,
                    accepting=form.accepting,
                    reason=form.cleaned_data["reason"],
                    resumes_on=form.cleaned_data["resumes_on"],
                    today=today,
                )
                capacity = form.cleaned_data["capacity"]
                if capacity != listing.capacity:
                    lifecycle.update_listing(
                        listing, ListingChanges(values={"capacity": capacity}), actor=request.user
                    )
        except ListingError as exc:
            form.add_error(None, exc.message)
            form.describe()
        else:
            messages.success(request, _("受付状況を保存しました。"))
            return redirect("me:listing")
    return render(request, "me/availability.html", {"listing": listing, "form": form}, status=400)


def _action(request: HttpRequest, run: Any, done: str) -> HttpResponse:
    listing = get_specialist_listing(request.user)
    try:
        run(listing)
    except ListingError as exc:
        return _page(request, listing, action_error=exc, status=400)
    messages.success(request, done)
    return redirect("me:listing")


@specialist_required
@require_POST
def submit_view(request: HttpRequest) -> HttpResponse:
    return _action(
        request,
        lambda listing: lifecycle.submit_listing(listing, actor=request.user),
        _("審査を申請しました。運営者の承認後に掲載されます。"),
    )


@specialist_required
@require_POST
def confirm_view(request: HttpRequest) -> HttpResponse:
    return _action(
        request,
        lambda listing: lifecycle.confirm_listing(listing, actor=request.user),
        _("内容に変更がないことを確認しました。最終更新日を更新しました。"),
    )


@specialist_required
@require_POST
def reopen_view(request: HttpRequest) -> HttpResponse:
    return _action(
        request,
        lambda listing: lifecycle.reopen_listing(listing, actor=request.user),
        _("掲載を再開しました。内容を確認して、審査を申請してください。"),
    )


@specialist_required
@never_cache
@require_http_methods(["GET", "POST"])
def withdraw_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _action(
            request,
            lambda listing: lifecycle.withdraw_listing(listing, actor=request.user),
            _("掲載を取り下げました。検索結果には表示されません。"),
        )
    listing = get_specialist_listing(request.user)
    return render(
        request,
        "me/withdraw.html",
        {"listing": listing, "allowed": listing.status in ACTIONS["withdraw"]},
    )


@specialist_required
@never_cache
@require_http_methods(["GET"])
def export_view(request: HttpRequest) -> HttpResponse:
    # 404 for an account without a listing, like every other page here.
    listing = get_specialist_listing(request.user)
    payload = json.dumps(
        export_personal_data(request.user), cls=DjangoJSONEncoder, ensure_ascii=False, indent=2
    )
    response = HttpResponse(payload, content_type="application/json; charset=utf-8")
    number = listing.record.registration_number
    response["Content-Disposition"] = f'attachment; filename="sekispe-{number}.json"'
    return response

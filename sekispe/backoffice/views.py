"""The operators' back office under /ops/. Every view is operator-only.

Thin views: parse the form, call the lifecycle or account service, then
redirect (POST-redirect-GET) or re-render with the error next to the field.
Operators may open any listing or record, so ids in the URL are fine here;
unknown ids are 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from sekispe.accounts.models import Invitation, Role, User
from sekispe.accounts.services import (
    AccountError,
    create_analyst_account,
    create_institution_account,
    invite_specialist,
)
from sekispe.backoffice import forms
from sekispe.backoffice.history import (
    changes_since_published,
    criteria_changes,
    listing_changes,
    record_changes,
    transitions_of,
)
from sekispe.backoffice.services import update_criteria
from sekispe.core.permissions import operator_required
from sekispe.listings.criteria import evaluate_criteria
from sekispe.listings.lifecycle import (
    ListingError,
    approve_change,
    approve_listing,
    restore_listing,
    send_back_change,
    send_back_listing,
    suspend_listing,
)
from sekispe.listings.models import (
    HIDDEN_AFTER_DAYS,
    STALE_AFTER_DAYS,
    Listing,
    ListingCriteria,
    ListingRevision,
    ListingStatus,
    ListingTransition,
    RevisionStatus,
    stale_cutoff,
)
from sekispe.listings.revisions import (
    ProposedListing,
    describe,
    live_state,
    pending_revision,
    revision_state,
)
from sekispe.outbox.services import outbox_health
from sekispe.registrant_requests.models import RegistrantRequest, RequestStatus
from sekispe.registry.models import (
    PublishedItem,
    RegistryRecord,
    RegistryStatus,
    Reminder,
    ReminderState,
)
from sekispe.registry.services import deadline_within, renewal_status_of, search_records
from sekispe.search.forms import detail_context
from sekispe.search.services import specialist_from_listing

PAGE_SIZE = 50


def _page(request: HttpRequest, queryset: QuerySet[Any]) -> Page:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _submitted_at() -> Subquery:
    return Subquery(
        ListingTransition.objects.filter(listing=OuterRef("pk"), to_status=ListingStatus.SUBMITTED)
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )


def _pending_changes() -> QuerySet[ListingRevision]:
    return ListingRevision.objects.filter(
        listing=OuterRef("pk"), status=RevisionStatus.PENDING, closed_at__isnull=True
    )


# ---------------------------------------------------------------- dashboard


@operator_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    by_status = dict(Listing.objects.values_list("status").annotate(n=Count("pk")).order_by())
    published = Listing.objects.filter(status=ListingStatus.PUBLISHED)
    context = {
        "status_counts": [
            (value, label, by_status.get(value, 0)) for value, label in ListingStatus.choices
        ],
        # First applications plus changes to live listings: the review queue's length.
        "submitted": by_status.get(ListingStatus.SUBMITTED, 0)
        + ListingRevision.objects.filter(
            status=RevisionStatus.PENDING, closed_at__isnull=True
        ).count(),
        "visible": Listing.objects.visible(today).count(),
        "stale": published.filter(updated_at__lt=stale_cutoff(today, STALE_AFTER_DAYS)).count(),
        "hidden": published.filter(updated_at__lt=stale_cutoff(today, HIDDEN_AFTER_DAYS)).count(),
        "stale_days": STALE_AFTER_DAYS,
        "hidden_days": HIDDEN_AFTER_DAYS,
        "records": RegistryRecord.objects.filter(status=RegistryStatus.ACTIVE).count(),
        "specialist_accounts": User.objects.filter(role=Role.SPECIALIST).count(),
        "open_invitations": Invitation.objects.usable().count(),
        "open_requests": RegistrantRequest.objects.filter(status=RequestStatus.SUBMITTED).count(),
        "stuck_reminders": Reminder.objects.filter(state=ReminderState.SENDING).count(),
        "outbox": outbox_health(),
        "deadline_soon": RegistryRecord.objects.filter(
            deadline_within(today, 30), status=RegistryStatus.ACTIVE
        ).count(),
    }
    return render(request, "backoffice/dashboard.html", context)


# ------------------------------------------------------------------ reviews


@operator_required
@require_GET
def reviews(request: HttpRequest) -> HttpResponse:
    """First applications and changes to live listings, oldest first, in one queue."""
    today = timezone.localdate()
    criteria = ListingCriteria.current()
    queryset = (
        Listing.objects.annotate(has_change=Exists(_pending_changes()))
        .filter(Q(status=ListingStatus.SUBMITTED) | Q(has_change=True))
        .select_related("record")
        .annotate(
            submitted_at=Coalesce(
                Subquery(_pending_changes().values("submitted_at")[:1]), _submitted_at()
            )
        )
        .order_by(F("submitted_at").asc(nulls_first=True), "pk")
    )
    page = _page(request, queryset)
    rows = []
    for listing in page:
        revision = pending_revision(listing) if listing.has_change else None
        subject = ProposedListing(listing, revision_state(revision)) if revision else listing
        checks = evaluate_criteria(subject, today, criteria)  # type: ignore[arg-type]
        rows.append(
            {
                "listing": listing,
                "is_change": revision is not None,
                "passed": sum(check.passed for check in checks),
                "total": len(checks),
            }
        )
    return render(request, "backoffice/reviews.html", {"page": page, "rows": rows})


def _decide(request: HttpRequest, listing: Listing, send_back_form: Any) -> HttpResponse | None:
    """Run the posted decision; a response when done, None to show the page with errors.

    A posted "revision" means a change to a live listing: the service looks it
    up among this listing's own pending revisions only.
    """
    action = request.POST.get("action")
    revision_id = request.POST.get("revision")
    name = listing.record.name
    if action == "approve":
        try:
            if revision_id is not None:
                approve_change(listing, actor=request.user, revision_id=revision_id)
                done = _("%(name)sさんの掲載内容の変更を承認し、公開しました。")
            else:
                approve_listing(listing, actor=request.user)
                done = _("%(name)sさんの掲載を承認しました。")
        except ListingError as exc:
            messages.error(request, exc.message)
            return redirect("backoffice:review", listing.pk)
        messages.success(request, done % {"name": name})
        return redirect("backoffice:reviews")
    if action == "send_back":
        if not send_back_form.is_valid():
            return None
        message = send_back_form.cleaned_data["message"]
        try:
            if revision_id is not None:
                send_back_change(
                    listing, actor=request.user, revision_id=revision_id, message=message
                )
                done = _(
                    "%(name)sさんの掲載内容の変更を差し戻し、理由をメールでお知らせしました。"
                    "掲載中の内容はそのままです。"
                )
            else:
                send_back_listing(listing, actor=request.user, message=message)
                done = _("%(name)sさんの掲載を差し戻し、理由をメールでお知らせしました。")
        except ListingError as exc:
            send_back_form.add_error(None, exc.message)
            return None
        messages.success(request, done % {"name": name})
        return redirect("backoffice:reviews")
    messages.error(request, _("操作を選んでください。"))
    return redirect("backoffice:review", listing.pk)


@operator_required
@require_http_methods(["GET", "POST"])
def review(request: HttpRequest, listing_id: int) -> HttpResponse:
    listing = get_object_or_404(Listing.objects.select_related("record"), pk=listing_id)
    send_back_form = forms.SendBackForm()
    if request.method == "POST":
        if request.POST.get("action") == "send_back":
            send_back_form = forms.SendBackForm(request.POST)
        response = _decide(request, listing, send_back_form)
        if response is not None:
            return response
    today = timezone.localdate()
    revision = pending_revision(listing)
    if revision is not None:
        # A change to a live listing: the diff is live → proposed, and the
        # checks and the page show the listing as it would be once approved.
        live, proposed = live_state(listing), revision_state(revision)
        subject: Any = ProposedListing(listing, proposed)
        changes: Any = describe(live, proposed)
    else:
        subject = listing
        changes = changes_since_published(listing)
    context = {
        "listing": listing,
        "revision": revision,
        "checks": evaluate_criteria(subject, today),
        "transitions": transitions_of(listing),
        "changes": changes,
        "send_back_form": send_back_form,
        "is_submitted": listing.status == ListingStatus.SUBMITTED,
        "can_decide": revision is not None or listing.status == ListingStatus.SUBMITTED,
        **detail_context(specialist_from_listing(subject, today=today), contact_shown=True),
    }
    return render(request, "backoffice/review.html", context)


# ----------------------------------------------------------------- listings


@operator_required
@require_GET
def listings(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    form = forms.ListingSearchForm(request.GET or None)
    queryset = Listing.objects.select_related("record").order_by("record__registration_number")
    if form.is_valid():
        queryset = search_records(queryset, form.cleaned_data["q"], prefix="record__")
        if form.cleaned_data["status"]:
            queryset = queryset.filter(status=form.cleaned_data["status"])
        freshness = form.cleaned_data["freshness"]
        if freshness:
            days = STALE_AFTER_DAYS if freshness == "stale" else HIDDEN_AFTER_DAYS
            queryset = queryset.filter(updated_at__lt=stale_cutoff(today, days))
    page = _page(request, queryset)
    return render(
        request,
        "backoffice/listings.html",
        {"form": form, "page": page, "stale_before": stale_cutoff(today, STALE_AFTER_DAYS)},
    )


@operator_required
@require_http_methods(["GET", "POST"])
def listing(request: HttpRequest, listing_id: int) -> HttpResponse:
    item = get_object_or_404(Listing.objects.select_related("record"), pk=listing_id)
    suspend_form = forms.SuspendForm()
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "suspend":
            suspend_form = forms.SuspendForm(request.POST)
            if suspend_form.is_valid():
                try:
                    suspend_listing(
                        item, actor=request.user, reason=suspend_form.cleaned_data["reason"]
                    )
                except ListingError as exc:
                    suspend_form.add_error(None, exc.message)
                else:
                    messages.success(request, _("掲載を停止しました。"))
                    return redirect("backoffice:listing", item.pk)
        elif action == "restore":
            try:
                restore_listing(item, actor=request.user)
            except ListingError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("掲載を再開しました。"))
            return redirect("backoffice:listing", item.pk)
        else:
            messages.error(request, _("操作を選んでください。"))
            return redirect("backoffice:listing", item.pk)
    today = timezone.localdate()
    context = {
        "listing": item,
        "visible": Listing.objects.visible(today).filter(pk=item.pk).exists(),
        "stale": item.is_stale(today),
        "transitions": transitions_of(item),
        "suspend_form": suspend_form,
        "can_suspend": item.status == ListingStatus.PUBLISHED,
        "can_restore": item.status == ListingStatus.SUSPENDED,
        "pending_change": pending_revision(item),
    }
    return render(request, "backoffice/listing.html", context)


# ----------------------------------------------------------------- registry


@operator_required
@require_GET
def registry(request: HttpRequest) -> HttpResponse:
    form = forms.RegistrySearchForm(request.GET or None)
    queryset = (
        RegistryRecord.objects.select_related("home_prefecture")
        .annotate(
            has_account=Exists(User.objects.filter(record=OuterRef("pk"))),
            has_listing=Exists(Listing.objects.filter(record=OuterRef("pk"))),
        )
        .order_by("registration_number")
    )
    if form.is_valid():
        queryset = search_records(queryset, form.cleaned_data["q"])
        if form.cleaned_data["status"]:
            queryset = queryset.filter(status=form.cleaned_data["status"])
    return render(
        request, "backoffice/registry.html", {"form": form, "page": _page(request, queryset)}
    )


@operator_required
@require_http_methods(["GET", "POST"])
def record(request: HttpRequest, record_id: int) -> HttpResponse:
    item = get_object_or_404(
        RegistryRecord.objects.select_related("home_prefecture", "extension_measure"), pk=record_id
    )
    invite_form = forms.InviteForm()
    if request.method == "POST":
        invite_form = forms.InviteForm(request.POST)
        if invite_form.is_valid():
            email = invite_form.cleaned_data["email"]
            try:
                invite_specialist(item, email, actor=request.user)
            except AccountError as exc:
                invite_form.add_error(exc.field if exc.field in invite_form.fields else None,
                                      exc.message)  # fmt: skip
            else:
                messages.success(
                    request, _("%(email)s に招待メールを送りました。") % {"email": email}
                )
                return redirect("backoffice:record", item.pk)
    today = timezone.localdate()
    context = {
        "record": item,
        "expired": item.expires_on < today,
        "renewal": renewal_status_of(item, today),
        "published_labels": [
            PublishedItem(code).label for code in item.published_items if code in PublishedItem
        ],
        "requests": item.requests.order_by("-submitted_at")[:20],
        "courses": item.courses.all(),
        "account": User.objects.filter(record=item).first(),
        "listing": Listing.objects.filter(record=item).first(),
        "invitations": item.invitations.select_related("created_by"),
        "invite_form": invite_form,
        "now": timezone.now(),
    }
    return render(request, "backoffice/record.html", context)


# ------------------------------------------------------------------ history


@operator_required
@require_GET
def listing_history(request: HttpRequest, listing_id: int) -> HttpResponse:
    item = get_object_or_404(Listing.objects.select_related("record"), pk=listing_id)
    return render(
        request,
        "backoffice/history.html",
        {
            "subject": item.record,
            "listing": item,
            "entries": listing_changes(item),
        },
    )


@operator_required
@require_GET
def record_history(request: HttpRequest, record_id: int) -> HttpResponse:
    item = get_object_or_404(RegistryRecord, pk=record_id)
    return render(
        request,
        "backoffice/history.html",
        {"subject": item, "record": item, "entries": record_changes(item)},
    )


# -------------------------------------------- institution and analyst accounts


@dataclass(frozen=True)
class StaffAccounts:
    """Accounts an operator creates for someone outside IPA's registry: support
    institutions and policy staff. One list page and one creation form each."""

    role: str
    list_url: str
    new_url: str
    form_class: type[forms.StaffAccountForm]
    create: Callable[..., User]
    title: str | Promise
    create_title: str | Promise
    back: str | Promise
    lead: str | Promise
    empty: str | Promise
    organization_label: str | Promise
    name_label: str | Promise


INSTITUTION_ACCOUNTS = StaffAccounts(
    role=Role.INSTITUTION,
    list_url="backoffice:institutions",
    new_url="backoffice:institution_new",
    form_class=forms.InstitutionForm,
    create=create_institution_account,
    title=gettext_lazy("支援機関のアカウント"),
    create_title=gettext_lazy("支援機関のアカウントを作成する"),
    back=gettext_lazy("支援機関のアカウントの一覧に戻る"),
    lead=gettext_lazy(
        "商工会議所・商工会などの支援機関やITベンダーの担当者のアカウントを作成します。"
        "担当者には、パスワードを設定するためのメールが届きます。"
    ),
    empty=gettext_lazy("支援機関のアカウントはまだありません。"),
    organization_label=gettext_lazy("団体名"),
    name_label=gettext_lazy("担当者名"),
)
ANALYST_ACCOUNTS = StaffAccounts(
    role=Role.ANALYST,
    list_url="backoffice:analysts",
    new_url="backoffice:analyst_new",
    form_class=forms.AnalystForm,
    create=create_analyst_account,
    title=gettext_lazy("政策担当のアカウント"),
    create_title=gettext_lazy("政策担当のアカウントを作成する"),
    back=gettext_lazy("政策担当のアカウントの一覧に戻る"),
    lead=gettext_lazy(
        "経済産業省やIPAで制度の運営を担う方の閲覧用アカウントを作成します。"
        "このアカウントでは集計だけを閲覧でき、氏名・メールアドレス・会社名・自由記述などの"
        "個人に関わる情報は表示されません。本人には、パスワードを設定するためのメールが届きます。"
    ),
    empty=gettext_lazy("政策担当のアカウントはまだありません。"),
    organization_label=gettext_lazy("所属"),
    name_label=gettext_lazy("氏名"),
)


def _staff_accounts(request: HttpRequest, kind: StaffAccounts) -> HttpResponse:
    queryset = User.objects.filter(role=kind.role).order_by("organization", "email")
    return render(
        request, "backoffice/staff_accounts.html", {"page": _page(request, queryset), "kind": kind}
    )


def _staff_account_new(request: HttpRequest, kind: StaffAccounts) -> HttpResponse:
    form = kind.form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            kind.create(
                data["email"],
                organization=data["organization"],
                display_name=data["display_name"],
                actor=request.user,
            )
        except AccountError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                _(
                    "%(organization)s %(name)sさんのアカウントを作成し、%(email)s に案内メールを送りました。"
                )
                % {
                    "organization": data["organization"],
                    "name": data["display_name"],
                    "email": data["email"],
                },
            )
            return redirect(kind.list_url)
    return render(request, "backoffice/staff_account_new.html", {"form": form, "kind": kind})


@operator_required
@require_GET
def institutions(request: HttpRequest) -> HttpResponse:
    return _staff_accounts(request, INSTITUTION_ACCOUNTS)


@operator_required
@require_http_methods(["GET", "POST"])
def institution_new(request: HttpRequest) -> HttpResponse:
    return _staff_account_new(request, INSTITUTION_ACCOUNTS)


@operator_required
@require_GET
def analysts(request: HttpRequest) -> HttpResponse:
    return _staff_accounts(request, ANALYST_ACCOUNTS)


@operator_required
@require_http_methods(["GET", "POST"])
def analyst_new(request: HttpRequest) -> HttpResponse:
    return _staff_account_new(request, ANALYST_ACCOUNTS)


# ------------------------------------------------------------------ criteria


@operator_required
@require_http_methods(["GET", "POST"])
def criteria(request: HttpRequest) -> HttpResponse:
    current = ListingCriteria.current()
    # The form works on its own copy: a ModelForm writes cleaned values into
    # its instance, and update_criteria must see the stored ones to diff.
    form = forms.CriteriaForm(request.POST or None, instance=ListingCriteria.current())
    if request.method == "POST" and form.is_valid():
        changes = update_criteria(current, form.cleaned_data, actor=request.user)
        if changes:
            messages.success(request, _("掲載基準を更新しました。"))
        else:
            messages.info(request, _("変更された項目はありませんでした。"))
        return redirect("backoffice:criteria")
    return render(
        request,
        "backoffice/criteria.html",
        {"form": form, "criteria": current, "entries": criteria_changes(current)},
    )

"""Operators' renewal list and disaster measures, under /ops/. Every view is operator-only.

The renewal list computes each registrant's status with `rules.renewal_status`
from bulk-loaded completions: for a page of 50 when no course filter is set,
and in the database, one condition per cohort, when the list is filtered by
course status (see `_matching_course_filter`).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections import defaultdict
from dataclasses import dataclass
from functools import reduce

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from sekispe.audit.models import AuditEvent
from sekispe.core.permissions import operator_required
from sekispe.core.templatetags.dates import day_text
from sekispe.registry import rules
from sekispe.registry.forms import (
    COURSES_MISSING,
    COURSES_OVERDUE,
    STATUS_ALL,
    WAIVABLE_COURSES,
    DisasterMeasureForm,
    RenewalFilterForm,
)
from sekispe.registry.models import (
    CourseCompletion,
    DisasterMeasure,
    RegistryRecord,
    Reminder,
    ReminderState,
)
from sekispe.registry.services import (
    apply_disaster_measure,
    completions_by_record,
    deadline_within,
    renewal_status_of,
    search_records,
)

PAGE_SIZE = 50
STUCK_SHOWN = 100
COHORTS_PER_QUERY = 40
MEASURE_EVENT = "registry.disaster_measure"


@dataclass(frozen=True)
class RenewalRow:
    record: RegistryRecord
    status: rules.RenewalStatus

    @property
    def open_missing(self) -> list[rules.CourseRequirement]:
        return _open_missing(self.status)

    @property
    def deemed(self) -> rules.CourseRequirement | None:
        """The practical requirement, when deemed attendance (みなし受講) meets it."""
        return next((r for r in self.status.requirements if r.deemed), None)


def _open_missing(status: rules.RenewalStatus) -> list[rules.CourseRequirement]:
    """Outstanding courses whose year has begun: a later year's course is not missing yet."""
    return [r for r in status.missing if r.starts_on <= status.today]


# ----------------------------------------------------------------- renewals


def _filtered(form: RenewalFilterForm, today: dt.date) -> QuerySet[RegistryRecord]:
    queryset = RegistryRecord.objects.select_related("home_prefecture", "extension_measure")
    if not form.is_valid():
        return queryset.none()
    data = form.cleaned_data
    queryset = search_records(queryset, data["q"])
    if data["status"] and data["status"] != STATUS_ALL:
        queryset = queryset.filter(status=data["status"])
    if data["prefecture"]:
        queryset = queryset.filter(home_prefecture_id=data["prefecture"])
    if data["extended"]:
        queryset = queryset.filter(extension_measure__isnull=False)
    if data["within"]:
        queryset = queryset.filter(deadline_within(today, data["within"]))
    return queryset.order_by("expires_on", "registration_number")


@dataclass(frozen=True)
class CourseWindow:
    """When a completion counts for one requirement: common, or any other kind.

    For the practical requirement, a deemed-attendance credit counts only from
    `starts_on` to `deemed_ends_on` (the application deadline), a practical or
    specific course to `ends_on`; `deemed_ends_on` is None for a common year,
    which deemed attendance never meets.
    """

    common: bool
    starts_on: dt.date
    ends_on: dt.date
    deemed_ends_on: dt.date | None = None


def course_windows(
    expires_on: dt.date, extension: rules.Extension | None, today: dt.date, mode: str
) -> list[CourseWindow]:
    """The windows of the requirements a course filter looks at, for one expiry date.

    `rules.renewal_status` with nothing done gives each requirement's window,
    due date and waiver. A registrant is missing a course (`missing`: one
    whose year has begun; `overdue`: one past its due date) exactly when one
    of these windows holds none of their completions of that kind.
    tests/test_ops_renewals.py checks this against `rules.renewal_status`.
    """
    skeleton = rules.renewal_status(expires_on, (), today, extension)
    # Deemed attendance counts from the period's start, as the practical course does.
    deemed_until = rules.deemed_window(expires_on, extension)[1]
    return [
        CourseWindow(
            r.kind == rules.COMMON,
            r.starts_on,
            r.ends_on,
            None if r.kind == rules.COMMON else deemed_until,
        )
        for r in skeleton.requirements
        if not r.waived and (r.due < today if mode == COURSES_OVERDUE else r.starts_on <= today)
    ]


def _lacks_a_course(windows: list[CourseWindow]) -> Q:
    conditions = []
    for window in windows:
        completions = CourseCompletion.objects.filter(record=OuterRef("pk"))
        if window.common:
            completions = completions.filter(
                kind=rules.COMMON, completed_on__range=(window.starts_on, window.ends_on)
            )
        else:
            # A specific course counts for the practical requirement, as in the
            # rules; deemed attendance too, but only up to the application deadline.
            counts = Q(completed_on__range=(window.starts_on, window.ends_on)) & ~Q(
                kind__in=(rules.COMMON, rules.DEEMED)
            )
            if window.deemed_ends_on is not None:
                counts |= Q(
                    kind=rules.DEEMED,
                    completed_on__range=(window.starts_on, window.deemed_ends_on),
                )
            completions = completions.filter(counts)
        conditions.append(~Exists(completions))
    return reduce(operator.or_, conditions)


def _matching_course_filter(
    queryset: QuerySet[RegistryRecord], mode: str, today: dt.date
) -> list[int]:
    """Ids, in the queryset's order, of the records whose courses match `mode`.

    The database does the work: registrants sharing an expiry date (a cohort)
    and an extension share their requirement windows, so one condition per
    cohort, each an EXISTS over the completions' (record, kind, …) index,
    filters all of them in one query, without loading any completion.
    """
    groups = list(queryset.order_by().values_list("expires_on", "extension_measure_id").distinct())
    measures = DisasterMeasure.objects.in_bulk({m for _e, m in groups if m is not None})
    conditions = []
    for expires_on, measure_id in groups:
        extension = None
        if measure_id is not None:
            measure = measures[measure_id]
            extension = rules.Extension(
                measure.new_deadline, measure.deadline_from, frozenset(measure.waived_courses)
            )
        windows = course_windows(expires_on, extension, today, mode)
        if windows:
            conditions.append(
                Q(expires_on=expires_on, extension_measure_id=measure_id) & _lacks_a_course(windows)
            )
    matched: list[int] = []
    # Registration dates fall on 1 April or 1 October, so there are a few
    # dozen cohorts at most; batches keep an odd import's SQL bounded.
    for start in range(0, len(conditions), COHORTS_PER_QUERY):
        batch = conditions[start : start + COHORTS_PER_QUERY]
        matched += queryset.filter(reduce(operator.or_, batch)).values_list("pk", flat=True)
    if len(conditions) <= COHORTS_PER_QUERY:
        return matched
    found = set(matched)
    return [pk for pk in queryset.values_list("pk", flat=True) if pk in found]


def _rows(records: list[RegistryRecord], today: dt.date) -> list[RenewalRow]:
    completions = completions_by_record(r.pk for r in records)
    return [RenewalRow(r, renewal_status_of(r, today, completions[r.pk])) for r in records]


@operator_required
@require_GET
def renewals(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    form = RenewalFilterForm.from_query(request.GET)
    queryset = _filtered(form, today)
    mode = form.cleaned_data.get("courses") if form.is_valid() else ""
    page: Page
    if mode in (COURSES_MISSING, COURSES_OVERDUE):
        page = Paginator(_matching_course_filter(queryset, mode, today), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        found = queryset.in_bulk(list(page.object_list))
        records = [found[pk] for pk in page.object_list]
    else:
        page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
        records = list(page.object_list)
    stuck = Reminder.objects.filter(state=ReminderState.SENDING)
    context = {
        "form": form,
        "page": page,
        "rows": _rows(records, today),
        "today": today,
        "stuck_count": stuck.count(),
        "stuck": stuck.select_related("record").order_by("created_at", "pk")[:STUCK_SHOWN],
        "failed_count": Reminder.objects.filter(state=ReminderState.FAILED).count(),
    }
    return render(request, "registry/ops_renewals.html", context)


# ---------------------------------------------------------------- disasters


def _covered_when_applied(measures: list[DisasterMeasure]) -> dict[int, int]:
    """How many registrants each measure extended when applied (from the audit log).

    The records' own link is cleared on renewal, so it undercounts afterwards.
    """
    numbers: dict[int, set[str]] = defaultdict(set)
    for target_id, data in AuditEvent.objects.filter(
        action=MEASURE_EVENT,
        target_type="disaster_measure",
        target_id__in=[str(m.pk) for m in measures],
    ).values_list("target_id", "data"):
        numbers[int(target_id)].update((data or {}).get("covered", []))
    return {m.pk: len(numbers[m.pk]) for m in measures}


def _valid_until(measure: DisasterMeasure) -> dt.date:
    """How long a covered registration stays valid (later if it expires later anyway)."""
    return measure.new_deadline + dt.timedelta(days=rules.APPLICATION_DAYS_BEFORE_EXPIRY)


def _waived_labels(measure: DisasterMeasure) -> list[str]:
    names = dict(WAIVABLE_COURSES)
    return [str(names.get(kind, kind)) for kind in measure.waived_courses]


@operator_required
@require_GET
def disasters(request: HttpRequest) -> HttpResponse:
    measures = list(
        DisasterMeasure.objects.prefetch_related("prefectures")
        .select_related("created_by")
        .annotate(current=Count("records"))
    )
    covered = _covered_when_applied(measures)
    items = [
        {
            "measure": m,
            "covered": covered[m.pk],
            "waived": _waived_labels(m),
            "valid_until": _valid_until(m),
        }
        for m in measures
    ]
    return render(request, "registry/ops_disasters.html", {"items": items})


@operator_required
@require_http_methods(["GET", "POST"])
def disaster_new(request: HttpRequest) -> HttpResponse:
    form = DisasterMeasureForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            with transaction.atomic():
                measure = DisasterMeasure.objects.create(
                    title=data["title"],
                    deadline_from=data["deadline_from"],
                    deadline_to=data["deadline_to"],
                    new_deadline=data["new_deadline"],
                    waived_courses=[
                        k for k, _label in WAIVABLE_COURSES if k in data["waived_courses"]
                    ],
                    created_by=request.user,
                )
                measure.prefectures.set(data["prefectures"])
                result = apply_disaster_measure(measure, actor=request.user)
            messages.success(
                request,
                _(
                    "災害特例「%(title)s」を登録し、%(count)d人の更新申請期限を"
                    "%(deadline)sに延長しました。"
                )
                % {
                    "title": measure.title,
                    "count": len(result.covered),
                    "deadline": day_text(measure.new_deadline),
                },
            )
            return redirect("ops_registry:disaster", measure.pk)
        return render(request, "registry/ops_disaster_new.html", {"form": form}, status=400)
    return render(request, "registry/ops_disaster_new.html", {"form": form})


@operator_required
@require_GET
def disaster(request: HttpRequest, pk: int) -> HttpResponse:
    measure = get_object_or_404(
        DisasterMeasure.objects.prefetch_related("prefectures").select_related("created_by"),
        pk=pk,
    )
    extension = rules.Extension(
        measure.new_deadline, measure.deadline_from, frozenset(measure.waived_courses)
    )
    queryset = measure.records.select_related("home_prefecture").order_by("registration_number")
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "record": record,
            "original_deadline": rules.application_deadline(record.expires_on),
            "valid_until": rules.valid_until(record.expires_on, extension),
        }
        for record in page
    ]
    context = {
        "measure": measure,
        "waived": _waived_labels(measure),
        "page": page,
        "rows": rows,
        "covered": _covered_when_applied([measure])[measure.pk],
        "valid_until": _valid_until(measure),
    }
    return render(request, "registry/ops_disaster.html", context)

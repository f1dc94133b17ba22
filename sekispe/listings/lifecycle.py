"""The listing lifecycle and the specialist's own edits: the one write path.

    draft ──submit──▶ submitted ──approve──▶ published ──suspend──▶ suspended
      ▲                  │                             ◀──restore──
      └────send_back─────┘
    any of the above ──withdraw──▶ withdrawn ──reopen──▶ draft

A gated edit of a published listing does not move it: the Listing row stays
the last approved version (so it stays in search) and the change waits as a
ListingRevision until an operator approves it (copied onto the listing) or
sends it back (the live version stays).

Views, admin actions and commands call these functions; none of them saves a
listing's status itself. Each function checks its precondition, claims the
transition with a conditional UPDATE (so two operators cannot approve and
suspend at once), writes the transition, a history snapshot and an audit
event, and sends e-mail after commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sekispe.audit.services import record_event
from sekispe.core.changes import record_changes
from sekispe.listings.criteria import criteria_met, evaluate_criteria
from sekispe.listings.history import quiet_history, snapshot_listings
from sekispe.listings.models import (
    Availability,
    Listing,
    ListingRevision,
    ListingStatus,
    ListingTransition,
    RevisionStatus,
)
from sekispe.listings.models import ServiceOffer as ServiceOfferModel
from sekispe.listings.revisions import (
    GATED_SCALARS,
    GATED_SETS,
    GatedState,
    ProposedListing,
    changed_fields,
    live_state,
    open_revision,
    overlay,
    revision_state,
)
from sekispe.outbox.services import queue_templated

S = ListingStatus


class ListingError(Exception):
    """A refused listing change; `message` is shown to the user as is."""

    def __init__(self, message: Any, failed: Iterable[str] = ()) -> None:
        super().__init__(str(message))
        self.message = message
        self.failed = list(failed)


# The self-declared items a specialist edits. Gated ones are claims an operator
# checks against the listing criteria, so a change to one on a published listing
# waits for review as a ListingRevision while the approved version stays live;
# the rest (contact, availability, fees, regions…) go live at once so keeping
# them fresh costs nothing.
SCALAR_FIELDS = (
    "first_free",
    "affiliation",
    "company_name",
    "employer_permits_outside_work",
    "email",
    "phone",
    "web",
    "profile",
    "track_record",
    "other_qualifications",
    "availability",
    "availability_until",
    "not_accepting_reason",
    "capacity",
)
SET_FIELDS = ("prefectures", "themes", "syllabus_items", "industries", "periods", "qualifications")
GATED_FIELDS = frozenset(GATED_SCALARS + GATED_SETS)

# action: (allowed from, to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "submit": (frozenset({S.DRAFT}), S.SUBMITTED),
    "approve": (frozenset({S.SUBMITTED}), S.PUBLISHED),
    "send_back": (frozenset({S.SUBMITTED}), S.DRAFT),
    "suspend": (frozenset({S.PUBLISHED}), S.SUSPENDED),
    "restore": (frozenset({S.SUSPENDED}), S.PUBLISHED),
    "withdraw": (frozenset({S.DRAFT, S.SUBMITTED, S.PUBLISHED, S.SUSPENDED}), S.WITHDRAWN),
    "reopen": (frozenset({S.WITHDRAWN}), S.DRAFT),
}


@dataclass
class ListingChanges:
    """What the self-service form submits: scalar values, code sets and fees per form."""

    values: dict[str, Any] = field(default_factory=dict)
    sets: dict[str, set[Any]] = field(default_factory=dict)
    fees: dict[str, int] | None = None


@dataclass(frozen=True)
class UpdateResult:
    changed: frozenset[str]
    # A gated change of a live listing was sent for review (a new pending revision).
    resubmitted: bool
    # The gated items that wait for review after this save (empty: none).
    pending: tuple[str, ...] = ()


def _actor_label(actor: Any) -> str:
    return getattr(actor, "email", "") or "system"


def _bump(listing: Listing) -> None:
    record_changes(listing_ids=[listing.pk])


def _transition(
    listing: Listing, action: str, *, actor: Any, note: str = "", actor_label: str = ""
) -> Listing:
    sources, target = TRANSITIONS[action]
    if listing.status not in sources:
        raise ListingError(
            _("この操作は現在の掲載状態（%(status)s）ではできません。")
            % {"status": listing.get_status_display()}
        )
    now = timezone.now()
    fields: dict[str, Any] = {"status": target}
    if action in ("send_back", "suspend"):
        fields["status_note"] = note
    elif action in ("approve", "restore", "submit", "reopen"):
        fields["status_note"] = ""
    # The conditional UPDATE is the claim: a concurrent transition that got
    # there first leaves 0 rows, and this one is refused.
    claimed = Listing.objects.filter(pk=listing.pk, status=listing.status).update(**fields)
    if claimed != 1:
        raise ListingError(_("掲載状態が他の操作で変更されました。画面を再読み込みしてください。"))
    previous = listing.status
    for name, value in fields.items():
        setattr(listing, name, value)
    ListingTransition.objects.create(
        listing=listing,
        from_status=previous,
        to_status=target,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label or _actor_label(actor),
        note=note,
        created_at=now,
    )
    snapshot_listings([listing], user=actor, reason=f"{action}: {note}"[:100])
    record_event(
        f"listings.{action}",
        actor=actor,
        actor_label=actor_label,
        target_type="listing",
        target_id=listing.pk,
        data={"from": previous, "to": target, "note": note},
    )
    _bump(listing)
    return listing


def _locked(listing: Listing) -> Listing:
    return Listing.objects.select_for_update().select_related("record").get(pk=listing.pk)


def submit_listing(listing: Listing, *, actor: Any, today: dt.date | None = None) -> Listing:
    """The specialist asks for review; refused while any listing criterion fails."""
    today = today or timezone.localdate()
    with transaction.atomic():
        listing = _locked(listing)
        checks = evaluate_criteria(listing, today)
        if not criteria_met(checks):
            raise ListingError(
                _("掲載基準を満たしていない項目があります。"),
                failed=[c.code for c in checks if not c.passed],
            )
        return _transition(listing, "submit", actor=actor)


def approve_listing(listing: Listing, *, actor: Any, today: dt.date | None = None) -> Listing:
    """An operator publishes a submitted listing that meets every criterion."""
    today = today or timezone.localdate()
    with transaction.atomic():
        listing = _locked(listing)
        checks = evaluate_criteria(listing, today)
        if listing.status == S.SUBMITTED and not criteria_met(checks):
            raise ListingError(
                _("掲載基準を満たしていないため承認できません。差し戻してください。"),
                failed=[c.code for c in checks if not c.passed],
            )
        # Approval starts a fresh period: the listing was just checked.
        listing = _transition(listing, "approve", actor=actor)
        _notify(listing, "listing_approved")
        return listing


def send_back_listing(listing: Listing, *, actor: Any, message: str) -> Listing:
    """An operator returns a submitted listing to draft with a message for the specialist."""
    message = message.strip()
    if not message:
        raise ListingError(_("差し戻しの理由を入力してください。"))
    with transaction.atomic():
        listing = _transition(_locked(listing), "send_back", actor=actor, note=message)
        _notify(listing, "listing_sent_back", message=message)
        return listing


def suspend_listing(listing: Listing, *, actor: Any, reason: str) -> Listing:
    reason = reason.strip()
    if not reason:
        raise ListingError(_("掲載停止の理由を入力してください。"))
    with transaction.atomic():
        listing = _transition(_locked(listing), "suspend", actor=actor, note=reason)
        _notify(listing, "listing_suspended", message=reason)
        return listing


def restore_listing(listing: Listing, *, actor: Any) -> Listing:
    with transaction.atomic():
        listing = _transition(_locked(listing), "restore", actor=actor)
        _notify(listing, "listing_restored")
        return listing


def withdraw_listing(listing: Listing, *, actor: Any) -> Listing:
    """The specialist takes the listing off the list (APPI); the registry record stays."""
    with transaction.atomic():
        listing = _transition(_locked(listing), "withdraw", actor=actor)
        revision = open_revision(listing)
        if revision is not None:
            # Nothing is live to change any more; a reopened listing starts from its draft.
            _close(revision, RevisionStatus.CANCELLED, timezone.now())
        return listing


def reopen_listing(listing: Listing, *, actor: Any) -> Listing:
    with transaction.atomic():
        return _transition(_locked(listing), "reopen", actor=actor)


def start_listing(record: Any, *, actor: Any) -> Listing:
    """A draft listing for a registry record that has none (a newly invited specialist)."""
    with transaction.atomic():
        listing, created = Listing.objects.get_or_create(
            record=record, defaults={"status": S.DRAFT, "updated_at": timezone.now()}
        )
        if created:
            ListingTransition.objects.create(
                listing=listing,
                from_status=S.DRAFT,
                to_status=S.DRAFT,
                actor=actor if getattr(actor, "is_authenticated", False) else None,
                actor_label=_actor_label(actor),
                note="created",
            )
            snapshot_listings([listing], user=actor, reason="created", created=True)
            record_event(
                "listings.create",
                actor=actor,
                target_type="listing",
                target_id=listing.pk,
                data={"registration_number": record.registration_number},
            )
        return listing


def _current_sets(listing: Listing) -> dict[str, set[Any]]:
    return {name: set(getattr(listing, name).values_list("pk", flat=True)) for name in SET_FIELDS}


def _current_fees(listing: Listing) -> dict[str, int]:
    return dict(listing.offers.values_list("form", "fee_yen"))


@dataclass(frozen=True)
class GatedPlan:
    """What a save would do to the gated items of a live listing."""

    live: GatedState
    current: ListingRevision | None
    proposed: GatedState
    touched: bool

    @property
    def to_review(self) -> list[str]:
        """The gated items that would wait for review after the save."""
        return changed_fields(self.live, self.proposed)

    @property
    def is_new_submission(self) -> bool:
        """True when the save sends something to review that is not already waiting."""
        if not self.touched or not self.to_review:
            return False
        current = self.current
        return not (
            current is not None
            and current.status == RevisionStatus.PENDING
            and revision_state(current) == self.proposed
        )


def reviews_edits(listing: Listing) -> bool:
    """Gated edits wait for review only while the listing is live (published)."""
    return listing.status == S.PUBLISHED


def plan_gated(listing: Listing, changes: ListingChanges) -> GatedPlan:
    """Compare the gated part of `changes` with the live version and any open revision.

    The proposal starts from the open revision (the specialist keeps editing
    their own change) or from the live version, with the submitted gated
    items laid over it.
    """
    live = live_state(listing)
    current = open_revision(listing)
    base = revision_state(current) if current is not None else live
    values = {k: v for k, v in changes.values.items() if k in GATED_SCALARS}
    sets = {k: v for k, v in changes.sets.items() if k in GATED_SETS}
    touched = bool(values or sets)
    return GatedPlan(live, current, overlay(base, values, sets) if touched else base, touched)


def _close(revision: ListingRevision, status: str, now: dt.datetime) -> None:
    # A returned revision keeps its status (the operator's decision); it only stops being open.
    if revision.status == RevisionStatus.PENDING:
        revision.status = status
    revision.closed_at = now
    revision.save(update_fields=["status", "closed_at"])


def _gated_transition(listing: Listing, *, actor: Any, note: str) -> None:
    """A timeline row for a change to a live listing's gated items; the status stays."""
    ListingTransition.objects.create(
        listing=listing,
        from_status=listing.status,
        to_status=listing.status,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=_actor_label(actor),
        note=note,
    )


def update_listing(listing: Listing, changes: ListingChanges, *, actor: Any) -> UpdateResult:
    """Apply the specialist's edit. Only self-declared items can change.

    Unknown keys are refused, so a forged form field can never reach a
    verified item (registry facts live on RegistryRecord, which this never
    touches). Every save counts as an update for freshness. On a published
    listing the gated items go to a pending ListingRevision instead of the
    listing, so the approved version stays public; everything else applies
    at once.
    """
    unknown = (set(changes.values) - set(SCALAR_FIELDS)) | (set(changes.sets) - set(SET_FIELDS))
    if unknown:
        raise ListingError(_("変更できない項目が含まれています。"), failed=sorted(unknown))
    if changes.values.get("availability") == Availability.ACCEPTING:
        changes.values.setdefault("not_accepting_reason", "")
    with transaction.atomic():
        listing = _locked(listing)
        if listing.status == S.WITHDRAWN:
            raise ListingError(_("取り下げた掲載は、再開してから編集してください。"))
        now = timezone.now()
        plan = plan_gated(listing, changes) if reviews_edits(listing) else None
        values, sets = changes.values, changes.sets
        if plan is not None:
            values = {k: v for k, v in values.items() if k not in GATED_SCALARS}
            sets = {k: v for k, v in sets.items() if k not in GATED_SETS}
        changed: set[str] = set()
        for name, value in values.items():
            if getattr(listing, name) != value:
                setattr(listing, name, value)
                changed.add(name)
        current = _current_sets(listing)
        with quiet_history(listing):
            for name, wanted in sets.items():
                if current[name] != set(wanted):
                    getattr(listing, name).set(list(wanted))
                    changed.add(name)
            fees_before = _current_fees(listing)
            if changes.fees is not None and fees_before != changes.fees:
                listing.offers.all().delete()
                ServiceOfferModel.objects.bulk_create(
                    ServiceOfferModel(listing=listing, form=form, fee_yen=fee)
                    for form, fee in changes.fees.items()
                )
                changed.add("fees")
            listing.updated_at = now
            listing.stale_notified_at = None
            listing.hidden_notified_at = None
            listing.save(
                update_fields=[
                    *(n for n in changed if n in SCALAR_FIELDS),
                    "updated_at",
                    "stale_notified_at",
                    "hidden_notified_at",
                ]
            )
        snapshot_listings([listing], user=actor, reason="self-service edit")
        record_event(
            "listings.update",
            actor=actor,
            target_type="listing",
            target_id=listing.pk,
            # Offers are replaced, not versioned, so the audit keeps their before/after.
            data={"fields": sorted(changed)}
            | (
                {"fees": {"before": fees_before, "after": changes.fees}}
                if "fees" in changed
                else {}
            ),
        )
        resubmitted = False
        pending: tuple[str, ...] = ()
        if plan is None:
            # Applied straight to a listing that is not live: an open revision is moot.
            revision = open_revision(listing)
            if revision is not None and changed & GATED_FIELDS:
                _close(revision, RevisionStatus.SUPERSEDED, now)
        elif plan.touched:
            to_review = plan.to_review
            if not to_review:
                if plan.current is not None:
                    # Put back as it is live: nothing is left to review.
                    _close(plan.current, RevisionStatus.CANCELLED, now)
                    record_event(
                        "listings.change_cancelled",
                        actor=actor,
                        target_type="listing",
                        target_id=listing.pk,
                        data={"revision": plan.current.pk},
                    )
            elif plan.is_new_submission:
                if plan.current is not None:
                    _close(plan.current, RevisionStatus.SUPERSEDED, now)
                revision = ListingRevision.objects.create(
                    listing=listing,
                    values=plan.proposed.values,
                    sets=plan.proposed.sets,
                    submitted_at=now,
                    submitted_by=actor if getattr(actor, "is_authenticated", False) else None,
                )
                _gated_transition(listing, actor=actor, note="gated: " + ", ".join(to_review))
                record_event(
                    "listings.change_submitted",
                    actor=actor,
                    target_type="listing",
                    target_id=listing.pk,
                    data={
                        "revision": revision.pk,
                        "fields": to_review,
                        "live": plan.live.as_json(),
                        "proposed": plan.proposed.as_json(),
                    },
                )
                changed.update(to_review)
                resubmitted = True
            pending = tuple(to_review)
        elif plan.current is not None and plan.current.status == RevisionStatus.PENDING:
            pending = tuple(changed_fields(plan.live, revision_state(plan.current)))
        _bump(listing)
    return UpdateResult(frozenset(changed), resubmitted, pending)


def _pending_for_decision(listing: Listing, revision_id: Any) -> ListingRevision:
    """The listing's pending revision with this id, or a refusal.

    The id comes from the operator's form: it is only ever looked up among
    this listing's own open revisions, and it must still be the one the
    operator saw (a newer proposal supersedes it).
    """
    try:
        pk = int(revision_id)
    except (TypeError, ValueError):
        pk = 0
    revision = (
        ListingRevision.objects.select_for_update()
        .filter(pk=pk, listing=listing, status=RevisionStatus.PENDING, closed_at__isnull=True)
        .first()
    )
    if revision is None:
        raise ListingError(
            _(
                "この変更は審査待ちではありません（本人が内容を変えたか、既に審査されました）。画面を再読み込みしてください。"
            )
        )
    return revision


def approve_change(
    listing: Listing, *, actor: Any, revision_id: Any, today: dt.date | None = None
) -> Listing:
    """An operator approves a pending change: it replaces the live version at once."""
    today = today or timezone.localdate()
    with transaction.atomic():
        listing = _locked(listing)
        revision = _pending_for_decision(listing, revision_id)
        before = live_state(listing)
        after = revision_state(revision)
        # Refused when the change breaks a criterion the live version meets; a
        # failure it does not cause (a course due, say) is the listing's, not the change's.
        live_passed = {c.code for c in evaluate_criteria(listing, today) if c.passed}
        checks = evaluate_criteria(ProposedListing(listing, after), today)  # type: ignore[arg-type]
        broken = [c.code for c in checks if not c.passed and c.code in live_passed]
        if broken:
            raise ListingError(
                _("変更後の内容が掲載基準を満たしていないため承認できません。差し戻してください。"),
                failed=broken,
            )
        now = timezone.now()
        with quiet_history(listing):
            for name in GATED_SCALARS:
                setattr(listing, name, after.values[name])
            listing.save(update_fields=list(GATED_SCALARS))
            for name in GATED_SETS:
                getattr(listing, name).set(after.sets[name])
        fields = changed_fields(before, after)
        revision.status = RevisionStatus.APPROVED
        revision.decided_at = now
        revision.decided_by = actor if getattr(actor, "is_authenticated", False) else None
        revision.closed_at = now
        revision.save(update_fields=["status", "decided_at", "decided_by", "closed_at"])
        _gated_transition(listing, actor=actor, note="approve_change: " + ", ".join(fields))
        snapshot_listings([listing], user=actor, reason="approve_change")
        record_event(
            "listings.change_approved",
            actor=actor,
            target_type="listing",
            target_id=listing.pk,
            data={
                "revision": revision.pk,
                "fields": fields,
                "before": before.as_json(),
                "after": after.as_json(),
            },
        )
        _bump(listing)
        _notify(listing, "listing_change_approved")
        return listing


def send_back_change(listing: Listing, *, actor: Any, revision_id: Any, message: str) -> Listing:
    """An operator returns a pending change with a message; the live version stays as it is."""
    message = message.strip()
    if not message:
        raise ListingError(_("差し戻しの理由を入力してください。"))
    with transaction.atomic():
        listing = _locked(listing)
        revision = _pending_for_decision(listing, revision_id)
        revision.status = RevisionStatus.RETURNED
        revision.decided_at = timezone.now()
        revision.decided_by = actor if getattr(actor, "is_authenticated", False) else None
        revision.note = message
        # Stays open: the specialist sees the message and their change until they act on it.
        revision.save(update_fields=["status", "decided_at", "decided_by", "note"])
        _gated_transition(listing, actor=actor, note=f"send_back_change: {message}")
        record_event(
            "listings.change_sent_back",
            actor=actor,
            target_type="listing",
            target_id=listing.pk,
            data={"revision": revision.pk, "note": message},
        )
        _notify(listing, "listing_change_sent_back", message=message)
        return listing


def confirm_listing(listing: Listing, *, actor: Any) -> Listing:
    """ "Nothing has changed": counts as an update for freshness, and unhides a year-old listing."""
    with transaction.atomic():
        listing = _locked(listing)
        listing.updated_at = timezone.now()
        listing.stale_notified_at = None
        listing.hidden_notified_at = None
        with quiet_history(listing):
            listing.save(update_fields=["updated_at", "stale_notified_at", "hidden_notified_at"])
        snapshot_listings([listing], user=actor, reason="confirmed unchanged")
        record_event("listings.confirm", actor=actor, target_type="listing", target_id=listing.pk)
        _bump(listing)
    return listing


def set_availability(
    listing: Listing,
    *,
    actor: Any,
    accepting: bool,
    reason: str = "",
    resumes_on: dt.date | None = None,
    today: dt.date | None = None,
) -> UpdateResult:
    """Accepting, or not accepting with an optional reason and the day work resumes."""
    today = today or timezone.localdate()
    if accepting:
        values = {"availability": Availability.ACCEPTING, "availability_until": None}
    else:
        if resumes_on is not None and resumes_on <= today:
            raise ListingError(_("受付再開日は明日以降の日付を指定してください。"))
        values = {
            "availability": Availability.NOT_ACCEPTING,
            # Stored as the last day of the pause: it flips the day after.
            "availability_until": resumes_on - dt.timedelta(days=1) if resumes_on else None,
            "not_accepting_reason": reason.strip(),
        }
    return update_listing(listing, ListingChanges(values=values), actor=actor)


def _notify(listing: Listing, template: str, **extra: Any) -> None:
    account = getattr(listing.record, "account", None)
    to = getattr(account, "email", "") or listing.email
    if to:
        queue_templated(
            template,
            to,
            {"listing": listing, "name": listing.record.name, **extra},
        )


__all__ = [
    "GATED_FIELDS",
    "SCALAR_FIELDS",
    "SET_FIELDS",
    "TRANSITIONS",
    "GatedPlan",
    "ListingChanges",
    "ListingError",
    "UpdateResult",
    "approve_change",
    "approve_listing",
    "confirm_listing",
    "plan_gated",
    "reopen_listing",
    "restore_listing",
    "reviews_edits",
    "send_back_change",
    "send_back_listing",
    "set_availability",
    "start_listing",
    "submit_listing",
    "suspend_listing",
    "update_listing",
    "withdraw_listing",
]

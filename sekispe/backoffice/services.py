"""Operator-side writes that have no home in another app's services."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from sekispe.audit.services import record_event
from sekispe.listings.models import ListingCriteria

# The criteria an operator may tune; anything else in `data` is ignored.
CRITERIA_FIELDS = (
    "require_active_registration",
    "require_courses_current",
    "min_themes",
    "min_regions",
    "require_contact",
    "min_profile_chars",
    "require_employer_permission",
)


def update_criteria(
    criteria: ListingCriteria, data: dict[str, Any], *, actor: Any
) -> dict[str, list[Any]]:
    """Change the listing criteria and audit what changed. Returns {field: [old, new]}.

    Submissions and approvals read the criteria at the time they happen, so a
    change applies to the next evaluation and never to published listings
    retroactively.
    """
    changes = {
        name: [getattr(criteria, name), data[name]]
        for name in CRITERIA_FIELDS
        if name in data and getattr(criteria, name) != data[name]
    }
    if not changes:
        return changes
    with transaction.atomic():
        for name, (_old, new) in changes.items():
            setattr(criteria, name, new)
        if getattr(actor, "is_authenticated", False):
            criteria._history_user = actor
        criteria.save(update_fields=[*changes, "updated_at"])
        record_event(
            "listings.criteria_update",
            actor=actor,
            target_type="listingcriteria",
            target_id=criteria.pk,
            data={"changes": changes},
        )
    return changes

"""Reading gated changes: the live and the proposed state, and their difference in words.

The writes (propose, approve, send back) live in `listings.lifecycle`; this
module only reads, so the specialist's confirmation page, the operator's
review and the lifecycle all compare states the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from sekispe.listings.models import Listing, ListingRevision, RevisionStatus
from sekispe.reference.labels import labels

# Kept in step with lifecycle.GATED_FIELDS (a test checks it); declared here so
# this module needs nothing from the write path.
GATED_SCALARS = (
    "affiliation",
    "company_name",
    "employer_permits_outside_work",
    "other_qualifications",
    "track_record",
)
GATED_SETS = ("themes", "syllabus_items", "industries", "qualifications")

EMPTY = "—"


@dataclass(frozen=True)
class GatedState:
    """Every gated item of one version: scalar values and sorted code lists."""

    values: dict[str, Any]
    sets: dict[str, list[Any]]

    def as_json(self) -> dict[str, Any]:
        return {"values": self.values, "sets": self.sets}


def _sorted(codes: Any) -> list[Any]:
    return sorted(set(codes), key=str)


def live_state(listing: Listing) -> GatedState:
    return GatedState(
        values={name: getattr(listing, name) for name in GATED_SCALARS},
        sets={
            name: _sorted(getattr(listing, name).values_list("pk", flat=True))
            for name in GATED_SETS
        },
    )


def revision_state(revision: ListingRevision) -> GatedState:
    return GatedState(
        values={name: revision.values.get(name) for name in GATED_SCALARS},
        sets={name: _sorted(revision.sets.get(name, [])) for name in GATED_SETS},
    )


def overlay(base: GatedState, values: dict[str, Any], sets: dict[str, Any]) -> GatedState:
    """`base` with the gated items among `values` and `sets` replaced."""
    return GatedState(
        values={n: values[n] if n in values else base.values[n] for n in GATED_SCALARS},
        sets={n: _sorted(sets[n]) if n in sets else base.sets[n] for n in GATED_SETS},
    )


def open_revision(listing: Listing) -> ListingRevision | None:
    """The pending revision, or the returned one the specialist has not acted on yet."""
    return listing.revisions.filter(closed_at__isnull=True).select_related("decided_by").first()


def pending_revision(listing: Listing) -> ListingRevision | None:
    revision = open_revision(listing)
    return revision if revision and revision.status == RevisionStatus.PENDING else None


def changed_fields(before: GatedState, after: GatedState) -> list[str]:
    """The gated items that differ, in form order."""
    return [n for n in GATED_SCALARS if before.values[n] != after.values[n]] + [
        n for n in GATED_SETS if before.sets[n] != after.sets[n]
    ]


# ------------------------------------------------------------- in words


@dataclass(frozen=True)
class GatedChange:
    """One changed item, shaped like backoffice.history.FieldChange for _changes.html."""

    field: str
    label: str
    old: str
    new: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    is_set: bool = False


# The order items appear in on the form and the public page.
DISPLAY_ORDER = (
    "themes",
    "syllabus_items",
    "industries",
    "qualifications",
    "other_qualifications",
    "affiliation",
    "company_name",
    "employer_permits_outside_work",
    "track_record",
)


def _set_names(name: str, codes: list[Any]) -> list[str]:
    lab = labels()
    names = {
        "themes": lab.theme,
        "syllabus_items": {code: f"{code} {text}" for code, text in lab.syllabus.items()},
        "industries": lab.industry,
        "qualifications": lab.qualification,
    }[name]
    order = {code: i for i, code in enumerate(names)}
    return [names.get(c, str(c)) for c in sorted(codes, key=lambda c: order.get(c, len(order)))]


def _scalar_text(name: str, value: Any) -> str:
    if value is None or value == "":
        return EMPTY
    field = Listing._meta.get_field(name)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("はい") if value else _("いいえ")
    return str(value)


def describe(before: GatedState, after: GatedState) -> list[GatedChange]:
    """The changed gated items with their labels and values as people read them."""
    changed = set(changed_fields(before, after))
    rows = []
    for name in DISPLAY_ORDER:
        if name not in changed:
            continue
        label = str(Listing._meta.get_field(name).verbose_name)
        if name in GATED_SETS:
            old, new = set(before.sets[name]), set(after.sets[name])
            rows.append(
                GatedChange(
                    field=name,
                    label=label,
                    old=_("、").join(_set_names(name, list(old))) or EMPTY,
                    new=_("、").join(_set_names(name, list(new))) or EMPTY,
                    added=tuple(_set_names(name, list(new - old))),
                    removed=tuple(_set_names(name, list(old - new))),
                    is_set=True,
                )
            )
        else:
            rows.append(
                GatedChange(
                    field=name,
                    label=label,
                    old=_scalar_text(name, before.values[name]),
                    new=_scalar_text(name, after.values[name]),
                )
            )
    return rows


class _Codes:
    """Just enough of a related manager for criteria and the detail builder."""

    def __init__(self, codes: list[Any]) -> None:
        self.codes = list(codes)

    def count(self) -> int:
        return len(self.codes)

    def values_list(self, *_fields: str, flat: bool = False) -> list[Any]:
        return list(self.codes)


class ProposedListing:
    """The listing as it would be if `state` were approved: read-only, nothing saved.

    Criteria checks and the public-page preview read a listing's attributes
    and sets; this answers the gated ones from the proposal and everything
    else from the live listing.
    """

    def __init__(self, listing: Listing, state: GatedState) -> None:
        self._listing = listing
        self._state = state

    def __getattr__(self, name: str) -> Any:
        if name in GATED_SCALARS:
            return self._state.values[name]
        if name in GATED_SETS:
            return _Codes(self._state.sets[name])
        return getattr(self._listing, name)


__all__ = [
    "GATED_SCALARS",
    "GATED_SETS",
    "GatedChange",
    "GatedState",
    "ProposedListing",
    "changed_fields",
    "describe",
    "live_state",
    "open_revision",
    "overlay",
    "pending_revision",
    "revision_state",
]

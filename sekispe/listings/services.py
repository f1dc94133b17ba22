"""The write path for listings and the registry facts that come with them.

Bulk writers (the pilot-list import and the demo seed) go through
`write_listings`, which upserts by registration number inside one transaction,
writes one audit record with the counts and the changed numbers, and bumps the
search generation. It compares each row with what is stored, so writing the
same data twice reports everything as unchanged and touches nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from sekispe.audit.services import record_event
from sekispe.core.changes import deferred_changes, record_everything
from sekispe.lib.dates import fiscal_year
from sekispe.listings.history import snapshot_listings, snapshot_records
from sekispe.listings.models import Availability, Listing, ListingStatus, ServiceOffer
from sekispe.reference.models import Affiliation
from sekispe.registry.models import CourseCompletion, RegistryRecord, RegistryStatus

CHUNK = 900  # stays under SQLite's 999-variable limit in IN (...) lookups


@dataclass(frozen=True)
class CourseInput:
    kind: str
    completed_on: dt.date
    provider: str = ""
    course_code: str = ""


@dataclass(frozen=True)
class ListingInput:
    """One specialist: registry facts plus the self-declared listing items."""

    registration_number: str
    name: str
    name_kana: str
    registered_on: dt.date
    expires_on: dt.date
    home_prefecture: str
    prefectures: tuple[str, ...]
    themes: tuple[int, ...]
    syllabus_items: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    periods: tuple[str, ...] = ()
    qualifications: tuple[str, ...] = ()
    other_qualifications: str = ""
    first_free: bool = False
    fees: dict[str, int] = field(default_factory=dict)
    affiliation: str = Affiliation.SOLE
    company_name: str = ""
    email: str = ""
    phone: str = ""
    web: str = ""
    profile: str = ""
    track_record: str = ""
    availability: str = Availability.ACCEPTING
    availability_until: dt.date | None = None
    # The pilot CSV has no column for it: imported company employees must declare it themselves.
    employer_permits_outside_work: bool = False
    # Only set by the demo seed; the pilot list carries none of these registry facts.
    renewal_count: int | None = None
    status: str | None = None
    birth_year: int | None = None
    registry_email: str | None = None
    published_items: tuple[str, ...] | None = None
    courses: tuple[CourseInput, ...] | None = None
    updated_at: dt.datetime | None = None


@dataclass
class WriteCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    changed_numbers: list[str] = field(default_factory=list)


_RECORD_FIELDS = ("name", "name_kana", "registered_on", "expires_on", "home_prefecture_id")
# Written only when the input carries them (the demo seed does, the pilot list doesn't).
_OPTIONAL_RECORD_FIELDS = ("renewal_count", "status", "birth_year", "email", "published_items")
_LISTING_FIELDS = (
    "first_free",
    "affiliation",
    "company_name",
    "email",
    "phone",
    "web",
    "profile",
    "track_record",
    "availability",
    "availability_until",
    "other_qualifications",
    "employer_permits_outside_work",
)
_M2M = (
    ("prefectures", "prefecture_id"),
    ("themes", "guidancetheme_id"),
    ("syllabus_items", "syllabusitem_id"),
    ("industries", "industry_id"),
    ("periods", "supportperiod_id"),
    ("qualifications", "qualification_id"),
)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _record_values(item: ListingInput) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": item.name,
        "name_kana": item.name_kana,
        "registered_on": item.registered_on,
        "expires_on": item.expires_on,
        "home_prefecture_id": item.home_prefecture,
    }
    if item.renewal_count is not None:
        values["renewal_count"] = item.renewal_count
    if item.status is not None:
        values["status"] = item.status
    if item.birth_year is not None:
        values["birth_year"] = item.birth_year
    if item.registry_email is not None:
        values["email"] = item.registry_email
    if item.published_items is not None:
        values["published_items"] = list(item.published_items)
    return values


def _listing_values(item: ListingInput) -> dict[str, Any]:
    return {name: getattr(item, name) for name in _LISTING_FIELDS}


def _listing_sets(item: ListingInput) -> dict[str, frozenset[Any]]:
    sets = {name: frozenset(getattr(item, name)) for name, _ in _M2M}
    sets["fees"] = frozenset(item.fees.items())
    return sets


def _stored_sets(listing_ids: list[int]) -> dict[int, dict[str, set[Any]]]:
    stored: dict[int, dict[str, set[Any]]] = {
        lid: {name: set() for name, _ in _M2M} | {"fees": set()} for lid in listing_ids
    }
    for ids in _chunks(listing_ids):
        for name, column in _M2M:
            through = getattr(Listing, name).through
            for lid, code in through.objects.filter(listing_id__in=ids).values_list(
                "listing_id", column
            ):
                stored[lid][name].add(code)
        for lid, form, fee in ServiceOffer.objects.filter(listing_id__in=ids).values_list(
            "listing_id", "form", "fee_yen"
        ):
            stored[lid]["fees"].add((form, fee))
    return stored


def write_listings(
    items: Sequence[ListingInput],
    *,
    actor_label: str,
    source: dict[str, Any] | None = None,
    actor: Any = None,
    progress: Callable[[int], None] | None = None,
    status: str = ListingStatus.PUBLISHED,
    record_history: bool = True,
) -> WriteCounts:
    """Upsert specialists by registration number, all or nothing.

    Registry facts in `items` overwrite the stored ones (only operators run
    bulk writes). Course completions are replaced only when `courses` is given.
    New listings get `status` (bulk sources are vetted lists, so published by
    default); an existing listing keeps its status. `record_history` writes one
    history snapshot per changed listing and record; the demo seed turns it off.
    """
    numbers = [item.registration_number for item in items]
    if len(set(numbers)) != len(numbers):
        seen: set[str] = set()
        dupes = sorted({n for n in numbers if n in seen or seen.add(n)})
        raise ValueError(f"duplicate registration numbers: {', '.join(dupes)}")
    counts = WriteCounts()
    now = timezone.now()
    # Saves and deletes log their changes through signals; one write at the
    # end instead (deferred_changes), and one rebuild rather than many deltas.
    with transaction.atomic(), deferred_changes():
        for batch in _chunks(items, 500):
            _write_batch(
                batch, counts, now, status, actor if record_history else False, actor_label
            )
            if progress:
                progress(len(batch))
        record_event(
            "listings.bulk_write",
            actor=actor,
            actor_label=actor_label,
            target_type="listing",
            data={
                **(source or {}),
                "inserted": counts.inserted,
                "updated": counts.updated,
                "unchanged": counts.unchanged,
                "changed": counts.changed_numbers,
            },
        )
        if counts.inserted or counts.updated:
            record_everything()
    return counts


def _write_batch(
    batch: Sequence[ListingInput],
    counts: WriteCounts,
    now: dt.datetime,
    status: str,
    history_actor: Any,
    actor_label: str,
) -> None:
    """`history_actor` is False when no history is wanted, else the acting user or None."""
    numbers = [item.registration_number for item in batch]
    records = {r.registration_number: r for r in RegistryRecord.objects.filter(
        registration_number__in=numbers
    )}  # fmt: skip
    listings = {
        listing.record_id: listing
        for listing in Listing.objects.filter(record__in=records.values())
    }
    stored_sets = _stored_sets([lst.id for lst in listings.values()])

    new_records = [
        RegistryRecord(registration_number=item.registration_number, **_record_values(item))
        for item in batch
        if item.registration_number not in records
    ]
    RegistryRecord.objects.bulk_create(new_records)
    if new_records:
        # bulk_create does not return ids on every backend; read them back.
        for r in RegistryRecord.objects.filter(
            registration_number__in=[r.registration_number for r in new_records]
        ):
            records[r.registration_number] = r

    changed_records: list[RegistryRecord] = []
    new_listings: list[Listing] = []
    changed_listings: list[Listing] = []
    rewrite_sets: list[tuple[ListingInput, RegistryRecord]] = []
    replace_courses: list[tuple[ListingInput, RegistryRecord]] = []
    is_new_number = {r.registration_number for r in new_records}

    for item in batch:
        record = records[item.registration_number]
        record_changed = False
        if item.registration_number not in is_new_number:
            for name, value in _record_values(item).items():
                if getattr(record, name) != value:
                    setattr(record, name, value)
                    record_changed = True
            if record_changed:
                # bulk_update skips auto_now, so stamp the change explicitly.
                record.updated_at = now
                changed_records.append(record)
        courses_changed = item.courses is not None and (
            bool(item.courses)
            if item.registration_number in is_new_number
            else _courses_differ(record, item)
        )
        if courses_changed:
            replace_courses.append((item, record))

        listing = listings.get(record.id)
        wanted = _listing_values(item)
        stamp = item.updated_at or now
        if listing is None:
            new_listings.append(Listing(record=record, updated_at=stamp, status=status, **wanted))
            rewrite_sets.append((item, record))
            counts.inserted += 1
            counts.changed_numbers.append(item.registration_number)
            continue
        listing_changed = any(getattr(listing, k) != v for k, v in wanted.items())
        sets_changed = stored_sets[listing.id] != {
            k: set(v) for k, v in _listing_sets(item).items()
        }
        if listing_changed or sets_changed:
            for k, v in wanted.items():
                setattr(listing, k, v)
            listing.updated_at = stamp
            changed_listings.append(listing)
        if sets_changed:
            rewrite_sets.append((item, record))
        if listing_changed or sets_changed or record_changed or courses_changed:
            counts.updated += 1
            counts.changed_numbers.append(item.registration_number)
        else:
            counts.unchanged += 1

    if changed_records:
        RegistryRecord.objects.bulk_update(
            changed_records,
            [
                *_RECORD_FIELDS,
                *_OPTIONAL_RECORD_FIELDS,
                "updated_at",
            ],
        )
    Listing.objects.bulk_create(new_listings)
    if changed_listings:
        Listing.objects.bulk_update(changed_listings, [*_LISTING_FIELDS, "updated_at"])
    if rewrite_sets:
        _rewrite_sets(rewrite_sets)
    if replace_courses:
        _replace_courses(replace_courses)
    if history_actor is not False:
        reason = f"bulk:{actor_label}"
        new_ids = {lst.record_id for lst in new_listings}
        touched = (
            new_ids | {r.id for _, r in rewrite_sets} | {x.record_id for x in changed_listings}
        )
        written = list(Listing.objects.filter(record_id__in=touched))
        for created in (True, False):
            snapshot_listings(
                [x for x in written if (x.record_id in new_ids) == created],
                user=history_actor,
                reason=reason,
                created=created,
            )
        snapshot_records(
            [records[n] for n in is_new_number], user=history_actor, reason=reason, created=True
        )
        snapshot_records(changed_records, user=history_actor, reason=reason)


def _courses_differ(record: RegistryRecord, item: ListingInput) -> bool:
    stored = set(
        CourseCompletion.objects.filter(record=record).values_list(
            "kind", "completed_on", "provider", "course_code"
        )
    )
    wanted = {(c.kind, c.completed_on, c.provider, c.course_code) for c in item.courses}
    return stored != wanted


def _rewrite_sets(pairs: list[tuple[ListingInput, RegistryRecord]]) -> None:
    listing_ids = dict(
        Listing.objects.filter(record__in=[r for _, r in pairs]).values_list("record_id", "id")
    )
    ids = [listing_ids[r.id] for _, r in pairs]
    for chunk in _chunks(ids):
        for name, _ in _M2M:
            getattr(Listing, name).through.objects.filter(listing_id__in=chunk).delete()
        ServiceOffer.objects.filter(listing_id__in=chunk).delete()
    for name, column in _M2M:
        through = getattr(Listing, name).through
        through.objects.bulk_create(
            [
                through(listing_id=listing_ids[record.id], **{column: code})
                for item, record in pairs
                for code in getattr(item, name)
            ],
            batch_size=2000,
        )
    ServiceOffer.objects.bulk_create(
        [
            ServiceOffer(listing_id=listing_ids[record.id], form=form, fee_yen=fee)
            for item, record in pairs
            for form, fee in item.fees.items()
        ],
        batch_size=2000,
    )


def _replace_courses(pairs: list[tuple[ListingInput, RegistryRecord]]) -> None:
    CourseCompletion.objects.filter(record__in=[r for _, r in pairs]).delete()
    CourseCompletion.objects.bulk_create(
        [
            CourseCompletion(
                record=record,
                kind=c.kind,
                fiscal_year=fiscal_year(c.completed_on),
                provider=c.provider,
                course_code=c.course_code,
                completed_on=c.completed_on,
            )
            for item, record in pairs
            for c in item.courses or ()
        ],
        batch_size=2000,
    )


__all__ = [
    "CourseInput",
    "ListingInput",
    "RegistryStatus",
    "WriteCounts",
    "write_listings",
]


def get_specialist_listing(user: Any) -> Listing:
    """The signed-in specialist's own listing, found from their account; 404 for
    anybody else, so no request ever names the listing it edits."""
    if not getattr(user, "is_specialist", False):
        raise Http404
    listing = Listing.objects.select_related("record").filter(record_id=user.record_id).first()
    if listing is None:
        raise Http404
    return listing

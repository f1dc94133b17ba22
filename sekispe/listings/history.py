"""Change history through django-simple-history, one snapshot per service call.

simple-history would otherwise write a snapshot on every save() and another
per many-to-many field changed, so one edit of a listing could leave five
rows. Service functions set `skip_history_when_saving` while they write and
then call `snapshot_listings` once, which also serves the bulk writers
(bulk_create and bulk_update send no signals).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simple_history.models import HistoricalRecords

from sekispe.listings.models import Listing
from sekispe.registry.history import snapshot_records

CHUNK = 900

# snapshot_records lives with the registry now; listings code still imports it from here.
__all__ = ["quiet_history", "snapshot_listings", "snapshot_records"]


class quiet_history:
    """Context manager: no automatic snapshots for these instances while writing."""

    def __init__(self, *instances: Any) -> None:
        self.instances = instances

    def __enter__(self) -> None:
        for instance in self.instances:
            instance.skip_history_when_saving = True

    def __exit__(self, *exc: object) -> None:
        for instance in self.instances:
            if hasattr(instance, "skip_history_when_saving"):
                del instance.skip_history_when_saving


def snapshot_listings(
    listings: Sequence[Listing], *, user: Any = None, reason: str = "", created: bool = False
) -> None:
    """One history row per listing with its current fields and many-to-many sets."""
    if not listings:
        return
    user = user if getattr(user, "is_authenticated", False) else None
    rows = Listing.history.bulk_history_create(
        list(listings),
        update=not created,
        default_user=user,
        default_change_reason=reason[:100],
    )
    # bulk_create returns primary keys on PostgreSQL and SQLite 3.35+; both are required.
    by_listing = {row.id: row for row in rows}
    for field in Listing._meta.many_to_many:
        m2m_history = HistoricalRecords.m2m_models.get(field)
        if m2m_history is None:
            continue
        through = field.remote_field.through
        column = field.m2m_reverse_field_name()
        ids = list(by_listing)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            m2m_history.objects.bulk_create(
                [
                    m2m_history(
                        id=row_id,
                        history=by_listing[listing_id],
                        listing_id=listing_id,
                        **{f"{column}_id": target_id},
                    )
                    for row_id, listing_id, target_id in through.objects.filter(
                        listing_id__in=chunk
                    ).values_list("id", "listing_id", f"{column}_id")
                ],
                batch_size=2000,
            )

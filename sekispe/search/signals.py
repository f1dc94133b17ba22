"""Log every change to searchable data in the search change log.

Row-level saves (admin, services) arrive here through signals and log the
listing (or the registry record) they touched, so search applies a delta.
Bulk writers (imports, the demo seed) send no signals: they log
`record_everything()` themselves, and search rebuilds its snapshot once.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from sekispe.core.changes import record_changes
from sekispe.listings.models import Listing, ServiceOffer
from sekispe.registry.models import CourseCompletion, RegistryRecord


@receiver(post_save)
@receiver(post_delete)
def _row_changed(sender: type, instance: Any, **kwargs: Any) -> None:
    if sender is Listing:
        record_changes(listing_ids=[instance.pk])
    elif sender is ServiceOffer:
        record_changes(listing_ids=[instance.listing_id])
    elif sender is RegistryRecord:
        record_changes(record_ids=[instance.pk])
    elif sender is CourseCompletion:
        record_changes(record_ids=[instance.record_id])


@receiver(m2m_changed)
def _m2m_changed(
    sender: type, instance: Any, action: str, reverse: bool, pk_set: set[Any] | None, **kwargs: Any
) -> None:
    if not action.startswith("post_") or sender._meta.auto_created is not Listing:
        return
    if not reverse:
        record_changes(listing_ids=[instance.pk])
    elif pk_set is not None:  # e.g. prefecture.listing_set.add(...): the listings are the pks
        record_changes(listing_ids=pk_set)
    else:  # reverse clear(): which listings lost the value is no longer known
        record_changes(everything=True)

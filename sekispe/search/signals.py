"""Invalidate the search index whenever searchable data changes.

Row-level saves (admin, services) arrive here through signals; bulk writers
(imports, the demo seed) call `bump_generation()` themselves because bulk
operations send no signals.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from sekispe.listings.models import Listing, ServiceOffer
from sekispe.registry.models import CourseCompletion, RegistryRecord
from sekispe.search.services import bump_generation

_WATCHED = (Listing, ServiceOffer, RegistryRecord, CourseCompletion)


@receiver(post_save)
@receiver(post_delete)
def _row_changed(sender: type, **kwargs: Any) -> None:
    if sender in _WATCHED:
        bump_generation()


@receiver(m2m_changed)
def _m2m_changed(sender: type, action: str, **kwargs: Any) -> None:
    if action.startswith("post_") and sender._meta.auto_created is Listing:
        bump_generation()

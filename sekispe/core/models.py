from __future__ import annotations

from django.db import models


class RateLimitCounter(models.Model):
    """A fixed-window counter shared by every worker process (see `sekispe.core.ratelimit`)."""

    key = models.CharField(max_length=200, unique=True)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"


class SearchChange(models.Model):
    """One committed change to data that search shows: the search change log.

    Written in the same transaction as the change (`sekispe.core.changes`).
    Each process's search index applies the rows it has not seen yet, so a
    write costs every process the size of the change, not a rebuild. A row
    naming neither a listing nor a record means "too much changed to list"
    (an import, the demo seed): the index is rebuilt once, in one process,
    and the others load that snapshot (docs/search.md).

    Plain integers, not foreign keys: the log must outlive a deleted listing,
    whose deletion is itself a change to apply.
    """

    listing_id = models.BigIntegerField(null=True, blank=True)
    record_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.pk}: listing {self.listing_id} record {self.record_id}"

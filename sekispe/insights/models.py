"""The summary tables the policy pages and the open statistics read.

`Fact` is one aggregate cell: a count (or a duration) for one measure, broken
down by at most month, prefecture, guidance theme and one more key. The
refresh (`insights.refresh`) rebuilds every measure from the domain tables in
one transaction, so a page never sees half a refresh and never scans the
domain tables itself. No cell holds personal data: only codes and numbers.
"""

from __future__ import annotations

from django.db import models


class Fact(models.Model):
    # A slug from `insights.measures.MEASURES`.
    measure = models.CharField(max_length=40)
    # The first day of the month the cell counts; null for "as of the refresh".
    month = models.DateField(null=True, blank=True)
    # JIS X 0401 code ("01"–"47"); "" = the whole country or not broken down.
    prefecture = models.CharField(max_length=2, blank=True, default="")
    # GuidanceTheme code as text ("1"–"5"); "" = every theme or not broken down.
    theme = models.CharField(max_length=2, blank=True, default="")
    # One more breakdown named by the measure (industry, size band, age band,
    # cohort, reason, step, level …); "" = not broken down.
    key = models.CharField(max_length=40, blank=True, default="")
    value = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["measure", "month", "prefecture"])]

    def __str__(self) -> str:
        return (
            f"{self.measure} {self.month} {self.prefecture}/{self.theme}/{self.key} = {self.value}"
        )


class Refresh(models.Model):
    """One run of the refresh: when it ran, how long it took and how many cells it wrote."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # The date the aggregates describe (Japan time).
    as_of = models.DateField()
    cells = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"refresh {self.as_of} ({self.cells} cells, {self.seconds:.1f} s)"

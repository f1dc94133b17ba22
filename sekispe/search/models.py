from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ContactReveal(models.Model):
    """One showing of a specialist's e-mail address and phone number.

    Contacts are shown on request rather than printed on the page so that they
    cannot be harvested by crawling, and each showing is logged so the operator
    can see how often a specialist is contacted through the list (and spot
    scraping). The viewer's address is kept only as a keyed hash (APPI: no raw
    IP addresses are stored).
    """

    listing = models.ForeignKey(
        "listings.Listing", on_delete=models.CASCADE, related_name="contact_reveals"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contact_reveals",
    )
    # The viewer's role at the time ("anonymous" when not signed in), kept
    # even if the account is deleted later.
    role = models.CharField(max_length=16)
    ip_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.listing_id} {self.role} {self.created_at:%Y-%m-%d %H:%M}"


class ExposureLedger(models.Model):
    """What each listing has received from searches, summed over time (see exposure.py).

    `exposure` is the sum of position weights (1/log2(1 + position on the page))
    of every page that showed the listing; `deserved` is its fair share of the
    exposure given to its relevance tier on the pages where it was a member
    (a tier's exposure on a page divided equally among all of the tier's
    members). exposure - deserved > 0 means "shown more than equally suitable
    peers": the ordering moves such listings down within their tier.

    `listing_id` is a plain integer, not a foreign key: rows are written in
    batches by additive upserts from every process, and a ledger row for a
    listing deleted meanwhile must not make a batch fail (the daily
    maintenance removes such rows).
    """

    listing_id = models.BigIntegerField(unique=True)
    exposure = models.FloatField(default=0.0)
    deserved = models.FloatField(default=0.0)
    impressions = models.BigIntegerField(default=0)
    inquiries = models.IntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.listing_id}: {self.exposure:.1f} / {self.deserved:.1f}, {self.inquiries}"


class ExposureSnapshot(models.Model):
    """The ledger as one time bucket (30 minutes) orders results with.

    Written once per bucket by the first process that needs it and read by all
    the others, so every worker orders a given (query, viewer, bucket) the
    same way and paging never repeats or skips anyone. `payload` holds the
    ledger's columns as compressed arrays (see exposure.Snapshot).
    """

    bucket = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    rows = models.IntegerField(default=0)
    payload = models.BinaryField()

    def __str__(self) -> str:
        return f"bucket {self.bucket} ({self.rows} rows)"


class SearchDemand(models.Model):
    """What people search for, counted per day (issue 17): never the query text,
    the address or the user. One row per (day, prefecture, theme, form, results)
    holds how many searches asked for that; `search.demand` adds to it."""

    day = models.DateField()
    # JIS X 0401 code of a prefecture asked for; "" when the search named none.
    prefecture = models.CharField(max_length=2, blank=True, default="")
    # GuidanceTheme code asked for; 0 when the search named none.
    theme = models.PositiveSmallIntegerField(default=0)
    # ServiceForm value asked for; "" when the search named none.
    form = models.CharField(max_length=16, blank=True, default="")
    # Local specialists accepting work that the search found, capped at 3:
    # 0, 1, 2, or 3 for "3 or more". Fewer than 3 is unmet demand.
    results = models.PositiveSmallIntegerField()
    searches = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "prefecture", "theme", "form", "results"],
                name="search_demand_one_row_per_cell",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.prefecture}/{self.theme}/{self.form} <{self.results}>: {self.searches}"

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class SearchGeneration(models.Model):
    """A single-row counter bumped in the same transaction as any change that
    affects search results. Every process compares it with the generation of
    its in-memory index, so a write in one worker is seen by all of them."""

    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.value)


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

from __future__ import annotations

from django.db import models


class SearchGeneration(models.Model):
    """A single-row counter bumped in the same transaction as any change that
    affects search results. Every process compares it with the generation of
    its in-memory index, so a write in one worker is seen by all of them."""

    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.value)

from __future__ import annotations

from django.db import models


class RateLimitCounter(models.Model):
    """A fixed-window counter shared by every worker process (see `sekispe.core.ratelimit`)."""

    key = models.CharField(max_length=200, unique=True)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"

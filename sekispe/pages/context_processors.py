"""Values every page's layout needs: the service phase banner."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def service_phase(request: HttpRequest) -> dict[str, Any]:
    # Reads settings only: the 404 page renders through this too, and must not
    # need the database.
    return {"service_phase": getattr(settings, "SEKISPE_SERVICE_PHASE", "")}

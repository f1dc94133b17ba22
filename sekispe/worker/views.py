from __future__ import annotations

import secrets

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from sekispe.worker.health import readiness


def _has_token(request: HttpRequest) -> bool:
    token = settings.HEALTH_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and secrets.compare_digest(given.encode(), f"Bearer {token}".encode())


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """Operators (signed in) or a monitor with `Authorization: Bearer $HEALTH_TOKEN`;
    everyone else 403, as the report names jobs, errors and mail counts."""
    user = request.user
    if not (_has_token(request) or (user.is_authenticated and user.is_active and user.is_operator)):
        return JsonResponse({"status": "forbidden"}, status=403)
    ok, report = readiness()
    return JsonResponse(report, status=200 if ok else 503)

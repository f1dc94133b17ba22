from __future__ import annotations

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

HEALTH_QUERY = "SELECT 1"
# Well under a load balancer's probe timeout: a database that takes longer than
# this to answer SELECT 1 is unhealthy whatever the reason.
HEALTH_STATEMENT_TIMEOUT_MS = 2000


@require_safe  # GET and HEAD: load balancers often probe with HEAD
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers. Public, and
    cheap on purpose (one query): what else can be wrong, static files
    included, is /healthz/ready's job (sekispe.worker.health).

    Never hangs: connecting is bounded by `connect_timeout` (DB_CONNECT_TIMEOUT,
    settings/base.py); on PostgreSQL the query runs under a statement timeout.
    """
    if connection.vendor == "postgresql":
        # One round trip: a multi-statement simple query is one implicit
        # transaction, so SET LOCAL applies to this SELECT only and ends with it.
        sql = f"SET LOCAL statement_timeout = {int(HEALTH_STATEMENT_TIMEOUT_MS)}; {HEALTH_QUERY}"
    else:
        # SQLite has no statement timeout; SELECT 1 takes no lock, and the
        # connection's `timeout` option (5 s by default) bounds lock waits.
        sql = HEALTH_QUERY
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    except Exception as exc:  # any database failure means unhealthy
        logger.warning("health check: database unusable (%s)", type(exc).__name__)
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})

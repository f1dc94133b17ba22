"""Gunicorn settings for sekispe's web process.

Run as `gunicorn -c deploy/gunicorn.conf.py sekispe.wsgi:application`.
Every value can be changed through the environment (docs/deployment.md lists
them); the defaults suit one small host behind a TLS-terminating proxy.
"""

from __future__ import annotations

import logging
import os


def _env_int(name: str, default: int) -> int:
    # An empty value means "use the default", so compose can pass `${VAR:-}`.
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _default_workers() -> int:
    # Workers share the search snapshot (mapped), but each still has a private
    # part and a database connection pool, so the usual 2 x cores + 1 buys
    # little; the threads below absorb I/O waits. Capped so a big host does
    # not start dozens.
    return max(2, min(2 * (os.cpu_count() or 1), 8))


# 0.0.0.0 so the container port can be published; the systemd unit and the
# compose file decide who can reach it (loopback or a private network only).
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")

# gthread: requests are short and mostly wait on the database, so a few
# threads per process serve concurrent visitors cheaply.
worker_class = "gthread"
workers = _env_int("GUNICORN_WORKERS", _default_workers())
threads = _env_int("GUNICORN_THREADS", 4)

# A request that takes longer than this is stuck; searches take milliseconds
# and the slowest pages (PDF, Excel exports) a few seconds.
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# On SIGTERM a worker finishes its in-flight requests for up to this long.
# systemd's TimeoutStopSec and compose's stop_grace_period are longer.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Above the usual proxy idle timeouts' lower end, so the proxy closes first.
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)

# Recycle a worker after this many requests to bound slow memory growth; the
# jitter keeps workers from restarting together.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 200)

# No preloading: each worker maps the search snapshot in post_worker_init.
# Mapping it in the master before fork would hold a database connection across
# fork (shared sockets); the file is shared through the page cache anyway.
preload_app = False

# The app writes one JSON access line per request with its request id, so
# gunicorn's own access log would double every line. Set GUNICORN_ACCESSLOG=-
# to turn it on (to stdout) while debugging.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")

# Addresses whose X-Forwarded-Proto gunicorn trusts for wsgi.url_scheme. Django
# decides "is this HTTPS" itself (SECURE_PROXY_SSL_HEADER) and the client
# address from TRUSTED_PROXY_HOPS, so this only matters for gunicorn's view.
# Behind a proxy on another address set it to that address (or its network).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The heartbeat file is touched constantly; on a container's overlay disk that
# can stall a worker, so use memory when the host has /dev/shm.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or (
    "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
)

# gunicorn's control socket (gunicornc) lets anyone with file access resize or
# stop the server and would need a writable home; nothing here uses it.
control_socket_disable = True


def post_worker_init(worker) -> None:
    """Load the URLs and map the search snapshot before this worker accepts its
    first request.

    Django imports the URL configuration, and with it every view and the API's
    schemas, on a process's first request: about a second, which the first
    visitor of every worker paid again after each max_requests restart.

    Mapping the snapshot takes milliseconds when the day's snapshot exists;
    when none does yet, this worker builds it (or waits for the worker that
    is), so no visitor does. A failure is logged and the worker serves anyway:
    searches then load the index on demand, and the worker does not
    crash-loop on a database that is briefly away.
    """
    import time

    from django.db import connection
    from django.urls import get_resolver

    log = logging.getLogger("sekispe.gunicorn")
    started = time.perf_counter()
    try:
        get_resolver().url_patterns  # noqa: B018 (the import is the point)
        log.info("urls loaded in %.2fs (pid %s)", time.perf_counter() - started, os.getpid())
    except Exception:
        log.exception("loading the urls failed; the first request will")
    started = time.perf_counter()
    try:
        from django.utils import timezone

        from sekispe.search.index import get_index

        index = get_index(timezone.localdate())
        log.info(
            "search index warmed: %d listings in %.2fs (pid %s)",
            index.visible,
            time.perf_counter() - started,
            os.getpid(),
        )
    except Exception:
        log.exception("search index warm-up failed; the first search will build it")
    finally:
        # The warm-up ran in the main thread; requests run in gthread's pool
        # threads, which open their own connections. Closing this one avoids
        # an idle connection per worker that nothing would ever reuse.
        try:
            connection.close()
        except Exception:
            log.exception("closing the warm-up database connection failed")

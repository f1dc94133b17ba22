"""One "web process" (or the writer) of the search scale benchmark, driven over pipes.

`sekispe bench search` (search_scale.py) starts several of these beside each
other on the scratch database, because what issue 18 asks about happens
between processes: two web processes mapping one snapshot file (memory), a
write committed in one process and seen by another's search (freshness), a
search process whose poller thread applies deltas while another process
writes (latency under writes), a new process's first search (start).

    python -m sekispe.devtools.bench.search_process

reads one JSON object per line on stdin and answers one JSON line each on the
stdout it was started with (everything else the process prints, logging
included, goes to stderr, so the protocol stays clean). Like the bench
worker, it refuses any database but the scratch one (SEKISPE_BENCH_SCRATCH).

Commands: ping, first_search, mix, busy_start, busy_stop, memory, status,
watch, edit_token, suspend, restore, writes_start, writes_stop, exit.
"""

from __future__ import annotations

import io
import json
import os
import random
import sys
import threading
import time
from typing import Any

SEARCH_PATH = "/api/v1/specialists"


# --- memory, read from /proc (Linux) ------------------------------------------------------


def smaps_rollup(pid: int | str = "self") -> dict[str, int]:
    """The process's memory totals in bytes (Rss, Pss, Private_*, Shared_*, ...)."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                values[parts[0].rstrip(":")] = int(parts[1]) * 1024
    values["Uss"] = values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)
    return values


def mapping_memory(pid: int | str, needle: str) -> dict[str, int]:
    """Rss/Pss/private bytes of the mappings whose path contains `needle` (the snapshot)."""
    totals = {"Rss": 0, "Pss": 0, "Private": 0, "Shared": 0, "Size": 0}
    inside = False
    with open(f"/proc/{pid}/smaps", encoding="utf-8", errors="replace") as f:
        for line in f:
            head = line.split(None, 1)[0]
            if not head.endswith(":") or "-" in head:
                # A mapping's first line: "start-end perms offset dev inode path".
                inside = bool(needle) and needle in line
                continue
            if not inside:
                continue
            parts = line.split()
            key = parts[0].rstrip(":")
            if key in ("Rss", "Pss", "Size"):
                totals[key] += int(parts[1]) * 1024
            elif key in ("Private_Clean", "Private_Dirty"):
                totals["Private"] += int(parts[1]) * 1024
            elif key in ("Shared_Clean", "Shared_Dirty"):
                totals["Shared"] += int(parts[1]) * 1024
    return totals


# --- the process ------------------------------------------------------------------------


class WsgiClient:
    """GET requests straight through Django's WSGI handler, as gunicorn makes them.

    Not django.test.Client: each of its requests connects signal receivers
    that already exist, and every such connect leaves a weakref.finalize that
    lives as long as the receiver (close_old_connections: the process). After
    100,000 searches a process held a million of them, and its full garbage
    collections paused every thread for up to 0.5 s, a cost no web process
    has.
    """

    def __init__(self) -> None:
        from django.core.handlers.wsgi import WSGIHandler

        self.handler = WSGIHandler()

    def get(self, path: str, query: str = "") -> tuple[int, bytes]:
        environ = {
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "HTTP_HOST": "testserver",
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        status: list[str] = []

        def start_response(line: str, headers: Any, exc_info: Any = None) -> None:
            status.append(line)

        result = self.handler(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()  # request_finished, as a WSGI server sends it
        return int(status[0].split(" ", 1)[0]), body


class Process:
    def __init__(self) -> None:
        from django.conf import settings

        # The bench process is one address sending thousands of searches: the
        # per-address API limit would answer 429 and time the refusal instead.
        settings.SEARCH_API_PER_IP = (10**9, 3600)
        # A web process: the poller thread applies the change log (test settings turn it off).
        settings.SEARCH_INDEX_BACKGROUND_REFRESH = True
        if os.environ.get("SEARCH_SNAPSHOT_DIR"):
            settings.SEARCH_SNAPSHOT_DIR = os.environ["SEARCH_SNAPSHOT_DIR"]
        self.client = WsgiClient()
        self.writer: Writer | None = None
        self.busy: Busy | None = None
        self.deltas_ms: list[float] = []
        self._time_deltas()

    def _time_deltas(self) -> None:
        """Time each delta the poller applies (catch_up looks the function up per call)."""
        from sekispe.search import index as ix

        apply = ix.apply_changes

        def timed(index: Any, listing_ids: Any) -> int:
            started = time.perf_counter()
            try:
                return apply(index, listing_ids)
            finally:
                self.deltas_ms.append((time.perf_counter() - started) * 1e3)

        ix.apply_changes = timed

    def get(self, qs: str) -> tuple[int, dict[str, Any] | None]:
        status, body = self.client.get(SEARCH_PATH, qs)
        return status, (json.loads(body) if status == 200 else None)

    # Each handler returns the answer's fields.

    def ping(self) -> dict[str, Any]:
        return {"pid": os.getpid()}

    def first_search(
        self, qs: str = "theme=1", profile: bool = False, warm: bool = False
    ) -> dict[str, Any]:
        """This process's first search; `profile`: with the top of its cProfile.

        `warm`: a /healthz request first (timed apart), which imports the URL
        configuration and every view, as any first request does with or
        without an index; the search after it then pays for the index alone.
        """
        import cProfile
        import io
        import pstats

        warm_ms = None
        if warm:
            started = time.perf_counter()
            self.client.get("/healthz")
            warm_ms = round((time.perf_counter() - started) * 1e3, 1)
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        status, _body = self.get(qs)
        if profiler is not None:
            profiler.disable()
        elapsed = time.perf_counter() - started
        answer = {"ms": round(elapsed * 1e3, 1), "warm_ms": warm_ms, "status": status}
        answer |= self.status()
        if profiler is not None:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(20)
            answer["profile"] = [line for line in out.getvalue().splitlines() if line.strip()][-21:]
        return answer

    def status(self, since: int = 0) -> dict[str, Any]:
        """The index's state; the delta figures count the deltas from number `since` on."""
        from sekispe.search import index as ix

        state = ix.index_status()
        deltas = self.deltas_ms[since:]
        return {
            "built": state.built,
            "generation": state.generation,
            "visible": state.size,
            "snapshot": state.snapshot,
            "spare_rows": state.spare_rows,
            "build_seconds": state.build_seconds,
            "poller": bool(ix._poller is not None and ix._poller.is_alive()),
            "deltas": len(self.deltas_ms),
            "delta_p50_ms": round(sorted(deltas)[len(deltas) // 2], 1) if deltas else None,
            "delta_max_ms": round(max(deltas), 1) if deltas else None,
        }

    def mix(
        self, queries: list[list[str]], seconds: float = 0.0, service: bool = False
    ) -> dict[str, Any]:
        """Run the query mix (again and again for `seconds`); per-category times in ns.

        `service`: time each query a second time through `services.search`
        alone, to tell the index's cost from the request's (rate limit, JSON).
        """
        from django.http import QueryDict

        from sekispe.search import services
        from sekispe.search.forms import query_from_params

        times: dict[str, list[int]] = {}
        service_times: dict[str, list[int]] = {}
        statuses: dict[str, int] = {}
        deadline = time.monotonic() + seconds
        rounds = 0
        while True:
            for category, qs in queries:
                started = time.perf_counter_ns()
                status, _body = self.get(qs)
                times.setdefault(category, []).append(time.perf_counter_ns() - started)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if service:
                    started = time.perf_counter_ns()
                    services.search(query_from_params(QueryDict(qs), api=True))
                    elapsed = time.perf_counter_ns() - started
                    service_times.setdefault(category, []).append(elapsed)
                if seconds and time.monotonic() >= deadline:
                    break
            rounds += 1
            if not seconds or time.monotonic() >= deadline:
                break
        return {
            "times_ns": times,
            "service_ns": service_times,
            "statuses": statuses,
            "rounds": rounds,
        }

    def busy_start(self, queries: list[list[str]]) -> dict[str, Any]:
        """Run the query mix back to back in a thread of this process until
        busy_stop: a worker whose request threads are never idle, which is when
        the poller thread has to fight for the interpreter lock."""
        self.busy = Busy([qs for _category, qs in queries])
        self.busy.start()
        return {"started": True}

    def busy_stop(self) -> dict[str, Any]:
        busy = self.busy
        if busy is None:
            return {"searches": 0}
        busy.halt.set()
        busy.join(timeout=30)
        self.busy = None
        return {"searches": busy.searches, "errors": busy.errors}

    def memory(self) -> dict[str, Any]:
        from sekispe.search import index as ix

        index = ix._current
        path = getattr(index, "path", "") if index is not None else ""
        return {
            "rollup": smaps_rollup(),
            "snapshot_mapping": mapping_memory("self", os.path.basename(path)) if path else {},
            "snapshot": os.path.basename(path),
            "caches": _cache_sizes(index),
        }

    def watch(
        self, token: str, gone: bool = False, timeout: float = 10.0, every: float = 0.002
    ) -> dict[str, Any]:
        """Search for `token` until it is found (or, `gone`, until it is not); the
        CLOCK_MONOTONIC time it was seen, shared by every process on the host."""
        deadline = time.monotonic() + timeout
        searches = 0
        qs = f"q={token}&include_not_accepting=true"
        while True:
            _status, body = self.get(qs)
            searches += 1
            now = time.monotonic()
            found = bool(body and body.get("count"))
            if found != gone:
                return {"seen_at": now, "searches": searches, "timed_out": False}
            if now >= deadline:
                return {"seen_at": now, "searches": searches, "timed_out": True}
            time.sleep(every)

    # --- writes (the writer process) ---------------------------------------------------

    def edit_token(self, listing_id: int, token: str) -> dict[str, Any]:
        """Put `token` into the listing's profile through the self-service edit."""
        from sekispe.listings import lifecycle
        from sekispe.listings.models import Listing

        listing = Listing.objects.get(pk=listing_id)
        profile = f"{listing.profile} {token}".strip()
        lifecycle.update_listing(
            listing, lifecycle.ListingChanges(values={"profile": profile}), actor=None
        )
        return {"committed_at": time.monotonic()}

    def suspend(self, listing_id: int) -> dict[str, Any]:
        from sekispe.listings import lifecycle
        from sekispe.listings.models import Listing

        lifecycle.suspend_listing(
            Listing.objects.get(pk=listing_id), actor=None, reason="bench: freshness"
        )
        return {"committed_at": time.monotonic()}

    def restore(self, listing_id: int) -> dict[str, Any]:
        from sekispe.listings import lifecycle
        from sekispe.listings.models import Listing

        lifecycle.restore_listing(Listing.objects.get(pk=listing_id), actor=None)
        return {"committed_at": time.monotonic()}

    def writes_start(self, rate: float = 1.0, seed: int = 1) -> dict[str, Any]:
        self.writer = Writer(rate, seed)
        self.writer.start()
        return {"started": True}

    def writes_stop(self) -> dict[str, Any]:
        if self.writer is None:
            return {"counts": {}}
        return self.writer.stop()


def _cache_sizes(index: Any) -> dict[str, int]:
    """Bytes held by the index's per-query caches and row overrides (private memory)."""
    if index is None:
        return {}
    sizes: dict[str, int] = {}
    for name in ("term_cache", "facet_cache", "points_cache"):
        cache = getattr(index, name, None)
        if cache is None:
            continue
        total = 0
        for _key, value in cache.items():
            for part in value if isinstance(value, tuple) else (value,):
                total += int(getattr(part, "nbytes", 0))
        sizes[name] = total
    sizes["row_overrides"] = len(getattr(index.rows, "overrides", {}))
    sizes["text_overrides"] = len(getattr(index.search_texts, "overrides", {}))
    return sizes


class Busy(threading.Thread):
    """Searches without pause, as a request thread of a saturated worker would."""

    def __init__(self, queries: list[str]) -> None:
        super().__init__(name="bench-busy", daemon=True)
        self.queries = queries
        self.halt = threading.Event()
        self.searches = 0
        self.errors = 0

    def run(self) -> None:
        from django.db import connection

        client = WsgiClient()
        try:
            while not self.halt.is_set():
                for qs in self.queries:
                    if self.halt.is_set():
                        break
                    if client.get(SEARCH_PATH, qs)[0] != 200:
                        self.errors += 1
                    self.searches += 1
        finally:
            connection.close()


class Writer(threading.Thread):
    """One listing change every 1/rate seconds through the real service functions:
    edits (profile, fees), suspensions and restores, capacity changes."""

    MIX = {"edit": 4, "suspend_restore": 3, "capacity": 3}

    def __init__(self, rate: float, seed: int) -> None:
        super().__init__(name="bench-writer", daemon=True)
        self.interval = 1.0 / rate
        self.rng = random.Random(seed)
        self.halt = threading.Event()
        self.counts: dict[str, int] = {}
        self.errors: list[str] = []
        self.commit_ms: list[float] = []
        self.suspended: list[int] = []

    def run(self) -> None:
        from django.db import connection

        from sekispe.listings.models import Listing, ListingStatus

        ids = list(
            Listing.objects.filter(status=ListingStatus.PUBLISHED).values_list("id", flat=True)
        )
        try:
            next_at = time.monotonic()
            while not self.halt.is_set() and ids:
                next_at += self.interval
                kind = self.rng.choices(list(self.MIX), weights=list(self.MIX.values()))[0]
                started = time.perf_counter()
                try:
                    kind = self.change(kind, ids)
                    self.counts[kind] = self.counts.get(kind, 0) + 1
                    self.commit_ms.append((time.perf_counter() - started) * 1e3)
                except Exception as exc:  # a refused change is counted, not fatal
                    self.errors.append(f"{kind}: {type(exc).__name__}: {exc}"[:200])
                self.halt.wait(max(0.0, next_at - time.monotonic()))
        finally:
            connection.close()

    def change(self, kind: str, ids: list[int]) -> str:
        from sekispe.listings import lifecycle
        from sekispe.listings.models import Listing

        if kind == "suspend_restore":
            if self.suspended and self.rng.random() < 0.5:
                listing_id = self.suspended.pop(self.rng.randrange(len(self.suspended)))
                lifecycle.restore_listing(Listing.objects.get(pk=listing_id), actor=None)
                return "restore"
            listing_id = self.rng.choice(ids)
            listing = Listing.objects.get(pk=listing_id)
            if listing.status != "published":
                return self.change("edit", ids)
            lifecycle.suspend_listing(listing, actor=None, reason="bench: writes")
            self.suspended.append(listing_id)
            return "suspend"
        listing = Listing.objects.get(pk=self.rng.choice(ids))
        if kind == "capacity":
            values: dict[str, Any] = {"capacity": self.rng.randint(1, 5)}
            lifecycle.update_listing(listing, lifecycle.ListingChanges(values=values), actor=None)
            return "capacity"
        if self.rng.random() < 0.5:
            fees = lifecycle._current_fees(listing) | {
                "visit": self.rng.choice((0, 5000, 10000, 20000, 30000))
            }
            lifecycle.update_listing(listing, lifecycle.ListingChanges(fees=fees), actor=None)
            return "edit_fees"
        profile = f"{listing.profile} 更新{self.rng.randint(0, 9999)}"[-2000:]
        lifecycle.update_listing(
            listing, lifecycle.ListingChanges(values={"profile": profile}), actor=None
        )
        return "edit_profile"

    def stop(self) -> dict[str, Any]:
        self.halt.set()
        self.join(timeout=30)
        ms = sorted(self.commit_ms)
        return {
            "counts": self.counts,
            "errors": self.errors[:10],
            "error_count": len(self.errors),
            "commit_p50_ms": round(ms[len(ms) // 2], 1) if ms else None,
            "commit_max_ms": round(ms[-1], 1) if ms else None,
        }


def main() -> None:
    # Answers go to the stdout we were given; anything else printed goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sekispe.settings.dev")
    import django

    django.setup()
    from django.conf import settings

    from sekispe.devtools.scratchdb import SCRATCH_ENV

    expected = os.environ.get(SCRATCH_ENV)
    if not expected or str(settings.DATABASES["default"]["NAME"]) != expected:
        raise SystemExit("search_process runs only on the bench's scratch database")
    process = Process()
    out.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        command = request.pop("cmd")
        if command == "exit":
            break
        try:
            answer = {"ok": True} | getattr(process, command)(**request)
        except Exception as exc:  # reported to the orchestrator, which decides
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(answer) + "\n")
    if process.writer is not None:
        process.writer.stop()


if __name__ == "__main__":
    main()

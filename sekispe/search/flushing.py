"""How the search app's in-memory counters reach the database: the exposure
ledger's impressions and the search-demand log's counts.

Both add to a buffer per process on the request path and write it as additive
upserts once it is due (and so do the search rate-limit counts, bots.py). A
due flush runs on the process's one flusher thread (production) or inline
(tests); a failed one keeps its counts for the next; whatever is left is
written when the process exits.

One long-lived thread, not a thread per flush: starting a thread waits until
the new thread runs, which on a busy machine is milliseconds added to the
request that happened to make a flush due.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import Protocol

from django.conf import settings
from django.db import connection


class _Claimable(Protocol):
    lock: threading.Lock
    flushing: bool


class Flusher:
    """Runs `flush` for a buffer whose `add` has just claimed a due flush
    (set `buffer.flushing`), and once more at exit when `pending()` says so."""

    def __init__(
        self,
        name: str,
        buffer: _Claimable,
        flush: Callable[[], int],
        pending: Callable[[], bool],
        logger: logging.Logger,
    ) -> None:
        self.name = name
        self.buffer = buffer
        self.flush = flush
        self.pending = pending
        self.logger = logger
        atexit.register(self.flush_at_exit)

    def start(self) -> None:
        if background():
            _runner.submit(self)
        else:
            self.run_claimed()

    def run_claimed(self) -> None:
        try:
            self.flush()
        except Exception:  # counted again at the next flush; search must not fail for it
            self.logger.exception("%s failed; kept for the next one", self.name)
        finally:
            with self.buffer.lock:
                self.buffer.flushing = False

    def flush_at_exit(self) -> None:
        if self.pending():
            try:
                self.flush()
            except Exception:  # the database may be gone at exit; nothing else to do
                self.logger.warning("%s: unflushed counts lost at exit", self.name, exc_info=True)


class _Runner:
    """The process's flusher thread, started at its first flush."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid = 0
        self.queue: queue.SimpleQueue[Flusher] = queue.SimpleQueue()

    def submit(self, flusher: Flusher) -> None:
        with self.lock:
            if self.pid != os.getpid():
                # First use, or a forked child (gunicorn): the parent's thread
                # is not in this process, and its queue may be mid-operation.
                self.queue = queue.SimpleQueue()
                threading.Thread(
                    target=self._run, args=(self.queue,), name="sekispe-flusher", daemon=True
                ).start()
                self.pid = os.getpid()
            self.queue.put(flusher)

    @staticmethod
    def _run(claimed: queue.SimpleQueue[Flusher]) -> None:
        while True:
            flusher = claimed.get()
            try:
                flusher.run_claimed()
            finally:
                connection.close()  # this thread's own connection; flushes are seconds apart


_runner = _Runner()


def background() -> bool:
    """Flush on a thread (production) or inline (tests, where the index also
    rebuilds inline)."""
    return bool(
        getattr(
            settings,
            "SEARCH_EXPOSURE_BACKGROUND_FLUSH",
            getattr(settings, "SEARCH_INDEX_BACKGROUND_REFRESH", True),
        )
    )

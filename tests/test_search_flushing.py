"""The process's one flusher thread (search/flushing.py): due flushes of the
ledger, the demand log and the rate-limit counts run there, in order, and a
forked child starts its own."""

from __future__ import annotations

import logging
import os
import threading

import pytest

from sekispe.search import flushing


class Buffer:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.flushing = False


def _flusher(done: list[str], name: str, event: threading.Event | None = None) -> flushing.Flusher:
    buffer = Buffer()

    def flush() -> int:
        done.append(f"{name}:{threading.current_thread().name}")
        if event is not None:
            event.set()
        return 1

    flusher = flushing.Flusher(name, buffer, flush, lambda: False, logging.getLogger(__name__))
    buffer.flushing = True  # claimed, as add() does
    return flusher


@pytest.fixture
def background(settings):
    settings.SEARCH_EXPOSURE_BACKGROUND_FLUSH = True


def test_due_flushes_run_in_order_on_one_thread(background):
    done: list[str] = []
    finished = threading.Event()
    threads_before = threading.active_count()
    for name in ["a", "b", "c"]:
        _flusher(done, name, finished if name == "c" else None).start()
    assert finished.wait(10)
    assert [entry.split(":")[0] for entry in done] == ["a", "b", "c"]
    assert {entry.split(":")[1] for entry in done} == {"sekispe-flusher"}
    assert threading.active_count() <= threads_before + 1


def test_a_failed_flush_releases_the_claim_and_the_thread_goes_on(background):
    failing = Buffer()
    failing.flushing = True

    def fail() -> int:
        raise RuntimeError("database gone")

    flushing.Flusher("x", failing, fail, lambda: False, logging.getLogger(__name__)).start()
    done: list[str] = []
    finished = threading.Event()
    _flusher(done, "after", finished).start()
    assert finished.wait(10)
    assert not failing.flushing  # the next add may claim a flush again


def test_a_forked_child_flushes_on_its_own_thread(background):
    done: list[str] = []
    finished = threading.Event()
    _flusher(done, "parent", finished).start()
    assert finished.wait(10)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's thread did not come along
        try:
            child_done: list[str] = []
            child_finished = threading.Event()
            _flusher(child_done, "child", child_finished).start()
            ok = child_finished.wait(10) and child_done == ["child:sekispe-flusher"]
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(pid, 0)
    assert answer == b"1"

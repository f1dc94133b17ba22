"""The search benchmark's scale part (issue 18): several processes on one snapshot.

Run by the bench worker (search.py) on its scratch database after the
in-process query mix. It times what only shows between processes:

- build: a full build of the day's snapshot (`ix.refresh_snapshot`, what
  `sekispe search-snapshot` does), best of a few, with the file's size and
  its bytes per listing by column (from the snapshot header);
- start: a new web process's first search with the snapshot already built;
- memory: USS and PSS of each of two web processes mapping the same snapshot
  after the query mix (/proc/<pid>/smaps_rollup), and their peak while the
  poller threads apply a change a second;
- reads under writes: one web process (poller thread running) runs the mix
  for a while without writes, then as long again while a writer process
  makes one listing change a second through the service functions;
- freshness: a change committed in the writer process until another
  process's search shows it (CLOCK_MONOTONIC is shared by processes), once
  with that process idle and once while a thread of it runs the query mix
  without pause (a saturated worker, whose poller thread must win the
  interpreter lock from the request threads).

Targets come from the issue at 50,000 and 1,000,000 listings; at other sizes
the size-dependent ones are interpolated linearly between those two points
(and held at the 50,000 figure below it).
"""

from __future__ import annotations

import cProfile
import datetime as dt
import io
import json
import os
import pstats
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

MB = 1 << 20
WRITE_SECONDS = 30.0
WRITE_RATE = 1.0  # listing changes per second
FRESHNESS_CHANGES = 20
SAMPLE_SECONDS = 0.25
# A build over its target is profiled with one more build; above this size
# that build costs minutes (6 at 1,000,000 on a busy machine), so it is skipped
# (profile one apart: search_scale.profile_build).
PROFILE_UP_TO = 200_000


def _between(listings: int, at_50k: float, at_1m: float) -> float:
    share = min(max((listings - 50_000) / 950_000, 0.0), 1.0)
    return round(at_50k + share * (at_1m - at_50k), 2)


def scale_targets(listings: int) -> dict[str, float]:
    """The issue's targets for this size (see the module docstring)."""
    return {
        "search_p95_ms": 10.0 if listings <= 50_000 else 20.0,
        "text_p95_ms": 30.0,
        "p50_over_healthz": 2.0,
        "writes_p95_ratio": 1.5,
        "freshness_s": 1.0,
        "memory_mb": _between(listings, 150, 600),
        "memory_peak_ratio": 1.5,
        "first_search_s": _between(listings, 1, 3),
        "build_s": _between(listings, 5, 60),
    }


def summary(values_ns: list[int]) -> dict[str, float]:
    ms = np.array(values_ns, dtype=np.float64) / 1e6
    if not ms.size:
        return {"n": 0, "p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {
        "n": int(ms.size),
        "p50_ms": round(float(p50), 3),
        "p95_ms": round(float(p95), 3),
        "p99_ms": round(float(p99), 3),
        "max_ms": round(float(ms.max()), 3),
    }


# --- the child processes -----------------------------------------------------------------


class Child:
    """A search_process.py child: one JSON line in, one JSON line out."""

    def __init__(self, role: str, env: dict[str, str]) -> None:
        self.role = role
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sekispe.devtools.bench.search_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        ready = self.receive()
        self.ready_s = time.perf_counter() - self.started
        self.pid = int(ready["pid"])

    def send(self, cmd: str, **fields: Any) -> None:
        stdin = self.proc.stdin
        if stdin is None:  # pragma: no cover - opened with PIPE
            raise RuntimeError("no pipe")
        stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
        stdin.flush()

    def receive(self) -> dict[str, Any]:
        stdout = self.proc.stdout
        if stdout is None:  # pragma: no cover - opened with PIPE
            raise RuntimeError("no pipe")
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"{self.role} process ended (exit {self.proc.wait()})")
        answer = json.loads(line)
        if answer.get("ok") is False:
            raise RuntimeError(f"{self.role} process: {answer['error']}")
        return answer

    def call(self, cmd: str, **fields: Any) -> dict[str, Any]:
        self.send(cmd, **fields)
        return self.receive()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("exit")
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


class Sampler(threading.Thread):
    """Peak USS and PSS of some processes, read from /proc every SAMPLE_SECONDS."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(name="memory-sampler", daemon=True)
        self.pids = pids
        self.halt = threading.Event()
        self.peak = {pid: {"Uss": 0, "Pss": 0, "Rss": 0} for pid in pids}
        self.samples = 0

    def run(self) -> None:
        from sekispe.devtools.bench.search_process import smaps_rollup

        while not self.halt.is_set():
            for pid in self.pids:
                values = smaps_rollup(pid)
                for key in ("Uss", "Pss", "Rss"):
                    self.peak[pid][key] = max(self.peak[pid][key], values[key])
            self.samples += 1
            self.halt.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=10)


# --- the phases --------------------------------------------------------------------------


def measure_build(today: dt.date, runs: int, *, progress: bool) -> dict[str, Any]:
    """Best of `runs` full builds of the snapshot file; its size and columns."""
    from sekispe.search import index as ix
    from sekispe.search import snapshot as snap

    seconds: list[float] = []
    report = None
    for _ in tqdm(range(runs), desc="build", unit="build", file=sys.stderr, disable=not progress):
        report = ix.refresh_snapshot(today)
        seconds.append(report.seconds)
    if report is None:
        raise ValueError("build_runs must be at least 1")
    meta = snap.read_meta(Path(report.path))
    visible = max(int(meta["visible"]), 1)
    columns = {
        name: {
            "bytes": int(spec["nbytes"]),
            "bytes_per_listing": round(int(spec["nbytes"]) / visible, 1),
            "dtype": spec["dtype"],
        }
        for name, spec in sorted(meta["columns"].items(), key=lambda kv: -kv[1]["nbytes"])
    }
    return {
        "seconds": min(seconds),
        "runs_s": seconds,
        "file_bytes": report.bytes,
        "file_mb": round(report.bytes / MB, 1),
        "visible": report.visible,
        "rows": report.rows,
        "bytes_per_listing": round(report.bytes / visible, 1),
        "columns": columns,
        "path": report.path,
    }


def profile_build(today: dt.date, top: int = 15) -> list[str]:
    """cProfile of one more build: the top functions by cumulative time."""
    from sekispe.search import index as ix

    profiler = cProfile.Profile()
    profiler.enable()
    ix.refresh_snapshot(today)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    return lines[-(top + 1) :]


def _mix_summary(answer: dict[str, Any]) -> dict[str, Any]:
    times: dict[str, list[int]] = answer["times_ns"]
    every = [v for values in times.values() for v in values]
    engine: dict[str, list[int]] = answer.get("service_ns", {})
    return {
        "search": summary(every),
        "text": summary(times.get("text", [])),
        "service": summary([v for values in engine.values() for v in values]),
        "statuses": answer["statuses"],
        "rounds": answer["rounds"],
    }


def _memory(child: Child) -> dict[str, Any]:
    answer = child.call("memory")
    rollup = answer["rollup"]
    return {
        "uss_mb": round(rollup["Uss"] / MB, 1),
        "pss_mb": round(rollup["Pss"] / MB, 1),
        "rss_mb": round(rollup["Rss"] / MB, 1),
        "private_dirty_mb": round(rollup.get("Private_Dirty", 0) / MB, 1),
        "anonymous_mb": round(rollup.get("Anonymous", 0) / MB, 1),
        "snapshot_mapping": {k: round(v / MB, 1) for k, v in answer["snapshot_mapping"].items()},
        "caches_bytes": answer["caches"],
        "snapshot": answer["snapshot"],
    }


def _tokens(seed: int, count: int) -> list[str]:
    rng = random.Random(seed * 104729 + 7)
    letters = "bcdfghjkmnpqrstvwxz"
    return ["zq" + "".join(rng.choice(letters) for _ in range(8)) for _ in range(count)]


def measure_freshness(
    web: Child, writer: Child, listing_ids: list[int], seed: int, *, progress: bool
) -> dict[str, Any]:
    """Commit in `writer`, watch in `web`: a token put into a listing's profile
    (appears), then the listing suspended (disappears); restored afterwards."""
    tokens = _tokens(seed, len(listing_ids))
    latencies: list[float] = []
    kinds: list[str] = []
    timed_out = 0
    bar = tqdm(total=2 * len(listing_ids), desc="freshness", file=sys.stderr, disable=not progress)
    for listing_id, token in zip(listing_ids, tokens, strict=True):
        for kind in ("edit", "suspend"):
            web.send("watch", token=token, gone=kind == "suspend")
            if kind == "edit":
                committed = writer.call("edit_token", listing_id=listing_id, token=token)
            else:
                committed = writer.call("suspend", listing_id=listing_id)
            seen = web.receive()
            timed_out += bool(seen["timed_out"])
            latencies.append(max(0.0, seen["seen_at"] - committed["committed_at"]))
            kinds.append(kind)
            bar.update()
    bar.close()
    for listing_id in listing_ids:
        writer.call("restore", listing_id=listing_id)
    values = np.array(latencies)
    return {
        "changes": len(latencies),
        "max_s": round(float(values.max()), 3),
        "p95_s": round(float(np.percentile(values, 95)), 3),
        "p50_s": round(float(np.percentile(values, 50)), 3),
        "timed_out": timed_out,
        "latencies_s": [round(v, 3) for v in latencies],
        "kinds": kinds,
    }


def run_scale(
    queries: list[tuple[str, str]],
    *,
    seed: int,
    write_seconds: float = WRITE_SECONDS,
    freshness_changes: int = FRESHNESS_CHANGES,
    build_runs: int = 3,
    progress: bool = True,
    prebuilt: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every scale figure; the worker merges them into its report.

    `prebuilt`: a `measure_build` result whose snapshot is still in the
    snapshot folder (search.run_search_bench at large sizes): it is the build
    figure, and the processes map that snapshot instead of a new one."""
    from django.conf import settings
    from django.utils import timezone

    from sekispe.listings.models import Listing
    from sekispe.search import index as ix

    today = timezone.localdate()
    listings = Listing.objects.count()
    limits = scale_targets(listings)
    # This process's own index (from the in-process mix) is not a web process's: drop it.
    ix.reset_index(files=prebuilt is None)
    build = prebuilt or measure_build(today, build_runs, progress=progress)
    if build["seconds"] > limits["build_s"] and listings <= PROFILE_UP_TO:
        build["profile"] = profile_build(today)

    env = os.environ | {
        "SEARCH_SNAPSHOT_DIR": str(settings.SEARCH_SNAPSHOT_DIR),
        "SEARCH_INDEX_BACKGROUND_REFRESH": "1",
    }
    mix = [list(q) for q in queries]
    children: list[Child] = []
    try:
        # Start: a new process (snapshot built) and its first search.
        web = Child("web", env)
        children.append(web)
        first = web.call("first_search", warm=True)
        other = Child("web2", env)
        children.append(other)
        # The second one's first search is profiled (the first one's is the figure).
        first_other = other.call("first_search", profile=True, warm=True)
        start = {
            "first_search_ms": first["ms"],
            # The first request of any process imports the URL configuration and
            # every view (≈1 s here), index or not: timed apart, with /healthz.
            "first_request_healthz_ms": first["warm_ms"],
            "first_search_ms_second_process": first_other["ms"],
            "process_ready_s": round(web.ready_s, 2),
            "snapshot": first["snapshot"],
            "first_search_profile_second_process": first_other.get("profile", []),
            "status": first["status"],
        }

        # Memory: both processes ran the mix and map the same snapshot.
        for child in (web, other):
            child.call("mix", queries=mix)
        memory = {"web": _memory(web), "web2": _memory(other)}

        # Reads without writes, then as long with a writer process.
        status = web.call("status")
        quiet = _mix_summary(_timed_mix(web, mix, write_seconds, "reads, no writes", progress))
        # The peak is compared with the memory just before the writes: the
        # quiet run's searches grow a process too (buffers, row caches, heap).
        before = {"web": _memory(web), "web2": _memory(other)}
        writer = Child("writer", env)
        children.append(writer)
        sampler = Sampler([web.pid, other.pid])
        sampler.start()
        writer.call("writes_start", rate=WRITE_RATE, seed=seed)
        busy = _mix_summary(_timed_mix(web, mix, write_seconds, "reads, 1 write/s", progress))
        writes = writer.call("writes_stop")
        # Let the pollers apply the last changes before the last sample.
        time.sleep(3 * float(getattr(settings, "SEARCH_POLL_SECONDS", 0.2)) + SAMPLE_SECONDS)
        sampler.stop()
        after = {"web": _memory(web), "web2": _memory(other)}
        peak = {}
        for name, child in (("web", web), ("web2", other)):
            steady = before[name]
            top = sampler.peak[child.pid]
            peak[name] = {
                "uss_mb": round(top["Uss"] / MB, 1),
                "pss_mb": round(top["Pss"] / MB, 1),
                "uss_ratio": round(top["Uss"] / MB / max(steady["uss_mb"], 0.1), 2),
                "pss_ratio": round(top["Pss"] / MB / max(steady["pss_mb"], 0.1), 2),
            }

        # Freshness: commit in the writer, seen by the web process's search.
        rng = random.Random(seed)
        visible = list(Listing.objects.visible(today).values_list("id", flat=True))
        chosen = rng.sample(visible, min(len(visible), max(1, freshness_changes // 2)))
        freshness = measure_freshness(web, writer, chosen, seed, progress=progress)
        # The same while the web process serves searches without pause: its
        # poller thread then competes with them for the interpreter lock.
        before_busy = web.call("status")["deltas"]
        taken = set(chosen)
        others = [i for i in visible if i not in taken]
        chosen_busy = rng.sample(others, min(len(others), max(1, freshness_changes // 2)))
        web.call("busy_start", queries=mix)
        try:
            freshness_busy = measure_freshness(
                web, writer, chosen_busy, seed + 1, progress=progress
            )
        finally:
            busy_reads = web.call("busy_stop")
        freshness_busy["searches_meanwhile"] = busy_reads["searches"]
        freshness_busy["deltas"] = web.call("status", since=before_busy)
        final_status = web.call("status")
    finally:
        for child in children:
            child.close()

    ratio = busy["search"]["p95_ms"] / quiet["search"]["p95_ms"] if quiet["search"]["p95_ms"] else 0
    engine_ratio = (
        busy["service"]["p95_ms"] / quiet["service"]["p95_ms"] if quiet["service"]["p95_ms"] else 0
    )
    worst_uss = max(m["uss_mb"] for m in memory.values())
    worst_pss = max(m["pss_mb"] for m in memory.values())
    worst_peak = max(max(p["uss_ratio"], p["pss_ratio"]) for p in peak.values())
    targets = {
        "writes_p95_ratio": _target(limits["writes_p95_ratio"], round(ratio, 2)),
        "freshness_max_s": _target(limits["freshness_s"], freshness["max_s"]),
        "freshness_p95_s": _target(limits["freshness_s"], freshness["p95_s"]),
        "freshness_busy_max_s": _target(limits["freshness_s"], freshness_busy["max_s"]),
        "memory_uss_mb": _target(limits["memory_mb"], worst_uss),
        "memory_pss_mb": _target(limits["memory_mb"], worst_pss),
        "memory_peak_ratio": _target(limits["memory_peak_ratio"], worst_peak),
        "first_search_s": _target(
            limits["first_search_s"], round(start["first_search_ms"] / 1e3, 3)
        ),
        "build_s": _target(limits["build_s"], build["seconds"]),
    }
    return {
        "limits": limits,
        "build": build,
        "start": start,
        "memory": memory,
        "memory_before_writes": before,
        "memory_after_writes": after,
        "memory_peak_during_writes": peak | {"samples": sampler.samples},
        "reads_no_writes": quiet,
        "reads_with_writes": busy,
        "writes": writes,
        "writes_p95_ratio_service_only": round(engine_ratio, 2),
        "poller_running": status["poller"],
        "freshness": freshness,
        "freshness_busy": freshness_busy,
        "final_status": final_status,
        "targets": targets,
    }


def _timed_mix(
    web: Child, mix: list[list[str]], seconds: float, desc: str, progress: bool
) -> dict[str, Any]:
    """The mix for `seconds` in the web process, with a time bar here."""
    web.send("mix", queries=mix, seconds=seconds, service=True)
    if progress:
        with tqdm(total=int(seconds), desc=desc, unit="s", file=sys.stderr) as bar:
            started = time.monotonic()
            while time.monotonic() - started < seconds:
                time.sleep(1)
                bar.update(1)
    return web.receive()


def _target(limit: float, value: float) -> dict[str, Any]:
    return {"target": limit, "value": value, "pass": bool(value <= limit)}


# --- the printed part ----------------------------------------------------------------------


def format_scale(scale: dict[str, Any]) -> list[str]:
    b, s, f = scale["build"], scale["start"], scale["freshness"]
    quiet, busy = scale["reads_no_writes"], scale["reads_with_writes"]
    lines = [
        "",
        "Scale (issue 18): separate web processes on one snapshot",
        f"build {b['seconds']:.2f} s (best of {len(b['runs_s'])}: "
        f"{', '.join(f'{x:.2f}' for x in b['runs_s'])}), file {b['file_mb']:,.1f} MB, "
        f"{b['bytes_per_listing']:,.0f} bytes per listing ({b['visible']:,} visible, "
        f"{b['rows']:,} rows)",
        "  bytes per listing by column: "
        + ", ".join(f"{name} {c['bytes_per_listing']:,.0f}" for name, c in b["columns"].items()),
        f"start: process ready {s['process_ready_s']:.2f} s, first request (/healthz: imports "
        f"the URL configuration) {s.get('first_request_healthz_ms') or 0:,.0f} ms, then first "
        f"search {s['first_search_ms']:,.0f} ms (second process, under cProfile, "
        f"{s['first_search_ms_second_process']:,.0f} ms)",
    ]
    for name, m in scale["memory"].items():
        snap = m["snapshot_mapping"]
        peak = scale["memory_peak_during_writes"][name]
        lines.append(
            f"memory {name}: USS {m['uss_mb']:,.1f} MB, PSS {m['pss_mb']:,.1f} MB, "
            f"RSS {m['rss_mb']:,.1f} MB (snapshot mapping: resident {snap.get('Rss', 0):,.1f}, "
            f"PSS {snap.get('Pss', 0):,.1f}, private {snap.get('Private', 0):,.1f} MB; "
            f"private dirty {m['private_dirty_mb']:,.1f} MB); just before the writes USS "
            f"{scale['memory_before_writes'][name]['uss_mb']:,.1f} MB; peak while writing USS "
            f"{peak['uss_mb']:,.1f} / PSS {peak['pss_mb']:,.1f} MB"
        )
    w = scale["writes"]
    lines += [
        f"reads in a web process, no writes: p50 {quiet['search']['p50_ms']:.2f} ms, p95 "
        f"{quiet['search']['p95_ms']:.2f} ms ({quiet['search']['n']:,} searches)",
        f"reads with 1 write/s from another process: p50 {busy['search']['p50_ms']:.2f} ms, "
        f"p95 {busy['search']['p95_ms']:.2f} ms ({busy['search']['n']:,} searches); "
        f"writes {w['counts']} (errors {w['error_count']}, commit p50 {w['commit_p50_ms']} ms); "
        f"poller running: {scale['poller_running']}",
        f"the same queries through services.search alone: no writes p50 "
        f"{quiet['service']['p50_ms']:.2f} / p95 {quiet['service']['p95_ms']:.2f} ms, with writes "
        f"p50 {busy['service']['p50_ms']:.2f} / p95 {busy['service']['p95_ms']:.2f} ms "
        f"(ratio {scale['writes_p95_ratio_service_only']:.2f})",
        f"deltas applied by the web process's poller: {scale['final_status']['deltas']} "
        f"(p50 {scale['final_status']['delta_p50_ms']} ms, max "
        f"{scale['final_status']['delta_max_ms']} ms each)",
        f"freshness over {f['changes']} changes: p50 {f['p50_s']:.3f} s, p95 {f['p95_s']:.3f} s, "
        f"max {f['max_s']:.3f} s (timed out: {f['timed_out']})",
    ]
    fb = scale.get("freshness_busy")
    if fb:
        d = fb["deltas"]
        lines.append(
            f"freshness while the web process searches without pause ({fb['searches_meanwhile']:,} "
            f"searches): p50 {fb['p50_s']:.3f} s, p95 {fb['p95_s']:.3f} s, max {fb['max_s']:.3f} s "
            f"(timed out: {fb['timed_out']}); its deltas p50 {d['delta_p50_ms']} ms, "
            f"max {d['delta_max_ms']} ms"
        )
    lines += [
        "first search of the second process (profiled, cumulative):",
        *("  " + line for line in s.get("first_search_profile_second_process", [])[:12]),
    ]
    if "profile" in b:
        lines += ["build profile (cumulative):", *("  " + line for line in b["profile"])]
    return lines

"""Response times of a fuzz run, from gunicorn's access log (`%(M)s %(s)s %(m)s %(U)s`).

Printed, never asserted: how long a request takes depends on the machine and on
what else it is doing, so a limit would fail runs for reasons outside the code.
The slowest requests are named so that a real regression can be found.
"""

from __future__ import annotations

import sys
from pathlib import Path


def percentile(ordered: list[int], fraction: float) -> int:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main(path: str) -> int:
    requests = []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[0].isdigit():
            requests.append((int(parts[0]), parts[1], parts[2], parts[3]))
    if not requests:
        print("== fuzz response times: no requests logged ==")
        return 0
    ordered = sorted(ms for ms, *_ in requests)
    print(
        f"== fuzz response times: {len(ordered)} requests, "
        f"p50 {percentile(ordered, 0.50)} ms, p95 {percentile(ordered, 0.95)} ms, "
        f"p99 {percentile(ordered, 0.99)} ms, max {ordered[-1]} ms =="
    )
    for ms, status, method, url in sorted(requests, reverse=True)[:5]:
        print(f"   {ms:>6} ms  {status} {method} {url[:100]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

"""`sekispe bench similarity`: the copied-description check, measured.

No database. It reports:
- the 50 honest descriptions (devtools/demo/data/deemed_descriptions.json)
  against the published examples: the highest and median containment and how
  many would be refused (the false-refusal rate), and the same between every
  pair of them (how many would be flagged);
- the published examples with a share of their characters replaced at random:
  how many are still refused, by share;
- the cost of the peer check on one submission (`similarity.closest`) against
  N earlier descriptions' stored fingerprints, the work `services._flag_similar`
  does per application (and, for comparison, re-reading every description).
See docs/deemed-attendance.md.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable
from itertools import combinations
from typing import Any

from tqdm import tqdm

from sekispe.deemed import similarity
from sekispe.deemed.examples import EXAMPLES
from sekispe.devtools.demo.deemed import DESCRIPTIONS

SHARES = (0.05, 0.10, 0.20, 0.30, 0.40)
TRIALS = 50
PEERS = (1_000, 5_000, 20_000)


def run(seed: int, echo: Callable[[str], Any], progress: bool) -> dict[str, Any]:
    honest = [d["text"] for d in json.loads(DESCRIPTIONS.read_text("utf-8"))]
    examples = [similarity.bigrams(e.text) for e in EXAMPLES]
    grams = [similarity.bigrams(t) for t in honest]
    versus = [max(similarity.containment(e, g) for e in examples) for g in grams]
    pairs = [similarity.similarity(a, b) for a, b in combinations(grams, 2)]
    report: dict[str, Any] = {
        "honest": len(honest),
        "examples": len(EXAMPLES),
        "example_threshold": similarity.EXAMPLE_THRESHOLD,
        "peer_threshold": similarity.PEER_THRESHOLD,
        "honest_vs_examples_max": round(max(versus), 3),
        "honest_vs_examples_median": round(statistics.median(versus), 3),
        "honest_refused": sum(v >= similarity.EXAMPLE_THRESHOLD for v in versus),
        "honest_pairs": len(pairs),
        "honest_pairs_max": round(max(pairs), 3),
        "honest_pairs_median": round(statistics.median(pairs), 3),
        "honest_pairs_flagged": sum(v >= similarity.PEER_THRESHOLD for v in pairs),
    }
    echo(
        f"honest descriptions vs examples: refused {report['honest_refused']}/{len(honest)} "
        f"(highest containment {report['honest_vs_examples_max']:.3f}, median "
        f"{report['honest_vs_examples_median']:.3f}; threshold {similarity.EXAMPLE_THRESHOLD})"
    )
    echo(
        f"honest pairs: flagged {report['honest_pairs_flagged']}/{len(pairs)} "
        f"(highest {report['honest_pairs_max']:.3f}, median {report['honest_pairs_median']:.3f}; "
        f"threshold {similarity.PEER_THRESHOLD})"
    )
    rng = random.Random(seed)
    alphabet = [c for t in honest for c in t]
    edited: dict[str, int] = {}
    for share in tqdm(SHARES, desc="edited copies", disable=not progress):
        refused = 0
        for example in EXAMPLES:
            for _ in range(TRIALS):
                chars = list(example.text)
                for _ in range(int(len(chars) * share)):
                    chars[rng.randrange(len(chars))] = rng.choice(alphabet)
                found = similarity.copied_example("".join(chars), [(0, example.text)])
                refused += found is not None
        edited[f"{share:.2f}"] = refused
        echo(
            f"examples with {share:.0%} of characters replaced: refused "
            f"{refused}/{len(EXAMPLES) * TRIALS}"
        )
    report["edited_refused"] = edited
    report["edited_trials"] = len(EXAMPLES) * TRIALS
    timings: dict[str, float] = {}
    from_text: dict[str, float] = {}
    for n in tqdm(PEERS, desc="peer check", disable=not progress):
        # Earlier descriptions: honest ones with a tenth of their characters shuffled in.
        peers = []
        for i in range(n):
            chars = list(honest[i % len(honest)])
            for _ in range(len(chars) // 10):
                chars[rng.randrange(len(chars))] = rng.choice(alphabet)
            peers.append((i, "".join(chars)))
        stored = [(key, similarity.fingerprint(text)) for key, text in peers]
        started = time.perf_counter()
        similarity.closest_fingerprint(honest[0], stored)
        timings[str(n)] = round(time.perf_counter() - started, 4)
        started = time.perf_counter()
        similarity.closest(honest[0], peers)
        from_text[str(n)] = round(time.perf_counter() - started, 3)
        echo(
            f"peer check of one submission against {n:,} descriptions: "
            f"{timings[str(n)]:.3f} s from stored fingerprints "
            f"({from_text[str(n)]:.3f} s re-reading every description)"
        )
    report["peer_check_seconds"] = timings
    report["peer_check_from_text_seconds"] = from_text
    return report

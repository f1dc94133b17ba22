"""The fairness controller: how far ahead of its fair share each listing is.

Why: exposure balanced well, inquiries did not. An SME sends at most one
inquiry, so inquiries are few and lumpy (about one for every two listed
specialists in `sekispe bench matching`). Drawn purely by chance in
proportion to each listing's fair share, they would already have an inquiry
Gini in tier of about 0.52, and that is what the old 5% inquiry term gave:
it corrected almost nothing. Getting under a random shuffle's 0.44 needs a
controller that answers every inquiry: whoever just drew one steps back
until equally suitable peers have caught up.

What: a FairCo-style controller (Morik et al. 2020, "Controlling Fairness and
Bias in Dynamic Learning-to-Rank") with two error terms, both cumulative sums
over everything the ledger has counted:

    standing = (E - D) + INQUIRY_GAIN * (Q - r * D) / r

- E - D: exposure received minus exposure deserved (Biega et al. 2018, the
  ledger's fair share: each page's exposure of a tier split equally among all
  of the tier's members).
- Q - r * D: inquiries received minus inquiries deserved, where the deserved
  inquiries are the listing's fair share of exposure at the overall rate
  r = sum(Q) / sum(D). Dividing by r puts it in exposure units: one inquiry
  weighs what it takes on average to earn one (about 55 units of exposure in
  the bench: 55 views at the top of a page).

A lower standing is listed first within a tier (ranking.py). Because both
terms are sums, not averages, the controller's gain grows with the number of
rounds exactly as FairCo's lambda * (tau - 1) * (mean disparity) does: a
constant disparity per search weighs more the longer it lasts.

Why these choices (figures from `sekispe bench matching`, docs/benchmarks.md):
- The inquiry term is an error on inquiries, not a mix that shrinks the
  exposure term: with no inquiries at all the standing is exactly E - D, so
  exposure balance is unchanged until inquiries exist.
- Deserved inquiries follow the fair share of exposure (the ledger's D), the
  same unit the benchmark weighs its inquiry Gini by. They cannot be counted
  per tier: an inquiry is recorded against a listing, not against the search
  and tier that led to it, and nothing about the SME is kept.
- INQUIRY_GAIN trades exposure balance for inquiry balance, and the trade is
  intrinsic: an inquiry is one lump (worth ~55 units of exposure), so
  spreading them means showing whoever drew one less for a while. On seed 1,
  gains 0.2 / 0.45 / 1 gave an inquiry Gini in tier of about 0.48 / 0.43 /
  0.39 for an exposure Gini of 0.08 / 0.14 / 0.21 (the old 5% mix: 0.52 for
  0.025). 0.45 keeps the exposure Gini under its 0.15 limit and the inquiry
  Gini under a random shuffle's on the default seed; the margins are within
  the run-to-run noise (about +-0.01 over seeds 1-3). Band limits on E - D,
  asymmetric gains (pull up harder than push down), noise-scaled errors and
  caps all landed on the same trade-off curve, so the plain linear term stays.
- What within-tier order cannot do: bring the top 1% of specialists under
  12% of all inquiries. The top 1% by fair share hold 14.4 / 15.8 / 15.3%
  of all fair share (seeds 1 / 2 / 3, printed by `bench matching`: they
  match most searches and sit in their best tiers, often small ones, where
  being last of the tier still means page one), so inquiries in proportion
  to fair share put at least that much there (the controller gives them
  about their share: 13.5 / 16.1 / 15.2%). The most
  aggressive within-tier orders measured, each giving up every other target,
  stay above 12% on seeds 2 and 3: fewest inquiries first, 12.4 / 14.0 /
  13.9% (NDCG by points 0.968, exposure Gini 0.29, inquiry Gini above
  (b)'s); fewest inquiries plus fair share first (the broadest last), 12.0 /
  12.8 / 12.4% (NDCG 0.96, exposure Gini 0.42). Only an order across tiers,
  or capacity, changes who can be asked at all. Both were measured as
  counterfactuals (docs/benchmarks.md): a rolling inquiry cap, and rotating
  the broadest matches out of some searches. Each lowers the top-1% share
  only by raising the inquiry Gini above (b)'s. Spreading fair share over
  listings that each expect less than one inquiry raises the Gini's chance
  floor (0.517 to 0.546 on seed 1).
- Also measured, all on the same exposure / inquiry trade-off within the
  run-to-run noise (about +-0.01): gains 0.48-0.52; a gain scaled by
  (D / mean D)^b for b = 0.5 and 1; the inquiry error against exposure
  received (Q/r - E) instead of deserved; a separate gain for a search's best
  tier and its lower tiers (0.45-1 / -0.2-0.45, a prototype: one standing per
  listing cannot tell tiers apart), up to 0.015 lower inquiry Gini at equal
  exposure Gini but NDCG by points 0.969-0.972.
"""

from __future__ import annotations

import numpy as np

# Exposure units of standing per exposure unit of inquiry error (see above).
INQUIRY_GAIN = 0.45


def inquiry_rate(deserved: np.ndarray, inquiries: np.ndarray) -> float:
    """Inquiries per unit of fair share of exposure, over every listing (0 without either)."""
    total_inquiries = float(np.sum(inquiries))
    total_deserved = float(np.sum(deserved))
    if total_inquiries <= 0 or total_deserved <= 0:
        return 0.0
    return total_inquiries / total_deserved


def inquiry_error(deserved: np.ndarray, inquiries: np.ndarray) -> np.ndarray:
    """Inquiries received minus inquiries deserved, in exposure units (Q / r - D).

    Zero everywhere while nobody has an inquiry (or nobody a fair share)."""
    deserved = np.asarray(deserved, dtype=np.float64)
    rate = inquiry_rate(deserved, inquiries)
    if rate == 0.0:
        return np.zeros_like(deserved)
    return np.asarray(inquiries, dtype=np.float64) / rate - deserved


def standing(
    exposure: np.ndarray,
    deserved: np.ndarray,
    inquiries: np.ndarray,
    *,
    gain: float | None = None,
) -> np.ndarray:
    """How far ahead of its fair share each listing is, in units of exposure.

    Positive: shown or asked more than equally suitable peers, so it moves down
    within its tier; negative: up. A pure function of the ledger's three
    columns, so one snapshot gives one order (stable paging within a bucket).
    """
    gain = INQUIRY_GAIN if gain is None else gain
    ahead = np.asarray(exposure, dtype=np.float64) - np.asarray(deserved, dtype=np.float64)
    if gain == 0.0:
        return ahead
    return ahead + gain * inquiry_error(deserved, inquiries)

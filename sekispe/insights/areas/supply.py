"""Active List supply, by the rules search applies (`Listing.objects.visible`,
`effective_accepting`, `search.index.accepting_rule`, reused here):

- listed: visible today (published, registration valid, updated within a year);
- accepting: listed, available by the specialist's own setting, and below
  their capacity of open engagements;
- full: available by their own setting but at capacity;
- freshness: days since the last update or confirmation, in bands; a listing
  over STALE_AFTER_DAYS is stale (a year hides it).
A listing counts in every prefecture it serves and every theme it offers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
from django.utils import timezone

from sekispe.inquiries.services import open_engagements_by_listing
from sekispe.insights.tally import Tally
from sekispe.listings.models import STALE_AFTER_DAYS, Listing, effective_accepting
from sekispe.search.index import accepting_rule

# Upper bounds (days, inclusive) of the freshness bands, keys as written.
FRESHNESS_BANDS: tuple[tuple[int, str], ...] = (
    (30, "0-30"),
    (90, "31-90"),
    (STALE_AFTER_DAYS, f"91-{STALE_AFTER_DAYS}"),
    (10_000, f"{STALE_AFTER_DAYS + 1}-"),
)


def freshness_band(updated_at: dt.datetime, today: dt.date) -> str:
    days = (today - timezone.localtime(updated_at).date()).days
    for bound, key in FRESHNESS_BANDS:
        if days <= bound:
            return key
    return FRESHNESS_BANDS[-1][1]


def compute(today: dt.date) -> list[Tally]:
    listed = Tally("supply.listed")
    accepting = Tally("supply.accepting")
    full = Tally("supply.full")
    freshness = Tally("supply.freshness")
    by_home = Tally("supply.listed_by_home")

    visible = list(
        Listing.objects.visible(today)
        .order_by()
        .values_list(
            "pk",
            "availability",
            "availability_until",
            "capacity",
            "updated_at",
            "record__home_prefecture_id",
        )
    )
    ids = [row[0] for row in visible]
    prefectures: dict[int, list[str]] = defaultdict(list)
    themes: dict[int, list[str]] = defaultdict(list)
    through_p = Listing.prefectures.through.objects.filter(
        listing__in=Listing.objects.visible(today)
    )
    for listing_id, code in through_p.values_list("listing_id", "prefecture_id"):
        prefectures[listing_id].append(code)
    through_t = Listing.themes.through.objects.filter(listing__in=Listing.objects.visible(today))
    for listing_id, code in through_t.values_list("listing_id", "guidancetheme_id"):
        themes[listing_id].append(str(code))
    engagements = open_engagements_by_listing() if ids else {}

    available = np.array(
        [effective_accepting(row[1], row[2], today) for row in visible], dtype=bool
    )
    takes_work = accepting_rule(
        available,
        np.array([row[3] for row in visible], dtype=np.int32),
        np.array([engagements.get(row[0], 0) for row in visible], dtype=np.int32),
    )
    for n, (pk, _availability, _until, _capacity, updated_at, home) in enumerate(visible):
        where, what = prefectures[pk], themes[pk]
        listed.add(prefectures=where, themes=what)
        if takes_work[n]:
            accepting.add(prefectures=where, themes=what)
        elif available[n]:
            full.add(prefectures=where, themes=what)
        freshness.add(keys=(freshness_band(updated_at, today),))
        by_home.add(prefectures=(home,) if home else ())
    listed.zero_fill()
    accepting.zero_fill()
    full.zero_fill()
    by_home.zero_fill()
    return [listed, accepting, full, freshness, by_home]

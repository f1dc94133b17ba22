"""Demand: what people search for (the per-day `SearchDemand` log) and the
diagnoses companies take. Inquiries and event participants are counted once,
in the funnel (`funnel.inquiries`, `funnel.participants`), and shown on the
demand page from there.

Unmet: a search that found fewer than 3 local specialists accepting work
(`SearchDemand.results` < 3). A search that named no prefecture or theme
counts in the national margin only.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import TruncMonth

from sekispe.diagnosis.models import Diagnosis
from sekispe.insights.tally import Tally, month_of, months_between
from sekispe.search.models import SearchDemand

UNMET_BELOW = 3


def compute(today: dt.date) -> list[Tally]:
    searches = Tally("demand.searches")
    unmet = Tally("demand.unmet_searches")
    by_form = Tally("demand.searches_by_form")
    diagnoses = Tally("demand.diagnoses")

    groups = (
        SearchDemand.objects.filter(day__lte=today)
        .order_by()
        .annotate(m=TruncMonth("day"))
        .values_list("m", "prefecture", "theme", "form", "results")
        .annotate(n=Sum("searches"))
    )
    first = None
    for month, prefecture, theme, form, results, n in groups:
        month = month_of(month if isinstance(month, dt.date) else month.date())
        first = month if first is None else min(first, month)
        where = (prefecture,) if prefecture else ()
        what = (str(theme),) if theme else ()
        searches.add(month=month, prefectures=where, themes=what, n=n)
        if results < UNMET_BELOW:
            unmet.add(month=month, prefectures=where, themes=what, n=n)
        by_form.add(month=month, keys=(form,) if form else (), n=n)
    months = months_between(first or today, today)
    searches.zero_fill(months)
    unmet.zero_fill(months)

    for created, prefecture, n in (
        Diagnosis.objects.order_by()
        # As text: a JSON key read as JSON turns "13" into 13 on SQLite.
        .annotate(m=TruncMonth("created_at"), prefecture=KT("profile__prefecture"))
        .values_list("m", "prefecture")
        .annotate(n=Count("id"))
    ):
        month = created.date() if isinstance(created, dt.datetime) else created
        diagnoses.add(
            month=month, prefectures=(prefecture,) if isinstance(prefecture, str) else (), n=n
        )
    return [searches, unmet, by_form, diagnoses]

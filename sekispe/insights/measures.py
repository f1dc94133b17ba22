"""Every measure the refresh writes into `Fact`, declared once.

The policy pages, the map, the open statistics and their suppression all read
this list, so a measure is named, labelled and classified in one place.
`dims` names the Fact columns a measure is broken down by (the others stay
""/null). `subjects` says what each counted unit is: cells counting people or
companies are subject to small-cell suppression in the open statistics;
cells counting searches or events are not, and durations are never published
cell by cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

Dim = Literal["month", "prefecture", "theme", "key"]
Subjects = Literal["people", "companies", "searches", "events", "hours"]


@dataclass(frozen=True)
class Measure:
    slug: str
    label: str | Promise
    dims: tuple[Dim, ...]
    subjects: Subjects
    # What `key` holds for this measure, in words ("" when `key` is not a dim).
    key_label: str | Promise = ""
    # Published at /statistics/ (with suppression where `subjects` needs it).
    public: bool = True

    @property
    def suppressed(self) -> bool:
        return self.subjects in ("people", "companies")


# The measures the map shades and the prefecture pages show; the refresh must
# write each of them for every prefecture (0 where there is none). The insights
# app adds its other measures below this block.
MAP_MEASURES: tuple[Measure, ...] = (
    Measure("registrants.active_now", _("登録者数（有効）"), ("prefecture",), "people"),
    Measure("supply.listed", _("掲載中の登録セキスペ"), ("prefecture", "theme"), "people"),
    Measure("supply.accepting", _("受付中の登録セキスペ"), ("prefecture", "theme"), "people"),
    Measure(
        "demand.searches",
        _("検索された回数"),
        ("month", "prefecture", "theme"),
        "searches",
    ),
    Measure(
        "demand.unmet_searches",
        _("地元で受付中の登録セキスペが3人未満だった検索"),
        ("month", "prefecture", "theme"),
        "searches",
    ),
    Measure(
        "security_action.declared_now",
        _("SECURITY ACTION 宣言企業数（現在）"),
        ("prefecture", "key"),
        "companies",
        key_label=_("段階（1=★、2=★★）"),
    ),
)

MEASURES: tuple[Measure, ...] = (*MAP_MEASURES,)

BY_SLUG: dict[str, Measure] = {m.slug: m for m in MEASURES}

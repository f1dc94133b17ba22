"""The supply-and-demand map: which value each prefecture gets, which colour
class it falls in, and the shapes to draw (docs/statistics.md, "The map").

Pure functions over `Facts` and plain numbers; the view only renders.
"Per unit of demand" means per 1,000 searches of the Active List that asked
for the prefecture in the last 12 months with data (all themes).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from sekispe.insights import labels
from sekispe.insights.facts import Facts

SHAPES_FILE = Path(__file__).resolve().parent / "data" / "prefectures.json"
PREFECTURE_CODES: tuple[str, ...] = tuple(f"{n:02d}" for n in range(1, 48))
DEMAND_MONTHS = 12
DEMAND_UNIT = 1000
# ColorBrewer YlGnBu, 5 classes: sequential, safe for the common colour-vision
# deficiencies and in greyscale; light = low.
PALETTE: tuple[str, ...] = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
# Outline: 12.6:1 against white, and at least 3:1 against the three lightest
# fills; the two darkest are told apart from their neighbours by the outline
# being drawn white on them (`Shade.stroke`).
OUTLINE = "#333333"
OUTLINE_ON_DARK = "#ffffff"
NO_DATA_FILL = "url(#map-no-data)"

MAP_FACTS = (
    "registrants.active_now",
    "supply.listed",
    "demand.searches",
    "demand.unmet_searches",
    "security_action.declared_now",
)


@dataclass(frozen=True)
class Shapes:
    view_box: str
    okinawa_inset: tuple[float, float, float, float]
    paths: Mapping[str, str]


@lru_cache(maxsize=1)
def shapes() -> Shapes:
    data = json.loads(SHAPES_FILE.read_text(encoding="utf-8"))
    return Shapes(data["viewBox"], tuple(data["okinawa_inset"]), data["prefectures"])


def load_facts() -> Facts:
    """The cells the map and the prefecture pages read: one query."""
    return Facts.load(Q(measure__in=MAP_FACTS))


def demand_months(facts: Facts) -> list[dt.date]:
    return facts.months("demand.searches")[-DEMAND_MONTHS:]


def searches(facts: Facts, prefecture: str, months: list[dt.date]) -> int:
    return facts.total("demand.searches", months, prefecture=prefecture)


def _per_demand(measure: str) -> Callable[[Facts, str, list[dt.date]], float | None]:
    def value(facts: Facts, prefecture: str, months: list[dt.date]) -> float | None:
        demand = searches(facts, prefecture, months)
        if not demand:
            return None
        return facts.get(measure, prefecture=prefecture) * DEMAND_UNIT / demand

    return value


def _unmet_share(facts: Facts, prefecture: str, months: list[dt.date]) -> float | None:
    demand = searches(facts, prefecture, months)
    if not demand:
        return None
    return 100 * facts.total("demand.unmet_searches", months, prefecture=prefecture) / demand


def _declarations(facts: Facts, prefecture: str, months: list[dt.date]) -> float | None:
    return float(facts.get("security_action.declared_now", prefecture=prefecture))


@dataclass(frozen=True)
class Choice:
    slug: str
    label: str | Promise
    unit: str | Promise
    decimals: int
    compute: Callable[[Facts, str, list[dt.date]], float | None]

    def format(self, value: float | None) -> str:
        if value is None:
            return str(_("データなし"))
        return f"{value:,.{self.decimals}f}{self.unit}"


CHOICES: tuple[Choice, ...] = (
    Choice(
        "registrants",
        _("需要あたりの登録者数（検索1,000回あたり）"),
        _("人"),
        1,
        _per_demand("registrants.active_now"),
    ),
    Choice(
        "listed",
        _("需要あたりの掲載中の登録セキスペ（検索1,000回あたり）"),
        _("人"),
        1,
        _per_demand("supply.listed"),
    ),
    Choice(
        "unmet",
        _("満たされなかった需要の割合（地元で受付中が3人未満だった検索）"),
        "%",
        1,
        _unmet_share,
    ),
    Choice("declarations", _("SECURITY ACTION 宣言企業数"), _("社"), 0, _declarations),
)
BY_CHOICE: dict[str, Choice] = {c.slug: c for c in CHOICES}
DEFAULT_CHOICE = CHOICES[0].slug


@dataclass(frozen=True)
class Band:
    """One class of the colour scale: values from `low` to `high` inclusive."""

    index: int
    low: float
    high: float
    fill: str
    label: str


def classify(values: list[float], classes: int = len(PALETTE)) -> list[float]:
    """Upper bounds of up to `classes` quantile classes over `values`.

    Quantiles, so each colour holds about the same number of prefectures and
    one outlier (Tokyo) does not wash the others into one colour; equal
    values never straddle two classes.
    """
    ordered = sorted(values)
    if not ordered:
        return []
    bounds: list[float] = []
    for k in range(1, classes + 1):
        bound = ordered[max(0, math.ceil(k * len(ordered) / classes) - 1)]
        if not bounds or bound > bounds[-1]:
            bounds.append(bound)
    return bounds


def class_of(value: float, bounds: list[float]) -> int:
    for index, bound in enumerate(bounds):
        if value <= bound:
            return index
    return len(bounds) - 1


def bands(bounds: list[float], choice: Choice, values: list[float]) -> list[Band]:
    found = []
    low = min(values) if values else 0.0
    for index, high in enumerate(bounds):
        # The palette is spread over the classes there are, so 3 classes
        # still run from the lightest to the darkest colour.
        colour = PALETTE[round(index * (len(PALETTE) - 1) / max(1, len(bounds) - 1))]
        members = [v for v in values if class_of(v, bounds) == index]
        band_low = min(members) if members else low
        label = (
            choice.format(band_low)
            if band_low == high
            else f"{choice.format(band_low)}〜{choice.format(high)}"
        )
        found.append(Band(index, band_low, high, colour, label))
    return found


@dataclass(frozen=True)
class Shade:
    code: str
    name: str
    value: float | None
    text: str
    fill: str
    stroke: str
    path: str


@dataclass(frozen=True)
class Map:
    choice: Choice
    shades: list[Shade]
    bands: list[Band]
    months: list[dt.date]
    view_box: str
    okinawa_inset: tuple[float, float, float, float]

    @property
    def has_missing(self) -> bool:
        return any(s.value is None for s in self.shades)


def build(facts: Facts, choice: Choice) -> Map:
    """The map of `choice` over the 47 prefectures."""
    months = demand_months(facts)
    values = {code: choice.compute(facts, code, months) for code in PREFECTURE_CODES}
    present = [v for v in values.values() if v is not None]
    bounds = classify(present)
    scale = bands(bounds, choice, present)
    geometry = shapes()
    shades = []
    for code in PREFECTURE_CODES:
        value = values[code]
        if value is None:
            fill, stroke = NO_DATA_FILL, OUTLINE
        else:
            band = scale[class_of(value, bounds)]
            fill = band.fill
            stroke = OUTLINE_ON_DARK if fill in PALETTE[3:] else OUTLINE
        shades.append(
            Shade(
                code,
                labels.prefecture(code),
                value,
                choice.format(value),
                fill,
                stroke,
                geometry.paths[code],
            )
        )
    return Map(choice, shades, scale, months, geometry.view_box, geometry.okinawa_inset)


@dataclass(frozen=True)
class Figure:
    label: str | Promise
    here: str
    national: str
    share: str


@dataclass(frozen=True)
class Profile:
    """One prefecture's figures beside the national ones."""

    code: str
    name: str
    months: list[dt.date]
    summary: list[Figure]
    # (theme label, listed, accepting, searches, unmet searches)
    by_theme: list[tuple[str, int, int, int, int]]
    # (month, searches, unmet searches, national searches)
    by_month: list[tuple[dt.date, int, int, int]]


def _share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def profile_facts(code: str) -> Facts:
    return Facts.load(Q(measure__in=(*MAP_FACTS, "supply.accepting"), prefecture__in=(code, "")))


def profile(facts: Facts, code: str) -> Profile:
    months = demand_months(facts)

    def count(measure: str, prefecture: str, **where: str) -> int:
        if measure.startswith("demand."):
            return facts.total(measure, months, prefecture=prefecture, **where)
        return facts.get(measure, prefecture=prefecture, **where)

    rows: list[tuple[str | Promise, str, dict[str, str]]] = [
        (_("登録者数（有効）"), "registrants.active_now", {}),
        (_("掲載中の登録セキスペ"), "supply.listed", {}),
        (_("受付中の登録セキスペ"), "supply.accepting", {}),
        (_("検索された回数（直近12か月）"), "demand.searches", {}),
        (_("地元で受付中が3人未満だった検索（直近12か月）"), "demand.unmet_searches", {}),
        (_("SECURITY ACTION 宣言企業数"), "security_action.declared_now", {}),
        (_("うち★"), "security_action.declared_now", {"key": "1"}),
        (_("うち★★"), "security_action.declared_now", {"key": "2"}),
    ]
    summary = []
    for label, measure, where in rows:
        here, national = count(measure, code, **where), count(measure, "", **where)
        summary.append(Figure(label, f"{here:,}", f"{national:,}", _share(here, national)))
    for choice in CHOICES[:3]:
        here_value = choice.compute(facts, code, months)
        national_value = choice.compute(facts, "", months)
        summary.append(
            Figure(choice.label, choice.format(here_value), choice.format(national_value), "—")
        )
    by_theme = [
        (
            str(label),
            count("supply.listed", code, theme=theme),
            count("supply.accepting", code, theme=theme),
            count("demand.searches", code, theme=theme),
            count("demand.unmet_searches", code, theme=theme),
        )
        for theme, label in ((t, labels.theme(t)) for t in labels.THEME_CODES)
    ]
    by_month = [
        (
            month,
            facts.get("demand.searches", month=month, prefecture=code),
            facts.get("demand.unmet_searches", month=month, prefecture=code),
            facts.get("demand.searches", month=month),
        )
        for month in months
    ]
    return Profile(code, labels.prefecture(code), months, summary, by_theme, by_month)

"""An in-memory, column-oriented index of the visible Active List.

Why in memory: a search must answer filters, a total count, per-value facet
counts and a fair ordering over up to 50,000 listings in a few milliseconds.
Row-wise SQL over six many-to-many tables cannot do that on SQLite, and the
numbers would differ between SQLite and PostgreSQL. Each multi-valued item is
held as a bitmask per listing in a numpy array, so "OR within a facet" is
`(mask & wanted) != 0` over the whole column, and "AND across facets" is the
`&` of those boolean vectors.

The database stays the single source of truth. The index is rebuilt when the
`SearchGeneration` counter moves (any write to listings or the registry) or
the date changes (availability dates and course status depend on today).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from sekispe.lib.text import normalize_for_search
from sekispe.reference import services as ref
from sekispe.registry.services import course_status

# Bit position of each code within its facet's mask.
PREF_BIT = {code: i for i, code in enumerate(ref.PREFECTURE_CODES)}
THEME_BIT = {code: i for i, code in enumerate(ref.THEME_CODES)}
SYLLABUS_BIT = {code: i for i, code in enumerate(ref.SYLLABUS_CODES)}
INDUSTRY_BIT = {code: i for i, code in enumerate(ref.INDUSTRY_CODES)}
PERIOD_BIT = {code: i for i, code in enumerate(ref.PERIOD_CODES)}
QUAL_BIT = {code: i for i, code in enumerate(ref.QUALIFICATION_CODES)}
FORM_COL = {code: i for i, code in enumerate(ref.FORM_CODES)}
AFFILIATION_NUM = {code: i for i, code in enumerate(ref.AFFILIATION_CODES)}

# Fee stored for a form that is not offered: larger than any real cap.
NOT_OFFERED = np.iinfo(np.int64).max


def mask_of(codes: Any, bits: dict[Any, int]) -> int:
    value = 0
    for code in codes:
        value |= 1 << bits[code]
    return value


def codes_of(mask: int, order: tuple[Any, ...]) -> list[Any]:
    return [code for i, code in enumerate(order) if mask >> i & 1]


@dataclass
class SpecialistIndex:
    generation: int
    today: dt.date
    size: int
    listing_ids: np.ndarray  # int64
    prefectures: np.ndarray  # uint64 mask
    themes: np.ndarray  # uint64 mask
    syllabus: np.ndarray  # uint64 mask
    industries: np.ndarray  # uint64 mask
    periods: np.ndarray  # uint64 mask
    qualifications: np.ndarray  # uint64 mask
    fees: np.ndarray  # int64 [size, forms]; NOT_OFFERED where absent
    first_free: np.ndarray  # bool
    affiliation: np.ndarray  # uint8
    accepting: np.ndarray  # bool
    # Row-wise Python values, used to serialise one page of results.
    registration_numbers: list[str]
    names: list[str]
    search_texts: list[str]
    rows: list[dict[str, Any]]
    position_by_number: dict[str, int]

    def forms_mask(self) -> np.ndarray:
        return self.fees != NOT_OFFERED


def _current_generation() -> int:
    from sekispe.search.models import SearchGeneration

    row = SearchGeneration.objects.filter(pk=1).values_list("value", flat=True).first()
    return int(row or 0)


def build_index(today: dt.date, generation: int | None = None) -> SpecialistIndex:
    """Load every visible listing from the database into column arrays.

    One query per table (no per-row queries), so a rebuild of 50,000 listings
    takes about a second.
    """
    from sekispe.listings.models import Listing, ServiceOffer
    from sekispe.registry.models import CourseCompletion

    if generation is None:
        generation = _current_generation()

    visible = Listing.objects.visible(today)
    listing_rows = list(
        visible.order_by("id").values_list(
            "id",
            "record_id",
            "record__registration_number",
            "record__name",
            "record__name_kana",
            "record__registered_on",
            "record__expires_on",
            "record__renewal_count",
            "first_free",
            "affiliation",
            "company_name",
            "availability",
            "availability_until",
            "other_qualifications",
            "profile",
            "track_record",
            "updated_at",
        )
    )
    n = len(listing_rows)
    position = {row[0]: i for i, row in enumerate(listing_rows)}
    record_position = {row[1]: i for i, row in enumerate(listing_rows)}

    def m2m_masks(through: Any, column: str, bits: dict[Any, int]) -> np.ndarray:
        masks = [0] * n
        for listing_id, code in through.objects.values_list("listing_id", column).iterator(
            chunk_size=20000
        ):
            pos = position.get(listing_id)
            if pos is not None:
                masks[pos] |= 1 << bits[code]
        return np.array(masks, dtype=np.uint64)

    prefectures = m2m_masks(Listing.prefectures.through, "prefecture_id", PREF_BIT)
    themes = m2m_masks(Listing.themes.through, "guidancetheme_id", THEME_BIT)
    syllabus = m2m_masks(Listing.syllabus_items.through, "syllabusitem_id", SYLLABUS_BIT)
    industries = m2m_masks(Listing.industries.through, "industry_id", INDUSTRY_BIT)
    periods = m2m_masks(Listing.periods.through, "supportperiod_id", PERIOD_BIT)
    qualifications = m2m_masks(Listing.qualifications.through, "qualification_id", QUAL_BIT)

    fees = np.full((n, len(FORM_COL)), NOT_OFFERED, dtype=np.int64)
    for listing_id, form, fee in ServiceOffer.objects.values_list(
        "listing_id", "form", "fee_yen"
    ).iterator(chunk_size=20000):
        pos = position.get(listing_id)
        if pos is not None:
            fees[pos, FORM_COL[form]] = fee

    completions: dict[int, list[tuple[str, int, dt.date]]] = defaultdict(list)
    for record_id, kind, fy, completed_on in CourseCompletion.objects.values_list(
        "record_id", "kind", "fiscal_year", "completed_on"
    ).iterator(chunk_size=20000):
        if record_id in record_position:
            completions[record_id].append((kind, fy, completed_on))

    accepting = np.zeros(n, dtype=bool)
    first_free = np.zeros(n, dtype=bool)
    affiliation = np.zeros(n, dtype=np.uint8)
    registration_numbers: list[str] = []
    names: list[str] = []
    texts: list[str] = []
    rows: list[dict[str, Any]] = []
    from sekispe.listings.models import effective_accepting

    qual_names = {code: name for code, name, _ in _qualification_names()}
    for i, row in enumerate(listing_rows):
        (
            _id,
            record_id,
            number,
            name,
            kana,
            registered_on,
            expires_on,
            renewals,
            free,
            affil,
            company,
            availability,
            until,
            other_quals,
            profile,
            track,
            updated_at,
        ) = row
        accepting[i] = effective_accepting(availability, until, today)
        first_free[i] = free
        affiliation[i] = AFFILIATION_NUM[affil]
        registration_numbers.append(number)
        names.append(name)
        quals = " ".join(
            qual_names[c] for c in codes_of(int(qualifications[i]), ref.QUALIFICATION_CODES)
        )
        texts.append(
            normalize_for_search(" ".join((name, kana, profile, track, quals, other_quals)))
        )
        status = course_status(expires_on, completions.get(record_id, ()), today)
        rows.append(
            {
                "registration_number": number,
                "name": name,
                "name_kana": kana,
                "company_name": company,
                "other_qualifications": other_quals,
                "updated_at": updated_at,
                "verified": {
                    "registration_number": number,
                    "registered_on": registered_on,
                    "expires_on": expires_on,
                    "renewal_count": renewals,
                    "courses_up_to_date": status.up_to_date,
                },
            }
        )

    return SpecialistIndex(
        generation=generation,
        today=today,
        size=n,
        listing_ids=np.array([r[0] for r in listing_rows], dtype=np.int64),
        prefectures=prefectures,
        themes=themes,
        syllabus=syllabus,
        industries=industries,
        periods=periods,
        qualifications=qualifications,
        fees=fees,
        first_free=first_free,
        affiliation=affiliation,
        accepting=accepting,
        registration_numbers=registration_numbers,
        names=names,
        search_texts=texts,
        rows=rows,
        position_by_number={number: i for i, number in enumerate(registration_numbers)},
    )


def _qualification_names() -> tuple[tuple[str, str, str], ...]:
    from sekispe.reference.data import QUALIFICATIONS

    return QUALIFICATIONS


_lock = threading.Lock()
_current: SpecialistIndex | None = None


def get_index(today: dt.date) -> SpecialistIndex:
    """The index for today at the database's current generation.

    Costs one indexed single-row query when nothing changed.
    """
    global _current
    generation = _current_generation()
    index = _current
    if index is not None and index.generation == generation and index.today == today:
        return index
    with _lock:
        index = _current
        if index is None or index.generation != generation or index.today != today:
            index = build_index(today, generation)
            _current = index
    return index


def reset_index() -> None:
    global _current
    with _lock:
        _current = None

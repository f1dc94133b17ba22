"""The public search service (登録セキスペ検索サービス): who is registered, today.

Shared by the web page (`views_public.py`) and the API (`api.py`), so the two
can never disagree on who is found or what is shown. The rules:

- Only registrants who are registered today are searched: status active, and
  either within their period, within a disaster extension, or awaiting the
  decision on a renewal application (the daily expiry job leaves those active
  on purpose, so they are still registered). The dates are checked here as
  well as by the job, so a lagging job never shows a lapsed registrant.
- A registration number (six digits, full-width allowed) matches exactly.
  Any other text matches the name or the kana partially, ignoring spaces, with
  hiragana in the query read as katakana for the kana. A registrant is found by
  name or kana, or by home prefecture, only if they published that item (公開届):
  otherwise the search itself would disclose what they chose to keep private.
- Every result shows the registration number, the expiry, the renewal-application
  deadline, the renewal count and the practical-course history (IPA's practical
  course, the specific courses and deemed attendance, みなし受講); the other items
  only when published.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, F, Lookup, OuterRef, Q, QuerySet, TextField, Value
from django.db.models.functions import Cast, Replace
from django.urls import reverse
from django.utils.translation import get_language

from sekispe.core.api import InvalidQuery
from sekispe.lib.text import INVISIBLE, UnsafeText, reject_control
from sekispe.reference import data
from sekispe.reference import services as ref
from sekispe.registry import providers, rules
from sekispe.registry.models import (
    CourseCompletion,
    CourseKind,
    PublishedItem,
    RegistryRecord,
    RegistryStatus,
    valid_on,
)

PAGE_SIZE = 50
MAX_LIMIT = 100
MAX_QUERY_LENGTH = 100
# Courses that count as the period's practical course, shown as its history.
# Deemed attendance (みなし受講) replaces the practical course, so it is shown too,
# under its own label; a withdrawn credit no longer exists and so is not shown.
PRACTICAL_KINDS = (CourseKind.PRACTICAL, CourseKind.SPECIFIC, CourseKind.DEEMED)

_HIRAGANA_TO_KATAKANA = {cp: cp + 0x60 for cp in range(0x3041, 0x3097)}
# ASCII digits only: `\d` would also take Thai or Arabic-Indic digits, which
# NFKC leaves alone and no registration number holds.
_NUMBER = re.compile(r"[0-9]{6}")
_DIGITS = re.compile(r"[0-9]+")
_PREF_NAME = {p.code: p.name for p in data.PREFECTURES}
_PREF_NAME_EN = {p.code: p.name_en for p in data.PREFECTURES}


@dataclass(frozen=True)
class NormalizedText:
    """A query in the forms it is compared in.

    `number` is set when the query is a registration number; otherwise `name`
    is the query without spaces (NFKC) and `kana` the same with hiragana folded
    to katakana, as kana is stored in katakana.
    """

    number: str | None = None
    name: str = ""
    kana: str = ""

    @property
    def empty(self) -> bool:
        return self.number is None and not self.name


def normalize_text(raw: str) -> NormalizedText:
    """Never raises: any string gives a (possibly empty) query."""
    # NFKC turns full-width digits and letters and half-width katakana into
    # their usual forms, and the ideographic space into a plain one. Once the
    # spaces are gone, marks they separated touch: normalise again so they
    # take the one canonical order whatever spaces the query had.
    compact = unicodedata.normalize("NFKC", "".join(unicodedata.normalize("NFKC", raw).split()))
    if _NUMBER.fullmatch(compact):
        return NormalizedText(number=compact)
    return NormalizedText(name=compact, kana=compact.translate(_HIRAGANA_TO_KATAKANA))


@dataclass(frozen=True)
class RegistryQuery:
    q: str = ""
    prefecture: str | None = None  # JIS X 0401 code

    @property
    def text(self) -> NormalizedText:
        return normalize_text(self.q)

    @property
    def empty(self) -> bool:
        return self.text.empty and self.prefecture is None


def parse_query(q: str | None, prefecture: str | None) -> RegistryQuery:
    """Validate the parameters; raises InvalidQuery naming the parameter."""
    # Control characters never reach the database (PostgreSQL refuses NUL in
    # a query: issue 13, finding 9); invisible ones only hide a match, so go.
    for name, value in (("q", q), ("prefecture", prefecture)):
        try:
            reject_control(value or "", multiline=False)
        except UnsafeText as exc:
            raise InvalidQuery(
                name, f"{name}: 制御文字（{exc.code_point}）を含めることはできません。"
            ) from None
    q = INVISIBLE.sub("", q or "").strip()
    if len(q) > MAX_QUERY_LENGTH:
        raise InvalidQuery("q", f"q: 検索語は{MAX_QUERY_LENGTH}文字以内で入力してください。")
    text = normalize_text(q)
    if text.number is None and _DIGITS.fullmatch(text.name):
        raise InvalidQuery("q", "q: 登録番号は6桁の数字で入力してください。")
    code = None
    if prefecture and prefecture.strip():
        code = ref.resolve_prefecture(prefecture)
        if code is None:
            raise InvalidQuery(
                "prefecture", f"prefecture: 「{prefecture}」は都道府県として認識できません。"
            )
    return RegistryQuery(q=q, prefecture=code)


def registered(today: dt.date) -> QuerySet[RegistryRecord]:
    """Every registrant registered on `today` (see the module docstring)."""
    renewal_pending = Exists(providers.pending_renewals().filter(record=OuterRef("pk")))
    return (
        RegistryRecord.objects.annotate(renewal_pending=renewal_pending)
        .filter(status=RegistryStatus.ACTIVE)
        .filter(valid_on(today) | Q(renewal_pending=True))
    )


def _without_spaces(field: str) -> Replace:
    return Replace(Replace(F(field), Value(" "), Value("")), Value("\u3000"), Value(""))


class _InOrder(Lookup):
    """The text holds the pattern's characters in order, anything between them.

    A cheap superset of "contains, ignoring spaces": a plain LIKE, where the
    exact test must strip the spaces of every row first (REPLACE costs about
    three times as much on SQLite). Put first, it leaves the exact test few rows.
    """

    lookup_name = "in_order"
    prepare_rhs = False
    ignore_case = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        params = [*lhs_params, *rhs_params]
        if connection.vendor == "sqlite":  # where LIKE always ignores ASCII case
            return f"{lhs} LIKE {rhs} ESCAPE '\\'", params
        if self.ignore_case:  # as `icontains` does, so no match is ever dropped
            return f"UPPER({lhs}) LIKE UPPER({rhs})", params
        return f"{lhs} LIKE {rhs}", params  # backslash escapes by default


class _IInOrder(_InOrder):
    lookup_name = "iin_order"
    ignore_case = True


def _contains_ignoring_spaces(field: str, compact: str, text: str) -> Q:
    escaped = [c.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for c in text]
    spread = "%" + "%".join(escaped) + "%"
    # Kanji and kana have no case: comparing without UPPER() halves the cost on
    # PostgreSQL, and only text with letters (a Latin name) needs it.
    if text.lower() == text.upper():
        return Q(_InOrder(F(field), Value(spread))) & Q(**{f"{compact}__contains": text})
    return Q(_IInOrder(F(field), Value(spread))) & Q(**{f"{compact}__icontains": text})


def _publishes(item: str) -> Q:
    # The JSON list as text ('["name", "name_kana"]') holds the quoted item,
    # and '"name"' is not inside '"name_kana"'. JSON containment (`contains=[…]`)
    # would say the same, but SQLite has no such lookup.
    return Q(published_text__contains=f'"{item}"')


def find(query: RegistryQuery, today: dt.date) -> QuerySet[RegistryRecord]:
    """The matching registrants, in registration-number order. Filtering is done
    in the database; an empty query matches nobody (never the whole registry)."""
    records = registered(today).alias(published_text=Cast("published_items", TextField()))
    if query.empty:
        return records.none()
    text = query.text
    if text.number is not None:
        records = records.filter(registration_number=text.number)
    elif text.name:
        # A name may be written in katakana (many foreign names), so a query in
        # hiragana is tried against the name as well, in katakana.
        by_name = _contains_ignoring_spaces("name", "name_compact", text.name)
        if text.kana != text.name:
            by_name |= _contains_ignoring_spaces("name", "name_compact", text.kana)
        by_kana = _contains_ignoring_spaces("name_kana", "kana_compact", text.kana)
        records = records.alias(
            name_compact=_without_spaces("name"), kana_compact=_without_spaces("name_kana")
        ).filter(
            (by_name & _publishes(PublishedItem.NAME))
            | (by_kana & _publishes(PublishedItem.NAME_KANA))
        )
    if query.prefecture is not None:
        records = records.filter(
            _publishes(PublishedItem.HOME_PREFECTURE), home_prefecture_id=query.prefecture
        )
    return records.order_by("registration_number")


@dataclass(frozen=True)
class PublicCourse:
    kind: str
    completed_on: dt.date
    provider: str
    course_code: str

    @property
    def kind_label(self) -> str:
        return str(CourseKind(self.kind).label)


@dataclass(frozen=True)
class PublicEntry:
    """One registrant as the public sees them; None marks an unpublished item."""

    registration_number: str
    name: str | None
    name_kana: str | None
    birth_year: int | None
    home_prefecture: str | None
    registered_on: dt.date | None
    email: str | None
    expires_on: dt.date
    # Later than expires_on only under a disaster extension.
    valid_until: dt.date
    application_deadline: dt.date
    renewal_count: int
    renewal_under_review: bool
    practical_courses: tuple[PublicCourse, ...]
    listed: bool

    @property
    def home_prefecture_name(self) -> str | None:
        if self.home_prefecture is None:
            return None
        names = _PREF_NAME_EN if (get_language() or "").startswith("en") else _PREF_NAME
        return names[self.home_prefecture]

    @property
    def extended(self) -> bool:
        return self.valid_until > self.expires_on

    @property
    def record_url(self) -> str:
        return reverse("registry:record", args=[self.registration_number])

    @property
    def listing_url(self) -> str | None:
        if not self.listed:
            return None
        return reverse("search:detail", args=[self.registration_number])


def matching_ids(query: RegistryQuery, today: dt.date) -> list[int]:
    """The ids of every match, in order: one pass over the registry gives both the
    count and any page (a count and a page query would scan it twice)."""
    return list(find(query, today).values_list("pk", flat=True))


def entries(ids: Sequence[int], today: dt.date) -> list[PublicEntry]:
    """Public entries for one page of ids, in their order: three queries (records,
    courses, visible listings) whatever the page size."""
    ids = list(ids)
    if not ids:
        return []
    records = registered(today).select_related("extension_measure").in_bulk(ids)
    courses: dict[int, list[PublicCourse]] = defaultdict(list)
    for record_id, kind, completed_on, provider, code in (
        CourseCompletion.objects.filter(record_id__in=ids, kind__in=PRACTICAL_KINDS)
        .order_by("record_id", "completed_on", "id")
        .values_list("record_id", "kind", "completed_on", "provider", "course_code")
    ):
        # A deemed credit's code is the internal application number: not public.
        public_code = "" if kind == CourseKind.DEEMED else code
        courses[record_id].append(PublicCourse(kind, completed_on, provider, public_code))
    listed = set(
        providers.visible_listings(today)
        .filter(record_id__in=ids)
        .values_list("record_id", flat=True)
    )
    return [
        _entry(records[pk], courses[pk], pk in listed)
        for pk in ids
        if pk in records  # gone between the two queries
    ]


def _entry(record: RegistryRecord, courses: list[PublicCourse], listed: bool) -> PublicEntry:
    published = set(record.published_items or ())

    def shown(item: str, value: Any) -> Any:
        return value if item in published else None

    measure = record.extension_measure
    extension = (
        None
        if measure is None
        else rules.Extension(new_deadline=measure.new_deadline, deadline_from=measure.deadline_from)
    )
    return PublicEntry(
        registration_number=record.registration_number,
        name=shown(PublishedItem.NAME, record.name),
        name_kana=shown(PublishedItem.NAME_KANA, record.name_kana),
        birth_year=shown(PublishedItem.BIRTH_YEAR, record.birth_year),
        home_prefecture=shown(PublishedItem.HOME_PREFECTURE, record.home_prefecture_id),
        registered_on=shown(PublishedItem.REGISTERED_ON, record.registered_on),
        # An empty address published is still nothing to show.
        email=shown(PublishedItem.EMAIL, record.email) or None,
        expires_on=record.expires_on,
        valid_until=rules.valid_until(record.expires_on, extension),
        application_deadline=rules.application_deadline(record.expires_on, extension),
        renewal_count=record.renewal_count,
        renewal_under_review=bool(getattr(record, "renewal_pending", False)),
        practical_courses=tuple(courses),
        listed=listed,
    )


@dataclass(frozen=True)
class SearchResult:
    count: int
    offset: int
    limit: int
    results: list[PublicEntry]


def search(
    query: RegistryQuery, today: dt.date, *, offset: int = 0, limit: int = PAGE_SIZE
) -> SearchResult:
    """One page of matches: four queries (matches, page, courses, listings)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery("limit", f"limit: 1から{MAX_LIMIT}の間で指定してください。")
    if offset < 0:
        raise InvalidQuery("offset", "offset: 0以上を指定してください。")
    if query.empty:
        return SearchResult(count=0, offset=offset, limit=limit, results=[])
    ids = matching_ids(query, today)
    return SearchResult(
        count=len(ids),
        offset=offset,
        limit=limit,
        results=entries(ids[offset : offset + limit], today),
    )


def get_entry(registration_number: str, today: dt.date) -> PublicEntry:
    """One registered registrant; LookupError for anyone else, so a lapsed or
    deregistered registrant is indistinguishable from a number never issued."""
    if not _NUMBER.fullmatch(registration_number):
        # Not a number at all (a NUL in the path would be a database error).
        raise LookupError(registration_number)
    ids = (
        registered(today)
        .filter(registration_number=registration_number)
        .values_list("pk", flat=True)
    )
    found = entries(list(ids), today)
    if not found:
        raise LookupError(registration_number)
    return found[0]

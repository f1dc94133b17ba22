"""Fast HTML for the search page's hot parts (issue 18): the result cards and
the facet options.

The page shows 20 cards and about 100 facet options per request. Rendered by
the template engine they cost about 0.5 ms per card (hundreds of nodes, about
30 gettext calls, two reverse() calls) and 10 ms for the filters, several times
the search itself. Here:

- a card is built by string formatting with its labels translated once per
  language (`_CardStrings`), and kept in a bounded LRU per process keyed by the
  language, the date rendering settings and the index row's version
  (`SpecialistIndex.row_key`), so a row served again costs a dictionary look-up;
- each facet option's markup is pre-split per language into the parts that
  never change, so a request only joins in `checked` and its count.

The templates stay the specification: `search/_result_card.html` is the card
as a template, and tests/test_search_page_cache.py renders both and compares.
Nothing per viewer goes into a cached card: its only link is the detail page,
the same for everyone (the order token lives in the pagination links, which
the template renders per request).
"""

from __future__ import annotations

import html
import re
import secrets
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template import Context
from django.template.loader import get_template
from django.urls import get_script_prefix, reverse
from django.utils import formats, timezone
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext, ngettext

from sekispe.core.templatetags.dates import _as_day, day, use_era
from sekispe.listings.models import STALE_AFTER_DAYS, is_stale, stale_cutoff
from sekispe.reference.labels import CIRCLED, Labels, labels
from sekispe.search import forms

# About 5 kB of text per card and language: 5,000 cards is 25-50 MB per
# process, the first pages of the common searches several times over.
CARD_CACHE_SIZE = 5_000


class LRU:
    """A small thread-safe LRU (gthread workers share the process)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, SafeString] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> SafeString | None:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: SafeString) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._data)


card_cache = LRU(CARD_CACHE_SIZE)


class Encoded(SafeString):
    """Cached markup that keeps its UTF-8 bytes, made once: the page's cards
    and form are about 70 kB, and encoding them again for every response cost
    more than looking them up (see `splice`)."""

    utf8: bytes

    def __new__(cls, html: str) -> Encoded:
        self = super().__new__(cls, html)
        self.utf8 = html.encode()
        return self


def utf8(html: str) -> bytes:
    """`html` as UTF-8, without encoding it again when it is `Encoded`."""
    return html.utf8 if isinstance(html, Encoded) else html.encode()


# The response is the template's output with the big cached parts spliced in as
# bytes: printed through the template engine, each part was copied at every
# level of the template (the include, the blocks, the layout) and then encoded.
# The marker is random per process, so no text a visitor sends can forge one.
_SLOT_MARK = secrets.token_hex(8)
_PAGE_SLOT = re.compile(f"\x00{_SLOT_MARK}:([a-z_]+)\x00")


def page_slot(name: str) -> SafeString:
    """A marker for `splice` to replace with the part called `name`."""
    return SafeString(f"\x00{_SLOT_MARK}:{name}\x00")


def page_pieces(html: str, parts: dict[str, bytes]) -> list[bytes | str]:
    """`html` as UTF-8 pieces, each `page_slot(name)` replaced by `parts[name]`;
    a slot not in `parts` stays as its name, for `fill` to complete."""
    pieces = _PAGE_SLOT.split(html)  # text, name, text, name, …, text
    return [parts.get(piece, piece) if i % 2 else piece.encode() for i, piece in enumerate(pieces)]


def fill(pieces: list[bytes | str], parts: dict[str, bytes]) -> bytes:
    """The response body: `pieces` with the slots left in them from `parts`."""
    return b"".join(parts[piece] if isinstance(piece, str) else piece for piece in pieces)


def splice(html: str, parts: dict[str, bytes]) -> bytes:
    """`html` as UTF-8 with each `page_slot(name)` replaced by `parts[name]`."""
    return fill(page_pieces(html, parts), {})


class _PageHtml:
    """A whole search page as response pieces, for one ranked page (services)
    and what the page shows beside it: valid while the search returns that
    same ranked page (kept exactly as long as its order and rows stand) and
    the same facet counts object (recounted after any delta, as a change to a
    row the search does not match can still move its counts) and fallback."""

    __slots__ = ("nbytes", "pieces", "ranked", "shown")

    def __init__(self, ranked: object, shown: tuple[Any, ...], pieces: list[bytes | str]) -> None:
        self.ranked = weakref.ref(ranked)
        self.shown = shown
        self.pieces = pieces
        # The cards and the form are shared with their own caches, but counted
        # here in full: the budget then holds whatever those caches evict.
        self.nbytes = sum(len(piece) for piece in pieces) + 64 * len(pieces)


# Whole pages for visitors with no session (search_page): about 90 kB each
# with the cards and form, so a few hundred pages of the searches in fashion.
PAGE_HTML_BYTES = 32 << 20


class _PageHtmlCache:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._data: OrderedDict[Hashable, _PageHtml] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self, key: Hashable, ranked: object, shown: tuple[Any, ...]
    ) -> list[bytes | str] | None:
        """The page kept under `key`, if `ranked` is its ranked page and
        `shown` (facet counts, then values) what it showed."""
        with self._lock:
            found = self._data.get(key)
            if found is None:
                return None
            if (
                found.ranked() is not ranked
                or found.shown[0] is not shown[0]
                or found.shown[1:] != shown[1:]
            ):  # ranked or counted again since: this page is gone
                del self._data[key]
                self.used -= found.nbytes
                return None
            self._data.move_to_end(key)
            return found.pieces

    def put(
        self, key: Hashable, ranked: object, shown: tuple[Any, ...], pieces: list[bytes | str]
    ) -> None:
        entry = _PageHtml(ranked, shown, pieces)
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.used -= old.nbytes
            self._data[key] = entry
            self.used += entry.nbytes
            while self.used > self.limit and len(self._data) > 1:
                _, dropped = self._data.popitem(last=False)
                self.used -= dropped.nbytes

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.used = 0

    def __len__(self) -> int:
        return len(self._data)


page_html_cache = _PageHtmlCache(PAGE_HTML_BYTES)


def page_html_key(
    request_path: str, query: Hashable, htmx: bool, generation: int
) -> tuple[Any, ...]:
    """What a search page shows a visitor with no session, besides its ranked
    page: the URL (its links back), the order's seed (in `query`), the partial
    or the whole page, the card text's context, the day (staleness), and the
    settings (`generation`, the fragments')."""
    return (request_path, query, htmx, _render_context_key(), timezone.localdate(), generation)


# The filter form for one language and state (about 30 kB): its counts make it
# differ per search, but people page through one search and ask the same few
# (a region and a theme) all day.
FILTERS_CACHE_SIZE = 256
filters_cache = LRU(FILTERS_CACHE_SIZE)


def _e(value: Any) -> str:
    """What `{{ value }}` prints: localized, then escaped. Plain strings and
    integers take a short cut (Django's escape is html.escape; an integer
    localizes to its digits unless thousands are grouped)."""
    kind = type(value)
    if kind is str:
        return html.escape(value)
    if kind is int and not settings.USE_THOUSAND_SEPARATOR:
        return str(value)
    return str(conditional_escape(formats.localize(value)))


# --- the result card -------------------------------------------------------------


@dataclass(frozen=True)
class _CardStrings:
    """The card's fixed text in one language, escaped as the template would."""

    number: str
    registered: str
    renewals: str
    themes: str
    tasks: str
    industries: str
    regions: str
    periods: str
    first_free: str
    fees: str
    qualifications: str
    affiliation: str
    sep: str
    yes: str
    no: str
    updated: str
    not_accepting: str
    stale: str
    verified: str
    courses_ok: str
    courses_missing: str
    declared: str


_strings: dict[str, _CardStrings] = {}


def _card_strings() -> _CardStrings:
    language = get_language() or ""
    strings = _strings.get(language)
    if strings is None:
        strings = _CardStrings(
            number=escape(gettext("登録番号")),
            registered=escape(gettext("登録年月日")),
            renewals=escape(gettext("更新回数")),
            themes=escape(gettext("支援実績のある指導テーマ")),
            tasks=escape(gettext("支援実績のある業務（指導テーマ以外）")),
            industries=escape(gettext("支援実績のある業界")),
            regions=escape(gettext("支援地域")),
            periods=escape(gettext("支援可能期間")),
            first_free=escape(gettext("初回相談無料")),
            fees=escape(gettext("支援可能形態（1回あたりの料金）")),
            qualifications=escape(gettext("他資格の保有状況")),
            affiliation=escape(gettext("所属形態")),
            sep=escape(gettext("、")),
            yes=escape(gettext("あり")),
            no=escape(gettext("なし")),
            updated=escape(gettext("最終更新")),
            not_accepting=(f'<span class="status off">{escape(gettext("受付停止中"))}</span>'),
            stale=(
                f'<span class="status stale">{escape(gettext("要更新"))}'
                f'<span class="visually-hidden">'
                f"{escape(gettext('（180日以上更新されていません）'))}</span></span>"
            ),
            verified=escape(gettext("登録簿で確認済み")),
            courses_ok=f'<span class="status ok">{escape(gettext("講習受講：最新"))}</span>',
            courses_missing=(
                f'<span class="status warn">{escape(gettext("講習受講：未完了あり"))}</span>'
            ),
            declared=escape(gettext("本人申告")),
        )
        # Translations are fixed for the life of the process (compiled catalogs).
        _strings[language] = strings
    return strings


def _inline(names: Iterable[str], sep: str, *, empty: bool = True) -> str:
    """`<li>a、</li><li>b</li>`, or `<li>—</li>` for none (where the template has {% empty %})."""
    items = [_e(n) for n in names]
    if not items:
        return "<li>—</li>" if empty else ""
    last = len(items) - 1
    return "".join(f"<li>{n}{sep if i < last else ''}</li>" for i, n in enumerate(items))


_detail_urls: dict[str, str] = {}
_URL_SAFE = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_")
_PLACEHOLDER = "0000000000"


def detail_url(registration_number: str) -> str:
    """reverse("search:detail") once per script prefix, then formatted: the
    resolver costs about 80 µs a call. Numbers needing quoting go to reverse()."""
    if not registration_number or not set(registration_number) <= _URL_SAFE:
        return reverse("search:detail", args=[registration_number])
    prefix = get_script_prefix()
    pattern = _detail_urls.get(prefix)
    if pattern is None:
        pattern = reverse("search:detail", args=[_PLACEHOLDER])
        _detail_urls[prefix] = pattern
    return pattern.replace(_PLACEHOLDER, registration_number, 1)


def _theme_label(code: int, lab: Labels) -> str:
    return f"{CIRCLED[code - 1]}{lab.circled_gap}{lab.theme[code]}"


# A card's parts that many rows share (label lists, fees, dates), per language:
# building them is most of a card's cost, and a cold page has 20 cards.
_PART_MEMO_SIZE = 50_000
_part_memo: dict[tuple[Any, ...], str] = {}


def _memo(key: tuple[Any, ...], build: Callable[[], str]) -> str:
    value = _part_memo.get(key)
    if value is None:
        if len(_part_memo) >= _PART_MEMO_SIZE:
            _part_memo.clear()  # rare; simpler than an LRU for small strings
        value = build()
        _part_memo[key] = value
    return value


def _day(value: Any, language: str, era: bool) -> str:
    """`{{ value|day }}`: the same for every value on the same local day."""
    as_day = _as_day(value)
    return _memo(("day", language, era, as_day), lambda: _e(day(as_day)))


def _tasks(codes: tuple[str, ...], lab: Labels) -> str:
    tasks = (
        "".join(
            f'<li><span class="code">{_e(code)}</span> {_e(lab.syllabus[code])}</li>'
            for code in codes[:3]
        )
        or "<li>—</li>"
    )
    if len(codes) > 3:
        more = gettext("ほか%(n)s件") % {"n": _e(len(codes) - 3)}
        tasks += f'<li class="more">{more}</li>'
    return tasks


def _fees(fees: tuple[tuple[str, int], ...], lab: Labels) -> str:
    return (
        "".join(
            "<li>"
            + gettext("%(form)s（%(fee)s円）") % {"form": _e(lab.form[f]), "fee": _e(intcomma(fee))}
            + "</li>"
            for f, fee in fees
        )
        or "<li>—</li>"
    )


def render_card(row: dict[str, Any], *, stale: bool | None = None) -> SafeString:
    """One result card, exactly as `search/_result_card.html` renders it, with
    the loop's surrounding whitespace so that the page reads as before."""
    s = _card_strings()
    lab = labels()
    language = get_language() or ""
    era = use_era()
    if stale is None:
        stale = is_stale(row["updated_at"], timezone.localdate())
    number = _e(row["registration_number"])
    verified = row["verified"]
    syllabus = tuple(row["syllabus_items"])
    tasks = _memo(("tasks", language, syllabus), lambda: _tasks(syllabus, lab))
    fee_items = tuple(row["fees"].items())
    fees = _memo(("fees", language, fee_items), lambda: _fees(fee_items, lab))
    qualifications = [lab.qualification[c] for c in row["qualifications"]] + (
        [row["other_qualifications"]] if row["other_qualifications"] else []
    )
    affiliation = (
        row["company_name"]
        if row["affiliation"] == "company" and row["company_name"]
        else lab.affiliation[row["affiliation"]]
    )
    renewal_count = verified["renewal_count"]
    renewals = _memo(
        ("renewals", language, renewal_count),
        lambda: ngettext("%(n)s回", "%(n)s回", renewal_count) % {"n": _e(renewal_count)},
    )
    theme_codes = tuple(row["themes"])
    themes = _memo(
        ("themes", language, theme_codes),
        lambda: "".join(f"<li>{_e(_theme_label(t, lab))}</li>" for t in theme_codes),
    )
    industry_codes = tuple(row["industries"])
    industries = _memo(
        ("industries", language, industry_codes),
        lambda: _inline((lab.industry[c] for c in industry_codes), s.sep),
    )
    prefectures = tuple(row["prefectures"])
    regions = _memo(
        ("regions", language, prefectures),
        lambda: _inline(forms.region_labels(list(prefectures)), s.sep, empty=False),
    )
    period_codes = tuple(row["periods"])
    periods = _memo(
        ("periods", language, period_codes),
        lambda: _inline((lab.period[c] for c in period_codes), s.sep),
    )
    return SafeString(f"""
    <li class="result-card">
      <article aria-labelledby="result-{number}">
        <header class="result-head">
          <h3 id="result-{number}" class="result-name"><a href="{_e(detail_url(row["registration_number"]))}">{_e(row["name"])}</a></h3>
          <span class="kana">{_e(row["name_kana"])}</span>
          <p class="result-state">
            {"" if row["accepting"] else s.not_accepting}
            {s.stale if stale else ""}
            <span class="updated-on">{s.updated} {_day(row["updated_at"], language, era)}</span>
          </p>
        </header>
        <div class="result-verified">
          <p class="group-badge"><span class="badge verified">{s.verified}</span></p>
          <dl class="verified-facts">
            <div><dt>{s.number}</dt><dd>{_e(verified["registration_number"])}</dd></div>
            <div><dt>{s.registered}</dt><dd>{_day(verified["registered_on"], language, era)}</dd></div>
            <div><dt>{s.renewals}</dt><dd>{renewals}</dd></div>
          </dl>
          <p class="course-state">{s.courses_ok if verified["courses_up_to_date"] else s.courses_missing}</p>
        </div>
        <div class="result-declared">
          <p class="group-badge"><span class="badge declared">{s.declared}</span></p>
          <div class="fact-groups">
            <dl class="fact-group">
              <div><dt>{s.themes}</dt><dd><ul class="chips themes">{themes}</ul></dd></div>
              <div><dt>{s.tasks}</dt><dd><ul class="items tasks">{tasks}</ul></dd></div>
              <div><dt>{s.industries}</dt><dd><ul class="inline industries">{industries}</ul></dd></div>
            </dl>
            <dl class="fact-group">
              <div><dt>{s.regions}</dt><dd><ul class="inline regions">{regions}</ul></dd></div>
              <div><dt>{s.periods}</dt><dd><ul class="inline periods">{periods}</ul></dd></div>
              <div><dt>{s.first_free}</dt><dd>{s.yes if row["first_free"] else s.no}</dd></div>
              <div><dt>{s.fees}</dt><dd><ul class="items fees">{fees}</ul></dd></div>
            </dl>
            <dl class="fact-group about">
              <div><dt>{s.qualifications}</dt><dd><ul class="inline qualifications">{_inline(qualifications, s.sep)}</ul></dd></div>
              <div><dt>{s.affiliation}</dt><dd>{_e(affiliation)}</dd></div>
            </dl>
          </div>
        </div>
      </article>
    </li>
    """)


def _render_context_key() -> tuple[Any, ...]:
    """Everything besides the row that a card's text depends on."""
    return (get_language(), timezone.get_current_timezone_name(), use_era())


def result_cards(result: Any) -> list[SafeString]:
    """The page's cards in order, each from the cache when it can be.

    The key of a row is, in order of preference:
    - `result.row_keys[i]`, (position, *index.row_key(position)) taken by the
      search under the index lock (not yet in services.SearchResult);
    - the row's JSON text (`result.results_json[i]`), which is the row itself;
    - none: rendered each time.
    Positions alone would not do: a delta landing between the search and this
    call would bump the version while `results` still holds the old row, and
    the old card would be cached under the new version."""
    rows: list[dict[str, Any]] = result.results
    if not rows:
        return []
    # is_stale() per row builds its cutoff each time (a time zone look-up):
    # once per page instead, the same comparison.
    cutoff = stale_cutoff(timezone.localdate(), STALE_AFTER_DAYS)
    context = _render_context_key()
    row_keys = getattr(result, "row_keys", None)
    results_json = getattr(result, "results_json", None)
    key_of: Callable[[int], Hashable] | None = None
    if row_keys and len(row_keys) == len(rows):
        key_of = lambda i: ("row", *row_keys[i])  # noqa: E731
    elif results_json and len(results_json) == len(rows):
        key_of = lambda i: ("json", results_json[i])  # noqa: E731
    cards: list[SafeString] = []
    for i, row in enumerate(rows):
        # Staleness counts days from today, not from the index's build.
        stale = row["updated_at"] < cutoff
        if key_of is None:
            cards.append(render_card(row, stale=stale))
            continue
        key = (context, stale, key_of(i))
        card = card_cache.get(key)
        if card is None:
            card = Encoded(render_card(row, stale=stale))
            card_cache.put(key, card)
        cards.append(card)
    return cards


# --- facet options ---------------------------------------------------------------


_OOB = ' hx-swap-oob="true"'


def count_span(facet: str, code: Any, count: int | None, *, oob: bool = False) -> SafeString:
    """`search/_count.html`, with the newline that ends the file (the include printed it)."""
    return SafeString(
        f'<span class="count" id="count-{_e(facet)}-{_e(code)}"'
        f"{_OOB if oob else ''}>"
        f"{'' if count is None else '(' + _e(count) + ')'}</span>\n"
    )


_option_parts: dict[tuple[str, str, Any, str], tuple[str, str]] = {}


def _parts(kind: str, facet: str, code: Any, label: str) -> tuple[str, str]:
    """An option's markup before and after its `checked`, up to its count: the
    same for every request in a language, so built once (labels are fixed
    reference data, but keyed by the label anyway, to never go stale)."""
    key = (kind, facet, code, label)
    parts = _option_parts.get(key)
    if parts is None:
        if kind == "checkbox" or kind == "radio":
            parts = (
                f'<li><label><input type="{kind}" name="{facet}" value="{_e(code)}"',
                f'> {_e(label)} <span class="count" id="count-{_e(facet)}-{_e(code)}">',
            )
        else:  # the count span alone, out of band
            parts = (f'<span class="count" id="count-{_e(facet)}-{_e(code)}"{_OOB}>', "")
        _option_parts[key] = parts
    return parts


def _count_text(count: int | None) -> str:
    return "" if count is None else f"({_e(count)})"


def _option(kind: str, facet: str, option: dict[str, Any], form: bool, oob: bool) -> None:
    code, label, count = option["code"], option["label"], option["count"]
    counted = _count_text(count)
    if form:
        head, middle = _parts(kind, facet, code, label)
        checked = " checked" if option["checked"] else ""
        option["html"] = SafeString(f"{head}{checked}{middle}{counted}</span>\n</label></li>")
    if oob:
        oob_head = _parts("oob", facet, code, "")[0]
        option["oob_html"] = SafeString(f"{oob_head}{counted}</span>\n")


def add_option_html(context: dict[str, Any], *, form: bool = True, oob: bool = True) -> None:
    """Give every facet option of `forms.page_context` its `<li>` (`html`, with
    `form`) and its out-of-band count (`oob_html`, with `oob`), and each block
    its `open` attribute, so the filter templates print strings instead of
    running ~100 includes. Equal to `search/_count.html` and the markup
    _filters.html had (tested)."""
    for facet, options in (
        ("theme", context["themes"]),
        ("industry", context["industries"]),
        ("form", context["forms"]),
        ("period", context["periods"]),
        ("qualification", context["qualifications"]),
    ):
        for option in options:
            _option("checkbox", facet, option, form, oob)
    for block in context["blocks"]:
        opened = 0
        for option in block["prefectures"]:
            _option("checkbox", "prefecture", option, form, oob)
            opened += bool(option["checked"])
        block["open_attr"] = SafeString(" open" * opened)
    for option in context["affiliations"]:
        _option("radio", "affiliation", option, form, oob)
    if not form:
        return
    for key in ("industries", "qualifications"):
        opened = sum(bool(o["checked"]) for o in context[key])
        context[f"{key}_open_attr"] = SafeString(" open" * opened)
    for option in context["regions"]:
        if option["count"] is not None:
            text = gettext("%(label)s（%(n)s）") % {
                "label": _e(option["label"]),
                "n": _e(option["count"]),
            }
        else:
            text = _e(option["label"])
        option["html"] = SafeString(
            f'<option value="{_e(option["code"])}"'
            f"{' selected' if option['checked'] else ''}>{text}</option>"
        )


_OPTION_LISTS = (
    "regions",
    "themes",
    "industries",
    "forms",
    "periods",
    "affiliations",
    "qualifications",
)


def _slot(name: str) -> SafeString:
    return SafeString(f"\x00{name}\x00")


_SLOTS = re.compile("\x00([^\x00]*)\x00")
_skeletons: dict[tuple[Any, ...], list[str]] = {}


def _filters_skeleton(context: dict[str, Any]) -> list[str]:
    """`search/_filters.html` rendered once per language, script prefix and
    shape with a marker in every variable, split into [text, slot, text, …]:
    the template engine took ~0.7 ms for its ~100 options and ~20 labels."""
    blocks = context["blocks"]
    shape = (
        tuple(len(context[name]) for name in _OPTION_LISTS),
        tuple((b["name"], len(b["prefectures"])) for b in blocks),
    )
    key = (_render_context_key(), get_script_prefix(), shape)
    skeleton = _skeletons.get(key)
    if skeleton is None:
        markers: dict[str, Any] = {
            name: [{"html": _slot(f"{name}.{i}")} for i in range(len(context[name]))]
            for name in _OPTION_LISTS
        }
        markers["blocks"] = [
            {
                "name": b["name"],
                "open_attr": _slot(f"blocks.{i}"),
                "prefectures": [
                    {"html": _slot(f"blocks.{i}.{j}")} for j in range(len(b["prefectures"]))
                ],
            }
            for i, b in enumerate(blocks)
        ]
        markers["query"] = {"q": _slot("q"), "max_fee": _slot("max_fee")}
        for name in (
            "industries_open_attr",
            "qualifications_open_attr",
            "first_free_attr",
            "first_free_count_text",
            "affiliation_none_attr",
            "include_not_accepting_attr",
        ):
            markers[name] = _slot(name)
        template = get_template("search/_filters.html").template
        skeleton = _SLOTS.split(template.render(Context(markers, autoescape=True)))
        _skeletons[key] = skeleton
    return skeleton


def _render_filters(context: dict[str, Any]) -> SafeString:
    """The form: the skeleton with this request's values in its slots."""
    add_option_html(context, oob=False)
    query = context["query"]
    count = context["first_free_count"]
    values: dict[str, str] = {
        "q": _e(query.q),
        "max_fee": "" if query.max_fee is None else _e(query.max_fee),
        "industries_open_attr": context["industries_open_attr"],
        "qualifications_open_attr": context["qualifications_open_attr"],
        "first_free_attr": " checked" if query.first_free else "",
        "first_free_count_text": _count_text(count),
        "affiliation_none_attr": "" if query.affiliation else " checked",
        "include_not_accepting_attr": " checked" if query.include_not_accepting else "",
    }
    for name in _OPTION_LISTS:
        for i, option in enumerate(context[name]):
            values[f"{name}.{i}"] = option["html"]
    for i, block in enumerate(context["blocks"]):
        values[f"blocks.{i}"] = block["open_attr"]
        for j, option in enumerate(block["prefectures"]):
            values[f"blocks.{i}.{j}"] = option["html"]
    skeleton = _filters_skeleton(context)
    out = skeleton[:]
    for i in range(1, len(out), 2):
        out[i] = values[out[i]]
    return SafeString("".join(out))


def filters_html(context: dict[str, Any]) -> SafeString:
    """`search/_filters.html` for this page, cached by everything it prints:
    the language, the script prefix (its links), the query's own values and
    every option's code, state and count (the options get their markup only
    when the form is rendered)."""
    query = context["query"]
    options: list[Any] = []
    for name in _OPTION_LISTS:
        options.extend((o["code"], o["checked"], o["count"]) for o in context[name])
    for block in context["blocks"]:
        options.extend((o["code"], o["checked"], o["count"]) for o in block["prefectures"])
    key = (
        _render_context_key(),
        get_script_prefix(),
        query.q,
        query.max_fee,
        query.first_free,
        query.affiliation,
        query.include_not_accepting,
        context["first_free_count"],
        tuple(options),
    )
    html = filters_cache.get(key)
    if html is None:
        html = Encoded(_render_filters(context))
        filters_cache.put(key, html)
    return html

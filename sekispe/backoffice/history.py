"""Before → after rows from django-simple-history, for the operators' history pages.

Scalar fields are compared with `diff_against`. Many-to-many sets are read
for the whole page at once (one query per set field) instead of through
`diff_against`, which would run two queries per set field for every entry.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.models import HistoricalRecords

from sekispe.core.templatetags.dates import day_text, moment_text
from sekispe.listings.models import Listing, ListingCriteria, ListingStatus
from sekispe.reference import services as ref
from sekispe.reference.labels import labels
from sekispe.registry.models import RegistryRecord

# Enough for years of edits of one listing; older rows stay in the admin's history.
DEFAULT_LIMIT = 200

EMPTY = "—"

# Fields every snapshot moves, left out of the "since last published" review diff.
REVIEW_NOISE = frozenset({"status", "status_note", "updated_at"})

# Never changes after creation; it only names the record the listing belongs to.
LISTING_FIXED = frozenset({"record"})

# Moves on every save of the criteria.
CRITERIA_NOISE = frozenset({"updated_at"})

# The first word of a change reason (see listings.lifecycle / listings.history).
REASON_LABELS = {
    "created": gettext_lazy("掲載情報の作成"),
    "self-service edit": gettext_lazy("本人による編集"),
    "confirmed unchanged": gettext_lazy("本人による「変更なし」の確認"),
    "submit": gettext_lazy("審査の申請"),
    "approve": gettext_lazy("承認"),
    "send_back": gettext_lazy("差し戻し"),
    "resubmit": gettext_lazy("審査対象の項目の変更による再審査"),
    "approve_change": gettext_lazy("審査対象の項目の変更を承認"),
    "suspend": gettext_lazy("掲載停止"),
    "restore": gettext_lazy("掲載の再開"),
    "withdraw": gettext_lazy("掲載の取り下げ"),
    "reopen": gettext_lazy("取り下げからの再開"),
    "bulk": gettext_lazy("一括取り込み"),
    "listings-maintenance": gettext_lazy("日次メンテナンス"),
}

KIND_LABELS = {
    "+": gettext_lazy("作成"),
    "~": gettext_lazy("変更"),
    "-": gettext_lazy("削除"),
}


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    old: str
    new: str
    # For many-to-many sets: the labels added and removed.
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    is_set: bool = False


@dataclass(frozen=True)
class HistoryEntry:
    history_id: int
    when: dt.datetime
    who: str
    reason: str
    reason_label: str
    reason_detail: str
    kind: str
    kind_label: str
    changes: list[FieldChange] = field(default_factory=list)


# ------------------------------------------------------------------ labels


def _set_labels(name: str) -> tuple[dict[Any, str], tuple[Any, ...]]:
    """Code → label in the active language, and the reference order, for one set field."""
    lab = labels()
    return {
        "prefectures": (lab.pref, ref.PREFECTURE_CODES),
        "themes": (lab.theme, ref.THEME_CODES),
        "syllabus_items": (
            {code: f"{code} {name}" for code, name in lab.syllabus.items()},
            ref.SYLLABUS_CODES,
        ),
        "industries": (lab.industry, ref.INDUSTRY_CODES),
        "periods": (lab.period, ref.PERIOD_CODES),
        "qualifications": (lab.qualification, ref.QUALIFICATION_CODES),
    }.get(name, ({}, ()))


def set_labels(name: str, codes: Iterable[Any]) -> list[str]:
    """Labels for the codes of set field `name`, in the reference order."""
    names, order = _set_labels(name)
    rank = {code: i for i, code in enumerate(order)}
    ordered = sorted(set(codes), key=lambda c: (rank.get(c, len(rank)), str(c)))
    return [names.get(code, str(code)) for code in ordered]


def display_value(model: type[models.Model], name: str, value: Any) -> str:
    """One stored value as an operator reads it: choice labels, はい/いいえ, local times."""
    if value is None or value == "":
        return EMPTY
    model_field = model._meta.get_field(name)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(model_field, models.BooleanField):
        return _("はい") if value else _("いいえ")
    if isinstance(model_field, models.DateTimeField):
        return moment_text(value)
    if isinstance(model_field, models.DateField):
        return day_text(value)
    if isinstance(model_field, models.ForeignKey) and name == "home_prefecture":
        return set_labels("prefectures", [value])[0]
    return str(value)


def field_label(model: type[models.Model], name: str) -> str:
    return str(model._meta.get_field(name).verbose_name)


def actor_of(row: Any) -> str:
    """Who made a change: the signed-in user, else the command named in the change reason."""
    user = row.history_user
    if user is not None:
        return user.email
    reason = row.history_change_reason or ""
    if reason.startswith("bulk:"):
        return reason.removeprefix("bulk:").strip() or _("一括取り込み")
    head = reason.split(":", 1)[0].strip()
    if head == "listings-maintenance":
        return head
    return _("システム")


def reason_parts(reason: str | None) -> tuple[str, str]:
    """(label, detail) for a change reason such as "send_back: 連絡先を…" or "bulk:import".

    An unknown reason (an admin edit, an old row) is its own label.
    """
    reason = reason or ""
    if reason.startswith("bulk:"):
        return str(REASON_LABELS["bulk"]), reason.removeprefix("bulk:").strip()
    head, _sep, detail = reason.partition(":")
    label = REASON_LABELS.get(head.strip())
    if label is None:
        return reason, ""
    return str(label), gated_note(detail.strip())


def gated_note(note: str) -> str:
    """The notes lifecycle writes for gated changes ("gated: themes, track_record",
    "approve_change: themes", "send_back_change: <message>") in words; any
    other note as it is."""
    if note.startswith("send_back_change:"):
        return _("変更を差し戻し：%(message)s") % {
            "message": note.removeprefix("send_back_change:").strip()
        }
    for prefix, text in (
        ("gated:", _("審査が必要な項目の変更：%(fields)s")),
        ("approve_change:", _("変更を承認し公開：%(fields)s")),
    ):
        if note.startswith(prefix):
            names = [n.strip() for n in note.removeprefix(prefix).split(",") if n.strip()]
            return text % {"fields": _("、").join(_listing_field_label(n) for n in names)}
    return note


def transitions_of(listing: Listing, limit: int = 100) -> list[Any]:
    """A listing's status changes for the operators' pages, notes in words."""
    rows = list(listing.transitions.select_related("actor")[:limit])
    for row in rows:
        row.note = gated_note(row.note)
    return rows


def _listing_field_label(name: str) -> str:
    try:
        return field_label(Listing, name)
    except FieldDoesNotExist:
        return name


# ------------------------------------------------------------------ diffs


def _field_order(model: type[models.Model]) -> dict[str, int]:
    return {f.name: i for i, f in enumerate(model._meta.get_fields())}


def _m2m_sets(model: type[models.Model], history_ids: Sequence[int]) -> dict[int, dict[str, set]]:
    """{history_id: {set field: codes}} for the given snapshots, one query per set field."""
    sets: dict[int, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    if not history_ids:
        return sets
    for m2m_field in model._meta.many_to_many:
        history_model = HistoricalRecords.m2m_models.get(m2m_field)
        if history_model is None:
            continue
        column = f"{m2m_field.m2m_reverse_field_name()}_id"
        rows = history_model.objects.filter(history_id__in=history_ids).values_list(
            "history_id", column
        )
        for history_id, code in rows:
            sets[history_id][m2m_field.name].add(code)
    return sets


def _m2m_names(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.many_to_many if f in HistoricalRecords.m2m_models]


def _scalar_changes(
    model: type[models.Model], new: Any, old: Any | None, exclude: frozenset[str]
) -> list[FieldChange]:
    excluded = {*exclude, *_m2m_names(model)}
    if old is None:
        # The first snapshot: every filled field, as set from nothing.
        names = [
            f.name
            for f in new.tracked_fields
            if f.editable and f.name not in excluded and f.name != "id"
        ]
        pairs = [(name, None, getattr(new, _attname(model, name))) for name in names]
    else:
        delta = new.diff_against(old, excluded_fields=excluded)
        pairs = [(c.field, c.old, c.new) for c in delta.changes]
    return [
        FieldChange(
            field=name,
            label=field_label(model, name),
            old=display_value(model, name, before),
            new=display_value(model, name, after),
        )
        for name, before, after in pairs
        if old is not None or after not in (None, "")
    ]


def _attname(model: type[models.Model], name: str) -> str:
    return model._meta.get_field(name).attname


def _set_changes(
    model: type[models.Model],
    new_sets: dict[str, set],
    old_sets: dict[str, set] | None,
    exclude: frozenset[str],
) -> list[FieldChange]:
    changes = []
    for name in _m2m_names(model):
        if name in exclude:
            continue
        after = new_sets.get(name, set())
        before = old_sets.get(name, set()) if old_sets is not None else set()
        if before == after:
            continue
        changes.append(
            FieldChange(
                field=name,
                label=field_label(model, name),
                old=_("、").join(set_labels(name, before)) or EMPTY,
                new=_("、").join(set_labels(name, after)) or EMPTY,
                added=tuple(set_labels(name, after - before)),
                removed=tuple(set_labels(name, before - after)),
                is_set=True,
            )
        )
    return changes


def diff_rows(
    model: type[models.Model],
    new: Any,
    old: Any | None,
    sets: dict[int, dict[str, set]],
    exclude: frozenset[str] = frozenset(),
) -> list[FieldChange]:
    """The changed fields from snapshot `old` (None: nothing before) to `new`, in model order."""
    changes = _scalar_changes(model, new, old, exclude)
    changes += _set_changes(
        model,
        sets.get(new.history_id, {}),
        sets.get(old.history_id, {}) if old is not None else None,
        exclude,
    )
    order = _field_order(model)
    changes.sort(key=lambda c: order.get(c.field, len(order)))
    return changes


def _entries(
    model: type[models.Model], history: Any, limit: int, exclude: frozenset[str] = frozenset()
) -> list[HistoryEntry]:
    # One row more than shown: the baseline the oldest shown entry is compared with.
    newest_first = history.select_related("history_user").order_by("-history_date", "-history_id")
    rows = list(newest_first[: limit + 1])
    shown = rows[:limit]
    sets = _m2m_sets(model, [r.history_id for r in rows]) if _m2m_names(model) else {}
    entries = []
    for i, row in enumerate(shown):
        previous = rows[i + 1] if i + 1 < len(rows) else None
        label, detail = reason_parts(row.history_change_reason)
        entries.append(
            HistoryEntry(
                history_id=row.history_id,
                when=row.history_date,
                who=actor_of(row),
                reason=row.history_change_reason or "",
                reason_label=label,
                reason_detail=detail,
                kind=row.history_type,
                kind_label=str(KIND_LABELS.get(row.history_type, row.history_type)),
                changes=(
                    []
                    if row.history_type == "-"
                    else diff_rows(model, row, previous, sets, exclude)
                ),
            )
        )
    return entries


def listing_changes(listing: Listing, *, limit: int = DEFAULT_LIMIT) -> list[HistoryEntry]:
    """Every change of `listing`, newest first, with before → after per field and set."""
    return _entries(Listing, listing.history.all(), limit, LISTING_FIXED)


def record_changes(record: RegistryRecord, *, limit: int = DEFAULT_LIMIT) -> list[HistoryEntry]:
    """Every change of a registry record, newest first."""
    return _entries(RegistryRecord, record.history.all(), limit)


def criteria_changes(criteria: ListingCriteria, *, limit: int = 10) -> list[HistoryEntry]:
    """The latest changes of the listing criteria, newest first."""
    return _entries(ListingCriteria, criteria.history.all(), limit, CRITERIA_NOISE)


def changes_since_published(listing: Listing) -> list[FieldChange] | None:
    """What differs between the listing now and its last published version; None if never.

    A gated edit is snapshotted while the listing is still published and is
    followed at once by the resubmission, so a published snapshot counts as
    "what was published" only when the next snapshot is not a submission.
    """
    rows = list(listing.history.order_by("history_date", "history_id"))
    if len(rows) < 2:
        return None
    current = rows[-1]
    baseline = None
    for row, following in itertools.pairwise(rows):
        if row.status == ListingStatus.PUBLISHED and following.status != ListingStatus.SUBMITTED:
            baseline = row
    if baseline is None:
        return None
    sets = _m2m_sets(Listing, [baseline.history_id, current.history_id])
    return diff_rows(Listing, current, baseline, sets, exclude=REVIEW_NOISE | LISTING_FIXED)

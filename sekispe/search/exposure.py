"""The exposure ledger: what each listing has been shown and asked, kept cheaply.

Why: the experts asked that inquiries not concentrate on the top results. Within
a relevance tier (ranking.py) whoever has so far received less than their fair
share comes first. This follows Biega et al. 2018 "Equity of Attention":
amortised over many searches, each listing's exposure should be proportional
to its relevance. Inside one tier relevance is equal by definition, so a page
view's fair share for a tier is the exposure the page gave that tier, divided
equally among all of the tier's members. How exposure and inquiries combine
into one standing is the controller in fairness.py.

Writes (cheap, never lost on a clean shutdown):
- A served page adds position weights (exposure), its tier shares (deserved)
  and impressions to numpy arrays held in this process. Nothing is written to
  the database on the request path.
- Every FLUSH_PAGES pages or FLUSH_SECONDS seconds (checked when a page is
  recorded), one background thread writes the sums as additive upserts
  (`exposure = exposure + excluded.exposure`) in one transaction, sorted by
  listing id so concurrent flushes from several processes never deadlock. A
  failed flush keeps its sums for the next one. `atexit` flushes what is left.
  A killed process (SIGKILL, OOM) loses at most its last FLUSH_SECONDS of
  impressions: a statistical signal, cheaper to lose than to write per search.
- `record_inquiry` writes at once: an inquiry is rare, is itself a database
  write, and should commit or roll back with the inquiry.

Reads (stable, cheap):
- Results are ordered with a snapshot of the ledger per 30-minute bucket
  (`Snapshot`). The first process needing bucket b stores it in
  `ExposureSnapshot` (one row, compressed arrays); every other process reads
  that same row, so all workers order a search identically within a bucket
  and a viewer paging through it never sees anyone twice or misses anyone.
  Each process keeps the last few snapshots in memory: one database read per
  bucket, not per search.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from sekispe.listings.models import Listing
from sekispe.search import fairness, flushing, ranking
from sekispe.search import index as ix
from sekispe.search.ranking import Served

logger = logging.getLogger(__name__)

BUCKET_SECONDS = 30 * 60
# Snapshots kept (in the database) for order tokens of older buckets: 4 hours.
KEEP_BUCKETS = 8
FLUSH_SECONDS = 60.0
FLUSH_PAGES = 1000
_UPSERT_CHUNK = 2000
_ARRAY_CHUNK = 100_000  # ledger rows per statement on PostgreSQL


# --- the pure parts (also used by `sekispe bench matching`) ----------------------------------


class Accumulator:
    """Exposure, fair share and impressions per index position, summed in memory."""

    def __init__(self, size: int) -> None:
        self.exposure = np.zeros(size, dtype=np.float64)
        self.deserved = np.zeros(size, dtype=np.float64)
        self.impressions = np.zeros(size, dtype=np.int64)
        self.pages = 0

    def add(self, page: Served) -> None:
        # Positions within one page, and members within one tier, are distinct,
        # so plain fancy-index additions are exact (no np.add.at needed).
        self.exposure[page.shown] += page.weights
        self.impressions[page.shown] += 1
        for members, share in page.shares:
            self.deserved[members] += share
        self.pages += 1

    def nonzero(self) -> np.ndarray:
        return np.flatnonzero((self.exposure != 0) | (self.deserved != 0))


def standing(exposure: np.ndarray, deserved: np.ndarray, inquiries: np.ndarray) -> np.ndarray:
    """How far ahead of its fair share each listing is, in units of exposure:
    exposure ahead of the fair share plus the inquiry error, weighted by
    `fairness.INQUIRY_GAIN` (fairness.standing). Positive moves a listing down
    within its tier, negative up."""
    return fairness.standing(exposure, deserved, inquiries)


@dataclass
class Snapshot:
    bucket: int
    listing_ids: np.ndarray  # int64, ascending
    exposure: np.ndarray
    deserved: np.ndarray
    inquiries: np.ndarray

    def __post_init__(self) -> None:
        self._standing = standing(self.exposure, self.deserved, self.inquiries.astype(np.float64))
        self._aligned: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def standing_for(self, index: ix.SpecialistIndex) -> np.ndarray:
        """Standing per position of `index` (0 for listings with no ledger row)."""
        aligned = np.zeros(index.size, dtype=np.float64)
        if self.listing_ids.size and index.size:
            where = np.searchsorted(self.listing_ids, index.listing_ids)
            where = np.minimum(where, self.listing_ids.size - 1)
            found = self.listing_ids[where] == index.listing_ids
            aligned[found] = self._standing[where[found]]
        return aligned

    def bits_for(self, index: ix.SpecialistIndex) -> np.ndarray:
        """`ranking.standing_bits` per position of `index`, computed once per index."""
        key = id(index.listing_ids)
        cached = self._aligned.get(key)
        if cached is not None and cached[0] is index.listing_ids:
            return cached[1]
        bits = ranking.standing_bits(self.standing_for(index))
        with self._lock:
            self._aligned[key] = (index.listing_ids, bits)
            while len(self._aligned) > 2:
                self._aligned.popitem(last=False)
        return bits

    def encode(self) -> bytes:
        parts = (
            np.array([self.listing_ids.size], dtype="<i8"),
            np.asarray(self.listing_ids, dtype="<i8"),
            np.asarray(self.exposure, dtype="<f8"),
            np.asarray(self.deserved, dtype="<f8"),
            np.asarray(self.inquiries, dtype="<i8"),
        )
        return zlib.compress(b"".join(p.tobytes() for p in parts), 1)

    @classmethod
    def decode(cls, bucket: int, payload: bytes) -> Snapshot:
        raw = zlib.decompress(payload)
        n = int(np.frombuffer(raw, dtype="<i8", count=1)[0])

        def column(i: int, dtype: str) -> np.ndarray:
            return np.frombuffer(raw, dtype=dtype, count=n, offset=8 + 8 * n * i)

        # Views of the one decompressed buffer (read-only), not copies: at
        # 1,000,000 listings the copies were a second of a new process's first search.
        return cls(
            bucket=bucket,
            listing_ids=column(0, "<i8").astype(np.int64, copy=False),
            exposure=column(1, "<f8").astype(np.float64, copy=False),
            deserved=column(2, "<f8").astype(np.float64, copy=False),
            inquiries=column(3, "<i8").astype(np.int64, copy=False),
        )


# --- writing the ledger ------------------------------------------------------------------------


def _table() -> str:
    from sekispe.search.models import ExposureLedger

    return ExposureLedger._meta.db_table


def write_deltas(
    listing_ids: np.ndarray,
    exposure: np.ndarray,
    deserved: np.ndarray,
    impressions: np.ndarray,
    inquiries: np.ndarray | None = None,
) -> None:
    """Add these amounts to the ledger rows (creating missing rows), atomically.

    Additive upserts: safe when several processes flush at once; sorted ids
    make every flush lock rows in the same order (no deadlocks on PostgreSQL).
    """
    if not listing_ids.size:
        return
    if inquiries is None:
        inquiries = np.zeros(listing_ids.size, dtype=np.int64)
    # Sorted, and repeated ids summed: one statement may not upsert a row twice.
    ids, inverse = np.unique(listing_ids, return_inverse=True)

    def summed(values: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=values.astype(np.float64), minlength=ids.size)

    exposure, deserved = summed(exposure), summed(deserved)
    impressions = np.rint(summed(impressions)).astype(np.int64)
    inquiries = np.rint(summed(inquiries)).astype(np.int64)
    now = timezone.now()
    table = _table()
    update = (
        " ON CONFLICT (listing_id) DO UPDATE SET "
        f"exposure = {table}.exposure + excluded.exposure, "
        f"deserved = {table}.deserved + excluded.deserved, "
        f"impressions = {table}.impressions + excluded.impressions, "
        f"inquiries = {table}.inquiries + excluded.inquiries, "
        "updated_at = excluded.updated_at"
    )
    columns = (
        f"INSERT INTO {table} (listing_id, exposure, deserved, impressions, inquiries, updated_at)"
    )
    if connection.vendor == "postgresql":
        # Whole arrays per statement (unnest keeps their order, so rows are
        # still locked by ascending id): a 1,000,000-row ledger in seconds
        # instead of minutes of row-by-row upserts.
        sql = (
            f"{columns} SELECT u.*, %s FROM unnest("  # noqa: S608
            "%s::bigint[], %s::double precision[], %s::double precision[], %s::bigint[],"
            f" %s::integer[]) AS u{update}"
        )
        with transaction.atomic(), connection.cursor() as cursor:
            for start in range(0, ids.size, _ARRAY_CHUNK):
                part = slice(start, start + _ARRAY_CHUNK)
                cursor.execute(
                    sql,
                    [
                        now,
                        ids[part].tolist(),
                        exposure[part].tolist(),
                        deserved[part].tolist(),
                        impressions[part].tolist(),
                        inquiries[part].tolist(),
                    ],
                )
        return
    rows = list(
        zip(
            ids.tolist(),
            exposure.tolist(),
            deserved.tolist(),
            impressions.tolist(),
            inquiries.tolist(),
            [now] * ids.size,
            strict=True,
        )
    )
    sql = f"{columns} VALUES (%s, %s, %s, %s, %s, %s){update}"
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), _UPSERT_CHUNK):
            cursor.executemany(sql, rows[start : start + _UPSERT_CHUNK])


def record_inquiry(listing_id: int) -> None:
    """Count an inquiry sent to `listing_id` (called by the inquiries app).

    Written at once, in the caller's transaction if there is one: inquiries
    are rare and each is a write anyway, so nothing is buffered or lost.
    """
    one = np.array([listing_id], dtype=np.int64)
    zero = np.zeros(1, dtype=np.float64)
    write_deltas(one, zero, zero, np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.int64))


class _Buffer:
    """This process's unflushed sums, per index build they were counted against."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        # id(listing_ids) -> (listing_ids, sums); the array is held so the id stays unique.
        self.pending: dict[int, tuple[np.ndarray, Accumulator]] = {}
        # Sums from failed flushes: (ids, exposure, deserved, impressions).
        self.carry: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.pages = 0
        self.last_flush = time.monotonic()
        self.flushing = False

    def add(self, index: ix.SpecialistIndex, page: Served) -> bool:
        """Add a page; True when a flush is due (and claimed by the caller)."""
        with self.lock:
            key = id(index.listing_ids)
            entry = self.pending.get(key)
            if entry is None or entry[0] is not index.listing_ids:
                entry = self.pending[key] = (index.listing_ids, Accumulator(index.size))
            entry[1].add(page)
            self.pages += 1
            due = not self.flushing and (
                self.pages >= FLUSH_PAGES or time.monotonic() - self.last_flush >= FLUSH_SECONDS
            )
            if due:
                self.flushing = True
            return due

    def take(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Everything unflushed, merged per listing id (ascending), and forget it."""
        with self.lock:
            pending, carry = self.pending, self.carry
            self.pending, self.carry = {}, []
            self.pages = 0
            self.last_flush = time.monotonic()
        parts = list(carry)
        for listing_ids, sums in pending.values():
            nz = sums.nonzero()
            parts.append((listing_ids[nz], sums.exposure[nz], sums.deserved[nz],
                          sums.impressions[nz]))  # fmt: skip
        if not parts:
            empty = np.empty(0)
            return empty.astype(np.int64), empty, empty, empty.astype(np.int64)
        ids = np.concatenate([p[0] for p in parts])
        unique, inverse = np.unique(ids, return_inverse=True)

        def summed(i: int) -> np.ndarray:
            values = np.concatenate([p[i] for p in parts]).astype(np.float64)
            return np.bincount(inverse, weights=values, minlength=unique.size)

        impressions = np.rint(summed(3)).astype(np.int64)
        return unique, summed(1), summed(2), impressions

    def give_back(self, sums: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> None:
        with self.lock:
            self.carry.append(sums)


_buffer = _Buffer()


def record(index: ix.SpecialistIndex, page: Served) -> None:
    """Count a served page (an append to this process's sums; no database write)."""
    if not page.shown.size:
        return
    if _buffer.add(index, page):
        _flusher.start()


def flush() -> int:
    """Write this process's sums to the ledger now; returns the rows written.

    Raises if the write fails; the sums are kept for the next flush.
    """
    sums = _buffer.take()
    if not sums[0].size:
        return 0
    try:
        write_deltas(*sums)
    except Exception:
        _buffer.give_back(sums)
        raise
    return int(sums[0].size)


def pending_pages() -> int:
    return _buffer.pages


_flusher = flushing.Flusher(
    "exposure ledger flush", _buffer, flush, lambda: bool(_buffer.pending or _buffer.carry), logger
)


# --- snapshots ------------------------------------------------------------------------------


def current_bucket(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // BUCKET_SECONDS)


_snapshots: OrderedDict[int, Snapshot] = OrderedDict()
_snapshot_lock = threading.Lock()


def _read_ledger() -> Snapshot:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT listing_id, exposure, deserved, inquiries FROM {_table()} "  # noqa: S608
            "ORDER BY listing_id"
        )
        rows = cursor.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    return Snapshot(
        bucket=0,
        listing_ids=np.array(columns[0], dtype=np.int64),
        exposure=np.array(columns[1], dtype=np.float64),
        deserved=np.array(columns[2], dtype=np.float64),
        inquiries=np.array(columns[3], dtype=np.int64),
    )


def _load(bucket: int, *, create: bool) -> Snapshot | None:
    from sekispe.search.models import ExposureSnapshot

    payload = ExposureSnapshot.objects.filter(bucket=bucket).values_list("payload", flat=True)
    stored = payload.first()
    if stored is None:
        if not create:
            return None
        built = _read_ledger()
        ExposureSnapshot.objects.bulk_create(
            [ExposureSnapshot(bucket=bucket, rows=built.listing_ids.size, payload=built.encode())],
            ignore_conflicts=True,
        )
        ExposureSnapshot.objects.filter(bucket__lt=bucket - KEEP_BUCKETS).delete()
        # Another process may have won the insert: everyone uses the stored row.
        stored = payload.first()
    return Snapshot.decode(bucket, bytes(stored))


def snapshot(bucket: int | None = None, *, now: float | None = None) -> Snapshot:
    """The ledger snapshot to order with: `bucket`'s if it still exists (an
    order token's), else the current bucket's, created if nobody has yet."""
    current = current_bucket(now)
    wanted = current if bucket is None else bucket
    found = _snapshots.get(wanted)
    if found is not None:
        return found
    with _snapshot_lock:
        found = _snapshots.get(wanted)
        if found is None and wanted != current:
            # Tokens are signed, so this bucket was served once; it may have been pruned.
            found = _load(wanted, create=current - 1 <= wanted <= current + 1)
        if found is None:
            wanted = current
            found = _snapshots.get(current) or _load(current, create=True)
        assert found is not None  # noqa: S101 (create=True always returns one)
        _snapshots[wanted] = found
        while len(_snapshots) > 4:
            _snapshots.popitem(last=False)
    return found


# How long before a bucket starts its snapshot is made and loaded, by each
# process's poller thread: at 1,000,000 listings reading the ledger takes
# seconds, which the first search of the bucket would otherwise wait for.
PREPARE_SECONDS = 120.0


def prepare(index: ix.SpecialistIndex, *, now: float | None = None) -> None:
    """Have the current bucket's snapshot, and the next one's once it is near,
    loaded and aligned with `index` (creating the next one if nobody has).

    The next bucket then orders by the ledger as it stood up to two minutes
    before the bucket began, instead of at its first search: the same kind of
    slightly old figure every bucket uses.
    """
    now = time.time() if now is None else now
    for moment in (now, now + PREPARE_SECONDS):
        found = snapshot(current_bucket(moment), now=now)
        found.bits_for(index)


ix.after_poll.append(prepare)


def reset() -> None:
    """Forget this process's sums and snapshots (tests; a new database)."""
    _buffer.clear()
    with _snapshot_lock:
        _snapshots.clear()


ix.after_reset.append(reset)


def maintenance(now: float | None = None) -> dict[str, Any]:
    """Daily: drop old snapshots and ledger rows of listings that no longer exist."""
    from sekispe.search.models import ExposureLedger, ExposureSnapshot

    flushed = flush()
    snapshots, _ = ExposureSnapshot.objects.filter(
        bucket__lt=current_bucket(now) - KEEP_BUCKETS
    ).delete()
    orphans, _ = ExposureLedger.objects.exclude(
        listing_id__in=Listing.objects.values("id")
    ).delete()
    return {"flushed_rows": flushed, "snapshots_deleted": snapshots, "ledger_rows_deleted": orphans}

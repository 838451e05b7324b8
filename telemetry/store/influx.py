"""Time-series store on InfluxDB over the 1.x HTTP API (`/write` line protocol, `/query` InfluxQL).

Schema (see docs/stores.md): measurement `readings`, tag `device_id` (and, for an event, tag
`event_key`: telemetry.identity), time = ts_ms, fields = the reading's values plus
`received_ms`. Bookkeeping lives in `innotrial_seq` (one point per
seq at time = seq ms, so redeliveries overwrite themselves), `innotrial_counters` (duplicate
increments summed at read time), `innotrial_fields` (the fields each device has sent) and
`innotrial_spans` (key ranges that may hold stored readings, see influx_spans).

InfluxDB silently overwrites a point with the same series and time, so `write` first asks
which keys of the batch may exist (spans) and, only for devices that overlap a span, which do
exist; it compares values and writes only new keys: an equal reading is a duplicate, a
different one a conflict that leaves the original in place. Writes from one store object are
serialised; two processes writing the same new key at the same instant can both see it absent
(the documented race in docs/stores.md).
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from telemetry.blocks import ReadingBlock, expand_blocks, keys_unique
from telemetry.identity import StoreKey, store_key
from telemetry.store.base import (
    RECEIVED_COLUMN,
    TS_COLUMN,
    DeviceStats,
    FieldKind,
    ReadingConflict,
    TimeSeriesStore,
    WriteResult,
    build_frame,
    dedupe_batch,
)
from telemetry.store.influx_blocks import block_bodies, block_format, block_keys, block_ranges
from telemetry.store.influx_check import find_existing
from telemetry.store.influx_http import DatabaseMissing, InfluxHttp, InfluxRejected
from telemetry.store.influx_lines import (
    COUNTERS_MEASUREMENT,
    DEVICE_TAG,
    FIELDS_MEASUREMENT,
    READINGS_MEASUREMENT,
    SEQ_MEASUREMENT,
    LineRenderer,
    Signature,
    device_filter,
    quote_ident,
)
from telemetry.store.influx_spans import (
    Span,
    ask_overlapping_devices,
    device_ranges,
    span_unspanned_devices,
    spans_for,
)
from telemetry.store.influx_url import InfluxUrl, parse_influx_url
from telemetry.store.influx_write import Stored, WritePlan, fingerprint, plan_write
from telemetry.wire import ReceivedReading

if TYPE_CHECKING:
    import pandas as pd

MIN_TIME_MS = -9_223_372_036_854
MAX_TIME_MS = 9_223_372_036_854
LINES_PER_POST = 2_500
MAX_ATTEMPTED = 1_000_000
"""Readings per POST: InfluxDB parses one body while the next is rendered (influx_pipeline)."""
_INFLUX_KINDS: dict[str, FieldKind] = {
    "float": "float", "integer": "int", "boolean": "bool", "string": "string",
}

Key = StoreKey


def _fields_by_device(signatures: Iterable[Signature]) -> dict[str, set[str]]:
    fields: dict[str, set[str]] = {}
    for device_id, names in signatures:
        fields.setdefault(device_id, set()).update(names)
    return fields


def _time_range(start_ms: int, end_ms: int) -> str:
    """InfluxQL condition start_ms <= time < end_ms."""
    return f"time >= {start_ms}ms AND time < {end_ms}ms"


class InfluxStore(TimeSeriesStore):
    """TimeSeriesStore on one InfluxDB 1.x database (also 2.x/3.x v1-compatible endpoints)."""

    def __init__(self, target: InfluxUrl, *, timeout_s: float = 30.0) -> None:
        self.url = target.display
        self.database = target.database
        self._http = InfluxHttp(target, timeout_s)
        self._render = LineRenderer()
        self._write_lock = threading.Lock()
        self._db_ready = False
        self._kinds: dict[str, FieldKind] = {}
        self._fields_sent: dict[str, set[str]] = {}
        self._writer = secrets.token_hex(4)
        self._last_counter_ms = 0
        self._pending: tuple[int, int] | None = None
        self._attempted: set[tuple[Key, int]] = set()
        """(store key, received_ms) of readings whose write failed (see plan_write)."""

    @classmethod
    def from_url(cls, url: str) -> InfluxStore:
        """Open `influxdb://[USER:PASS@]HOST:PORT/DATABASE` (no I/O until first use)."""
        return cls(parse_influx_url(url))

    # -- setup ---------------------------------------------------------------------
    def _ready(self) -> None:
        """Create the database once (needs admin rights; skipped when refused)."""
        if self._db_ready:
            return
        try:
            self._http.execute(f"CREATE DATABASE {quote_ident(self.database)}")
        except InfluxRejected as exc:
            if exc.status_code != 403:
                raise
        self._db_ready = True
        self._refresh_kinds()
        span_unspanned_devices(self._http, self._render, self.last_reading_ms, MIN_TIME_MS)

    def _refresh_kinds(self) -> dict[str, FieldKind]:
        """Reload the field types InfluxDB has fixed for the readings measurement."""
        kinds: dict[str, FieldKind] = {}
        statement = f"SHOW FIELD KEYS FROM {quote_ident(READINGS_MEASUREMENT)}"
        for chunk in self._http.query([statement]):
            for name, influx_type in chunk.values:
                if name != RECEIVED_COLUMN and influx_type in _INFLUX_KINDS:
                    kinds[name] = _INFLUX_KINDS[influx_type]
        self._kinds.update(kinds)  # in place: the renderer may be adding guesses meanwhile
        return self._kinds

    def _kinds_for(self, names: Iterable[str]) -> dict[str, FieldKind]:
        kinds = self._kinds
        if not all(name in kinds for name in names):
            kinds = self._refresh_kinds()
        return dict(kinds)

    # -- writing -------------------------------------------------------------------
    def write(
        self, batch: Sequence[ReceivedReading], seqs: Iterable[tuple[str, int]] = ()
    ) -> WriteResult:
        """Store new readings, count duplicates, report conflicts (key check, then POSTs)."""
        seq_list = list(seqs)
        if not batch and not seq_list:
            return WriteResult()
        with self._write_lock:
            self._ready()
            retry_counter_ms = self._retry_counter_ms(batch, seq_list)
            ranges = device_ranges((item.reading.device_id, item.reading.ts_ms) for item in batch)
            suspects = self._ask_suspects(ranges)  # answered while the batch is prepared
            unique, repeats, clashes = dedupe_batch(batch)
            signatures: set[Signature] = set()
            first = list(itertools.islice(unique.values(), LINES_PER_POST))
            first_lines = self._render.readings(first, self._kinds, signatures)
            existing = self._existing(unique, suspects())
            if existing:  # the first body holds stored keys: render the new readings anew
                first_lines, signatures = [], set()
            plan = plan_write(batch, unique, existing, attempted=self._attempted)
            result = WriteResult(stored=plan.stored_before, duplicates=repeats + plan.duplicates)
            result.conflicts.extend(
                ReadingConflict(first.reading, other) for first, other in clashes
            )
            result.conflicts.extend(plan.conflicts)
            counter_ms = self._next_counter_ms() if retry_counter_ms is None else retry_counter_ms
            keys = ((device_id, ts_ms) for device_id, ts_ms, _ in unique)
            spans = self._render.spans(spans_for(keys, ranges)) if plan.new_items else []
            try:
                self._post(lambda: self._bodies(
                    plan, spans, seq_list, counter_ms, signatures, first_lines
                ))
            except BaseException:
                self._pending = (fingerprint(batch, seq_list), counter_ms)
                self._remember_attempt(unique.values())
                raise
            self._pending = None
            if self._attempted:
                self._attempted.difference_update(
                    (key, item.received_ms) for key, item in unique.items())
            self._remember_fields(signatures)
        result.stored += len(plan.new_items)
        return result

    def write_blocks(
        self, blocks: Sequence[ReadingBlock], seqs: Iterable[tuple[str, int]] = ()
    ) -> WriteResult:
        """`write` for blocks (the contract of the base class); blocks whose keys are all
        new and whose fields are float or int columns go straight to line protocol."""
        seq_list = list(seqs)
        result = self._write_new_blocks(blocks, seq_list) if blocks else None
        return super().write_blocks(blocks, seq_list) if result is None else result

    def _write_new_blocks(
        self, blocks: Sequence[ReadingBlock], seqs: list[tuple[str, int]]
    ) -> WriteResult | None:
        """Write the blocks when no key can be stored yet (spans) nor repeats in the batch,
        and every block renders with one template; None, having written nothing, otherwise."""
        if not keys_unique(blocks):
            return None
        with self._write_lock:
            self._ready()
            if self._pending is not None:  # a failed write: its retry goes through `write`
                return None
            ranges = block_ranges(blocks)
            suspects = self._ask_suspects(ranges)  # answered while the blocks are checked
            maybe_forms = [block_format(self._render, block, self._kinds) for block in blocks]
            forms = [form for form in maybe_forms if form is not None]
            if suspects() or len(forms) < len(blocks):
                return None
            spans = self._render.spans(spans_for(block_keys(blocks), ranges))
            signatures = {(block.device_id, block.fields) for block in blocks}
            try:
                self._post(lambda: block_bodies(
                    blocks, forms, spans,
                    lambda: self._bookkeeping(WritePlan(), seqs, 0, signatures), LINES_PER_POST,
                ))
            except BaseException:
                self._pending = (fingerprint(expand_blocks(blocks), seqs), self._next_counter_ms())
                self._remember_attempt(expand_blocks(blocks))
                raise
            self._remember_fields(signatures)
        return WriteResult(stored=sum(map(len, blocks)))

    def _remember_attempt(self, items: Iterable[ReceivedReading]) -> None:
        if len(self._attempted) > MAX_ATTEMPTED:
            self._attempted.clear()  # bounded memory; at worst some later count as duplicates
        self._attempted.update((store_key(item.reading), item.received_ms) for item in items)

    def _retry_counter_ms(
        self, batch: Sequence[ReceivedReading], seqs: list[tuple[str, int]]
    ) -> int | None:
        """The counter time of a failed write of this very batch, so a retry overwrites it."""
        if self._pending is None or self._pending[0] != fingerprint(batch, seqs):
            return None
        return self._pending[1]

    def _next_counter_ms(self) -> int:
        self._last_counter_ms = max(time.time_ns() // 1_000_000, self._last_counter_ms + 1)
        return self._last_counter_ms

    def _ask_suspects(self, ranges: Mapping[str, Span]) -> Callable[[], set[str]]:
        """Send the spans query; the function returned gives the devices whose range overlaps
        a stored span (the only ones that need the exact check)."""
        return ask_overlapping_devices(self._http, ranges)

    def _existing(
        self, unique: Mapping[Key, ReceivedReading], suspects: set[str]
    ) -> dict[Key, Stored]:
        """Stored (received_ms, values) for the batch's keys that exist: the exact check, for
        the suspect devices only."""
        if not suspects:
            return {}
        if suspects != {key[0] for key in unique}:
            unique = {key: item for key, item in unique.items() if key[0] in suspects}
        return find_existing(self._http, unique, self._kinds_for)

    def _bodies(
        self, plan: WritePlan, spans: list[str], seqs: list[tuple[str, int]], counter_ms: int,
        signatures: set[Signature], first_lines: list[str],
    ) -> Iterator[bytes]:
        """Bodies of LINES_PER_POST new readings, rendered as they are sent (the first one may
        be rendered already), each after every span; the bookkeeping ends the last one. Adds
        the rendered (device, fields) pairs to `signatures`."""
        items = plan.new_items
        for start in range(0, len(items), LINES_PER_POST):
            if start == 0 and first_lines:
                lines = spans + first_lines
            else:
                chunk = items[start : start + LINES_PER_POST]
                lines = spans + self._render.readings(chunk, self._kinds, signatures)
            if start + LINES_PER_POST >= len(items):
                lines.extend(self._bookkeeping(plan, seqs, counter_ms, signatures))
            yield "\n".join(lines).encode()
        if not items:
            tail = self._bookkeeping(plan, seqs, counter_ms, signatures)
            if tail:
                yield "\n".join(tail).encode()

    def _post(self, bodies: Callable[[], Iterator[bytes]]) -> None:
        """POST the bodies; recreate a dropped database and POST them again once."""
        try:
            self._http.write(bodies())
        except DatabaseMissing:
            self._db_ready = False
            self._ready()
            self._http.write(bodies())

    def _bookkeeping(
        self, plan: WritePlan, seqs: list[tuple[str, int]], counter_ms: int,
        signatures: set[Signature],
    ) -> list[str]:
        """Lines for seqs, the per-device field registry and duplicate counters."""
        lines = self._render.seqs(seqs)
        for device_id, names in _fields_by_device(signatures).items():
            if not names.issubset(self._fields_sent.get(device_id, ())):
                lines.append(self._render.fields(device_id, names))
        if plan.duplicates_by_device:
            lines.extend(self._render.counters(plan.duplicates_by_device, self._writer, counter_ms))
        return lines

    def _remember_fields(self, signatures: set[Signature]) -> None:
        for device_id, names in _fields_by_device(signatures).items():
            self._fields_sent.setdefault(device_id, set()).update(names)

    # -- reading -------------------------------------------------------------------
    def device_fields(self, device_id: str) -> list[str]:
        """Field names ever stored for a device, sorted."""
        statement = (
            f"SELECT * FROM {quote_ident(FIELDS_MEASUREMENT)} WHERE {device_filter(device_id)}"
        )
        names: set[str] = set()
        for chunk in self._http.query([statement]):
            for row in chunk.values:
                names.update(
                    name for name, value in zip(chunk.columns, row, strict=True)
                    if value is not None and name not in ("time", DEVICE_TAG)
                )
        return sorted(names)

    def iter_read(
        self,
        device_id: str,
        start_ms: int,
        end_ms: int,
        columns: Sequence[str] | None = None,
        *,
        with_received: bool = False,
        chunk_rows: int = 50_000,
    ) -> Iterator[pd.DataFrame]:
        """Yield readings in [start_ms, end_ms) in ts order, `chunk_rows` at a time (streamed)."""
        fields = list(self.device_fields(device_id) if columns is None else columns)
        kinds = self._kinds_for(fields)
        names = [TS_COLUMN, RECEIVED_COLUMN, *fields]
        start_ms, end_ms = max(start_ms, MIN_TIME_MS), min(end_ms, MAX_TIME_MS)
        rows: list[list[Any]] = []
        emitted = False
        if start_ms < end_ms:
            select = ", ".join(quote_ident(name) for name in names[1:])
            statement = (
                f"SELECT {select} FROM {quote_ident(READINGS_MEASUREMENT)} "
                f"WHERE {device_filter(device_id)} AND {_time_range(start_ms, end_ms)}"
            )
            for chunk in self._http.query([statement], chunk_size=min(chunk_rows, 10_000)):
                rows.extend(chunk.values)
                while len(rows) >= chunk_rows:
                    emitted = True
                    yield self._frame(rows[:chunk_rows], names, kinds, with_received)
                    del rows[:chunk_rows]
        if rows or not emitted:
            yield self._frame(rows, names, kinds, with_received)

    @staticmethod
    def _frame(
        rows: list[list[Any]], names: list[str], kinds: Mapping[str, FieldKind], with_received: bool
    ) -> pd.DataFrame:
        frame = build_frame(rows, names, kinds)
        return frame if with_received else frame.drop(columns=[RECEIVED_COLUMN])

    def _scalar_rows(self, statements: Sequence[str]) -> dict[int, list[Any]]:
        """The first row of each statement's result, by statement index."""
        first: dict[int, list[Any]] = {}
        for chunk in self._http.query(statements):
            if chunk.values:
                first.setdefault(chunk.statement_id, chunk.values[0])
        return first

    def device_stats(self, device_id: str) -> DeviceStats:
        """Duplicates (summed increments) and seqs (COUNT, time of FIRST and LAST) of a device."""
        where = f"WHERE {device_filter(device_id)}"
        rows = self._scalar_rows([
            f'SELECT SUM("duplicates") FROM {quote_ident(COUNTERS_MEASUREMENT)} {where}',
            f'SELECT FIRST("n") FROM {quote_ident(SEQ_MEASUREMENT)} {where}',
            f'SELECT LAST("n") FROM {quote_ident(SEQ_MEASUREMENT)} {where}',
            f'SELECT COUNT("n") FROM {quote_ident(SEQ_MEASUREMENT)} {where}',
        ])
        duplicates = int(rows[0][1]) if 0 in rows and rows[0][1] is not None else 0
        seq_min = int(rows[1][0]) if 1 in rows else None
        seq_max = int(rows[2][0]) if 2 in rows else None
        distinct = int(rows[3][1]) if 3 in rows else 0
        return DeviceStats(device_id, duplicates, seq_min, seq_max, distinct)

    def count(self, device_id: str, start_ms: int, end_ms: int) -> int:
        """Stored readings of a device in [start_ms, end_ms)."""
        start_ms, end_ms = max(start_ms, MIN_TIME_MS), min(end_ms, MAX_TIME_MS)
        if start_ms >= end_ms:
            return 0
        rows = self._scalar_rows([
            f"SELECT COUNT({quote_ident(RECEIVED_COLUMN)}) "
            f"FROM {quote_ident(READINGS_MEASUREMENT)} "
            f"WHERE {device_filter(device_id)} AND {_time_range(start_ms, end_ms)}"
        ])
        return int(rows[0][1]) if 0 in rows else 0

    def last_reading_ms(self, device_id: str) -> int | None:
        """Newest stored ts_ms of a device (time of LAST)."""
        rows = self._scalar_rows([
            f"SELECT LAST({quote_ident(RECEIVED_COLUMN)}) FROM {quote_ident(READINGS_MEASUREMENT)} "
            f"WHERE {device_filter(device_id)}"
        ])
        return int(rows[0][0]) if 0 in rows else None

    def check(self) -> None:
        """Raise StoreUnavailable unless /ping answers; create the database if missing."""
        self._http.ping()
        self._ready()

    def close(self) -> None:
        """Close pooled HTTP connections."""
        self._http.close()

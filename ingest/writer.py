"""Commit a batch of processed messages: readings to the store, dead letters and gateway
status to the registry, each retried with backoff until it succeeds or the worker stops.

Only after `commit` returns may the caller acknowledge the batch's messages.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import chain
from typing import TypeVar

from ingest.errors import Aborted
from ingest.logfmt import kv
from ingest.metrics import IngestMetrics
from ingest.processing import Processed, reading_excerpt
from registry.db import Registry
from registry.dead_letters import DeadLetterRecord, add_dead_letters
from registry.errors import RegistryError, RegistryRefused
from registry.gateway_status import record_gateway_status
from telemetry.store.base import (
    FieldTypeRejected,
    ReadingConflict,
    StoreError,
    StoreRejected,
    TimeSeriesStore,
    WriteResult,
)
from telemetry.wire import ReceivedReading, reading_to_wire

log = logging.getLogger("innotrial.ingest")
T = TypeVar("T")
U = TypeVar("U")


def _halves(items: list[U]) -> list[list[U]]:
    """A list of two or more items as its two halves."""
    middle = len(items) // 2
    return [items[:middle], items[middle:]]


@dataclass(frozen=True, slots=True)
class CommitSummary:
    """What one committed batch did."""

    messages: int
    stored: int
    duplicates: int
    rejected: int


def reading_dead_letter(source: Processed | None, incoming: ReceivedReading, reason: str,
                        detail: str) -> DeadLetterRecord:
    """A dead letter for one validated reading the store refused; `source` is the message it
    came in (None for an imported reading)."""
    reading = incoming.reading
    message = source.message if source is not None else None
    return DeadLetterRecord(
        received_ms=incoming.received_ms,
        reason=reason,
        detail=detail,
        source="mqtt" if message is not None and message.topic else "import",
        topic=message.topic if message is not None else None,
        gateway_id=source.gateway_id if source is not None else None,
        device_id=reading.device_id,
        seq=source.seq[1] if source is not None and source.seq is not None else None,
        ts_ms=reading.ts_ms,
        payload_excerpt=reading_excerpt(reading_to_wire(reading)),
        redelivered=message.dup if message is not None else False,
    )


def conflict_dead_letters(batch: list[Processed],
                          conflicts: list[ReadingConflict]) -> list[DeadLetterRecord]:
    """One `conflict` dead letter per reading the store refused as a conflicting rewrite."""
    if not conflicts:
        return []
    owner: dict[int, Processed] = {id(r): p for p in batch for r in p.readings}
    records = []
    for conflict in conflicts:
        reading = conflict.incoming.reading
        detail = (f"device {reading.device_id!r} ts_ms {reading.ts_ms} is already stored with "
                  f"{dict(conflict.existing.values)}; incoming {dict(reading.values)}")
        records.append(reading_dead_letter(owner.get(id(conflict.incoming)), conflict.incoming,
                                           "conflict", detail))
    return records


def _add_up(total: WriteResult, part: WriteResult) -> None:
    total.stored += part.stored
    total.duplicates += part.duplicates
    total.conflicts.extend(part.conflicts)


def is_transient(exc: BaseException) -> bool:
    """True for a failure that retrying the same write may cure: the store or registry cannot
    be reached, times out, answers 5xx, is locked, or refuses the credentials. Anything else
    a store raises is taken as refusing the data written."""
    if isinstance(exc, StoreError):
        return not isinstance(exc, StoreRejected)
    return isinstance(exc, RegistryError) and not isinstance(exc, RegistryRefused)


def write_readings_around(write: Callable[[list[ReceivedReading]], WriteResult],
                          source: Processed | None, readings: list[ReceivedReading],
                          total: WriteResult, refused: list[DeadLetterRecord]) -> None:
    """Write readings with `write`, halving them while the store refuses them for good; a
    single refused reading is a dead letter: `type_mismatch` for a field type the store fixed
    otherwise, `store_rejected` for anything else, with the store's message as detail.
    A transient failure (and Aborted) is raised; `source` is the message the readings came in
    (None for imported ones)."""
    if not readings:
        return
    try:
        _add_up(total, write(readings))
        return
    except Aborted:
        raise
    except Exception as exc:  # refused for good: narrow it down further
        if is_transient(exc):
            raise
        if len(readings) == 1:
            reason = "type_mismatch" if isinstance(exc, FieldTypeRejected) else "store_rejected"
            log.warning(kv("store_rejected", device=readings[0].reading.device_id,
                           ts_ms=readings[0].reading.ts_ms, reason=reason,
                           error=repr(exc)[:300]))
            refused.append(reading_dead_letter(source, readings[0], reason,
                                               f"the store refused the reading: {exc!r}"))
            return
    for part in _halves(readings):
        write_readings_around(write, source, part, total, refused)


class BatchCommitter:
    """Writes batches durably, retrying while the store or registry is down."""

    def __init__(self, store: TimeSeriesStore, registry: Registry, metrics: IngestMetrics,
                 abort: threading.Event, *, max_backoff_s: float = 5.0) -> None:
        self.store = store
        self.registry = registry
        self.metrics = metrics
        self.abort = abort
        self.max_backoff_s = max_backoff_s

    def _retry(self, target: str, action: Callable[[], T]) -> T:
        """Run `action` until it succeeds; a transient failure is retried with backoff, any
        other exception raised (the caller narrows it down)."""
        delay_s = 0.1
        failures = 0
        while True:
            try:
                result = action()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                failures += 1
                self.metrics.store_errors.labels(target).inc()
                log.warning(kv("write_failed", target=target, attempt=failures,
                               retry_in_s=round(delay_s, 2), error=str(exc)[:300]))
                if self.abort.wait(delay_s):
                    raise Aborted(f"stopped while retrying the {target} write") from exc
                delay_s = min(delay_s * 2, self.max_backoff_s)
                continue
            if failures:
                log.info(kv("write_recovered", target=target, attempts=failures + 1))
            return result

    def commit(self, batch: list[Processed]) -> CommitSummary:
        """Write a batch; returns once everything is durable (raises Aborted when stopping).

        Never raises for the data itself: what the store refuses for good is narrowed down to
        the readings that cause it, which become dead letters; the rest is stored."""
        started = time.perf_counter()
        blocks = list(chain.from_iterable(p.blocks for p in batch))
        seqs = [p.seq for p in batch if p.seq is not None]
        result = WriteResult()
        refused: list[DeadLetterRecord] = []
        if blocks or seqs:
            try:
                result = self._retry("store", lambda: self.store.write_blocks(blocks, seqs))
            except Aborted:
                raise
            except Exception as exc:  # refused for good: narrow it down (is_transient)
                log.warning(kv("store_refused_batch", messages=len(batch), error=repr(exc)[:300],
                               note="narrowing down to the refused readings"))
                self._narrow(batch, result, refused)
        rejected = [d for p in batch for d in p.dead_letters]
        rejected.extend(conflict_dead_letters(batch, result.conflicts))
        rejected.extend(refused)
        statuses = [p for p in batch if p.status is not None]
        written: list[DeadLetterRecord] = []
        if rejected or statuses:
            written = self._write_registry_safely(rejected, statuses)
        metrics = self.metrics
        metrics.stored.inc(result.stored)
        metrics.duplicates.inc(result.duplicates)
        for record in written:
            metrics.rejected.labels(record.reason).inc()
        metrics.messages.inc(len(batch))
        metrics.batch_readings.observe(sum(map(len, blocks)))
        metrics.batch_seconds.observe(time.perf_counter() - started)
        return CommitSummary(len(batch), result.stored, result.duplicates, len(written))

    def _write_around(self, items: list[Processed], total: WriteResult,
                      refused: list[DeadLetterRecord]) -> None:
        """Write messages, splitting them in halves while the store refuses them; a single
        refused message is written reading by reading."""
        blocks = [block for item in items for block in item.blocks]
        seqs = [item.seq for item in items if item.seq is not None]
        if not blocks and not seqs:
            return
        try:
            _add_up(total, self._retry("store", partial(self.store.write_blocks, blocks, seqs)))
            return
        except Aborted:
            raise
        except Exception:  # refused for good: narrow it down further
            self._narrow(items, total, refused)

    def _narrow(self, items: list[Processed], total: WriteResult,
                refused: list[DeadLetterRecord]) -> None:
        """Messages the store refused together: each half again, or a single message's
        readings one part at a time and then its seq."""
        if len(items) > 1:
            for part in _halves(items):
                self._write_around(part, total, refused)
            return
        item = items[0]
        write_readings_around(self._write_retried, item, item.readings, total, refused)
        if item.seq is not None:
            try:
                _add_up(total, self._retry("store", partial(self.store.write, [], [item.seq])))
            except Aborted:
                raise
            except Exception as exc:  # cannot be refused after the wire bounds; never halt
                log.error(kv("seq_not_recorded", device=item.seq[0], seq=item.seq[1],
                             error=repr(exc)[:300]))

    def _write_retried(self, readings: list[ReceivedReading]) -> WriteResult:
        """store.write, retried while the store is down."""
        return self._retry("store", partial(self.store.write, readings))

    def _write_registry_safely(self, dead: list[DeadLetterRecord],
                               statuses: list[Processed]) -> list[DeadLetterRecord]:
        """`_write_registry`, retried while the registry is down; when it refuses the rows
        for good, each dead letter and status on its own, logging and leaving out any it
        refuses (so no message can stop ingest here either)."""
        try:
            return self._retry("registry", lambda: self._write_registry(dead, statuses))
        except Aborted:
            raise
        except Exception as exc:
            log.warning(kv("registry_refused_batch", error=repr(exc)[:300],
                           note="writing dead letters and statuses one by one"))
        written: list[DeadLetterRecord] = []
        parts: list[tuple[list[DeadLetterRecord], list[Processed]]] = [
            ([record], []) for record in dead]
        parts.extend(([], [item]) for item in statuses)
        for records, items in parts:
            try:
                written.extend(self._retry("registry",
                                           partial(self._write_registry, records, items)))
            except Aborted:
                raise
            except Exception as exc:  # the registry refuses this row for good: log, go on
                log.error(kv("registry_refused", error=repr(exc)[:300],
                             reason=records[0].reason if records else "status"))
        return written

    def _write_registry(self, dead: list[DeadLetterRecord],
                        statuses: list[Processed]) -> list[DeadLetterRecord]:
        """Dead letters and gateway statuses in one transaction; returns the dead letters
        added (a redelivered message's dead letters may be stored already)."""
        with self.registry.session() as session:
            added = add_dead_letters(session, dead)
            for item in statuses:
                assert item.status is not None
                gateway_id, status = item.status
                if record_gateway_status(session, gateway_id, status, item.message.received_ms):
                    online = 1.0 if status.get("state") == "online" else 0.0
                    self.metrics.gateways_online.labels(gateway_id).set(online)
        return added

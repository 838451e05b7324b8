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
from registry.errors import RegistryError
from registry.gateway_status import record_gateway_status
from telemetry.store.base import (
    FieldTypeRejected,
    ReadingConflict,
    StoreError,
    TimeSeriesStore,
    WriteResult,
)
from telemetry.wire import ReceivedReading, reading_to_wire

log = logging.getLogger("innotrial.ingest")
T = TypeVar("T")


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
        delay_s = 0.1
        failures = 0
        while True:
            try:
                result = action()
            except FieldTypeRejected:
                raise  # retrying cannot help; the caller writes around it
            except (StoreError, RegistryError) as exc:
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
        """Write a batch; returns once everything is durable (raises Aborted when stopping)."""
        started = time.perf_counter()
        blocks = list(chain.from_iterable(p.blocks for p in batch))
        seqs = [p.seq for p in batch if p.seq is not None]
        result = WriteResult()
        refused: list[DeadLetterRecord] = []
        if blocks or seqs:
            try:
                result = self._retry("store", lambda: self.store.write_blocks(blocks, seqs))
            except FieldTypeRejected as exc:
                log.warning(kv("field_type_conflict", error=str(exc)[:300],
                               note="writing the batch message by message"))
                result, refused = self._write_each(batch)
        rejected = [d for p in batch for d in p.dead_letters]
        rejected.extend(conflict_dead_letters(batch, result.conflicts))
        rejected.extend(refused)
        statuses = [p for p in batch if p.status is not None]
        written: list[DeadLetterRecord] = []
        if rejected or statuses:
            written = self._retry("registry", lambda: self._write_registry(rejected, statuses))
        metrics = self.metrics
        metrics.stored.inc(result.stored)
        metrics.duplicates.inc(result.duplicates)
        for record in written:
            metrics.rejected.labels(record.reason).inc()
        metrics.messages.inc(len(batch))
        metrics.batch_readings.observe(sum(map(len, blocks)))
        metrics.batch_seconds.observe(time.perf_counter() - started)
        return CommitSummary(len(batch), result.stored, result.duplicates, len(written))

    def _write_each(self, batch: list[Processed]) -> tuple[WriteResult, list[DeadLetterRecord]]:
        """Write a batch the store refused for a field type, message by message and, within a
        refused message, reading by reading: the readings it refuses become `type_mismatch`
        dead letters, everything else is stored (or found stored: a partial write)."""
        total = WriteResult()
        refused: list[DeadLetterRecord] = []
        store = self.store
        for item in batch:
            seqs = [item.seq] if item.seq is not None else []
            if not item.blocks and not seqs:
                continue
            try:
                _add_up(total, self._retry("store", partial(store.write_blocks, item.blocks, seqs)))
                continue
            except FieldTypeRejected:
                pass
            for reading in item.readings:
                try:
                    _add_up(total, self._retry("store", partial(store.write, [reading])))
                except FieldTypeRejected as exc:
                    refused.append(reading_dead_letter(item, reading, "type_mismatch",
                                                       f"the store refused the value: {exc}"))
            if seqs:
                _add_up(total, self._retry("store", partial(store.write, [], seqs)))
        return total, refused

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

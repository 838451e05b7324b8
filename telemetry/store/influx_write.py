"""Deciding what an InfluxStore write stores: new keys, duplicates, conflicts, retries.

Pure functions, so the rules are testable without a server. A key already stored with equal
values is a duplicate and one with other values a conflict, except for a reading whose earlier
write failed (a retry of the batch, or of a part of it while ingest narrows down a refused
batch): a stored point with equal values *and* the same received_ms was written by that failed
attempt (InfluxDB may apply a write whose reply was lost, or the valid points of a partial
write), so it counts as stored, not as a duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from telemetry.identity import StoreKey, store_key
from telemetry.store.base import ReadingConflict
from telemetry.wire import FieldValue, Reading, ReceivedReading

Key = StoreKey
Stored = tuple[int, dict[str, FieldValue]]
"""What InfluxDB holds for a key: received_ms and the field values."""


@dataclass(slots=True)
class WritePlan:
    """The outcome of comparing a batch with what is stored, before anything is written."""

    new_items: list[ReceivedReading] = field(default_factory=list)
    stored_before: int = 0
    duplicates: int = 0
    conflicts: list[ReadingConflict] = field(default_factory=list)
    duplicates_by_device: dict[str, int] = field(default_factory=dict)


def fingerprint(batch: Sequence[ReceivedReading], seqs: Sequence[tuple[str, int]]) -> int:
    """A hash identifying a batch (keys and received times) and its seqs, to spot retries."""
    keys = tuple((item.reading.device_id, item.reading.ts_ms, item.received_ms) for item in batch)
    return hash((keys, tuple(seqs)))


def _count_repeats(
    batch: Sequence[ReceivedReading], unique: Mapping[Key, ReceivedReading], plan: WritePlan
) -> None:
    """Per-device counts of exact repeats inside the batch (dedupe_batch counted the total)."""
    if len(unique) == len(batch):
        return
    firsts = {id(item) for item in unique.values()}
    for item in batch:
        if id(item) in firsts:
            continue
        first = unique[store_key(item.reading)]
        if first.reading.same_values(item.reading):
            device_id = item.reading.device_id
            plan.duplicates_by_device[device_id] = plan.duplicates_by_device.get(device_id, 0) + 1


def plan_write(
    batch: Sequence[ReceivedReading],
    unique: Mapping[Key, ReceivedReading],
    existing: Mapping[Key, Stored],
    *,
    attempted: AbstractSet[tuple[Key, int]],
) -> WritePlan:
    """Split the batch's unique readings into new items, duplicates and conflicts;
    `attempted` holds the (key, received_ms) of readings whose write failed."""
    plan = WritePlan()
    _count_repeats(batch, unique, plan)
    if not existing:
        plan.new_items = list(unique.values())
        return plan
    for key, item in unique.items():
        stored = existing.get(key)
        if stored is None:
            plan.new_items.append(item)
            continue
        received_ms, values = stored
        incoming = item.reading.values
        if values != incoming and values != dict(incoming):
            plan.conflicts.append(ReadingConflict(Reading(key[0], key[1], values), item))
        elif received_ms == item.received_ms and (key, received_ms) in attempted:
            plan.stored_before += 1
        else:
            plan.duplicates += 1
            plan.duplicates_by_device[key[0]] = plan.duplicates_by_device.get(key[0], 0) + 1
    return plan

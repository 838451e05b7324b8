"""Reading blocks: the readings of one message that share one field set, as plain rows.

Ingest validates a typical message whole and keeps it as one `ReadingBlock` instead of two
objects per reading; a store that can write blocks natively (SQLite) builds its rows from
them with C-level loops, any other store gets them expanded to `ReceivedReading`s.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from itertools import repeat
from operator import itemgetter
from types import MemberDescriptorType
from typing import Any

from telemetry.wire import FieldValue, Reading, ReceivedReading

TS_KEY = "ts_ms"


def values_getter(keys: Sequence[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """Items of all `keys` (names of a mapping, positions of a row) from something that has
    every one of them, as a tuple, in C."""
    if len(keys) == 1:
        key = keys[0]
        return lambda values: (values[key],)
    if not keys:
        return lambda values: ()
    getter: Callable[[Any], tuple[Any, ...]] = itemgetter(*keys)
    return getter


def fields_of(columns: Sequence[str]) -> tuple[str, ...]:
    """The field names among a block's columns (all but `ts_ms`)."""
    return tuple(name for name in columns if name != TS_KEY)


class ReadingBlock:
    """Readings of one device, received together, that carry exactly the same fields.

    `columns` names the items of every row: `ts_ms` and the field names, in any order
    (a message's own key order). A key (device_id, ts_ms) may occur more than once; the
    store sorts that out as for any other batch.
    """

    __slots__ = ("_received", "columns", "device_id", "received_ms", "rows")

    def __init__(self, device_id: str, received_ms: int, columns: tuple[str, ...],
                 rows: list[tuple[FieldValue, ...]]) -> None:
        self.device_id = device_id
        self.received_ms = received_ms
        self.columns = columns
        self.rows = rows
        self._received: list[ReceivedReading] | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return (f"ReadingBlock({self.device_id!r}, {self.received_ms}, {self.columns!r}, "
                f"{len(self.rows)} rows)")

    @property
    def fields(self) -> tuple[str, ...]:
        """The field names (the columns without `ts_ms`)."""
        return fields_of(self.columns)

    def stamps(self) -> list[int]:
        """The ts_ms of every row, in row order."""
        return list(map(itemgetter(self.columns.index(TS_KEY)), self.rows))

    def received_readings(self) -> list[ReceivedReading]:
        """The block as ReceivedReadings, built on first use: the same objects every call,
        so a store's ReadingConflict can be traced back to the block it came from."""
        if self._received is None:
            names = self.fields
            positions = [self.columns.index(name) for name in names]
            every = values_getter(positions)
            values = list(map(dict, map(zip, repeat(names), map(every, self.rows))))
            self._received = make_received_many(self.device_id, self.stamps(), values,
                                                self.received_ms)
        return self._received


def blocks_of_readings(device_id: str, received_ms: int,
                       readings: Sequence[Reading]) -> list[ReadingBlock]:
    """Readings of one device as blocks, one per run of consecutive readings with the same
    field names (so expanding the blocks gives back the readings in their order)."""
    blocks: list[ReadingBlock] = []
    run_fields: tuple[str, ...] | None = None
    for reading in readings:
        fields = tuple(reading.values)
        row = (reading.ts_ms, *reading.values.values())
        if fields == run_fields:
            blocks[-1].rows.append(row)
        else:
            blocks.append(ReadingBlock(device_id, received_ms, (TS_KEY, *fields), [row]))
            run_fields = fields
    return blocks


def keys_unique(blocks: Sequence[ReadingBlock]) -> bool:
    """True when no (device_id, ts_ms) occurs twice in `blocks`."""
    stamps_by_device: dict[str, list[int]] = {}
    for block in blocks:
        stamps_by_device.setdefault(block.device_id, []).extend(block.stamps())
    return all(len(set(stamps)) == len(stamps) for stamps in stamps_by_device.values())


def expand_blocks(blocks: Sequence[ReadingBlock]) -> list[ReceivedReading]:
    """All readings of `blocks`, in order, as ReceivedReadings."""
    if len(blocks) == 1:
        return blocks[0].received_readings()
    return [item for block in blocks for item in block.received_readings()]


def _fast_constructors() -> Callable[
        [str, list[int], list[dict[str, FieldValue]], int], list[ReceivedReading]]:
    """A constructor of many frozen, slotted Reading/ReceivedReading that skips __init__'s
    per-field object.__setattr__ (with C-level loops); a plain one when the classes are not
    slotted."""
    slots = (Reading.__dict__.get("device_id"), Reading.__dict__.get("ts_ms"),
             Reading.__dict__.get("values"), ReceivedReading.__dict__.get("reading"),
             ReceivedReading.__dict__.get("received_ms"))
    if not all(isinstance(slot, MemberDescriptorType) for slot in slots):
        def plain_many(device_id: str, stamps: list[int], values: list[dict[str, FieldValue]],
                       received_ms: int) -> list[ReceivedReading]:
            return [ReceivedReading(Reading(device_id, ts, raw), received_ms)
                    for ts, raw in zip(stamps, values, strict=True)]

        return plain_many
    set_device, set_ts, set_values, set_reading, set_received = (
        slot.__set__ for slot in slots)  # type: ignore[union-attr]
    new = object.__new__

    def make_many(device_id: str, stamps: list[int], values: list[dict[str, FieldValue]],
                  received_ms: int) -> list[ReceivedReading]:
        count = len(stamps)
        readings: list[Reading] = list(map(new, repeat(Reading, count)))
        _drain(map(set_device, readings, repeat(device_id, count)))
        _drain(map(set_ts, readings, stamps))
        _drain(map(set_values, readings, values))
        items: list[ReceivedReading] = list(map(new, repeat(ReceivedReading, count)))
        _drain(map(set_reading, items, readings))
        _drain(map(set_received, items, repeat(received_ms, count)))
        return items

    return make_many


def _drain(calls: Iterator[object]) -> None:
    """Run a lazy map for its effects, in C."""
    deque(calls, maxlen=0)


make_received_many = _fast_constructors()

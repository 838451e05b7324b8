"""The time-series store contract shared by every backend.

A store keeps readings keyed by (device_id, ts_ms, event key) (telemetry.identity: the event
key is "" for periodic readings, the values of the profile's key fields for events) plus the
per-device bookkeeping that METRICS.md needs: received time per reading, duplicates dropped,
and the seq numbers seen. Writing is idempotent: a redelivered reading is counted as a
duplicate and changes nothing; a different reading under an existing key is a conflict,
reported and never stored.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from telemetry.blocks import ReadingBlock, expand_blocks
from telemetry.errors import ServiceUnavailable, UserError
from telemetry.identity import StoreKey, store_keys
from telemetry.wire import FieldValue, Reading, ReceivedReading

if TYPE_CHECKING:  # pandas is imported where frames are built: the CLI and gateway never need it
    import pandas as pd

TS_COLUMN = "ts_ms"
RECEIVED_COLUMN = "received_ms"

FieldKind = Literal["float", "int", "bool", "string"]
"""Storage type of a field; every backend returns the same pandas dtype for each kind."""


class StoreError(Exception):
    """Base class of store errors."""


class StoreUnavailable(StoreError, ServiceUnavailable):
    """The store cannot be reached or refused the operation; retrying later may succeed."""

    service = "store"


class StoreRejected(StoreError):
    """The store refused the data written for good (a value it cannot hold, a bad request):
    writing the same data again can never succeed; ingest narrows it down to the message."""


class FieldTypeRejected(StoreRejected):
    """The store holds a field with another type than a value being written (InfluxDB fixes
    a field's type); writing that reading again can never succeed."""


class BadStoreUrl(StoreError, UserError):
    """A store URL that cannot be used; `url` is the offending value."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"store URL {url!r}: {problem}")


@dataclass(frozen=True, slots=True)
class ReadingConflict:
    """An incoming reading whose key is already stored with different values."""

    existing: Reading
    incoming: ReceivedReading


@dataclass(slots=True)
class WriteResult:
    """What one batch write did."""

    stored: int = 0
    duplicates: int = 0
    conflicts: list[ReadingConflict] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DeviceStats:
    """Per-device bookkeeping kept by the store."""

    device_id: str
    duplicates: int
    seq_min: int | None
    seq_max: int | None
    seq_distinct: int

    @property
    def seq_missing(self) -> int:
        """(max seq - min seq + 1) - distinct seqs seen; 0 with no messages (METRICS.md)."""
        if self.seq_min is None or self.seq_max is None:
            return 0
        return (self.seq_max - self.seq_min + 1) - self.seq_distinct


def dedupe_batch(
    batch: Sequence[ReceivedReading],
) -> tuple[dict[StoreKey, ReceivedReading], int, list[tuple[ReceivedReading, ReceivedReading]]]:
    """Collapse repeats of a store key inside one batch.

    Returns the first reading per key, the count of exact repeats, and (first, other) pairs
    whose values differ (conflicts within the batch).
    """
    keys = store_keys([item.reading for item in batch])
    unique = dict(zip(keys, batch, strict=True))
    if len(unique) == len(batch):  # the usual case: no key twice, nothing more to do
        return unique, 0, []
    unique = {}
    repeats = 0
    clashes: list[tuple[ReceivedReading, ReceivedReading]] = []
    for key, item in zip(keys, batch, strict=True):
        first = unique.get(key)
        if first is None:
            unique[key] = item
        elif first.reading.same_values(item.reading):
            repeats += 1
        else:
            clashes.append((first, item))
    return unique, repeats, clashes


def field_kind(value: FieldValue) -> FieldKind:
    """The storage kind of a field value (enums are strings)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "string"


def _nullable_bools(column: pd.Series) -> pd.Series:
    import pandas as pd

    values = [None if pd.isna(value) else bool(value) for value in column]
    return pd.Series(values, index=column.index, dtype=object)


def build_frame(
    rows: Sequence[Sequence[object]], columns: Sequence[str], kinds: Mapping[str, FieldKind]
) -> pd.DataFrame:
    """A read result frame with the dtypes every backend agrees on.

    `ts_ms` and `received_ms` are int64; float fields float64 (NaN for absent); int fields
    int64, or float64 when some are absent; bool fields bool, or object True/False/None when
    some are absent; string fields and fields of unknown kind object (None for absent).
    """
    import pandas as pd

    frame = pd.DataFrame.from_records(rows, columns=list(columns))  # type: ignore[arg-type]
    for name in columns:
        if name in (TS_COLUMN, RECEIVED_COLUMN):
            frame[name] = frame[name].astype("int64")
            continue
        kind = kinds.get(name)
        column = frame[name]
        if kind == "float":
            frame[name] = column.astype("float64")
        elif kind == "int":
            frame[name] = column.astype("float64" if column.isna().any() else "int64")
        elif kind == "bool":
            frame[name] = _nullable_bools(column) if column.isna().any() else column.astype(bool)
        elif kind == "string" or len(column) == 0 or column.isna().all():
            frame[name] = column.astype(object).where(column.notna(), None)
    return frame


class TimeSeriesStore(ABC):
    """Readings keyed by (device_id, ts_ms, event key), with per-device bookkeeping."""

    url: str

    @abstractmethod
    def write(
        self, batch: Sequence[ReceivedReading], seqs: Iterable[tuple[str, int]] = ()
    ) -> WriteResult:
        """Store new readings and record the (device_id, seq) pairs seen, durably.

        Exact redeliveries count as duplicates (also per device in DeviceStats); readings
        whose key is stored with other values are returned as conflicts and not written.
        Raises StoreUnavailable when the store cannot be written; nothing is then half-done
        that a retry of the same batch would not repair.
        """

    def write_blocks(
        self, blocks: Sequence[ReadingBlock], seqs: Iterable[tuple[str, int]] = ()
    ) -> WriteResult:
        """`write` for readings given as blocks, in block order; the same contract.

        A conflict's `incoming` is one of the block's own `received_readings()`. This default
        expands the blocks and calls `write`; a backend may write blocks natively.
        """
        return self.write(expand_blocks(blocks), seqs)

    @abstractmethod
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
        """Yield a device's readings with start_ms <= ts_ms < end_ms, ordered by ts_ms, in chunks.

        Several events at one ts_ms (different event keys) are each a row.

        Each frame has `ts_ms` (int64), then `received_ms` if asked, then the field
        `columns` in the order given (all fields ever stored for the device when None).
        A field the device never sent is a column of nulls.
        """

    def read(
        self,
        device_id: str,
        start_ms: int,
        end_ms: int,
        columns: Sequence[str] | None = None,
        *,
        with_received: bool = False,
    ) -> pd.DataFrame:
        """All of a device's readings in [start_ms, end_ms) as one DataFrame (see iter_read)."""
        frames = list(
            self.iter_read(
                device_id, start_ms, end_ms, columns,
                with_received=with_received, chunk_rows=1_000_000,
            )
        )
        if len(frames) == 1:
            return frames[0]
        import pandas as pd

        return pd.concat(frames, ignore_index=True)

    @abstractmethod
    def device_stats(self, device_id: str) -> DeviceStats:
        """Duplicates dropped and seq numbers seen for a device (zeros when unknown)."""

    @abstractmethod
    def count(self, device_id: str, start_ms: int, end_ms: int) -> int:
        """Number of stored readings of a device with start_ms <= ts_ms < end_ms."""

    @abstractmethod
    def last_reading_ms(self, device_id: str) -> int | None:
        """Largest stored ts_ms of a device, or None."""

    def check(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Raise StoreUnavailable unless the store answers."""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release connections."""

    def __enter__(self) -> TimeSeriesStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

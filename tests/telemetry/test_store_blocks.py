"""The block-write contract: `write_blocks` does exactly what `write` of the expanded readings
does (results, conflicts, stored rows, bookkeeping), on SQLite and on a real InfluxDB, which
both write blocks natively."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemetry.blocks import ReadingBlock, expand_blocks
from telemetry.store.base import TimeSeriesStore, WriteResult
from telemetry.store.influx import InfluxStore
from telemetry.store.sqlite import SQLiteStore
from telemetry.store.sqlite_rows import statement_sizes
from telemetry.wire import FieldValue, ReceivedReading
from tests.influx_service import InfluxDB
from tests.telemetry.store_helpers import T0_MS

FOREVER_MS = 2**62
Step = tuple[list[ReadingBlock], list[tuple[str, int]]]
OpenStore = Callable[[], TimeSeriesStore]
"""Opens a new, empty store of the backend under test."""


@pytest.fixture(params=["sqlite", "influxdb"])
def open_empty(request: pytest.FixtureRequest, tmp_path: Path) -> OpenStore:
    numbers = itertools.count()
    if request.param == "sqlite":
        return lambda: SQLiteStore(tmp_path / f"store-{next(numbers)}.db")
    influxdb: InfluxDB = request.getfixturevalue("influxdb")
    return lambda: InfluxStore.from_url(influxdb.store_url(influxdb.new_database_name()))


def _block(device_id: str, received_ms: int, fields: Sequence[str],
           rows: Iterable[tuple[int, Sequence[FieldValue]]]) -> ReadingBlock:
    return ReadingBlock(device_id, received_ms, ("ts_ms", *fields),
                        [(ts, *values) for ts, values in rows])


def _result_view(result: WriteResult) -> tuple[int, int, list[tuple[object, object]]]:
    return (result.stored, result.duplicates,
            [(c.existing, c.incoming) for c in result.conflicts])


def _store_view(store: TimeSeriesStore, devices: Iterable[str]) -> list[object]:
    view: list[object] = []
    for device_id in sorted(devices):
        frame = store.read(device_id, 0, FOREVER_MS, with_received=True)
        view.append((device_id, store.device_fields(device_id), store.device_stats(device_id),
                     frame.astype(object).where(frame.notna(), None).to_dict("list"),
                     {name: str(dtype) for name, dtype in frame.dtypes.items()}))
    return view


def _assert_same_as_write(open_empty: OpenStore, steps: Sequence[Step]) -> list[WriteResult]:
    """Apply steps with write_blocks to one store and with write to another; compare."""
    blocks_store, rows_store = open_empty(), open_empty()
    results = []
    devices: set[str] = set()
    for blocks, seqs in steps:
        devices.update(block.device_id for block in blocks)
        devices.update(device_id for device_id, _ in seqs)
        got = blocks_store.write_blocks(blocks, seqs)
        want = rows_store.write(expand_blocks(blocks), seqs)
        assert _result_view(got) == _result_view(want)
        results.append(got)
    assert _store_view(blocks_store, devices) == _store_view(rows_store, devices)
    blocks_store.close()
    rows_store.close()
    return results


def test_new_blocks_of_mixed_shapes_are_stored_like_their_readings(open_empty: OpenStore) -> None:
    steps: list[Step] = [
        ([_block("d-1", T0_MS + 5, ["rain_mm", "battery_v"], [(T0_MS, (0.1, 3.6)), (T0_MS + 1, (0.2, 3.5))]),
          _block("d-1", T0_MS + 6, ["rain_mm"], [(T0_MS + 2, (0.3,))]),
          _block("d-2", T0_MS + 7, ["alarm", "pair_id", "count"], [(T0_MS, (True, "p-1", 3))]),
          ReadingBlock("d-2", T0_MS + 8, ("count", "ts_ms"), [(4, T0_MS + 1)])],
         [("d-1", 1), ("d-1", 2), ("d-2", 7)]),
        ([], [("d-3", 0)]),
    ]
    [first, empty] = _assert_same_as_write(open_empty, steps)
    assert (first.stored, first.duplicates, first.conflicts) == (5, 0, [])
    assert (empty.stored, empty.duplicates, empty.conflicts) == (0, 0, [])


def test_redelivered_and_conflicting_blocks_fall_back_with_the_same_outcome(open_empty: OpenStore) -> None:
    original = _block("d-1", T0_MS, ["a"], [(T0_MS + i, (float(i),)) for i in range(10)])
    redelivered = _block("d-1", T0_MS + 99, ["a"], [(T0_MS + i, (float(i),)) for i in range(5, 15)])
    clash = _block("d-1", T0_MS + 100, ["a"], [(T0_MS + 3, (-1.0,)), (T0_MS + 20, (1.0,))])
    steps: list[Step] = [([original], [("d-1", 1)]), ([redelivered, clash], [("d-1", 1), ("d-1", 2)])]
    _, second = _assert_same_as_write(open_empty, steps)
    assert (second.stored, second.duplicates) == (6, 5)
    [conflict] = second.conflicts
    assert conflict.incoming is clash.received_readings()[0]  # traceable to its block


def test_repeats_inside_one_batch_of_blocks(open_empty: OpenStore) -> None:
    first = _block("rg-1", T0_MS, ["a"], [(T0_MS, (0.5,))])
    again = _block("rg-1", T0_MS + 1, ["a"], [(T0_MS, (0.5,)), (T0_MS + 1, (1.5,))])
    clash = _block("rg-1", T0_MS + 2, ["a"], [(T0_MS, (-2.0,))])
    [result] = _assert_same_as_write(open_empty, [([first, again, clash], [])])
    assert (result.stored, result.duplicates, len(result.conflicts)) == (2, 1, 1)


def test_simultaneous_events_inside_one_batch_of_blocks(open_empty: OpenStore) -> None:
    """Another event_type at the same ts is another event (its key), not a conflict."""
    first = _block("lm-1", T0_MS, ["event_type"], [(T0_MS, ("heartbeat",))])
    again = _block("lm-1", T0_MS + 1, ["event_type"], [(T0_MS, ("heartbeat",)), (T0_MS + 1, ("fault_door",))])
    other = _block("lm-1", T0_MS + 2, ["event_type"], [(T0_MS, ("fault_door",))])
    [result] = _assert_same_as_write(open_empty, [([first, again, other], [])])
    assert (result.stored, result.duplicates, len(result.conflicts)) == (3, 1, 0)


def test_large_batches_span_many_statements(open_empty: OpenStore) -> None:
    blocks = [_block(f"d-{m % 3}", T0_MS + m, ["a", "b"],
                     [(T0_MS + (m * 60 + i) * 1000, (float(i), i)) for i in range(60)]) for m in range(150)]
    blocks.append(_block("d-big", T0_MS, ["a"], [(T0_MS + i, (i / 3,)) for i in range(700)]))
    blocks.append(_block("d-odd", T0_MS, ["b"], [(T0_MS + i, (i,)) for i in range(7)]))
    seqs = [(f"d-{seq % 3}", seq) for seq in range(5_000)]  # more than one statement's worth
    [result] = _assert_same_as_write(open_empty, [(blocks, seqs)])
    assert result.stored == 150 * 60 + 700 + 7


@given(st.integers(0, 100_000), st.integers(1, 5_000))
def test_statement_sizes_cover_the_rows_with_few_shapes(total: int, most: int) -> None:
    sizes = list(statement_sizes(total, most))
    assert sum(sizes) == total
    assert all(0 < size <= most for size in sizes)
    assert sizes == sorted(sizes, reverse=True)
    assert len(set(sizes)) <= 1 + most.bit_length()
    assert len(sizes) <= total // most + most.bit_length()


_values = st.sampled_from([0.5, 1.5, -2.0])


@st.composite
def _steps(draw: st.DrawFn) -> list[Step]:
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        blocks = []
        for _ in range(draw(st.integers(0, 4))):
            fields = draw(st.sampled_from([("a",), ("a", "b"), ("b", "a"), ("c",)]))
            stamps = draw(st.lists(st.integers(0, 12), min_size=1, max_size=6))
            rows = [(T0_MS + ts, tuple(draw(_values) for _ in fields)) for ts in stamps]
            blocks.append(_block(draw(st.sampled_from(["d-1", "d-2"])),
                                 T0_MS + draw(st.integers(0, 3)), fields, rows))
        seqs = draw(st.lists(st.tuples(st.sampled_from(["d-1", "d-2"]), st.integers(0, 5)), max_size=3))
        steps.append((blocks, seqs))
    return steps


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_steps())
def test_any_sequence_of_block_writes_matches_writes_of_its_readings(
    open_empty: OpenStore, steps: list[Step]
) -> None:
    _assert_same_as_write(open_empty, steps)


class _RecordingStore(SQLiteStore):
    """A store that only has `write` of its own: it gets the base class's write_blocks."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.batches: list[list[ReceivedReading]] = []

    def write(self, batch: Sequence[ReceivedReading],
              seqs: Iterable[tuple[str, int]] = ()) -> WriteResult:
        self.batches.append(list(batch))
        return super().write(batch, seqs)

    write_blocks = TimeSeriesStore.write_blocks


def test_default_write_blocks_expands_in_order_into_write(tmp_path: Path) -> None:
    store = _RecordingStore(tmp_path / "r.db")
    blocks = [_block("d-1", 5, ["a"], [(2, (1.0,)), (1, (2.0,))]), _block("d-2", 6, ["b"], [(1, (3.0,))])]
    result = store.write_blocks(blocks, [("d-1", 4)])
    assert result.stored == 3
    [batch] = store.batches
    assert batch == blocks[0].received_readings() + blocks[1].received_readings()
    assert all(a is b for a, b in zip(batch, expand_blocks(blocks), strict=True))
    assert store.device_stats("d-1").seq_distinct == 1
    assert pd.Series(store.read("d-1", 0, 10)["a"]).tolist() == [2.0, 1.0]
    store.close()

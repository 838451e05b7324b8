"""BatchCommitter on real stores: what a store refuses for good (a field type conflict, a
value or time it cannot hold) dead-letters just the refused readings, stores the rest, and
never stalls or stops the worker on a write that cannot succeed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.metrics import IngestMetrics
from ingest.processing import InboundMessage, Processed
from ingest.writer import BatchCommitter
from registry.db import Registry, open_registry
from registry.dead_letters import list_dead_letters
from telemetry.blocks import blocks_of_readings
from telemetry.store.base import TimeSeriesStore
from telemetry.store.influx import InfluxStore
from telemetry.store.sqlite import SQLiteStore
from telemetry.wire import Reading
from tests.influx_service import InfluxDB
from tests.telemetry.store_helpers import T0_MS, rr

FOREVER_MS = 2**62


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    yield registry
    registry.close()


def _message(device_id: str, seq: int, readings: list[Reading]) -> Processed:
    received_ms = T0_MS + 10_000
    topic = f"innotrial/v1/gw-1/{device_id}/readings"
    return Processed(InboundMessage(topic, b"{}", received_ms, seq + 1, 1),
                     blocks_of_readings(device_id, received_ms, readings),
                     seq=(device_id, seq), gateway_id="gw-1")


def test_field_type_conflict_dead_letters_only_the_refused_readings(
    influxdb: InfluxDB, influx_database: str, registry: Registry,
) -> None:
    store = InfluxStore.from_url(influxdb.store_url(influx_database))
    store.write([rr("d-old", T0_MS, level="high")])  # InfluxDB now holds `level` as a string
    batch = [
        _message("d-1", 0, [Reading("d-1", T0_MS + i, {"rain_mm": 0.5}) for i in range(3)]),
        _message("d-2", 0, [Reading("d-2", T0_MS, {"rain_mm": 0.1}),
                            Reading("d-2", T0_MS + 1, {"level": 1.5}),  # refused: float
                            Reading("d-2", T0_MS + 2, {"rain_mm": 0.3})]),
        _message("d-3", 4, [Reading("d-3", T0_MS, {"rain_mm": 0.7})]),
    ]
    committer = BatchCommitter(store, registry, IngestMetrics(), threading.Event())
    summary = committer.commit(batch)
    assert summary.rejected == 1
    assert summary.stored + summary.duplicates == 6  # a partial write may have stored some
    assert [store.count(d, 0, FOREVER_MS) for d in ("d-1", "d-2", "d-3")] == [3, 2, 1]
    assert store.read("d-2", 0, FOREVER_MS)["ts_ms"].tolist() == [T0_MS, T0_MS + 2]
    assert [(d, store.device_stats(d).seq_max) for d in ("d-1", "d-2", "d-3")] == [
        ("d-1", 0), ("d-2", 0), ("d-3", 4)]
    with registry.session() as session:
        [letter] = list_dead_letters(session)
        assert (letter.reason, letter.device_id, letter.ts_ms, letter.seq) == (
            "type_mismatch", "d-2", T0_MS + 1, 0)
        assert "field type conflict" in letter.detail
        assert letter.topic == "innotrial/v1/gw-1/d-2/readings"
    store.close()


@pytest.mark.parametrize("backend", ["sqlite", "influxdb"])
def test_a_reading_the_store_refuses_is_a_store_rejected_dead_letter_and_the_rest_is_stored(
    backend: str, tmp_path: Path, registry: Registry, request: pytest.FixtureRequest,
) -> None:
    """Readings that passed no wire bounds (written here straight from Processed): SQLite
    cannot hold an integer of 2**63, InfluxDB no time past 2262. Neither halts the commit."""
    store: TimeSeriesStore
    if backend == "sqlite":
        store = SQLiteStore(tmp_path / "r.db")
        poison = Reading("d-2", T0_MS + 1, {"count": 2**63})
    else:
        influxdb: InfluxDB = request.getfixturevalue("influxdb")
        store = InfluxStore.from_url(influxdb.store_url(request.getfixturevalue("influx_database")))
        poison = Reading("d-2", 2**62, {"rain_mm": 0.2})
    batch = [_message(f"d-{k}", k, [Reading(f"d-{k}", T0_MS + i, {"rain_mm": 0.5}) for i in range(4)])
             for k in range(5)]
    batch[2] = _message("d-2", 2, [Reading("d-2", T0_MS, {"rain_mm": 0.1}), poison])
    metrics = IngestMetrics()
    summary = BatchCommitter(store, registry, metrics, threading.Event()).commit(batch)
    assert (summary.messages, summary.stored, summary.rejected) == (5, 17, 1)
    assert [store.count(f"d-{k}", 0, FOREVER_MS) for k in range(5)] == [4, 4, 1, 4, 4]
    assert [store.device_stats(f"d-{k}").seq_max for k in range(5)] == [0, 1, 2, 3, 4]
    assert metrics.rejected.labels("store_rejected")._value.get() == 1
    with registry.session() as session:
        [letter] = list_dead_letters(session)
    assert (letter.reason, letter.device_id, letter.ts_ms, letter.seq) == (
        "store_rejected", "d-2", poison.ts_ms, 2)
    assert "the store refused the reading" in letter.detail
    store.close()

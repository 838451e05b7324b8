"""BatchCommitter on a real InfluxDB: a field type conflict dead-letters just the refused
readings, stores the rest, and never stalls the worker on a write that cannot succeed."""

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
from telemetry.store.influx import InfluxStore
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

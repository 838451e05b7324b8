"""Stores written before event keys existed: upgraded in place, every reading kept, and
simultaneous events stored from then on (SQLite file, and a real InfluxDB)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from telemetry.store.influx import InfluxStore
from telemetry.store.sqlite import SQLiteStore
from tests.influx_service import InfluxDB
from tests.telemetry.store_helpers import T0_MS, rr

FOREVER_MS = 2**62
OLD_SCHEMA = """
CREATE TABLE readings (device_id TEXT NOT NULL, ts_ms INTEGER NOT NULL,
    received_ms INTEGER NOT NULL, PRIMARY KEY (device_id, ts_ms)) WITHOUT ROWID;
CREATE TABLE reading_fields (device_id TEXT NOT NULL, field TEXT NOT NULL,
    PRIMARY KEY (device_id, field)) WITHOUT ROWID;
CREATE TABLE message_seqs (device_id TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (device_id, seq)) WITHOUT ROWID;
CREATE TABLE device_counters (device_id TEXT PRIMARY KEY, duplicates INTEGER NOT NULL DEFAULT 0);
ALTER TABLE readings ADD COLUMN "event_type" TEXT;
ALTER TABLE readings ADD COLUMN "rain_mm" REAL;
INSERT INTO readings VALUES ('lc-1', 1764201600000, 1764201600250, 'fault_door', NULL);
INSERT INTO readings VALUES ('lc-1', 1764201601000, 1764201601250, 'in_service', NULL);
INSERT INTO readings VALUES ('rg-1', 1764201600000, 1764201600400, NULL, 0.2);
INSERT INTO reading_fields VALUES ('lc-1', 'event_type'), ('rg-1', 'rain_mm');
INSERT INTO message_seqs VALUES ('lc-1', 7);
"""


def _old_sqlite_file(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    conn.commit()
    conn.close()


def test_an_old_sqlite_file_is_upgraded_in_place_and_keeps_every_reading(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_sqlite_file(path)
    store = SQLiteStore(path)
    frame = store.read("lc-1", 0, FOREVER_MS, with_received=True)
    assert frame.to_dict("records") == [
        {"ts_ms": T0_MS, "received_ms": T0_MS + 250, "event_type": "fault_door"},
        {"ts_ms": T0_MS + 1000, "received_ms": T0_MS + 1250, "event_type": "in_service"}]
    assert store.read("rg-1", 0, FOREVER_MS)["rain_mm"].tolist() == [0.2]
    assert store.device_stats("lc-1").seq_distinct == 1
    # the stored event has its event key: a redelivery is a duplicate, another event is stored
    result = store.write([rr("lc-1", T0_MS, event_type="fault_door"),
                          rr("lc-1", T0_MS, event_type="out_of_service")])
    assert (result.stored, result.duplicates, result.conflicts) == (1, 1, [])
    assert store.read("rg-1", 0, FOREVER_MS)["rain_mm"].tolist() == [0.2]
    assert store.write([rr("rg-1", T0_MS, rain_mm=0.9)]).conflicts  # periodic key unchanged
    store.close()
    conn = sqlite3.connect(path)
    keys = conn.execute("SELECT device_id, ts_ms, event_key FROM readings ORDER BY 1, 2, 3").fetchall()
    conn.close()
    assert keys == [("lc-1", T0_MS, "event_type:fault_door"), ("lc-1", T0_MS, "event_type:out_of_service"),
                    ("lc-1", T0_MS + 1000, "event_type:in_service"), ("rg-1", T0_MS, "")]
    assert SQLiteStore(path).count("lc-1", 0, FOREVER_MS) == 3  # a second open changes nothing


def test_influx_points_written_without_the_event_key_tag_are_still_found(
    influxdb: InfluxDB, influx_database: str
) -> None:
    """InfluxDB data of innotrial 0.1 stays as it is: an old point (no event_key tag) is found
    by its values, so its redelivery is a duplicate and a simultaneous event is stored."""
    store = InfluxStore.from_url(influxdb.store_url(influx_database))
    store.check()
    old = (f'readings,device_id=lc-1 event_type="fault_door",received_ms={T0_MS + 250}i {T0_MS}\n'
           f'innotrial_fields,device_id=lc-1 event_type=true 0')
    with httpx.Client(trust_env=False) as http:
        reply = http.post(f"{influxdb.base_url}/write",
                          params={"db": influx_database, "precision": "ms"}, content=old.encode())
    assert reply.status_code == 204
    store.close()
    store = InfluxStore.from_url(influxdb.store_url(influx_database))  # spans the old data
    result = store.write([rr("lc-1", T0_MS, event_type="fault_door"),
                          rr("lc-1", T0_MS, event_type="out_of_service")])
    assert (result.stored, result.duplicates, result.conflicts) == (1, 1, [])
    frame = store.read("lc-1", 0, FOREVER_MS)
    assert sorted(frame["event_type"].tolist()) == ["fault_door", "out_of_service"]
    assert store.count("lc-1", 0, FOREVER_MS) == 2
    store.close()

"""Readings downloads (CSV, JSON, Parquet, streamed) and the cached metrics endpoint."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from analytics.runner import analyze_trial
from portal_api.downloads import csv_chunks, plan_export
from portal_api.metrics_cache import MetricsCache
from registry.queries import get_trial_spec, rejected_counts
from telemetry.wire import Reading, ReceivedReading
from tests.portal_api.conftest import T0_MS, Portal

MINUTE_MS = 60_000


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Downloads and metrics read the store; the registry backend is covered by the route tests."""
    return f"sqlite:///{tmp_path / 'registry.db'}"


def test_csv_has_profile_columns_and_empty_cells(portal: Portal) -> None:
    portal.write("a-dut", [(T0_MS, 0.2), (T0_MS + MINUTE_MS, 0.0)])
    portal.store.write([ReceivedReading(Reading("a-ref", T0_MS, {"rain_mm": 1.5, "battery_v": 3.6}),
                                        T0_MS + 100)])
    response = portal.client.get("/api/v1/trials/t-a/readings", headers=portal.auth("acme"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines() == [
        "ts_ms,device_id,rain_mm,battery_v,rssi_dbm",
        f"{T0_MS},a-dut,0.2,,",
        f"{T0_MS + MINUTE_MS},a-dut,0.0,,",
        f"{T0_MS},a-ref,1.5,3.6,",
    ]


def test_device_and_time_filters(portal: Portal) -> None:
    portal.write("a-dut", [(T0_MS + i * MINUTE_MS, float(i)) for i in range(5)])
    params = {"device_id": "a-dut", "start": str(T0_MS + MINUTE_MS),
              "end": "2025-11-24T16:03:00Z"}
    response = portal.client.get("/api/v1/trials/t-a/readings", params=params,
                                 headers=portal.auth("acme"))
    assert [line.split(",")[2] for line in response.text.splitlines()[1:]] == ["1.0", "2.0"]
    bad = portal.client.get("/api/v1/trials/t-a/readings", params={"start": "yesterday"},
                            headers=portal.auth("acme"))
    assert bad.status_code == 422 and "start" in bad.json()["detail"]
    unknown = portal.client.get("/api/v1/trials/t-a/readings", params={"device_id": "b-dut"},
                                headers=portal.auth("acme"))
    assert unknown.status_code == 404 and unknown.json() == {"detail": "device not found"}


def test_json_and_parquet_formats(portal: Portal) -> None:
    portal.write("a-dut", [(T0_MS, 0.2), (T0_MS + MINUTE_MS, 0.4)])
    base = {"device_id": "a-dut"}
    rows = portal.client.get("/api/v1/trials/t-a/readings", params={**base, "format": "json"},
                             headers=portal.auth("acme")).json()
    assert rows == [
        {"ts_ms": T0_MS, "device_id": "a-dut", "rain_mm": 0.2, "battery_v": None, "rssi_dbm": None},
        {"ts_ms": T0_MS + MINUTE_MS, "device_id": "a-dut", "rain_mm": 0.4, "battery_v": None,
         "rssi_dbm": None}]
    raw = portal.client.get("/api/v1/trials/t-a/readings", params={**base, "format": "parquet"},
                            headers=portal.auth("acme")).content
    table = pq.read_table(io.BytesIO(raw))
    assert table.column_names == ["ts_ms", "device_id", "rain_mm", "battery_v", "rssi_dbm"]
    assert table.column("rain_mm").to_pylist() == [0.2, 0.4]
    empty = portal.client.get("/api/v1/trials/t-a/readings", params={"device_id": "a-ref",
                              "format": "parquet"}, headers=portal.auth("acme")).content
    assert pq.read_table(io.BytesIO(empty)).num_rows == 0
    assert json.loads(portal.client.get("/api/v1/trials/t-a/readings", params={
        "device_id": "a-ref", "format": "json"}, headers=portal.auth("acme")).content) == []


def test_csv_is_produced_chunk_by_chunk(portal: Portal) -> None:
    portal.write("a-dut", [(T0_MS + i * MINUTE_MS, 0.1) for i in range(25)])
    export = plan_export([("a-dut", "rain_gauge")], T0_MS, T0_MS + 3_600_000)
    chunks = list(csv_chunks(portal.store, export, chunk_rows=10))
    assert [chunk.count(b"\n") for chunk in chunks] == [1, 10, 10, 5]


def test_metrics_match_analyze_and_recompute_on_new_data(portal: Portal) -> None:
    portal.write("a-dut", [(T0_MS + i * MINUTE_MS, 0.2) for i in range(10)])
    portal.write("a-ref", [(T0_MS + i * MINUTE_MS, 0.2) for i in range(10)])
    first = portal.client.get("/api/v1/trials/t-a/metrics", headers=portal.auth("acme")).json()
    with portal.registry.session() as session:
        spec = get_trial_spec(session, "t-a")
        rejected = rejected_counts(session, ["a-dut", "a-ref"])
    expected = json.loads(json.dumps(analyze_trial(spec, portal.store, rejected)))
    assert first["trial_id"] == "t-a"
    assert first["quality"]["a-dut"]["received"] == expected["quality"]["a-dut"]["received"] == 10
    assert first["comparisons"] == expected["comparisons"]
    portal.write("a-dut", [(T0_MS + 10 * MINUTE_MS, 0.2)])
    second = portal.client.get("/api/v1/trials/t-a/metrics", headers=portal.auth("acme")).json()
    assert second["quality"]["a-dut"]["received"] == 11


def test_metrics_cache_computes_once_for_unchanged_data() -> None:
    cache = MetricsCache(ttl_s=60, check_interval_s=1)
    calls: list[int] = []
    key = [("k", 1)]
    checks: list[int] = []

    def fingerprint() -> object:
        checks.append(1)
        return key[0]

    def compute() -> dict[str, object]:
        calls.append(1)
        return {"n": len(calls)}

    assert cache.get("t", 0, True, fingerprint, compute) == {"n": 1}
    assert cache.get("t", 500, True, fingerprint, compute) == {"n": 1}
    assert len(checks) == 1  # within the check interval the store is not asked
    assert cache.get("t", 59_000, True, fingerprint, compute) == {"n": 1}
    assert len(checks) == 2
    assert cache.get("t", 61_000, True, fingerprint, compute) == {"n": 2}  # TTL while running
    assert cache.get("t", 10**9, False, fingerprint, compute) == {"n": 3}  # finished: key only
    assert cache.get("t", 10**12, False, fingerprint, compute) == {"n": 3}
    key[0] = ("k", 2)  # new data
    assert cache.get("t", 10**12 + 999, False, fingerprint, compute) == {"n": 3}
    assert cache.get("t", 10**12 + 1_000, False, fingerprint, compute) == {"n": 4}

"""One contract for every TimeSeriesStore backend: SQLite on a temp file, InfluxDB on a real influxd."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from telemetry.store import DeviceStats, TimeSeriesStore, open_store
from telemetry.wire import FieldValue, ReceivedReading
from tests.influx_service import InfluxDB
from tests.telemetry.store_helpers import T0_MS, rain_series, rr

FOREVER_MS = 2**62


@pytest.fixture(params=["sqlite", "influxdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TimeSeriesStore]:
    """A fresh, empty store of each backend, opened through its store URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    else:
        server: InfluxDB = request.getfixturevalue("influxdb")
        url = server.store_url(request.getfixturevalue("influx_database"))
    with open_store(url) as opened:
        yield opened


def expected_rain_frame(items: Sequence[ReceivedReading], with_received: bool = False) -> pd.DataFrame:
    rows = {
        "ts_ms": np.array([i.reading.ts_ms for i in items], dtype="int64"),
        **({"received_ms": np.array([i.received_ms for i in items], dtype="int64")} if with_received else {}),
        "battery_v": np.array([i.reading.values.get("battery_v", np.nan) for i in items], dtype="float64"),
        "rain_mm": np.array([i.reading.values["rain_mm"] for i in items], dtype="float64"),
    }
    return pd.DataFrame(rows)


def test_100k_readings_round_trip_in_batches(store: TimeSeriesStore) -> None:
    items = rain_series("rg-a", 100_000)
    stored = 0
    for start in range(0, len(items), 5_000):
        result = store.write(items[start : start + 5_000], [("rg-a", start // 5_000)])
        assert result.duplicates == 0 and result.conflicts == []
        stored += result.stored
    assert stored == 100_000
    frame = store.read("rg-a", 0, FOREVER_MS, with_received=True)
    pd.testing.assert_frame_equal(frame, expected_rain_frame(items, with_received=True))
    chunks = list(store.iter_read("rg-a", 0, FOREVER_MS, ["rain_mm"], chunk_rows=30_000))
    assert [len(chunk) for chunk in chunks] == [30_000, 30_000, 30_000, 10_000]
    assert pd.concat(chunks, ignore_index=True)["rain_mm"].tolist() == [i.reading.values["rain_mm"] for i in items]
    assert store.count("rg-a", 0, FOREVER_MS) == 100_000
    assert store.last_reading_ms("rg-a") == items[-1].reading.ts_ms


def test_rewritten_batch_is_all_duplicates_and_changes_nothing(store: TimeSeriesStore) -> None:
    items = rain_series("rg-a", 500)
    assert store.write(items).stored == 500
    before = store.read("rg-a", 0, FOREVER_MS, with_received=True)
    redelivered = [rr("rg-a", i.reading.ts_ms, i.received_ms + 60_000, **i.reading.values) for i in items]
    result = store.write(redelivered)
    assert (result.stored, result.duplicates, result.conflicts) == (0, 500, [])
    assert store.device_stats("rg-a").duplicates == 500
    assert store.write(redelivered[:10]).duplicates == 10
    assert store.device_stats("rg-a").duplicates == 510
    pd.testing.assert_frame_equal(store.read("rg-a", 0, FOREVER_MS, with_received=True), before)


def test_same_key_other_values_is_a_conflict_and_keeps_the_original(store: TimeSeriesStore) -> None:
    original = rr("fs-1", T0_MS, skin_temp_c=36.5, alarm=False, pair_id="p-1")
    store.write([original, rr("fs-1", T0_MS + 1000, skin_temp_c=37.0, alarm=True, pair_id="p-2")])
    incoming = rr("fs-1", T0_MS, skin_temp_c=38.5, alarm=True, pair_id="p-1")
    result = store.write([incoming, rr("fs-1", T0_MS + 2000, skin_temp_c=36.0, alarm=False, pair_id="p-3")])
    assert result.stored == 1 and result.duplicates == 0
    assert len(result.conflicts) == 1
    conflict = result.conflicts[0]
    assert conflict.incoming == incoming
    assert conflict.existing == original.reading
    assert dict(conflict.existing.values) == {"skin_temp_c": 36.5, "alarm": False, "pair_id": "p-1"}
    assert isinstance(conflict.existing.values["alarm"], bool)
    frame = store.read("fs-1", T0_MS, T0_MS + 1)
    assert frame.to_dict("records") == [{"ts_ms": T0_MS, "alarm": False, "pair_id": "p-1", "skin_temp_c": 36.5}]
    assert store.device_stats("fs-1").duplicates == 0
    assert store.count("fs-1", 0, FOREVER_MS) == 3


def test_repeats_inside_one_batch(store: TimeSeriesStore) -> None:
    first = rr("uv-1", T0_MS, event="dose_report", target_id="t-1", dose_mj_cm2=5.0)
    repeat = rr("uv-1", T0_MS, T0_MS + 999, event="dose_report", target_id="t-1", dose_mj_cm2=5.0)
    clash = rr("uv-1", T0_MS, event="dose_report", target_id="t-1", dose_mj_cm2=6.0)
    other_device = rr("uv-2", T0_MS, event="dose_report", target_id="t-1", dose_mj_cm2=5.0)
    result = store.write([first, repeat, clash, other_device])
    assert (result.stored, result.duplicates) == (2, 1)
    assert [(c.existing, c.incoming) for c in result.conflicts] == [(first.reading, clash)]
    assert store.device_stats("uv-1").duplicates == 1
    assert store.device_stats("uv-2").duplicates == 0
    frame = store.read("uv-1", 0, FOREVER_MS, ["event", "target_id", "dose_mj_cm2"], with_received=True)
    assert frame.to_dict("records") == [{"ts_ms": T0_MS, "received_ms": T0_MS + 250, "event": "dose_report",
                                         "target_id": "t-1", "dose_mj_cm2": 5.0}]


def _records(store: TimeSeriesStore, device_id: str, columns: list[str]) -> list[dict[str, object]]:
    frame = store.read(device_id, 0, FOREVER_MS, columns, with_received=True)
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return sorted(records, key=lambda row: (row["ts_ms"], *(str(row[name]) for name in columns)))


def test_simultaneous_events_of_two_identities_are_both_stored(store: TimeSeriesStore) -> None:
    door = rr("lc-1", T0_MS, event_type="fault_door")
    out = rr("lc-1", T0_MS, event_type="out_of_service")
    assert store.write([door]).stored == 1
    result = store.write([out, rr("lc-1", T0_MS + 1000, event_type="in_service")])
    assert (result.stored, result.duplicates, result.conflicts) == (2, 0, [])
    assert store.count("lc-1", T0_MS, T0_MS + 1) == 2
    assert [row["event_type"] for row in _records(store, "lc-1", ["event_type"])] == [
        "fault_door", "out_of_service", "in_service"]
    redelivered = store.write([door, out])
    assert (redelivered.stored, redelivered.duplicates, redelivered.conflicts) == (0, 2, [])
    assert store.device_stats("lc-1").duplicates == 2
    assert store.last_reading_ms("lc-1") == T0_MS + 1000


def test_uv_mission_end_reports_every_target_at_one_ts(store: TimeSeriesStore) -> None:
    doses = [rr("uv-1", T0_MS, event="dose_report", target_id=f"t-{k}", dose_mj_cm2=float(k)) for k in range(4)]
    end = rr("uv-1", T0_MS, event="mission_end", battery_pct=40.0)
    assert store.write([*doses, end]).stored == 5
    stored = _records(store, "uv-1", ["event", "target_id", "dose_mj_cm2"])
    assert [(row["event"], row["target_id"], row["dose_mj_cm2"]) for row in stored] == [
        ("dose_report", f"t-{k}", float(k)) for k in range(4)] + [("mission_end", None, None)]
    changed = rr("uv-1", T0_MS, event="dose_report", target_id="t-2", dose_mj_cm2=9.0)
    result = store.write([changed, doses[3]])
    assert (result.stored, result.duplicates) == (0, 1)
    [conflict] = result.conflicts
    assert (conflict.existing, conflict.incoming) == (doses[2].reading, changed)
    assert [row["dose_mj_cm2"] for row in _records(store, "uv-1", ["event", "target_id", "dose_mj_cm2"])][:4] == [
        0.0, 1.0, 2.0, 3.0]


def test_fever_pairs_are_told_apart_by_pair_id(store: TimeSeriesStore) -> None:
    a = rr("fs-1", T0_MS, skin_temp_c=36.5, alarm=False, pair_id="p-1")
    b = rr("fs-1", T0_MS, skin_temp_c=38.1, alarm=True, pair_id="p-2")
    assert store.write([a, b]).stored == 2
    assert [row["pair_id"] for row in _records(store, "fs-1", ["pair_id", "skin_temp_c"])] == ["p-1", "p-2"]
    result = store.write([rr("fs-1", T0_MS, skin_temp_c=37.0, alarm=False, pair_id="p-2")])
    assert [(c.existing, c.incoming.reading.values["skin_temp_c"]) for c in result.conflicts] == [(b.reading, 37.0)]


def test_periodic_readings_keep_device_and_time_as_their_key(store: TimeSeriesStore) -> None:
    assert store.write([rr("rg-1", T0_MS, rain_mm=0.2)]).stored == 1
    result = store.write([rr("rg-1", T0_MS, rain_mm=0.4, battery_v=3.3)])
    assert result.stored == 0 and len(result.conflicts) == 1
    assert store.count("rg-1", 0, FOREVER_MS) == 1


def test_time_range_is_half_open_and_columns_keep_their_order(store: TimeSeriesStore) -> None:
    store.write([rr("d-1", T0_MS + k * 1000, a=float(k), b=k * 10) for k in range(5)])
    frame = store.read("d-1", T0_MS + 1000, T0_MS + 3000, ["b", "nope", "a"])
    assert list(frame.columns) == ["ts_ms", "b", "nope", "a"]
    assert frame["ts_ms"].tolist() == [T0_MS + 1000, T0_MS + 2000]
    assert frame["b"].tolist() == [10, 20] and frame["b"].dtype == np.int64
    assert frame["a"].tolist() == [1.0, 2.0] and frame["a"].dtype == np.float64
    assert frame["nope"].isna().all()
    assert store.count("d-1", T0_MS + 1000, T0_MS + 3000) == 2
    assert store.count("d-1", T0_MS + 3000, T0_MS + 3000) == 0
    assert store.read("d-1", T0_MS + 4000, T0_MS + 4001)["ts_ms"].tolist() == [T0_MS + 4000]
    assert list(store.read("d-1", 0, FOREVER_MS).columns) == ["ts_ms", "a", "b"]


def test_empty_results_have_the_columns(store: TimeSeriesStore) -> None:
    store.write([rr("d-1", T0_MS, a=1.5, flag=True)])
    for device_id, start_ms in (("d-1", T0_MS + 1), ("unknown", 0)):
        frame = store.read(device_id, start_ms, FOREVER_MS, ["a", "flag", "nope"], with_received=True)
        assert frame.empty
        assert list(frame.columns) == ["ts_ms", "received_ms", "a", "flag", "nope"]
        assert frame.dtypes.astype(str).tolist() == ["int64", "int64", "float64", "bool", "object"]
    assert list(store.read("unknown", 0, FOREVER_MS).columns) == ["ts_ms"]
    assert store.count("unknown", 0, FOREVER_MS) == 0
    assert store.last_reading_ms("unknown") is None
    assert store.device_stats("unknown") == DeviceStats("unknown", 0, None, None, 0)
    assert store.device_stats("unknown").seq_missing == 0


def test_seq_bookkeeping_counts_gaps_once(store: TimeSeriesStore) -> None:
    store.write([rr("d-1", T0_MS, a=1.0)], [("d-1", 5), ("d-1", 6)])
    store.write([rr("d-1", T0_MS + 1000, a=1.0)], [("d-1", 9), ("d-2", 1)])
    store.write([rr("d-1", T0_MS + 1000, a=1.0)], [("d-1", 6), ("d-1", 9)])  # redelivered messages
    store.write([], [("d-1", 10)])
    stats = store.device_stats("d-1")
    assert (stats.seq_min, stats.seq_max, stats.seq_distinct) == (5, 10, 4)
    assert stats.seq_missing == 2
    assert stats.duplicates == 1
    assert store.device_stats("d-2") == DeviceStats("d-2", 0, 1, 1, 1)
    store.write([], [("d-3", 0)])
    assert store.device_stats("d-3").seq_min == 0


def test_count_and_last_reading_are_per_device(store: TimeSeriesStore) -> None:
    store.write(rain_series("rg-a", 30) + rain_series("rg-b", 10, start_ms=T0_MS + 500_000))
    assert store.count("rg-a", 0, FOREVER_MS) == 30
    assert store.count("rg-b", 0, FOREVER_MS) == 10
    assert store.count("rg-a", T0_MS + 10_000, T0_MS + 20_000) == 10
    assert store.last_reading_ms("rg-a") == T0_MS + 29_000
    assert store.last_reading_ms("rg-b") == T0_MS + 509_000


TRICKY = ['say "hi"', "back\\slash", "a,b=c d", "trailing\\", "líne\nbreak 雨", "", "'quoted'"]


def test_mixed_types_round_trip_with_agreed_dtypes(store: TimeSeriesStore) -> None:
    def values(k: int) -> dict[str, FieldValue]:
        out: dict[str, FieldValue] = {
            "skin_temp_c": 36.0 + k if k else 37.0, "alarm": k % 2 == 0, "pair_id": TRICKY[k % len(TRICKY)],
            "count": k * 3, "event": "dose_report" if k % 2 else "mission_start",
        }
        if k % 3:
            out["ambient_temp_c"] = 1e-5 * k
        if k == 1:
            out["big"] = 1e308
        return out

    items = [rr("fs-1", T0_MS + k * 1000, **values(k)) for k in range(14)]
    assert store.write(items).stored == 14
    frame = store.read("fs-1", 0, FOREVER_MS)
    assert list(frame.columns) == ["ts_ms", "alarm", "ambient_temp_c", "big", "count", "event", "pair_id", "skin_temp_c"]
    assert frame.dtypes.astype(str).tolist() == ["int64", "bool", "float64", "float64", "int64", "object", "object", "float64"]
    assert frame["pair_id"].tolist() == [TRICKY[k % len(TRICKY)] for k in range(14)]
    assert frame["alarm"].tolist() == [k % 2 == 0 for k in range(14)]
    assert frame["skin_temp_c"].iloc[0] == 37.0 and frame["skin_temp_c"].iloc[3] == 39.0
    assert frame["ambient_temp_c"].isna().tolist() == [k % 3 == 0 for k in range(14)]
    assert frame["ambient_temp_c"].iloc[1] == 1e-5
    assert frame["big"].iloc[1] == 1e308 and frame["big"].isna().sum() == 13
    assert frame["count"].tolist() == [k * 3 for k in range(14)]
    assert store.write(items).duplicates == 14


def test_optional_bool_with_gaps_reads_as_object_bools(store: TimeSeriesStore) -> None:
    store.write([rr("d-1", T0_MS, ok=True), rr("d-1", T0_MS + 1, x=1.0), rr("d-1", T0_MS + 2, ok=False)])
    frame = store.read("d-1", 0, FOREVER_MS, ["ok", "x"])
    assert frame["ok"].dtype == object
    assert frame["ok"].tolist() == [True, None, False]
    assert frame["x"].iloc[1] == 1.0 and frame["x"].isna().sum() == 2


def test_fields_added_later_join_the_device_columns(store: TimeSeriesStore) -> None:
    store.write([rr("d-1", T0_MS, a=1.0)])
    store.write([rr("d-1", T0_MS + 1000, a=2.0, z="new")])
    store.write([rr("d-2", T0_MS, only_d2=5)])
    frame = store.read("d-1", 0, FOREVER_MS)
    assert list(frame.columns) == ["ts_ms", "a", "z"]
    assert frame["z"].tolist() == [None, "new"]


def test_big_batch_with_stored_keys_in_the_middle(store: TimeSeriesStore) -> None:
    items = rain_series("rg-a", 7_000)
    assert store.write(items[3_000:4_000]).stored == 1_000
    redelivered = [rr("rg-a", i.reading.ts_ms, i.received_ms + 1, **i.reading.values) for i in items]
    redelivered[3_500] = rr("rg-a", items[3_500].reading.ts_ms, rain_mm=99.0)
    result = store.write(redelivered, [("rg-a", 2)])
    assert (result.stored, result.duplicates) == (6_000, 999)
    assert [c.incoming for c in result.conflicts] == [redelivered[3_500]]
    pd.testing.assert_frame_equal(
        store.read("rg-a", 0, FOREVER_MS, with_received=True),
        expected_rain_frame(
            [redelivered[k] if not 3_000 <= k < 4_000 else items[k] for k in range(7_000)], with_received=True
        ),
    )
    assert store.device_stats("rg-a") == DeviceStats("rg-a", 999, 2, 2, 1)


def test_batch_of_equal_sized_but_different_field_sets(store: TimeSeriesStore) -> None:
    assert store.write([rr("d-1", T0_MS + 1000, a=1.5, b=2)]).stored == 1
    batch = [
        rr("d-1", T0_MS, a=0.25, b=1),
        rr("d-1", T0_MS + 1000, a=1.5, b=2),  # stored already: a duplicate
        rr("d-1", T0_MS + 2000, a=3.5, c="x"),  # as many fields as the first, other names
        rr("d-2", T0_MS, b=7, c="y"),
    ]
    result = store.write(batch)
    assert (result.stored, result.duplicates, result.conflicts) == (3, 1, [])
    frame = store.read("d-1", 0, FOREVER_MS)
    assert list(frame.columns) == ["ts_ms", "a", "b", "c"]
    assert frame["a"].tolist() == [0.25, 1.5, 3.5]
    assert frame["b"].tolist()[:2] == [1, 2] and np.isnan(frame["b"].tolist()[2])
    assert frame["c"].tolist() == [None, None, "x"]
    other = store.read("d-2", 0, FOREVER_MS)
    assert list(other.columns) == ["ts_ms", "b", "c"]
    assert (other["b"].tolist(), other["c"].tolist()) == ([7], ["y"])


def test_a_lift_trial_with_simultaneous_controller_events_gets_its_recall(store: TimeSeriesStore) -> None:
    """The controller logs with 1 s resolution: two events in one second are two reference
    events, so a monitor that misses one of them has recall 4/5 (METRICS.md lift)."""
    from analytics.lift import lift_metrics
    from analytics.model import Window

    controller = [("fault_door", 0), ("out_of_service", 0), ("in_service", 60_000),
                  ("entrapment", 120_000), ("fault_levelling", 120_000)]
    monitor = [("fault_door", 2_000), ("out_of_service", 3_000), ("in_service", 61_000),
               ("entrapment", 121_000)]
    assert store.write([rr("lc-1", T0_MS + dt, event_type=kind) for kind, dt in controller]).stored == 5
    assert store.write([rr("lm-1", T0_MS + dt, event_type=kind) for kind, dt in monitor]).stored == 4
    window = Window(T0_MS, T0_MS + 3_600_000)
    r = store.read("lc-1", window.start_ms, window.end_ms, ["event_type"])
    d = store.read("lm-1", window.start_ms, window.end_ms, ["event_type"])
    metrics = lift_metrics(d, r, window, match_window_s=30)
    assert (metrics["tp"], metrics["fn"], metrics["fp"]) == (4, 1, 0)
    assert metrics["recall"] == 0.8
    assert metrics["by_type"]["fault_levelling"]["fn"] == 1
    assert metrics["availability"] == 1 - 60_000 / 3_600_000

"""InfluxStore beyond the shared contract: URLs, outages, retries, credentials, line protocol."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from telemetry.blocks import ReadingBlock
from telemetry.store import (
    BadStoreUrl,
    DeviceStats,
    StoreError,
    StoreUnavailable,
    WriteResult,
    open_store,
)
from telemetry.store.influx import InfluxStore
from telemetry.store.influx_http import InfluxRejected
from telemetry.store.influx_lines import escape_key, render_value
from telemetry.store.influx_url import parse_influx_url
from telemetry.wire import ReceivedReading
from tests.influx_service import InfluxDB, running_influxdb
from tests.services import free_port
from tests.telemetry.store_helpers import T0_MS, rain_series, rr

FOREVER_MS = 2**62


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("influxdb://127.0.0.1:80x6/db", "port"),
        ("influxdb://127.0.0.1:70000/db", "port"),
        ("influxdb://127.0.0.1:0/db", "port"),
        ("influxdb://:8086/db", "missing host"),
        ("influxdb://127.0.0.1:8086", "missing database"),
        ("influxdb://127.0.0.1:8086/", "missing database"),
        ("influxdb://127.0.0.1:8086/a/b", "database name"),
        ("influxdb://127.0.0.1:8086/db?ssl=true", "unexpected"),
        ("influx://127.0.0.1:8086/db", "scheme"),
        ("sqlite://relative.db", "three slashes"),
        ("sqlite:///", "three slashes"),
        ("", "scheme"),
    ],
)
def test_bad_store_urls_are_refused(url: str, problem: str) -> None:
    with pytest.raises(BadStoreUrl, match=problem) as caught:
        open_store(url)
    assert caught.value.url == url


def test_password_never_appears_in_errors_or_url() -> None:
    with pytest.raises(BadStoreUrl) as caught:
        open_store("influxdb://ann:s3cret@127.0.0.1:99999/db")
    assert "s3cret" not in str(caught.value) and "ann:***@" in str(caught.value)
    store = open_store("influxdb://ann:s3cret@127.0.0.1:8086/db")
    assert store.url == "influxdb://ann:***@127.0.0.1:8086/db"
    assert "s3cret" not in repr(parse_influx_url("influxdb://ann:s3cret@h:1/db"))
    store.close()


def test_url_parts_and_default_port() -> None:
    parsed = parse_influx_url("influxdb://u%40x:p%3Aw@[::1]/trial_db")
    assert (parsed.host, parsed.port, parsed.database) == ("::1", 8086, "trial_db")
    assert (parsed.username, parsed.password) == ("u@x", "p:w")
    assert parsed.base_url == "http://[::1]:8086"


def test_unreachable_influxdb_is_store_unavailable() -> None:
    store = InfluxStore.from_url(f"influxdb://127.0.0.1:{free_port()}/nowhere")
    with pytest.raises(StoreUnavailable):
        store.check()
    with pytest.raises(StoreUnavailable):
        store.write([rr("d-1", T0_MS, a=1.0)])
    with pytest.raises(StoreUnavailable):
        store.read("d-1", 0, FOREVER_MS, ["a"])
    with pytest.raises(StoreUnavailable):
        store.device_stats("d-1")
    store.close()


@pytest.fixture
def influx_store(influxdb: InfluxDB, influx_database: str) -> Iterator[InfluxStore]:
    store = InfluxStore.from_url(influxdb.store_url(influx_database))
    yield store
    store.close()


def test_retry_after_a_lost_reply_counts_nothing_twice(
    influx_store: InfluxStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    influx_store.write(rain_series("rg-a", 3))
    # the first 3 are redeliveries of stored readings (received again, later), 8 are new
    batch = [rr("rg-a", i.reading.ts_ms, i.received_ms + 5_000, **i.reading.values) for i in rain_series("rg-a", 11)]
    real_write = influx_store._http.write

    def write_then_lose_reply(bodies: Iterable[bytes]) -> None:
        real_write(bodies)
        raise StoreUnavailable("reply lost")

    monkeypatch.setattr(influx_store._http, "write", write_then_lose_reply)
    with pytest.raises(StoreUnavailable):
        influx_store.write(batch, [("rg-a", 7)])
    monkeypatch.undo()
    result = influx_store.write(batch, [("rg-a", 7)])
    assert (result.stored, result.duplicates, result.conflicts) == (8, 3, [])
    assert influx_store.device_stats("rg-a").duplicates == 3
    assert influx_store.count("rg-a", 0, FOREVER_MS) == 11
    again = influx_store.write(batch, [("rg-a", 7)])
    assert (again.stored, again.duplicates) == (0, 11)
    assert influx_store.device_stats("rg-a").duplicates == 14


def test_failure_between_bodies_then_retry_stores_everything_once(
    influx_store: InfluxStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = rain_series("rg-a", 6_000)  # three POST bodies
    real_write = influx_store._http.write
    readings_per_body: list[int] = []

    def fail_second_post(bodies: Iterable[bytes]) -> None:
        for body in bodies:
            readings_per_body.append(body.count(b"\nreadings,") + body.startswith(b"readings,"))
            if len(readings_per_body) == 2:
                raise StoreUnavailable("connection reset")
            real_write([body])

    monkeypatch.setattr(influx_store._http, "write", fail_second_post)
    with pytest.raises(StoreUnavailable):
        influx_store.write(batch, [("rg-a", 1)])
    monkeypatch.undo()
    assert readings_per_body == [2_500, 2_500]
    assert influx_store.count("rg-a", 0, FOREVER_MS) == 2_500
    result = influx_store.write(batch, [("rg-a", 1)])
    assert (result.stored, result.duplicates, result.conflicts) == (6_000, 0, [])
    assert influx_store.count("rg-a", 0, FOREVER_MS) == 6_000
    assert influx_store.device_stats("rg-a") == DeviceStats("rg-a", 0, 1, 1, 1)


def test_field_type_clash_is_rejected_not_retried(influx_store: InfluxStore) -> None:
    influx_store.write([rr("d-1", T0_MS, level=1.5)])
    with pytest.raises(InfluxRejected, match="field type conflict") as caught:
        influx_store.write([rr("d-2", T0_MS, level="high")])
    assert isinstance(caught.value, StoreError) and not isinstance(caught.value, StoreUnavailable)


def test_int_for_a_float_field_is_written_as_float(influx_store: InfluxStore) -> None:
    influx_store.write([rr("d-1", T0_MS, level=1.5)])
    assert influx_store.write([rr("d-1", T0_MS + 1, level=2)]).stored == 1
    assert influx_store.read("d-1", 0, FOREVER_MS)["level"].tolist() == [1.5, 2.0]


def test_dropped_database_is_recreated_on_write(influx_store: InfluxStore, influxdb: InfluxDB) -> None:
    influx_store.write([rr("d-1", T0_MS, a=1.0)])
    influxdb.drop_database(influx_store.database)
    assert influx_store.count("d-1", 0, FOREVER_MS) == 0
    assert influx_store.write([rr("d-1", T0_MS, a=1.0)]).stored == 1
    assert influx_store.count("d-1", 0, FOREVER_MS) == 1


@pytest.fixture(scope="module")
def auth_influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB]:
    """A private influxd with authentication on and an admin user."""
    with running_influxdb(tmp_path_factory.mktemp("influx-auth"), auth=True) as server:
        server.query("CREATE USER admin WITH PASSWORD 'pa:ss' WITH ALL PRIVILEGES")
        yield server


def test_credentials_from_the_url(auth_influxdb: InfluxDB) -> None:
    with open_store(auth_influxdb.store_url("authdb", "admin", "pa%3Ass")) as store:
        store.check()
        assert store.write([rr("d-1", T0_MS, a=1.0)]).stored == 1
    with open_store(auth_influxdb.store_url("authdb", "admin", "wrong")) as store, \
            pytest.raises(BadStoreUrl, match="credentials") as caught:
        store.check()
    assert "wrong" not in str(caught.value)
    with open_store(auth_influxdb.store_url("authdb")) as store, pytest.raises(BadStoreUrl):
        store.read("d-1", 0, FOREVER_MS, ["a"])


def test_outage_then_restart_keeps_data_and_accepts_the_retry(tmp_path: Path) -> None:
    with running_influxdb(tmp_path / "influx") as server, open_store(server.store_url("outage")) as store:
        store.write(rain_series("rg-a", 100))
        server.stop()
        batch = rain_series("rg-a", 200)[100:]
        with pytest.raises(StoreUnavailable):
            store.write(batch, [("rg-a", 2)])
        with pytest.raises(StoreUnavailable):
            store.check()
        server.start()
        result = store.write(batch, [("rg-a", 2)])
        assert (result.stored, result.duplicates) == (100, 0)
        assert store.count("rg-a", 0, FOREVER_MS) == 200
        assert store.device_stats("rg-a").seq_distinct == 1


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (1.0, None, "1.0"),
        (0.0, None, "0.0"),
        (1e20, None, "1e+20"),
        (3, None, "3i"),
        (-3, None, "-3i"),
        (3, "float", "3.0"),
        (True, None, "true"),
        (False, "float", "false"),
        ('a "b" \\c', None, '"a \\"b\\" \\\\c"'),
    ],
)
def test_line_protocol_values(value: object, kind: str | None, text: str) -> None:
    assert render_value(value, kind) == text  # type: ignore[arg-type]


def test_line_protocol_keys_escape_separators() -> None:
    assert escape_key("a b,c=d") == "a\\ b\\,c\\=d"


def test_a_second_writer_sees_the_first_ones_keys(influxdb: InfluxDB, influx_database: str) -> None:
    """Key spans live in InfluxDB, so every writer of the database checks against them."""
    url = influxdb.store_url(influx_database)
    with open_store(url) as first, open_store(url) as second:
        assert first.write(rain_series("rg-a", 500)).stored == 500
        redelivered = rain_series("rg-a", 600)[400:]
        result = second.write(redelivered)
        assert (result.stored, result.duplicates, result.conflicts) == (100, 100, [])
        changed = rr("rg-a", T0_MS + 10 * 1000, rain_mm=99.0)
        clash = second.write([changed])
        assert clash.stored == 0 and [c.incoming for c in clash.conflicts] == [changed]
        assert first.read("rg-a", T0_MS + 10 * 1000, T0_MS + 10 * 1000 + 1)["rain_mm"].tolist() == [1.0]
        assert first.device_stats("rg-a").duplicates == 100


def test_every_body_carries_the_spans_of_its_readings(
    influx_store: InfluxStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reading and the span covering it go in one request, for the same UTC hour."""
    real_write = influx_store._http.write
    bodies: list[bytes] = []

    def recording_write(sent: Iterable[bytes]) -> None:
        def record() -> Iterator[bytes]:
            for body in sent:
                bodies.append(body)
                yield body
        real_write(record())

    monkeypatch.setattr(influx_store._http, "write", recording_write)
    batch = rain_series("rg-a", 4_000, period_ms=2_000) + rain_series("rg-b", 3_000, start_ms=T0_MS - 999)
    assert influx_store.write(batch).stored == 7_000
    assert len(bodies) == 3
    hour = 3_600_000
    for body in bodies:
        lines = body.decode().split("\n")
        spans: dict[str, list[tuple[int, int]]] = {}
        for line in lines:
            if line.startswith("innotrial_spans,"):
                series, field, last = line.split(" ")
                spans.setdefault(series.split("=")[1], []).append((int(field[6:-1]), int(last)))
        readings = [line for line in lines if line.startswith("readings,")]
        assert readings
        for line in readings:
            device_id, ts_ms = line.split(" ")[0].split("=")[1], int(line.rsplit(" ", 1)[1])
            assert any(first <= ts_ms <= last and first // hour == ts_ms // hour
                       for first, last in spans[device_id])


def test_readings_stored_before_key_spans_still_get_the_exact_check(
    influxdb: InfluxDB, influx_database: str
) -> None:
    """A database written by innotrial 0.1 (no spans): its keys are still duplicates and conflicts."""
    old_lines = "\n".join(
        f"readings,device_id=rg-a rain_mm=0.5,received_ms={T0_MS + i * 1000 + 300}i {T0_MS + i * 1000}"
        for i in range(10)
    )
    influxdb.query(f'CREATE DATABASE "{influx_database}"')
    with httpx.Client(base_url=influxdb.base_url, trust_env=False) as client:
        reply = client.post("/write", params={"db": influx_database, "precision": "ms"}, content=old_lines)
        assert reply.status_code == 204
    with open_store(influxdb.store_url(influx_database)) as store:
        again = store.write([rr("rg-a", T0_MS + 3_000, rain_mm=0.5)])
        assert (again.stored, again.duplicates) == (0, 1)
        changed = rr("rg-a", T0_MS + 4_000, rain_mm=7.0)
        assert [c.incoming for c in store.write([changed]).conflicts] == [changed]
        assert store.read("rg-a", T0_MS, T0_MS + 10_000, ["rain_mm"])["rain_mm"].tolist() == [0.5] * 10
        assert store.write([rr("rg-a", T0_MS + 10_000, rain_mm=0.1)]).stored == 1


def test_a_write_after_influxdb_restarted_reconnects_without_an_error(tmp_path: Path) -> None:
    """Keep-alive connections closed by the restart are replaced, not reported as an outage."""
    with running_influxdb(tmp_path / "influx") as server, open_store(server.store_url("restart")) as store:
        assert store.write(rain_series("rg-a", 3_000)).stored == 3_000
        server.restart()
        assert store.write(rain_series("rg-a", 6_000)[3_000:]).stored == 3_000
        assert store.count("rg-a", 0, FOREVER_MS) == 6_000


def test_new_float_blocks_skip_the_readings_path_and_redeliveries_take_it(
    influx_store: InfluxStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real_write = influx_store.write

    def counting_write(batch: Sequence[ReceivedReading], seqs: Iterable[tuple[str, int]] = ()) -> WriteResult:
        calls.append(len(batch))
        return real_write(batch, seqs)

    monkeypatch.setattr(influx_store, "write", counting_write)
    blocks = [
        ReadingBlock("rg-a", T0_MS + 61_000 * m + 500, ("ts_ms", "rain_mm", "battery_v"),
                     [(T0_MS + 61_000 * m + 1_000 * i, i / 10, 3.6) for i in range(60)])
        for m in range(50)
    ]
    assert influx_store.write_blocks(blocks, [("rg-a", m) for m in range(50)]).stored == 3_000
    assert calls == []  # written straight from the blocks
    assert influx_store.read("rg-a", 0, FOREVER_MS, with_received=True)["received_ms"].iloc[-1] == (
        T0_MS + 61_000 * 49 + 500)
    again = influx_store.write_blocks(blocks[48:])
    assert (again.stored, again.duplicates, calls) == (0, 120, [120])  # spans: the exact check
    assert influx_store.device_stats("rg-a") == DeviceStats("rg-a", 120, 0, 49, 50)
    assert influx_store.device_fields("rg-a") == ["battery_v", "rain_mm"]

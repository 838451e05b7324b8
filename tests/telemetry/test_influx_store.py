"""InfluxStore beyond the shared contract: URLs, outages, retries, credentials, line protocol."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from telemetry.store import BadStoreUrl, DeviceStats, StoreError, StoreUnavailable, open_store
from telemetry.store.influx import InfluxStore
from telemetry.store.influx_http import InfluxRejected
from telemetry.store.influx_lines import escape_key, render_value
from telemetry.store.influx_url import parse_influx_url
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

    def write_then_lose_reply(body: bytes) -> None:
        real_write(body)
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
    calls: list[int] = []

    def fail_second_post(body: bytes) -> None:
        calls.append(body.count(b"\n") + 1)
        if len(calls) == 2:
            raise StoreUnavailable("connection reset")
        real_write(body)

    monkeypatch.setattr(influx_store._http, "write", fail_second_post)
    with pytest.raises(StoreUnavailable):
        influx_store.write(batch, [("rg-a", 1)])
    monkeypatch.undo()
    assert calls == [2_500, 2_500]
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

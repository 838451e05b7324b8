"""Store write throughput: each backend against its raw engine, measured side by side.

    .venv/bin/python bench/store_write.py [--readings 200000] [--batch 5000] [--devices 4]

SQLite: `executemany` of the same rows into a plain table with the same schema and PRAGMAs
(WAL, synchronous=FULL, one transaction per batch) vs `SQLiteStore.write`.
InfluxDB: POSTs of the same points as pre-rendered line protocol vs `InfluxStore.write`
(which renders lines, checks the batch's keys, and writes bookkeeping). Both InfluxDB runs
use a private influxd started here (tests/influx_service.py), each on a fresh database.
InfluxStore.write also runs with its duplicate check switched off, so the difference is the
measured cost of the check; then the same batches are written again (every reading a
duplicate), the check's worst case. Rounds are interleaved and the best of `--repeat` is
shown, because the machine may be shared. Prints readings/s and the ratio to the raw engine.
"""

from __future__ import annotations

import argparse
import gc
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telemetry.store.influx import InfluxStore
from telemetry.store.influx_lines import LineRenderer
from telemetry.store.sqlite import SQLiteStore
from telemetry.wire import Reading, ReceivedReading
from tests.influx_service import running_influxdb

T0_MS = 1_764_201_600_000
FIELDS = ("rain_mm", "battery_v", "rssi_dbm")


def make_batches(readings: int, devices: int, batch: int) -> list[list[ReceivedReading]]:
    """Readings of `devices` rain gauges (1 s apart), interleaved, cut into batches."""
    items = []
    for i in range(readings):
        device, step = i % devices, i // devices
        ts_ms = T0_MS + step * 1000
        values = {"rain_mm": (step % 50) * 0.1, "battery_v": 3.6 + (step % 7) * 0.01, "rssi_dbm": -70.0 - step % 9}
        items.append(ReceivedReading(Reading(f"rg-{device:03d}", ts_ms, values), ts_ms + 300 + step % 40))
    return [items[start : start + batch] for start in range(0, readings, batch)]


Timing = tuple[float, float]
"""(wall seconds, CPU seconds of this process, all threads)."""


def since(start: Timing) -> Timing:
    return time.perf_counter() - start[0], time.process_time() - start[1]


def now() -> Timing:
    return time.perf_counter(), time.process_time()


def timed(write: Callable[[Sequence[ReceivedReading]], object], batches: list[list[ReceivedReading]]) -> Timing:
    start = now()
    for batch in batches:
        write(batch)
    return since(start)


def sqlite_raw(path: Path, batches: list[list[ReceivedReading]]) -> Timing:
    """executemany of the batches' rows into a plain table with the store's schema and PRAGMAs."""
    fields = list(batches[0][0].reading.values)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    columns = "".join(f", {name} REAL" for name in fields)
    conn.execute(
        "CREATE TABLE readings (device_id TEXT NOT NULL, ts_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL"
        f"{columns}, PRIMARY KEY (device_id, ts_ms)) WITHOUT ROWID"
    )
    insert = f"INSERT INTO readings VALUES (?, ?, ?{', ?' * len(fields)})"
    rows = [
        [(i.reading.device_id, i.reading.ts_ms, i.received_ms, *(i.reading.values[f] for f in fields)) for i in batch]
        for batch in batches
    ]
    start = now()
    for batch_rows in rows:
        conn.execute("BEGIN")
        conn.executemany(insert, batch_rows)
        conn.execute("COMMIT")
    elapsed = since(start)
    conn.close()
    return elapsed


def influx_raw(base_url: str, database: str, batches: list[list[ReceivedReading]]) -> Timing:
    """POSTs of the batches as line protocol rendered beforehand, one POST per batch."""
    renderer = LineRenderer()
    bodies = ["\n".join(renderer.readings(batch, {})).encode() for batch in batches]
    with httpx.Client(base_url=base_url, trust_env=False, timeout=60) as client:
        client.post("/query", data={"q": f'CREATE DATABASE "{database}"'}).raise_for_status()
        start = now()
        for body in bodies:
            client.post("/write", params={"db": database, "precision": "ms"}, content=body).raise_for_status()
        return since(start)


def influx_raw_rendering(base_url: str, database: str, batches: list[list[ReceivedReading]]) -> Timing:
    """A minimal client: an f-string per point for exactly these fields, then the same POSTs."""
    with httpx.Client(base_url=base_url, trust_env=False, timeout=60) as client:
        client.post("/query", data={"q": f'CREATE DATABASE "{database}"'}).raise_for_status()
        start = now()
        for batch in batches:
            body = "\n".join(
                f"readings,device_id={i.reading.device_id} rain_mm={i.reading.values['rain_mm']!r},"
                f"battery_v={i.reading.values['battery_v']!r},rssi_dbm={i.reading.values['rssi_dbm']!r},"
                f"received_ms={i.received_ms}i {i.reading.ts_ms}"
                for i in batch
            ).encode()
            client.post("/write", params={"db": database, "precision": "ms"}, content=body).raise_for_status()
        return since(start)


def report(label: str, readings: int, timing: Timing, raw: Timing | None = None) -> None:
    wall_s, cpu_s = timing
    ratio = "" if raw is None else f"  ratio to raw {raw[0] / wall_s:.2f}"
    print(f"  {label:<46} {readings / wall_s:>9,.0f} readings/s ({wall_s:5.2f} s, CPU {cpu_s:5.2f} s){ratio}")


def sqlite_round(work: Path, batches: list[list[ReceivedReading]]) -> dict[str, Timing]:
    """One interleaved run of every SQLite variant, each on a fresh file."""
    times = {"raw": sqlite_raw(work / "raw.sqlite", batches)}
    store = SQLiteStore(work / "store.sqlite")
    times["store"] = timed(store.write, batches)
    times["again"] = timed(store.write, batches)
    store.close()
    return times


def influx_round(server_url: str, base_url: str, tag: str, batches: list[list[ReceivedReading]]) -> dict[str, Timing]:
    """One interleaved run of every InfluxDB variant, each on a fresh database."""
    times = {"raw": influx_raw(base_url, f"raw_{tag}", batches)}
    times["raw_render"] = influx_raw_rendering(base_url, f"rawrender_{tag}", batches)
    unchecked = InfluxStore.from_url(f"{server_url}/unchecked_{tag}")
    unchecked.check()
    unchecked._ask_suspects = lambda ranges: set  # type: ignore[method-assign]  # no key check
    times["unchecked"] = timed(unchecked.write, batches)
    unchecked.close()
    store = InfluxStore.from_url(f"{server_url}/store_{tag}")
    store.check()
    times["store"] = timed(store.write, batches)
    times["again"] = timed(store.write, batches)
    store.close()
    return times


def best(rounds: list[dict[str, Timing]]) -> dict[str, Timing]:
    """Per variant, the shortest wall time and the smallest CPU time over the rounds."""
    return {key: (min(r[key][0] for r in rounds), min(r[key][1] for r in rounds)) for key in rounds[0]}


def bench_sqlite(work: Path, batches: list[list[ReceivedReading]], n: int, repeat: int) -> None:
    rounds = []
    for i in range(repeat):
        (work / f"sqlite{i}").mkdir()
        rounds.append(sqlite_round(work / f"sqlite{i}", batches))
    t = best(rounds)
    print(f"SQLite (WAL, synchronous=FULL), best of {repeat}")
    report("raw executemany, plain table", n, t["raw"])
    report("SQLiteStore.write", n, t["store"], t["raw"])
    report("SQLiteStore.write, all duplicates", n, t["again"], t["raw"])


def bench_influx(work: Path, batches: list[list[ReceivedReading]], n: int, repeat: int) -> None:
    with running_influxdb(work / "influxdb") as server:
        server_url = f"influxdb://127.0.0.1:{server.port}"
        t = best([influx_round(server_url, server.base_url, str(i), batches) for i in range(repeat)])
    check_s = t["store"][0] - t["unchecked"][0]
    print(f"InfluxDB 1.x (HTTP, line protocol, WAL fsync per write), best of {repeat}")
    report(f"raw POST of pre-rendered lines, {len(batches[0]):,}/POST", n, t["raw"])
    report("raw POST, minimal f-string client", n, t["raw_render"], t["raw"])
    report("InfluxStore.write without the duplicate check", n, t["unchecked"], t["raw"])
    report("InfluxStore.write", n, t["store"], t["raw"])
    print(f"    cost of the duplicate check: {check_s:+.2f} s, {1000 * check_s / len(batches):+.1f} ms per batch")
    report("InfluxStore.write, all duplicates", n, t["again"], t["raw"])
    print(f"  InfluxStore.write / minimal f-string client: {t['raw_render'][0] / t['store'][0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds; best time is shown")
    parser.add_argument("--only", choices=("sqlite", "influxdb"), default=None)
    args = parser.parse_args()
    batches = make_batches(args.readings, args.devices, args.batch)
    # The test data is not the workload: keep the garbage collector from re-scanning its
    # millions of objects during every timed run (a real ingest worker holds one batch).
    gc.collect()
    gc.freeze()
    print(f"{args.readings:,} readings, {args.devices} devices, {len(FIELDS)} float fields, batches of {args.batch:,}")
    with tempfile.TemporaryDirectory(prefix="innotrial-bench-") as tmp:
        if args.only in (None, "sqlite"):
            bench_sqlite(Path(tmp), batches, args.readings, args.repeat)
        if args.only in (None, "influxdb"):
            bench_influx(Path(tmp), batches, args.readings, args.repeat)


if __name__ == "__main__":
    main()

"""Analytics cost against the floor of loading the same data from the store.

    .venv/bin/python bench/analytics.py [--days 30] [--scale 1.0] [--stores sqlite,influx]

A synthetic trial (numpy, fixed seed): 20 rain-gauge pairs at 1 minute, 4 UV radiometers at
1 s during 2 h of robot missions a day, 50,000 screenings (each with its clinical reference)
and 5,000 lift controller events (with the monitor's detections). `--scale` multiplies the
counts (pairs, radiometers, screenings, lift events); `--days` shortens the trial.

For each store (SQLite file; InfluxDB through a private influxd from tests/influx_service.py
when `influxd` is installed) the readings are written with `store.write`, then, best of
`--repeat` rounds:
  load    = analytics.runner.load_frames + device_stats: the store -> DataFrames floor
  compute = analytics.compute_trial_metrics on those frames: every metric, criteria, verdict
and prints compute / load (goal: at most 0.25 with methodology v2, METRICS-v2.md), then peak
Python-heap memory of each step (tracemalloc, in a separate untimed round) and the process's
peak RSS. The trial carries two exclusion windows (a 6 h power cut at one rain pair, a 1-day
site closure for every device), so the v2 active-time rules are part of the figure.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics import DeviceBookkeeping, compute_trial_metrics
from analytics.runner import load_frames, trial_window
from registry.trial_spec import TrialSpec, parse_trial_spec
from telemetry.store.base import TimeSeriesStore
from telemetry.store.sqlite import SQLiteStore
from telemetry.wire import Reading, ReceivedReading

START = "2026-11-01T00:00:00+08:00"
START_MS = 1_793_462_400_000
DAY_MS = 86_400_000
BATCH = 5_000
LIFT_TYPES = np.array(["fault_door", "fault_levelling", "entrapment", "heartbeat"])


def build_spec(days: int, pairs: int, radiometers: int) -> TrialSpec:
    """The trial: rain pairs, one fever screener, one lift, one robot with its radiometers."""
    dev = []
    for i in range(pairs):
        dev += [
            {"id": f"rg-d{i:02d}", "profile": "rain_gauge", "role": "under_test"},
            {"id": f"rg-r{i:02d}", "profile": "rain_gauge", "role": "reference"},
        ]
    dev += [
        {"id": "fs-1", "profile": "fever_screener", "role": "under_test"},
        {"id": "ct-1", "profile": "clinical_thermometer", "role": "reference"},
        {"id": "lm-1", "profile": "lift_monitor", "role": "under_test"},
        {"id": "lc-1", "profile": "lift_controller_log", "role": "reference"},
        {"id": "uv-1", "profile": "uv_robot", "role": "under_test"},
    ]
    dev += [
        {"id": f"uvr-{k}", "profile": "uv_radiometer", "role": "reference"}
        for k in range(radiometers)
    ]
    comparisons: list[dict[str, Any]] = [
        {"under_test": f"rg-d{i:02d}", "reference": f"rg-r{i:02d}"} for i in range(pairs)
    ]
    comparisons += [
        {"under_test": "fs-1", "reference": "ct-1"},
        {"under_test": "lm-1", "reference": "lc-1"},
        {"under_test": "uv-1", "reference": [f"uvr-{k}" for k in range(radiometers)]},
    ]
    end = np.datetime64("2026-10-31T16:00:00") + np.timedelta64(days, "D")
    return parse_trial_spec(
        {
            "wish": {"id": "w-bench", "title": "Bench", "department": "EMSD"},
            "solution": {"id": "s-bench", "title": "Bench", "provider": "bench"},
            "trial": {
                "id": "t-bench",
                "site": {"id": "bench-site"},
                "start": START,
                "end": f"{end}+00:00",
                "gateways": [{"id": "gw-b"}],
                "devices": [{**d, "gateway": "gw-b"} for d in dev],
                "comparisons": comparisons,
                "exclusions": _exclusions(days),
                "acceptance": [
                    {"metric": "quality.completeness", "op": ">=", "value": 0.95},
                    {"metric": "rain_gauge.pct_within_tolerance", "op": ">=", "value": 90},
                    {"metric": "lift.by_type.entrapment.recall", "op": ">=", "value": 1},
                    {"metric": "uv_robot.coverage_pct", "op": ">=", "value": 95},
                ],
            },
        }
    )


def _exclusions(days: int) -> list[dict[str, Any]]:
    """A 6-hour power cut at the first rain pair on day 2, the whole site closed on day 4."""
    day = np.datetime64("2026-10-31T16:00:00")
    out = []
    if days >= 2:
        out.append(
            {
                "id": "x-power",
                "start": f"{day + np.timedelta64(1, 'D') + np.timedelta64(2, 'h')}+00:00",
                "end": f"{day + np.timedelta64(1, 'D') + np.timedelta64(8, 'h')}+00:00",
                "devices": ["rg-d00", "rg-r00"],
                "reason": "site power cut",
                "approved_by": "bench",
            }
        )
    if days >= 4:
        out.append(
            {
                "id": "x-closed",
                "start": f"{day + np.timedelta64(3, 'D')}+00:00",
                "end": f"{day + np.timedelta64(4, 'D')}+00:00",
                "devices": "all",
                "reason": "typhoon signal 8: site closed",
                "approved_by": "bench",
            }
        )
    return out


def _rows(device_id: str, ts: np.ndarray, **fields: np.ndarray) -> Iterator[ReceivedReading]:
    latency = np.random.default_rng(len(ts)).integers(50, 3_000, size=len(ts))
    names = list(fields)
    columns = [fields[n].tolist() for n in names]
    for i, t in enumerate(ts.tolist()):
        values = {n: col[i] for n, col in zip(names, columns, strict=True) if col[i] is not None}
        yield ReceivedReading(Reading(device_id, t, values), t + int(latency[i]))


def generate(
    days: int,
    pairs: int,
    radiometers: int,
    screenings: int,
    lift_events: int,
) -> Iterator[tuple[str, Iterator[ReceivedReading], int]]:
    """(device_id, readings, count) per device, generated lazily with numpy."""
    rng = np.random.default_rng(20261101)
    minutes = days * 1440
    minute_ts = START_MS + np.arange(minutes, dtype=np.int64) * 60_000
    for i in range(pairs):
        wet = rng.random(minutes) < 0.08
        ref = np.where(wet, np.round(rng.gamma(0.6, 0.15, minutes), 3), 0.0)
        dut = np.round(ref * rng.normal(1.0, 0.06, minutes), 3).clip(0, 100)
        keep = rng.random(minutes) > 0.005
        yield f"rg-r{i:02d}", _rows(f"rg-r{i:02d}", minute_ts, rain_mm=ref), minutes
        yield (
            f"rg-d{i:02d}",
            _rows(f"rg-d{i:02d}", minute_ts[keep], rain_mm=dut[keep]),
            int(keep.sum()),
        )
    yield from _fever(rng, days, screenings)
    yield from _lift(rng, days, lift_events)
    yield from _uv(rng, days, radiometers)


def _fever(
    rng: np.random.Generator, days: int, n: int
) -> Iterator[tuple[str, Iterator[ReceivedReading], int]]:
    ts = START_MS + np.sort(rng.choice(days * DAY_MS // 100, size=n, replace=False)) * 100
    body = np.round(rng.normal(36.9, 0.5, n), 2).clip(30, 45)
    skin = np.round(body + rng.normal(-0.2, 0.3, n), 2).clip(20, 45)
    pair = np.array([f"p{k}" for k in range(n)], dtype=object)
    yield "fs-1", _rows("fs-1", ts, skin_temp_c=skin, alarm=skin >= 37.4, pair_id=pair), n
    yield "ct-1", _rows("ct-1", ts + 30_000, body_temp_c=body, pair_id=pair), n


def _lift(
    rng: np.random.Generator, days: int, n: int
) -> Iterator[tuple[str, Iterator[ReceivedReading], int]]:
    ts = START_MS + np.sort(rng.choice(days * DAY_MS // 1000, size=n, replace=False)) * 1000
    kinds = LIFT_TYPES[rng.integers(0, len(LIFT_TYPES), n)]
    seen = rng.random(n) < 0.95
    delay = rng.integers(0, 40_000, n)
    yield "lc-1", _rows("lc-1", ts, event_type=kinds.astype(object)), n
    dut_ts = ts[seen] + delay[seen]
    order = np.argsort(dut_ts)
    dut_ts, dut_kinds = dut_ts[order], kinds[seen][order]
    unique = np.concatenate(([True], np.diff(dut_ts) > 0))
    yield (
        "lm-1",
        _rows("lm-1", dut_ts[unique], event_type=dut_kinds[unique].astype(object)),
        int(unique.sum()),
    )


def _uv(
    rng: np.random.Generator, days: int, radiometers: int
) -> Iterator[tuple[str, Iterator[ReceivedReading], int]]:
    """Four 30-minute missions a day (2 h); radiometers log 1 s during missions."""
    starts = np.array(
        [START_MS + d * DAY_MS + h * 3_600_000 for d in range(days) for h in (1, 3, 5, 7)]
    )
    ends = starts + 1_800_000
    seconds = np.concatenate([np.arange(s, e, 1000) for s, e in zip(starts, ends, strict=True)])
    events = np.concatenate([starts, ends])
    kinds = np.array(["mission_start"] * len(starts) + ["mission_end"] * len(ends), dtype=object)
    targets = np.full(len(events), None, dtype=object)
    doses = np.full(len(events), None, dtype=object)
    for k in range(radiometers):
        events = np.concatenate([events, ends - 1000 * (k + 1)])
        kinds = np.concatenate([kinds, np.full(len(ends), "dose_report", dtype=object)])
        targets = np.concatenate([targets, np.full(len(ends), f"uvr-{k}", dtype=object)])
        doses = np.concatenate([doses, np.round(rng.normal(40, 5, len(ends)), 2).astype(object)])
    order = np.argsort(events)
    yield (
        "uv-1",
        _rows(
            "uv-1",
            events[order],
            event=kinds[order],
            target_id=targets[order],
            dose_mj_cm2=doses[order],
        ),
        len(events),
    )
    for k in range(radiometers):
        irr = np.round(rng.normal(25.0, 3.0, len(seconds)), 2).clip(0, 100000)
        yield f"uvr-{k}", _rows(f"uvr-{k}", seconds, irradiance_uw_cm2=irr), len(seconds)


def fill(store: TimeSeriesStore, args: argparse.Namespace, pairs: int, radiometers: int) -> int:
    """Write every generated reading in batches; returns how many."""
    total = 0
    for device_id, rows, _count in generate(
        args.days,
        pairs,
        radiometers,
        max(1, round(50_000 * args.scale)),
        max(1, round(5_000 * args.scale)),
    ):
        batch: list[ReceivedReading] = []
        seq = 0
        for item in rows:
            batch.append(item)
            if len(batch) == BATCH:
                seq += 1
                store.write(batch, [(device_id, seq)])
                total += len(batch)
                batch = []
        if batch:
            store.write(batch, [(device_id, seq + 1)])
            total += len(batch)
    return total


def load(
    spec: TrialSpec, store: TimeSeriesStore
) -> tuple[dict[str, Any], dict[str, DeviceBookkeeping]]:
    """The floor: the same store reads the runner does, into DataFrames."""
    window = trial_window(spec, now_ms=spec.trial.end_ms)
    frames = load_frames(spec, store, window)
    books = {
        d.id: DeviceBookkeeping.from_stats(store.device_stats(d.id), 0) for d in spec.trial.devices
    }
    return frames, books


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def peak_mib(fn: Callable[[], Any]) -> tuple[float, Any]:
    tracemalloc.start()
    try:
        out = fn()
        return tracemalloc.get_traced_memory()[1] / 2**20, out
    finally:
        tracemalloc.stop()


def measure(
    name: str,
    store: TimeSeriesStore,
    spec: TrialSpec,
    args: argparse.Namespace,
    pairs: int,
    radiometers: int,
) -> None:
    t0 = time.perf_counter()
    n = fill(store, args, pairs, radiometers)
    print(f"[{name}] wrote {n:,} readings in {time.perf_counter() - t0:.1f} s")
    window = trial_window(spec, now_ms=spec.trial.end_ms)
    load_s = compute_s = float("inf")
    metrics: dict[str, Any] = {}
    for _ in range(args.repeat):  # interleaved rounds: the machine may be shared
        t_load, (frames, books) = best_of(1, lambda: load(spec, store))
        t_comp, metrics = best_of(
            1, lambda f=frames, b=books: compute_trial_metrics(spec, f, b, window)
        )
        load_s, compute_s = min(load_s, t_load), min(compute_s, t_comp)
    load_mib, (frames, books) = peak_mib(lambda: load(spec, store))
    comp_mib, _ = peak_mib(lambda: compute_trial_metrics(spec, frames, books, window))
    rows = sum(len(f) for f in frames.values())
    print(f"[{name}] rows loaded {rows:,}; verdict {metrics['verdict']}")
    print(
        f"[{name}] load (floor) {load_s:.3f} s | compute {compute_s:.3f} s | "
        f"compute/load = {compute_s / load_s:.3f} (goal <= 0.25) | analyze total {load_s + compute_s:.3f} s"
    )
    print(f"[{name}] peak Python heap: load {load_mib:.0f} MiB, compute {comp_mib:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stores", default="sqlite,influx")
    args = parser.parse_args()
    pairs, radiometers = max(1, round(20 * args.scale)), max(1, round(4 * args.scale))
    spec = build_spec(args.days, pairs, radiometers)
    print(
        f"trial: {args.days} days, {pairs} rain pairs, {radiometers} radiometers, "
        f"{max(1, round(50_000 * args.scale)):,} screenings, {max(1, round(5_000 * args.scale)):,} lift events"
    )
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-analytics-")))
        if "sqlite" in args.stores:
            with SQLiteStore(tmp / "readings.db") as store:
                measure("sqlite", store, spec, args, pairs, radiometers)
        if "influx" in args.stores:
            if shutil.which("influxd") is None:
                print("[influx] influxd not installed: InfluxDB not measured")
            else:
                from telemetry.store.influx import InfluxStore
                from tests.influx_service import running_influxdb

                server = stack.enter_context(running_influxdb(tmp / "influx"))
                with InfluxStore.from_url(server.store_url("bench_analytics")) as store:
                    measure("influx", store, spec, args, pairs, radiometers)
    import resource

    print(f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()

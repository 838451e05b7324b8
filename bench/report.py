"""Report build time for a 30-day trial, with a breakdown by stage.

    .venv/bin/python bench/report.py [--days 30] [--no-pdf] [--db PATH]

The trial (the analytics benchmark's shape): 20 rain-gauge pairs at 1 min, 4 UV radiometers
at 1 s for 2 h a day with a UV robot, 50,000 fever screenings with their clinical
thermometer readings, and 5,000 lift controller events with the monitor's detections; counts
scale with --days. Readings go into a real SQLiteStore through `write` (kept with --db PATH
to reuse between runs). Prints the build time by stage (load, metrics, package, charts, html,
pdf) and its ratio to `analyze_trial` (metrics only) measured in the same run, then verifies
the package and prints that time too.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.runner import analyze_trial
from reports import build_report, verify_package
from reports.signing import load_private_key
from telemetry.store.sqlite import SQLiteStore
from telemetry.trial_spec import TrialSpec, parse_trial_spec
from telemetry.wire import Reading, ReceivedReading

START = "2026-10-01T00:00:00+08:00"
START_MS = int(datetime.fromisoformat(START).timestamp() * 1000)
DAY_MS = 86_400_000
RAIN_PAIRS = 20
RADIOMETERS = 4
SCREENINGS_PER_30D = 50_000
LIFT_EVENTS_PER_30D = 5_000
LIFT_TYPES = np.array(["fault_door", "fault_levelling", "entrapment", "out_of_service",
                       "in_service"])


def trial(days: int) -> TrialSpec:
    """One trial holding every family's devices and comparisons."""
    devices = []
    comparisons: list[dict[str, object]] = []
    for k in range(RAIN_PAIRS):
        devices += [(f"rg-dut-{k:02d}", "rain_gauge", "under_test"),
                    (f"rg-ref-{k:02d}", "rain_gauge", "reference")]
        comparisons.append({"under_test": f"rg-dut-{k:02d}", "reference": f"rg-ref-{k:02d}"})
    radiometers = [f"uvr-{k}" for k in range(RADIOMETERS)]
    devices += [("uv-dut", "uv_robot", "under_test"),
                *((r, "uv_radiometer", "reference") for r in radiometers),
                ("fs-dut", "fever_screener", "under_test"),
                ("ct-ref", "clinical_thermometer", "reference"),
                ("lm-dut", "lift_monitor", "under_test"),
                ("lc-ref", "lift_controller_log", "reference")]
    comparisons += [{"under_test": "uv-dut", "reference": radiometers},
                    {"under_test": "fs-dut", "reference": "ct-ref"},
                    {"under_test": "lm-dut", "reference": "lc-ref"}]
    end_ms = START_MS + days * DAY_MS
    return parse_trial_spec({
        "wish": {"id": "w-bench", "title": "Benchmark wish", "department": "EMSD"},
        "solution": {"id": "s-bench", "title": "Benchmark solution", "provider": "bench"},
        "trial": {
            "id": "t-bench", "site": {"id": "bench-site"}, "start": START,
            "end": datetime.fromtimestamp(end_ms / 1000, tz=UTC).isoformat(),
            "gateways": [{"id": "gw-bench"}],
            "devices": [{"id": d, "profile": p, "gateway": "gw-bench", "role": r}
                        for d, p, r in devices],
            "comparisons": comparisons,
            "acceptance": [{"metric": "rain_gauge.pct_within_tolerance", "op": ">=", "value": 50},
                           {"metric": "fever_screener.sensitivity", "op": ">=", "value": 0.8},
                           {"metric": "lift.recall", "op": ">=", "value": 0.9},
                           {"metric": "uv_robot.coverage_pct", "op": ">=", "value": 90}],
        },
    })


def _increasing(rng: np.random.Generator, n: int, span_ms: int) -> np.ndarray:
    """n strictly increasing offsets in [0, span_ms)."""
    return np.sort(rng.integers(0, span_ms - n, n)) + np.arange(n)


def _rows(device_id: str, ts: np.ndarray, **columns: np.ndarray) -> Iterator[Reading]:
    names = list(columns)
    values = [columns[n].tolist() for n in names]
    for i, t in enumerate(ts.tolist()):
        yield Reading(device_id, int(t), {n: v[i] for n, v in zip(names, values, strict=True)
                                          if v[i] is not None})


def rain(rng: np.random.Generator, days: int) -> Iterator[Reading]:
    """20 pairs: 10 % wet minutes, the device 3 % high with a little noise."""
    minutes = days * 1440
    ts = START_MS + 60_000 * np.arange(minutes)
    for k in range(RAIN_PAIRS):
        truth = np.where(rng.random(minutes) < 0.1, rng.gamma(0.6, 0.15, minutes), 0.0).round(3)
        dut = np.clip(truth * 1.03 + np.where(truth > 0, rng.normal(0, 0.003, minutes), 0), 0, 100)
        yield from _rows(f"rg-ref-{k:02d}", ts, rain_mm=truth)
        yield from _rows(f"rg-dut-{k:02d}", ts, rain_mm=dut.round(3))


def uv(rng: np.random.Generator, days: int) -> Iterator[Reading]:
    """2 h of 1 s radiometer readings a day, with 4 missions of 25 min inside them."""
    for day in range(days):
        base = START_MS + day * DAY_MS + 10 * 3_600_000
        ts = base + 1000 * np.arange(7200)
        starts = base + 1_800_000 * np.arange(4) + 60_000
        on = np.zeros(7200, dtype=bool)
        for s in starts:
            on[(ts >= s + 120_000) & (ts < s + 1_320_000)] = True
        events, kinds, targets, dose = [], [], [], []
        for s in starts:
            events += [s, *(s + 1_440_000 + 1000 * k for k in range(RADIOMETERS)), s + 1_500_000]
            kinds += ["mission_start", *["dose_report"] * RADIOMETERS, "mission_end"]
            targets += [None, *(f"uvr-{k}" for k in range(RADIOMETERS)), None]
            dose += [None, *rng.normal(60, 3, RADIOMETERS).round(2), None]
        for k in range(RADIOMETERS):
            irr = np.where(on, rng.normal(50, 2, 7200), 0.01).round(3)
            yield from _rows(f"uvr-{k}", ts, irradiance_uw_cm2=irr)
        yield from _rows("uv-dut", np.array(events), event=np.array(kinds, dtype=object),
                         target_id=np.array(targets, dtype=object),
                         dose_mj_cm2=np.array(dose, dtype=object))


def fever(rng: np.random.Generator, days: int) -> Iterator[Reading]:
    """Screenings paired with clinical readings 30-180 s later."""
    n = SCREENINGS_PER_30D * days // 30
    ts = START_MS + _increasing(rng, n, days * DAY_MS - 200_000)
    body = np.where(rng.random(n) < 0.08, rng.normal(38.4, 0.5, n), rng.normal(36.8, 0.3, n))
    skin = (body - 0.2 + rng.normal(0, 0.25, n)).round(2)
    pair = np.array([f"p{i:06d}" for i in range(n)], dtype=object)
    yield from _rows("fs-dut", ts, skin_temp_c=skin, alarm=skin >= 37.5, pair_id=pair)
    clinic = ts + rng.integers(30_000, 180_000, n)
    order = np.argsort(clinic, kind="stable")
    clinic_ts = np.maximum.accumulate(clinic[order]) + np.arange(n)
    yield from _rows("ct-ref", clinic_ts, body_temp_c=body[order].round(2), pair_id=pair[order])


def lift(rng: np.random.Generator, days: int) -> Iterator[Reading]:
    """Controller events; the monitor sees 95 % of them 2-20 s later, plus a few false alarms."""
    n = LIFT_EVENTS_PER_30D * days // 30
    ts = START_MS + _increasing(rng, n, days * DAY_MS - 60_000)
    kinds = LIFT_TYPES[rng.integers(0, LIFT_TYPES.size, n)]
    yield from _rows("lc-ref", ts, event_type=kinds.astype(object))
    seen = rng.random(n) < 0.95
    extra = n // 50
    dut_ts = np.concatenate((ts[seen] + rng.integers(2000, 20_000, int(seen.sum())),
                             START_MS + rng.integers(0, days * DAY_MS - 60_000, extra)))
    dut_kind = np.concatenate((kinds[seen], LIFT_TYPES[rng.integers(0, 3, extra)]))
    order = np.argsort(dut_ts, kind="stable")
    dut_ts = np.maximum.accumulate(dut_ts[order]) + np.arange(dut_ts.size)
    yield from _rows("lm-dut", dut_ts, event_type=dut_kind[order].astype(object))


def populate(store: SQLiteStore, days: int) -> int:
    """Write every device's readings; the number written."""
    rng = np.random.default_rng(42)
    batch: list[ReceivedReading] = []
    total = 0
    for source in (rain, uv, fever, lift):
        for reading in source(rng, days):
            batch.append(ReceivedReading(reading, reading.ts_ms + 800))
            if len(batch) == 20_000:
                total += store.write(batch).stored
                batch = []
    total += store.write(batch).stored
    return total


def main() -> None:
    """Run the benchmark and print the breakdown."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--no-pdf", action="store_true")
    parser.add_argument("--db", type=Path, default=None, help="reuse/keep the SQLite store here")
    args = parser.parse_args()
    spec = trial(args.days)
    with tempfile.TemporaryDirectory(prefix="innotrial-bench-report-") as tmp:
        db = args.db or Path(tmp) / "readings.db"
        fresh = not db.exists()
        store = SQLiteStore(db)
        if fresh:
            t0 = time.perf_counter()
            n = populate(store, args.days)
            print(f"populate: {n:,} readings in {time.perf_counter() - t0:.1f} s")
        now_ms = START_MS + args.days * DAY_MS
        t0 = time.perf_counter()
        analyze_trial(spec, store, {}, now_ms=now_ms)
        baseline_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = build_report(spec, store, {}, Path(tmp) / "out", Path(tmp) / "data", now_ms,
                              with_pdf=not args.no_pdf)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        key = load_private_key(Path(tmp) / "data").public_key()
        verified = verify_package(result.paths["package.zip"], key, "bench")
        verify_s = time.perf_counter() - t0
        size_mb = result.paths["package.zip"].stat().st_size / 1e6
        html_mb = result.paths["report.html"].stat().st_size / 1e6
        store.close()
    print(f"trial: {args.days} days, verdict {result.verdict}, package {size_mb:.1f} MB, "
          f"report.html {html_mb:.1f} MB" + (f", no PDF: {result.pdf_problem}"
                                            if result.pdf_problem else ""))
    for stage in ("load", "metrics", "package", "charts", "html", "pdf"):
        print(f"  {stage:<8} {result.timings_s.get(stage, 0.0):7.2f} s")
    print(f"report build: {build_s:.2f} s; analyze_trial alone: {baseline_s:.2f} s; "
          f"ratio {build_s / baseline_s:.1f}x")
    print(f"verify (hashes + signature + recompute): {verify_s:.2f} s, "
          f"{'VERIFIED' if verified.ok else 'NOT VERIFIED'}")


if __name__ == "__main__":
    main()

"""A demo-like sample site for the dashboard: four trials (one per device family) with data.

Used by the dashboard's browser tests and by `scripts/screenshots`; deterministic for a seed.
Readings end at `now_ms` and go back `hours` (the UV radiometers log every second).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from portal_api.auth import create_user
from registry.apply import apply_trial
from registry.db import Registry
from registry.models import DeadLetter, Gateway
from registry.trial_spec import TrialSpec, parse_trial_spec
from telemetry.store import TimeSeriesStore
from telemetry.wire import Reading, ReceivedReading

DAY_MS = 86_400_000
HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class SampleTrial:
    """One sample trial: its id, provider, family and spec."""

    trial_id: str
    provider: str
    family: str
    spec: TrialSpec


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def _spec(family: str, provider: str, now_ms: int, devices: list[dict[str, str]],
          comparisons: list[dict[str, Any]], acceptance: list[dict[str, Any]],
          titles: tuple[str, str, str], about: tuple[str, str] = ("general", "")) -> SampleTrial:
    slug = family.replace("_", "-")
    trial_id = f"t-{slug}-01"
    gateways = sorted({d["gateway"] for d in devices})
    data = {
        "wish": {"id": f"w-{slug}", "title": titles[0], "department": titles[1],
                 "category": about[0], "description": about[1]},
        "solution": {"id": f"s-{slug}", "title": titles[2], "provider": provider},
        "trial": {
            "id": trial_id,
            "site": {"id": "emsd-hq", "name": "EMSD Headquarters, Kowloon Bay",
                     "timezone": "Asia/Hong_Kong"},
            "start": _iso(now_ms - 3 * DAY_MS), "end": _iso(now_ms + 27 * DAY_MS),
            "gateways": [{"id": g} for g in gateways],
            "devices": devices, "comparisons": comparisons, "acceptance": acceptance,
        },
    }
    return SampleTrial(trial_id, provider, family, parse_trial_spec(data, f"sample {family}"))


def dev(device_id: str, profile: str, gateway: str, role: str) -> dict[str, str]:
    """A device entry of a trial definition."""
    return {"id": device_id, "profile": profile, "gateway": gateway, "role": role}


def sample_trials(now_ms: int) -> list[SampleTrial]:
    """The four sample trials, windows around `now_ms`."""
    return [
        _spec("rain_gauge", "acme-sensing", now_ms,
              [dev("rg-dut-01", "rain_gauge", "gw-roof-01", "under_test"),
               dev("rg-ref-01", "rain_gauge", "gw-roof-01", "reference")],
              [{"under_test": "rg-dut-01", "reference": "rg-ref-01"}],
              [{"metric": "quality.completeness", "op": ">=", "value": 0.95},
               {"metric": "rain_gauge.pct_within_tolerance", "op": ">=", "value": 90}],
              ("Real-time rain gauge data transmission", "Drainage Services Department",
               "Piezo rain gauge with LoRa backhaul"),
              ("environment", "Rain gauges that report every minute over a low-power radio link, "
               "for flood warnings.")),
        _spec("fever_screener", "thermo-vision", now_ms,
              [dev("fs-dut-01", "fever_screener", "gw-clinic-01", "under_test"),
               dev("ct-ref-01", "clinical_thermometer", "gw-clinic-01", "reference")],
              [{"under_test": "fs-dut-01", "reference": "ct-ref-01"}],
              [{"metric": "fever_screener.sensitivity", "op": ">=", "value": 0.9},
               {"metric": "fever_screener.mae_c", "op": "<=", "value": 0.5}],
              ("Contactless fever screening at entrances", "Department of Health",
               "AI thermal camera with face tracking"),
              ("health", "Screen visitors' temperature at entrances without contact or queues.")),
        _spec("lift", "liftwatch", now_ms,
              [dev("lm-dut-01", "lift_monitor", "gw-lift-01", "under_test"),
               dev("lc-ref-01", "lift_controller_log", "gw-lift-01", "reference")],
              [{"under_test": "lm-dut-01", "reference": "lc-ref-01"}],
              [{"metric": "lift.recall", "op": ">=", "value": 0.95},
               {"metric": "lift.by_type.entrapment.recall", "op": ">=", "value": 1.0}],
              ("Remote monitoring of lift faults", "Electrical and Mechanical Services Department",
               "Retrofit lift monitoring unit"),
              ("building-services", "Detect lift faults and entrapments remotely, before a "
               "complaint arrives.")),
        _spec("uv_robot", "uvbot", now_ms,
              [dev("uv-dut-01", "uv_robot", "gw-ward-01", "under_test"),
               dev("rad-ref-01", "uv_radiometer", "gw-ward-01", "reference"),
               dev("rad-ref-02", "uv_radiometer", "gw-ward-01", "reference")],
              [{"under_test": "uv-dut-01", "reference": ["rad-ref-01", "rad-ref-02"]}],
              [{"metric": "uv_robot.coverage_pct", "op": ">=", "value": 95}],
              ("UV-C disinfection of patient rooms", "Hospital Authority",
               "Autonomous UV-C disinfection robot"),
              ("health", "Disinfect patient rooms with UV-C at a verified dose.")),
    ]


def _rain(rng: np.random.Generator, start_ms: int, now_ms: int) -> Iterator[Reading]:
    ts = np.arange(start_ms - start_ms % 60_000, now_ms, 60_000)
    hours = (ts - ts[0]) / HOUR_MS
    intensity = np.clip(np.sin(hours / 3.0) * 6 + rng.normal(0, 1.5, len(ts)), 0, None)
    ref = np.round(intensity / 60 * np.where(intensity > 0.5, 1, 0), 2)
    dut = np.round(ref * rng.normal(1.02, 0.04, len(ts)), 2)
    for t, d, r in zip(ts.tolist(), dut.tolist(), ref.tolist(), strict=True):
        yield Reading("rg-ref-01", t, {"rain_mm": max(r, 0.0), "battery_v": 3.6})
        if rng.random() > 0.01:  # the device under test misses ~1 % of its minutes
            yield Reading("rg-dut-01", t, {"rain_mm": max(d, 0.0), "battery_v": 3.55})


def _fever(rng: np.random.Generator, start_ms: int, now_ms: int) -> Iterator[Reading]:
    for i, t in enumerate(np.sort(rng.integers(start_ms, now_ms, 160)).tolist()):
        body = float(rng.choice([36.6, 36.9, 37.2, 38.2, 38.8], p=[0.4, 0.3, 0.15, 0.1, 0.05]))
        body = round(body + rng.normal(0, 0.15), 2)
        skin = round(body - 0.3 + rng.normal(0, 0.25), 2)
        pair = f"p{i:04d}"
        yield Reading("fs-dut-01", t, {"skin_temp_c": skin, "alarm": skin >= 37.3, "pair_id": pair})
        yield Reading("ct-ref-01", t + 45_000, {"body_temp_c": body, "pair_id": pair})


def _lift(rng: np.random.Generator, start_ms: int, now_ms: int) -> Iterator[Reading]:
    kinds = ["fault_door", "fault_levelling", "entrapment", "out_of_service", "in_service"]
    for t in np.sort(rng.integers(start_ms, now_ms, 30)).tolist():
        kind = str(rng.choice(kinds, p=[0.45, 0.2, 0.05, 0.15, 0.15]))
        yield Reading("lc-ref-01", t, {"event_type": kind})
        if rng.random() > 0.07:
            yield Reading("lm-dut-01", t + int(rng.integers(2_000, 20_000)), {"event_type": kind})
    for t in range(start_ms - start_ms % HOUR_MS + HOUR_MS, now_ms, HOUR_MS):
        yield Reading("lm-dut-01", t, {"event_type": "heartbeat"})


def _uv(rng: np.random.Generator, start_ms: int, now_ms: int) -> Iterator[Reading]:
    first_ms = start_ms - start_ms % HOUR_MS + HOUR_MS
    missions = [(t, t + 10 * 60_000) for t in range(first_ms, now_ms - 10 * 60_000, 2 * HOUR_MS)]
    for begin, end in missions:
        yield Reading("uv-dut-01", begin, {"event": "mission_start", "battery_pct": 90.0})
        yield Reading("uv-dut-01", end, {"event": "mission_end", "battery_pct": 80.0})
    ts = np.arange(start_ms - start_ms % 1000, now_ms, 1000)
    active = np.zeros(len(ts), dtype=bool)
    for begin, end in missions:
        active |= (ts >= begin) & (ts < end)
    for device, level in (("rad-ref-01", 42.0), ("rad-ref-02", 23.0)):
        values = np.where(active, level + rng.normal(0, 2.0, len(ts)), rng.uniform(0, 0.3, len(ts)))
        for t, v in zip(ts.tolist(), np.round(np.clip(values, 0, None), 2).tolist(), strict=True):
            yield Reading(device, t, {"irradiance_uw_cm2": v})


def sample_readings(now_ms: int, hours: float = 72.0, seed: int = 7) -> list[Reading]:
    """Readings of every sample device over the last `hours`."""
    rng = np.random.default_rng(seed)
    start_ms = now_ms - int(hours * HOUR_MS)
    readings = [*_rain(rng, start_ms, now_ms), *_fever(rng, start_ms, now_ms),
                *_lift(rng, start_ms, now_ms), *_uv(rng, start_ms, now_ms)]
    return [r for r in readings if r.ts_ms < now_ms]


def write_readings(store: TimeSeriesStore, readings: list[Reading], latency_ms: int = 800) -> None:
    """Write readings as ingest would, received `latency_ms` after their timestamp."""
    batch = [ReceivedReading(r, r.ts_ms + latency_ms) for r in readings]
    for offset in range(0, len(batch), 20_000):
        store.write(batch[offset:offset + 20_000])


def seed_registry(registry: Registry, now_ms: int) -> dict[str, str]:
    """Apply the sample trials, mark gateways online, add a few dead letters, create users.

    Returns user name -> clear token: `assessor`, and one provider user per trial, named
    after the provider.
    """
    tokens: dict[str, str] = {}
    trials = sample_trials(now_ms)
    with registry.session() as session:
        for trial in trials:
            apply_trial(session, trial.spec)
        session.flush()
        for gateway in session.query(Gateway).all():
            gateway.state = "online"
            gateway.state_changed_ms = now_ms - 2 * HOUR_MS
            gateway.last_status = {"state": "online", "buffer_messages": 0, "ts_ms": now_ms}
        for i, reason in enumerate(["out_of_range", "out_of_range", "timestamp_in_future"]):
            session.add(DeadLetter(received_ms=now_ms - i * 60_000, reason=reason,
                                   detail="sample", gateway_id="gw-roof-01",
                                   device_id="rg-dut-01", ts_ms=now_ms - i * 60_000))
        _, tokens["assessor"] = create_user(session, "assessor", "assessor")
        for trial in trials:
            _, tokens[trial.provider] = create_user(session, trial.provider, "provider",
                                                    trial.provider)
    return tokens

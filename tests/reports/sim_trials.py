"""Simulated trials of each family, written into a real SQLiteStore (and registry)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.drivers.simulator.driver import simulate
from telemetry.store.base import TimeSeriesStore
from telemetry.trial_spec import TrialSpec, parse_trial_spec
from telemetry.wire import Reading, ReceivedReading

START = "2026-11-02T00:00:00+08:00"
START_MS = int(datetime.fromisoformat(START).timestamp() * 1000)
HOUR_MS = 3_600_000
MESSAGE_READINGS = 20

WORLD = {"world": "hq", "world_seed": 7}
FAMILIES: dict[str, dict[str, Any]] = {
    "rain_gauge": {
        "hours": 24,
        "devices": {
            "rg-dut-01": ("rain_gauge", "under_test",
                          {"gain": 1.03, "noise_sd": 0.005, "dropout_rate": 0.01, "seed": 1}),
            "rg-ref-01": ("rain_gauge", "reference", {}),
        },
        "world": {"rain_events_per_day": 10},
        "comparisons": [{"under_test": "rg-dut-01", "reference": "rg-ref-01"}],
        "acceptance": [{"metric": "quality.completeness", "op": ">=", "value": 0.95},
                       {"metric": "rain_gauge.pct_within_tolerance", "op": ">=", "value": 20}],
    },
    "fever_screener": {
        "hours": 12,
        "devices": {
            "fs-dut-01": ("fever_screener", "under_test",
                          {"bias": -0.2, "noise_sd": 0.25, "seed": 2}),
            "ct-ref-01": ("clinical_thermometer", "reference", {}),
        },
        "world": {"screenings_per_hour": 40, "fever_prevalence": 0.15},
        "comparisons": [{"under_test": "fs-dut-01", "reference": "ct-ref-01"}],
        "acceptance": [{"metric": "fever_screener.sensitivity", "op": ">=", "value": 0.5},
                       {"metric": "fever_screener.bias_c", "op": "<=", "value": 0.5}],
    },
    "lift": {
        "hours": 72,
        "devices": {
            "lm-dut-01": ("lift_monitor", "under_test",
                          {"recall": 0.9, "delay_s": 8, "false_alarms_per_day": 1.5, "seed": 3}),
            "lc-ref-01": ("lift_controller_log", "reference", {}),
        },
        "world": {"faults_per_day": 8, "outages_per_day": 1},
        "comparisons": [{"under_test": "lm-dut-01", "reference": "lc-ref-01"}],
        "acceptance": [{"metric": "lift.recall", "op": ">=", "value": 0.99},
                       {"metric": "lift.by_type.entrapment.recall", "op": ">=", "value": 0.5}],
    },
    "uv_robot": {
        "hours": 6,
        "devices": {
            "uv-dut-01": ("uv_robot", "under_test",
                          {"noise_sd": 0.5, "seed": 4, "targets": ["uvr-a", "uvr-b"]}),
            "uvr-a": ("uv_radiometer", "reference", {}),
            "uvr-b": ("uv_radiometer", "reference", {}),
        },
        "world": {"missions_per_day": 24},
        "comparisons": [{"under_test": "uv-dut-01", "reference": ["uvr-a", "uvr-b"]}],
        "acceptance": [{"metric": "uv_robot.coverage_pct", "op": ">=", "value": 50},
                       {"metric": "quality.received", "op": ">=", "value": 1}],
    },
}


def trial_id(family: str) -> str:
    """The simulated trial id of a family."""
    return f"t-{family.replace('_', '-')}-sim"


def trial_spec(family: str) -> TrialSpec:
    """A trial definition for the family's simulated site."""
    case = FAMILIES[family]
    end_ms = START_MS + case["hours"] * HOUR_MS
    end = datetime.fromtimestamp(end_ms / 1000, tz=UTC).isoformat()
    return parse_trial_spec({
        "wish": {"id": f"w-{trial_id(family)}", "title": f"Verified {family} for government sites",
                 "department": "Electrical and Mechanical Services Department"},
        "solution": {"id": f"s-{trial_id(family)}", "title": f"Smart {family}",
                     "provider": "acme-sensing"},
        "trial": {
            "id": trial_id(family),
            "site": {"id": "emsd-hq", "name": "EMSD Headquarters", "timezone": "Asia/Hong_Kong"},
            "start": START, "end": end,
            "gateways": [{"id": "gw-hq-01"}],
            "devices": [{"id": d, "profile": p, "gateway": "gw-hq-01", "role": role}
                        for d, (p, role, _s) in case["devices"].items()],
            "comparisons": case["comparisons"],
            "acceptance": case["acceptance"],
        },
    })


def _settings(family: str, device_id: str) -> dict[str, Any]:
    case = FAMILIES[family]
    extra = dict(case["devices"][device_id][2])
    if "targets" in extra:
        extra["targets"] = tuple(extra["targets"])
    if case["devices"][device_id][0] == "uv_radiometer":
        extra["target_id"] = device_id
    return {**WORLD, **case["world"], **extra}


def write_readings(store: TimeSeriesStore, readings: list[Reading], first_seq: int = 1,
                   latency_ms: int = 700) -> int:
    """Store readings in messages of MESSAGE_READINGS, received a little later; next seq."""
    seq = first_seq
    for i in range(0, len(readings), 2000):
        chunk = readings[i:i + 2000]
        batch = [ReceivedReading(r, r.ts_ms + latency_ms + (k % 7) * 100)
                 for k, r in enumerate(chunk)]
        seqs = [(chunk[0].device_id, seq + k)
                for k in range(-(-len(chunk) // MESSAGE_READINGS))]
        store.write(batch, seqs)
        seq += len(seqs)
    return seq


def populate(store: TimeSeriesStore, family: str, *, hours: float | None = None) -> TrialSpec:
    """Simulate every device of the family's trial and write the readings; the trial spec."""
    spec = trial_spec(family)
    end_ms = START_MS + int((hours if hours is not None else FAMILIES[family]["hours"]) * HOUR_MS)
    for device in spec.trial.devices:
        readings = simulate(device.profile, _settings(family, device.id), START_MS, end_ms,
                            device_id=device.id)
        write_readings(store, readings)
    return spec

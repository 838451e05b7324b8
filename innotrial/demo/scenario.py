"""The demo's simulated site: one trial per device family, with error models chosen so that
some verdicts pass and some fail, each for a visible reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SITE = {"id": "demo-site", "name": "Demo government complex", "timezone": "Asia/Hong_Kong"}
WORLD_SEED = 2026


@dataclass(frozen=True)
class DemoDevice:
    """A simulated device and its simulator error model."""

    id: str
    profile: str
    role: str
    error_model: dict[str, Any]


@dataclass(frozen=True)
class DemoTrial:
    """One trial of the demo: its wish, solution, devices, comparisons and criteria."""

    trial_id: str
    gateway_id: str
    wish: dict[str, str]
    solution: dict[str, str]
    devices: tuple[DemoDevice, ...]
    comparisons: tuple[dict[str, Any], ...]
    acceptance: tuple[dict[str, Any], ...]
    world: dict[str, Any]
    expected_verdict: str
    why: str


# Rates are per simulated day and high, so that 30 simulated minutes hold enough events.
TRIALS: tuple[DemoTrial, ...] = (
    DemoTrial(
        trial_id="t-demo-rain",
        gateway_id="gw-demo-rain",
        wish={
            "id": "w-dsd-017",
            "title": "Real-time rain gauge data transmission",
            "department": "Drainage Services Department",
            "category": "iot",
        },
        solution={
            "id": "s-rain-piezo",
            "title": "Piezo rain gauge with LoRa backhaul",
            "provider": "acme-sensing",
        },
        devices=(
            DemoDevice("rg-dut-01", "rain_gauge", "under_test", {"gain": 1.02}),
            DemoDevice("rg-ref-01", "rain_gauge", "reference", {}),
        ),
        comparisons=({"under_test": "rg-dut-01", "reference": "rg-ref-01"},),
        acceptance=(
            {"metric": "quality.completeness", "op": ">=", "value": 0.95},
            {"metric": "rain_gauge.pct_within_tolerance", "op": ">=", "value": 90},
            {"metric": "rain_gauge.pod", "op": ">=", "value": 0.9},
        ),
        world={"rain_events_per_day": 150, "drizzle_share": 0.2},
        expected_verdict="pass",
        why="the gauge reads 2 % high: inside the WMO ±5 % tolerance",
    ),
    DemoTrial(
        trial_id="t-demo-fever",
        gateway_id="gw-demo-fever",
        wish={
            "id": "w-dh-031",
            "title": "Contactless fever screening at building entrances",
            "department": "Department of Health",
            "category": "health",
        },
        solution={
            "id": "s-fever-cam",
            "title": "Thermal fever-screening camera",
            "provider": "thermo-vision",
        },
        devices=(
            DemoDevice(
                "fs-dut-01", "fever_screener", "under_test", {"bias": -0.6, "noise_sd": 0.3}
            ),
            DemoDevice("ct-ref-01", "clinical_thermometer", "reference", {}),
        ),
        comparisons=({"under_test": "fs-dut-01", "reference": "ct-ref-01"},),
        acceptance=(
            {"metric": "quality.rejected", "op": "<=", "value": 0},
            {"metric": "fever_screener.sensitivity", "op": ">=", "value": 0.9},
            {"metric": "fever_screener.mae_c", "op": "<=", "value": 0.5},
        ),
        world={"screenings_per_hour": 600, "fever_prevalence": 0.2},
        expected_verdict="fail",
        why="the camera reads 0.6 °C low, so it misses fevers: sensitivity and MAE fail",
    ),
    DemoTrial(
        trial_id="t-demo-lift",
        gateway_id="gw-demo-lift",
        wish={
            "id": "w-emsd-044",
            "title": "Remote monitoring of lifts in government buildings",
            "department": "Electrical and Mechanical Services Department",
            "category": "iot",
        },
        solution={
            "id": "s-lift-watch",
            "title": "Retrofit lift remote-monitoring unit",
            "provider": "liftwatch-hk",
        },
        devices=(
            DemoDevice("lm-dut-01", "lift_monitor", "under_test", {"recall": 1.0, "delay_s": 4}),
            DemoDevice("lc-ref-01", "lift_controller_log", "reference", {}),
        ),
        comparisons=({"under_test": "lm-dut-01", "reference": "lc-ref-01"},),
        acceptance=(
            {"metric": "lift.recall", "op": ">=", "value": 0.9},
            {"metric": "lift.precision", "op": ">=", "value": 0.9},
            {"metric": "lift.detection_delay_p95_s", "op": "<=", "value": 30},
        ),
        world={"faults_per_day": 400, "outages_per_day": 40, "heartbeat_s": 120},
        expected_verdict="pass",
        why="every controller event is detected within seconds, no false alerts",
    ),
    DemoTrial(
        trial_id="t-demo-uv",
        gateway_id="gw-demo-uv",
        wish={
            "id": "w-ha-052",
            "title": "Automated UV-C disinfection of clinic rooms",
            "department": "Hospital Authority",
            "category": "health",
        },
        solution={
            "id": "s-uv-bot",
            "title": "Autonomous UV-C disinfection robot",
            "provider": "brightbot",
        },
        devices=(
            DemoDevice(
                "uv-dut-01",
                "uv_robot",
                "under_test",
                {"gain": 1.3, "targets": ["uv-rad-01", "uv-rad-02"]},
            ),
            DemoDevice("uv-rad-01", "uv_radiometer", "reference", {}),
            DemoDevice("uv-rad-02", "uv_radiometer", "reference", {}),
        ),
        comparisons=({"under_test": "uv-dut-01", "reference": ["uv-rad-01", "uv-rad-02"]},),
        acceptance=(
            {"metric": "uv_robot.coverage_pct", "op": ">=", "value": 90},
            {"metric": "uv_robot.self_report_error_pct", "op": "<=", "value": 10},
        ),
        world={"missions_per_day": 200},
        expected_verdict="fail",
        why="the robot over-reports its dose by 30 % and leaves one target point under-dosed",
    ),
)


def iso(ms: int) -> str:
    """RFC 3339 UTC time of epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def trial_definition(trial: DemoTrial, start_ms: int, end_ms: int) -> dict[str, Any]:
    """The trial YAML (as a mapping) of a demo trial over [start_ms, end_ms)."""
    return {
        "wish": trial.wish,
        "solution": trial.solution,
        "trial": {
            "id": trial.trial_id,
            "site": SITE,
            "start": iso(start_ms),
            "end": iso(end_ms),
            "gateways": [{"id": trial.gateway_id, "name": f"{trial.trial_id} gateway"}],
            "devices": [
                {"id": d.id, "profile": d.profile, "gateway": trial.gateway_id, "role": d.role}
                for d in trial.devices
            ],
            "comparisons": list(trial.comparisons),
            "acceptance": list(trial.acceptance),
        },
    }


def gateway_config(
    trial: DemoTrial, broker_url: str, buffer_dir: Path, start_ms: int, speed: float
) -> dict[str, Any]:
    """The edge gateway config (as a mapping) that simulates a demo trial's devices."""
    devices = []
    for index, device in enumerate(trial.devices):
        settings = {
            "seed": WORLD_SEED + index,
            "speed": speed,
            "start": start_ms,
            "world": trial.trial_id,
            "world_seed": WORLD_SEED,
            **trial.world,
            **device.error_model,
        }
        devices.append(
            {
                "id": device.id,
                "profile": device.profile,
                "driver": "simulator",
                "settings": settings,
            }
        )
    return {
        "gateway_id": trial.gateway_id,
        "broker_url": broker_url,
        "buffer_path": str(buffer_dir / f"{trial.gateway_id}.db"),
        "buffer_sync": "normal",
        "batch": {"max_readings": 60, "max_delay_ms": 200},
        "status_interval_s": 5,
        "confirm_timeout_s": 5,  # amqtt redelivers nothing: re-send soon what it dropped
        "reconnect_max_s": 5,  # a demo broker restart should not leave gateways waiting long
        "devices": devices,
    }


def _has_complete_mission(start_ms: int, end_ms: int, speed: float) -> bool:
    from gateway.drivers.simulator.driver import simulate

    uv = next(t for t in TRIALS if t.trial_id == "t-demo-uv")
    robot = uv.devices[0]
    settings = {
        "seed": WORLD_SEED,
        "speed": speed,
        "start": start_ms,
        "world": uv.trial_id,
        "world_seed": WORLD_SEED,
        **uv.world,
        **robot.error_model,
    }
    opened = False
    for reading in simulate(robot.profile, settings, start_ms, end_ms, robot.id):
        event = reading.values.get("event")
        opened = opened or event == "mission_start"
        if opened and event == "mission_end":
            return True
    return False


def pick_start_ms(now_ms: int, minutes: int, speed: float) -> int:
    """The latest minute-aligned start, at most `minutes` before now, whose window holds a
    complete UV mission (missions last 15-30 min, at most one an hour); else the default."""
    span_ms = minutes * 60_000
    latest = (now_ms - span_ms) // 60_000 * 60_000
    for step in range(0, 48 * 6):
        start_ms = latest - step * 600_000
        if _has_complete_mission(start_ms, start_ms + span_ms, speed):
            return start_ms
    return latest

"""Devices observing the shared world through their error model, one profile at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from gateway.drivers.simulator.config import SimulatorSettings
from gateway.drivers.simulator.world import (
    BLOCK_MS,
    MONITORED_TYPES,
    blocks,
    lift_events,
    missions,
    people,
    poisson,
    rain_mm,
    rng_for,
)

Raw = dict[str, float | str | bool | int]
Observer = Callable[[SimulatorSettings, str, int, int], Iterator[Raw]]


def _err(s: SimulatorSettings, value: float, *key: object) -> float:
    """Apply gain, bias and noise (each off unless set)."""
    value = value * s.gain + s.bias
    if s.noise_sd > 0:
        value += rng_for(s.seed, "noise", *key).gauss(0.0, s.noise_sd)
    return value


def _dropped(s: SimulatorSettings, *key: object) -> bool:
    return s.dropout_rate > 0 and rng_for(s.seed, "drop", *key).random() < s.dropout_rate


def rain_gauge(s: SimulatorSettings, device_id: str, start_ms: int, end_ms: int) -> Iterator[Raw]:
    """One reading per minute: rain in the interval, battery voltage."""
    for minute in range(-(-start_ms // 60_000), -(-end_ms // 60_000)):
        if _dropped(s, device_id, minute):
            continue
        truth = rain_mm(s, minute)
        measured = _err(s, truth, device_id, minute) if truth > 0 or s.noise_sd else 0.0
        yield {
            "ts_ms": minute * 60_000,
            "rain_mm": round(min(100.0, max(0.0, measured)), 3),
            "battery_v": 3.6,
        }


def uv_radiometer(
    s: SimulatorSettings, device_id: str, start_ms: int, end_ms: int
) -> Iterator[Raw]:
    """One reading per second: irradiance, high during this target's exposure in a mission."""
    target = s.target_id or device_id
    windows = [
        (on_ms, off_ms, uw)
        for block in blocks(start_ms, end_ms, 1)
        for mission in missions(s, block, (target,))
        for _, on_ms, off_ms, uw in mission.exposures
    ]
    for second in range(-(-start_ms // 1000), -(-end_ms // 1000)):
        ts_ms = second * 1000
        if _dropped(s, device_id, second):
            continue
        truth = next((uw for on, off, uw in windows if on <= ts_ms < off), 0.0)
        background = ((second * 2654435761) % 1000) / 20000
        value = _err(s, truth, device_id, second) if truth else background
        yield {"ts_ms": ts_ms, "irradiance_uw_cm2": round(min(100000.0, max(0.0, value)), 3)}


def fever_screener(
    s: SimulatorSettings, device_id: str, start_ms: int, end_ms: int
) -> Iterator[Raw]:
    """One reading per person screened, with an alarm at the device's threshold."""
    for block in blocks(start_ms, end_ms, 0):
        for person in people(s, block):
            if not start_ms <= person.ts_ms < end_ms or _dropped(s, device_id, person.pair_id):
                continue
            skin = round(
                min(45.0, max(20.0, _err(s, person.body_temp_c, device_id, person.pair_id))), 2
            )
            yield {
                "ts_ms": person.ts_ms,
                "skin_temp_c": skin,
                "alarm": skin >= s.alarm_threshold_c,
                "pair_id": person.pair_id,
            }


def clinical_thermometer(
    s: SimulatorSettings, device_id: str, start_ms: int, end_ms: int
) -> Iterator[Raw]:
    """The nurse's measurement of each screened person, a little after the screening."""
    for block in blocks(start_ms, end_ms, 1):
        for person in people(s, block):
            ts_ms = person.ts_ms + person.clinic_delay_ms
            if not start_ms <= ts_ms < end_ms or _dropped(s, device_id, person.pair_id):
                continue
            body = round(
                min(45.0, max(30.0, _err(s, person.body_temp_c, device_id, person.pair_id))), 2
            )
            yield {"ts_ms": ts_ms, "body_temp_c": body, "pair_id": person.pair_id}


def _lift(
    s: SimulatorSettings, device_id: str, start_ms: int, end_ms: int, monitor: bool
) -> Iterator[Raw]:
    events: list[tuple[int, str]] = []
    for block in blocks(start_ms, end_ms):
        for index, event in enumerate(lift_events(s, block)):
            key = (device_id, block, index)
            if monitor and (
                _dropped(s, *key)
                or (s.recall < 1 and rng_for(s.seed, "recall", *key).random() >= s.recall)
            ):
                continue
            delay_ms = 0
            if monitor and s.delay_s > 0:
                delay_ms = int(s.delay_s * 1000 * (0.5 + rng_for(s.seed, "delay", *key).random()))
            events.append((event.ts_ms + delay_ms, event.event_type))
        if monitor and s.false_alarms_per_day > 0:
            rng = rng_for(s.seed, "false", device_id, block)
            for _ in range(poisson(rng, s.false_alarms_per_day / 24)):
                events.append(
                    (block * BLOCK_MS + rng.randrange(BLOCK_MS), rng.choice(MONITORED_TYPES))
                )
    period_ms = int(s.heartbeat_s * 1000)
    first = -(-start_ms // period_ms) * period_ms
    events.extend((ts, "heartbeat") for ts in range(first, end_ms, period_ms))
    last_ts = None
    for ts_ms, kind in sorted(events):
        if start_ms <= ts_ms < end_ms:
            ts_ms = ts_ms if last_ts is None or ts_ms > last_ts else last_ts + 1
            last_ts = ts_ms
            yield {"ts_ms": ts_ms, "event_type": kind}


def lift_controller_log(
    s: SimulatorSettings, device_id: str, start_ms: int, end_ms: int
) -> Iterator[Raw]:
    """Every fault and outage as the controller logged it, plus heartbeats."""
    return _lift(s, device_id, start_ms, end_ms, monitor=False)


def lift_monitor(s: SimulatorSettings, device_id: str, start_ms: int, end_ms: int) -> Iterator[Raw]:
    """The controller's events as the monitor detects them: recall, delay, false alarms."""
    return _lift(s, device_id, start_ms, end_ms, monitor=True)


def uv_robot(s: SimulatorSettings, device_id: str, start_ms: int, end_ms: int) -> Iterator[Raw]:
    """Mission start, a dose report per target, mission end (and the odd person detected)."""
    for block in blocks(start_ms, end_ms, 1):
        for mission in missions(s, block, s.targets):
            rng = rng_for(s.seed, "robot", device_id, block)
            battery = round(100 - 40 * rng.random(), 1)
            events: list[Raw] = [
                {"ts_ms": mission.start_ms, "event": "mission_start", "battery_pct": battery}
            ]
            if rng.random() < 0.2:
                events.append(
                    {
                        "ts_ms": mission.start_ms + 300_000 + rng.randrange(60_000),
                        "event": "person_detected",
                    }
                )
            for index, target in enumerate(s.targets):
                dose = _err(s, mission.dose_mj_cm2(target), device_id, block, target)
                events.append(
                    {
                        "ts_ms": mission.end_ms - 1000 * (len(s.targets) - index),
                        "event": "dose_report",
                        "target_id": target,
                        "dose_mj_cm2": round(min(10000.0, max(0.0, dose)), 3),
                    }
                )
            events.append(
                {
                    "ts_ms": mission.end_ms,
                    "event": "mission_end",
                    "battery_pct": round(battery - 5, 1),
                }
            )
            for event in events:
                if start_ms <= int(event["ts_ms"]) < end_ms and not _dropped(
                    s, device_id, event["ts_ms"]
                ):
                    yield event


OBSERVERS: dict[str, Observer] = {
    "rain_gauge": rain_gauge,
    "uv_radiometer": uv_radiometer,
    "fever_screener": fever_screener,
    "clinical_thermometer": clinical_thermometer,
    "lift_monitor": lift_monitor,
    "lift_controller_log": lift_controller_log,
    "uv_robot": uv_robot,
}

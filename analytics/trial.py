"""The whole trial: quality of every device, every comparison, criteria and verdict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from analytics import fever_screener, lift, rain_gauge, uv_robot
from analytics.criteria import evaluate, verdict
from analytics.exclusions import ActiveTime, active_time, applied_exclusions
from analytics.model import RECEIVED, TS, DeviceBookkeeping, Window
from analytics.quality import device_quality
from device_profiles import Family, Role, get_profile
from registry.trial_spec import DEFAULT_PARAMS, ComparisonSpec, TrialBody, TrialSpec

METHODOLOGY_VERSION = "2"


# Fields each profile's analysis reads when the device takes part in a comparison.
PROFILE_COLUMNS: dict[str, tuple[str, ...]] = {
    "rain_gauge": rain_gauge.COLUMNS,
    "fever_screener": fever_screener.SCREENER_COLUMNS,
    "clinical_thermometer": fever_screener.THERMOMETER_COLUMNS,
    "lift_monitor": lift.COLUMNS,
    "lift_controller_log": lift.COLUMNS,
    "uv_robot": uv_robot.ROBOT_COLUMNS,
    "uv_radiometer": uv_robot.RADIOMETER_COLUMNS,
}


def device_frame(
    frames: Mapping[str, pd.DataFrame], device_id: str, columns: tuple[str, ...]
) -> pd.DataFrame:
    """The device's frame: ts_ms int64 and the analysis `columns` present (null if absent)."""
    frame = frames.get(device_id)
    if frame is None:
        frame = pd.DataFrame({TS: pd.Series([], dtype="int64")})
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        frame = frame.assign(**dict.fromkeys(missing))
    for name in (TS, RECEIVED):
        if name in frame.columns and frame[name].dtype != "int64":
            frame = frame.assign(**{name: frame[name].astype("int64")})
    return frame


def _compare(
    body: TrialBody,
    comparison: ComparisonSpec,
    frames: Mapping[str, pd.DataFrame],
    active: Mapping[str, ActiveTime],
    window: Window,
) -> list[dict[str, Any]]:
    """Metrics of one comparison: one entry per reference for rain_gauge and lift, one entry
    for all references at once for uv_robot and fever_screener (pooled thermometers)."""
    family = get_profile(body.device(comparison.under_test).profile).family
    dut_id = comparison.under_test
    d = frames[dut_id]
    if family is Family.UV_ROBOT:
        radiometers = {ref: frames[ref] for ref in comparison.references}
        periods = {ref: _period_ms(body, ref) or 1000 for ref in comparison.references}
        params = {name: body.param(name) for name in ("uv_target_dose_mj_cm2", "uv_interlock_s")}
        metrics = uv_robot.uv_metrics(d, radiometers, periods, window, params)
        return [_entry(dut_id, comparison.reference, family, metrics)]
    if family is Family.FEVER_SCREENER:
        pooled = pd.concat([frames[ref] for ref in comparison.references], ignore_index=True)
        metrics = fever_screener.fever_metrics(
            d,
            pooled,
            window,
            body.param("fever_threshold_c"),
            body.param("fever_max_pair_delay_s"),
        )
        return [_entry(dut_id, comparison.reference, family, metrics)]
    out = []
    for ref in comparison.references:
        r = frames[ref]
        if family is Family.RAIN_GAUGE:
            metrics = rain_gauge.rain_metrics(
                d, r, window, body.site.timezone, body.param("rain_wet_day_mm")
            )
        else:
            metrics = lift.lift_metrics(
                d, r, window, body.param("lift_match_window_s"), (active[dut_id], active[ref])
            )
        out.append(_entry(dut_id, ref, family, metrics))
    return out


def _period_ms(body: TrialBody, device_id: str) -> int | None:
    profile = get_profile(body.device(device_id).profile)
    return profile.period_ms if profile.kind == "periodic" else None


def _entry(
    under_test: str, reference: str | list[str], family: Family, metrics: dict[str, Any]
) -> dict[str, Any]:
    reference_out = reference if isinstance(reference, str) else list(reference)
    return {
        "under_test": under_test,
        "reference": reference_out,
        "family": family.value,
        "metrics": metrics,
    }


def compute_trial_metrics(
    spec: TrialSpec,
    frames: Mapping[str, pd.DataFrame],
    bookkeeping: Mapping[str, DeviceBookkeeping],
    window: Window,
) -> dict[str, Any]:
    """The metrics JSON of DESIGN.md for one trial, from in-memory readings; no I/O.

    `frames[device_id]` holds ts_ms (int64), received_ms (int64, for latency) and the
    profile's fields; rows outside the window are ignored and row order does not matter.
    A device without a frame has no readings. Readings in a device's exclusion windows are
    removed before anything is computed (METRICS-v2.md §1).
    """
    body = spec.trial
    active = {d.id: active_time(window, body.exclusions_of(d.id)) for d in body.devices}
    prepared = {
        device.id: active[device.id].keep(
            window.clip(device_frame(frames, device.id, PROFILE_COLUMNS.get(device.profile, ())))
        )
        for device in body.devices
    }
    quality = {
        device.id: device_quality(
            prepared[device.id],
            window,
            _period_ms(body, device.id),
            bookkeeping.get(device.id, DeviceBookkeeping()),
            active[device.id],
        )
        for device in body.devices
    }
    comparisons = [
        entry
        for comp in body.comparisons
        for entry in _compare(body, comp, prepared, active, window)
    ]
    under_test = [d.id for d in body.devices if d.role is Role.UNDER_TEST]
    criteria = [(c.metric, c.op, c.value) for c in body.acceptance]
    rows = evaluate(criteria, quality, under_test, comparisons)
    return {
        "trial_id": body.id,
        "methodology_version": METHODOLOGY_VERSION,
        "window": {"start_ms": window.start_ms, "end_ms": window.end_ms},
        "params": {name: body.param(name) for name in DEFAULT_PARAMS},
        "exclusions": applied_exclusions(window, body.exclusions),
        "quality": quality,
        "comparisons": comparisons,
        "criteria": rows,
        "verdict": verdict(rows),
    }

"""uv_robot: a UV-C disinfection robot against radiometers at its target points."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics._stats import mean, percentile, ratio
from analytics.model import TS, Window

ROBOT_COLUMNS = ("event", "target_id", "dose_mj_cm2")
RADIOMETER_COLUMNS = ("irradiance_uw_cm2",)
# µW/cm² × ms = nJ/cm²; 1e6 nJ = 1 mJ
UW_MS_PER_MJ = 1e6


@dataclass(frozen=True, slots=True)
class Mission:
    """One completed mission [start_ms, end_ms)."""

    start_ms: int
    end_ms: int


def missions(robot: pd.DataFrame) -> list[Mission]:
    """Scan in-window robot events in ts order; start replaces an open mission, end closes it.

    Events at one ts (a robot ending a mission and starting the next in the same second) are
    taken end first, whatever order the store returned them in."""
    found: list[Mission] = []
    open_ms: int | None = None
    events = sorted(zip(robot[TS].tolist(), robot["event"].tolist(), strict=True),
                    key=lambda item: (item[0], item[1] != "mission_end"))
    for ts, event in events:
        if event == "mission_start":
            open_ms = int(ts)
        elif event == "mission_end" and open_ms is not None:
            found.append(Mission(open_ms, int(ts)))
            open_ms = None
    return found


def doses(radiometer: pd.DataFrame, found: list[Mission], period_ms: int) -> np.ndarray:
    """Dose H (mJ/cm²) per mission: Σ E_j × min(Δt_j, 2p), Δt_j to the next reading or end_m."""
    ts = radiometer[TS].to_numpy(dtype=np.int64)
    if not found or ts.size == 0:
        return np.zeros(len(found))
    irr = radiometer["irradiance_uw_cm2"].to_numpy(dtype=np.float64)
    starts = np.array([m.start_ms for m in found], dtype=np.int64)
    ends = np.array([m.end_ms for m in found], dtype=np.int64)
    nxt = np.append(ts[1:], np.iinfo(np.int64).max)
    # Every reading but a mission's last has its whole step to the next reading inside the
    # mission, so those terms do not depend on the mission and one cumulative sum serves all.
    step = irr * np.minimum(nxt - ts, 2 * period_ms).astype(np.float64)
    cum = np.concatenate(([0.0], np.cumsum(step)))
    lo = np.searchsorted(ts, starts, side="left")
    hi = np.searchsorted(ts, ends, side="left")
    has = hi > lo
    last = np.where(has, hi - 1, 0)
    tail_dt = np.minimum(np.minimum(nxt[last], ends) - ts[last], 2 * period_ms)
    total = cum[last] - cum[lo] + irr[last] * tail_dt.astype(np.float64)
    return np.asarray(np.where(has, total, 0.0) / UW_MS_PER_MJ, dtype=np.float64)


def _last_reports(robot: pd.DataFrame, target_id: str, found: list[Mission]) -> np.ndarray:
    """Per mission, the dose of the last dose_report for target_id in [start_m, end_m], or NaN."""
    picked = robot[
        (robot["event"] == "dose_report")
        & (robot["target_id"] == target_id)
        & robot["dose_mj_cm2"].notna()
    ]
    ts = picked[TS].to_numpy(dtype=np.int64)
    dose = picked["dose_mj_cm2"].to_numpy(dtype=np.float64)
    out = np.full(len(found), np.nan)
    for k, mission in enumerate(found):
        idx = int(np.searchsorted(ts, mission.end_ms, side="right")) - 1
        if idx >= 0 and ts[idx] >= mission.start_ms:
            out[k] = dose[idx]
    return out


def _readings_in_missions(radiometer: pd.DataFrame, found: list[Mission]) -> int:
    """Radiometer readings with ts in [start_m, end_m), summed over missions."""
    ts = radiometer[TS].to_numpy(dtype=np.int64)
    starts = np.array([m.start_ms for m in found], dtype=np.int64)
    ends = np.array([m.end_ms for m in found], dtype=np.int64)
    return int(np.sum(np.searchsorted(ts, ends) - np.searchsorted(ts, starts)))


def interlock(robot: pd.DataFrame, found: list[Mission], interlock_s: float) -> dict[str, Any]:
    """person_detected events inside missions, and those followed by a stop within the limit.

    Inside = ts in [start_m, end_m); a stop is a mission_end or mission_start event with
    ts in [ts_p, ts_p + uv_interlock_s].
    """
    ts = robot[TS].to_numpy(dtype=np.int64)
    event = robot["event"].to_numpy()
    person = ts[event == "person_detected"]
    starts = np.array([m.start_ms for m in found], dtype=np.int64)
    ends = np.array([m.end_ms for m in found], dtype=np.int64)
    k = np.searchsorted(starts, person, side="right") - 1
    inside = person[(k >= 0) & (person < ends[np.maximum(k, 0)])] if found else person[:0]
    stops = np.sort(ts[(event == "mission_end") | (event == "mission_start")])
    limit_ms = interlock_s * 1000.0
    nxt = np.searchsorted(stops, inside, side="left")
    padded = np.append(stops, np.iinfo(np.int64).max)
    stopped = int(np.sum(padded[nxt] - inside <= limit_ms))
    return {
        "person_detected": int(inside.size),
        "person_detected_stops": stopped,
        "interlock_pct": ratio(100.0 * stopped, float(inside.size)),
    }


def uv_metrics(
    robot: pd.DataFrame,
    radiometers: Mapping[str, pd.DataFrame],
    periods_ms: Mapping[str, int],
    window: Window,
    params: Mapping[str, float],
) -> dict[str, Any]:
    """METRICS.md (v2) uv_robot metrics of robot d against radiometers (device id -> readings).

    `params` gives uv_target_dose_mj_cm2 and uv_interlock_s.
    """
    target_dose = params["uv_target_dose_mj_cm2"]
    d = window.clip(robot)
    found = missions(d)
    all_doses: list[np.ndarray] = []
    errors: list[np.ndarray] = []
    readings = slots = 0
    for target_id, frame in radiometers.items():
        inside = window.clip(frame)
        h = doses(inside, found, periods_ms[target_id])
        all_doses.append(h)
        reported = _last_reports(d, target_id, found)
        usable = ~np.isnan(reported) & (h > 0)
        errors.append(100.0 * (reported[usable] - h[usable]) / h[usable])
        readings += _readings_in_missions(inside, found)
        slots += sum((m.end_ms - m.start_ms) // periods_ms[target_id] for m in found)
    h_all = np.concatenate(all_doses) if all_doses else np.empty(0)
    err_all = np.concatenate(errors) if errors else np.empty(0)
    per_mission = np.vstack(all_doses) if all_doses else np.empty((0, len(found)))
    fully_dosed = int(np.sum(np.all(per_mission >= target_dose, axis=0)))
    cycle_s = np.array([(m.end_ms - m.start_ms) / 1000.0 for m in found])
    return {
        "missions": len(found),
        "mean_cycle_time_s": mean(cycle_s),
        "dose_count": int(h_all.size),
        "coverage_pct": None
        if h_all.size == 0
        else 100.0 * float(np.sum(h_all >= target_dose)) / h_all.size,
        "min_dose_mj_cm2": None if h_all.size == 0 else float(h_all.min()),
        "p10_dose_mj_cm2": percentile(h_all, 10),
        "self_report_error_pct": mean(err_all),
        "self_report_mae_pct": mean(np.abs(err_all)),
        "missions_fully_dosed_pct": ratio(100.0 * fully_dosed, float(len(found))),
        "radiometer_completeness": ratio(readings, slots),
        **interlock(d, found, params["uv_interlock_s"]),
    }

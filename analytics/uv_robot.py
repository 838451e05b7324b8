"""uv_robot: a UV-C disinfection robot against radiometers at its target points."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics._stats import mean, percentile
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


def uv_metrics(
    robot: pd.DataFrame,
    radiometers: Mapping[str, pd.DataFrame],
    periods_ms: Mapping[str, int],
    window: Window,
    target_dose_mj_cm2: float,
) -> dict[str, Any]:
    """METRICS.md uv_robot metrics of robot d against radiometers (device id -> readings)."""
    d = window.clip(robot)
    found = missions(d)
    all_doses: list[np.ndarray] = []
    errors: list[np.ndarray] = []
    for target_id, frame in radiometers.items():
        h = doses(window.clip(frame), found, periods_ms[target_id])
        all_doses.append(h)
        reported = _last_reports(d, target_id, found)
        usable = ~np.isnan(reported) & (h > 0)
        errors.append(100.0 * (reported[usable] - h[usable]) / h[usable])
    h_all = np.concatenate(all_doses) if all_doses else np.empty(0)
    err_all = np.concatenate(errors) if errors else np.empty(0)
    cycle_s = np.array([(m.end_ms - m.start_ms) / 1000.0 for m in found])
    return {
        "missions": len(found),
        "mean_cycle_time_s": mean(cycle_s),
        "dose_count": int(h_all.size),
        "coverage_pct": None
        if h_all.size == 0
        else 100.0 * float(np.sum(h_all >= target_dose_mj_cm2)) / h_all.size,
        "min_dose_mj_cm2": None if h_all.size == 0 else float(h_all.min()),
        "p10_dose_mj_cm2": percentile(h_all, 10),
        "self_report_error_pct": mean(err_all),
    }

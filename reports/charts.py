"""Plot data for the report, derived from the same frames the metrics came from.

Figures are plain plotly JSON dicts (no plotly Python objects: faster and deterministic).
Every trace is decimated to at most MAX_POINTS points so a 30-day trial still renders fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics.lift import MONITORED_TYPES, greedy_match
from analytics.model import TS, Window
from analytics.uv_robot import doses, missions
from device_profiles import get_profile
from registry.trial_spec import TrialSpec
from reports.metric_labels import row_label

MAX_POINTS = 2000
MAX_MISSION_BARS = 40  # more missions than this: the lowest dose per target and day
MINUTE_MS = 60_000
COLOURS = {"dut": "#1f6feb", "ref": "#8c959f", "ok": "#1a7f37", "bad": "#cf222e",
           "warn": "#bf8700"}
Figure = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart: a stable DOM id, bilingual title key and the plotly figure."""

    chart_id: str
    title_key: str
    figure: Figure


def decimate(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most `max_points` evenly spread rows out of `n` (all when n is small)."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))


def local_times(ts_ms: np.ndarray, timezone: str) -> list[str]:
    """Epoch ms as local 'YYYY-MM-DD HH:MM:SS' strings for a plotly date axis."""
    stamps = pd.to_datetime(np.asarray(ts_ms, dtype=np.int64), unit="ms", utc=True)
    return [str(s) for s in stamps.tz_convert(timezone).strftime("%Y-%m-%d %H:%M:%S")]


def time_axis(window: Window, timezone: str) -> dict[str, Any]:
    """A date x-axis over the whole data window (at least one minute), never autoranged.

    Autoranging around one event or one short mission gives sub-millisecond ticks; the window
    gives ticks at a sensible step for any span, from an hour to months.
    """
    end_ms = max(window.end_ms, window.start_ms + MINUTE_MS)
    start, end = local_times(np.array([window.start_ms, end_ms]), timezone)
    return {"type": "date", "range": [start, end]}


def _layout(x_title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    return {"xaxis": {"title": {"text": x_title}, "automargin": True, **extra.pop("xaxis", {})},
            "yaxis": {"title": {"text": y_title}, "automargin": True, **extra.pop("yaxis", {})},
            "margin": {"l": 60, "r": 20, "t": 20, "b": 50}, "height": 360,
            "legend": {"orientation": "h", "y": -0.25}, **extra}


def _points(x: np.ndarray | list[Any], y: np.ndarray | list[Any], name: str, colour: str,
            symbol: str = "circle") -> dict[str, Any]:
    keep = decimate(len(x))
    xs, ys = np.asarray(x, dtype=object)[keep], np.asarray(y, dtype=object)[keep]
    return {"type": "scatter", "mode": "markers", "name": f"{name} (n={len(x)})",
            "x": xs.tolist(), "y": ys.tolist(),
            "marker": {"color": colour, "size": 6, "symbol": symbol, "opacity": 0.7}}


def _minute_sums(frame: pd.DataFrame, window: Window) -> pd.Series:
    """Rain per minute bin floor(ts_ms / 60000) in W (METRICS.md rain_gauge step 1)."""
    inside = window.clip(frame)
    bins = inside[TS].to_numpy(dtype=np.int64) // MINUTE_MS
    rain = np.nan_to_num(inside["rain_mm"].to_numpy(dtype=np.float64))
    return pd.Series(rain, index=bins).groupby(level=0, sort=True).sum()


def rain_charts(prefix: str, d: pd.DataFrame, r: pd.DataFrame, window: Window,
                timezone: str) -> list[Chart]:
    """Intensity scatter with the 1:1 line, and daily totals, over paired minutes."""
    sums_d, sums_r = _minute_sums(d, window), _minute_sums(r, window)
    bins = np.intersect1d(sums_d.index.to_numpy(), sums_r.index.to_numpy())
    rain_d = sums_d.loc[bins].to_numpy(dtype=np.float64)
    rain_r = sums_r.loc[bins].to_numpy(dtype=np.float64)
    wet = (rain_d > 0) | (rain_r > 0)
    i_d, i_r = 60.0 * rain_d[wet], 60.0 * rain_r[wet]
    top = float(max(i_d.max(initial=0.0), i_r.max(initial=0.0), 1.0))
    scatter = {"data": [
        _points(i_r, i_d, "minutes with rain", COLOURS["dut"]),
        {"type": "scatter", "mode": "lines", "name": "1:1", "x": [0, top], "y": [0, top],
         "line": {"color": COLOURS["ref"], "dash": "dash"}}],
        "layout": _layout("reference intensity / 參考雨強 (mm/h)",
                          "device intensity / 受測裝置雨強 (mm/h)",
                          xaxis={"range": [0, top * 1.05], "rangemode": "tozero"},
                          yaxis={"range": [0, top * 1.05], "rangemode": "tozero"})}
    local = pd.to_datetime(bins * MINUTE_MS, unit="ms", utc=True).tz_convert(timezone)
    days = local.tz_localize(None).normalize()
    daily = pd.DataFrame({"d": rain_d, "r": rain_r}).groupby(days).sum()
    daily.index = [str(day) for day in pd.DatetimeIndex(daily.index).strftime("%m-%d")]
    bars = {"data": [
        {"type": "bar", "name": "device under test", "x": daily.index.tolist(),
         "y": daily["d"].round(3).tolist(), "marker": {"color": COLOURS["dut"]}},
        {"type": "bar", "name": "reference", "x": daily.index.tolist(),
         "y": daily["r"].round(3).tolist(), "marker": {"color": COLOURS["ref"]}}],
        "layout": _layout("day (site time, MM-DD) / 日期（當地時間，月-日）", "rain / 雨量 (mm)",
                          barmode="group", xaxis={"type": "category"},
                          yaxis={"rangemode": "tozero"})}
    return [Chart(f"{prefix}-scatter", "chart_rain_scatter", scatter),
            Chart(f"{prefix}-daily", "chart_rain_daily", bars)]


def fever_charts(prefix: str, d: pd.DataFrame, r: pd.DataFrame, window: Window,
                 metrics: Mapping[str, Any]) -> list[Chart]:
    """Bland–Altman plot: difference against mean, with bias and limits of agreement."""
    first_d = window.clip(d).dropna(subset=["pair_id"]).drop_duplicates("pair_id")
    first_r = window.clip(r).dropna(subset=["pair_id"]).drop_duplicates("pair_id")
    pairs = first_d.merge(first_r, on="pair_id", suffixes=("_d", "_r"))
    skin = pairs["skin_temp_c"].to_numpy(dtype=np.float64)
    body = pairs["body_temp_c"].to_numpy(dtype=np.float64)
    mean_c, diff_c = (skin + body) / 2.0, skin - body
    lo = float(mean_c.min(initial=35.0)) - 0.25
    hi = max(float(mean_c.max(initial=38.0)) + 0.25, lo + 1.0)
    data = [_points(mean_c.round(4), diff_c.round(4), "pairs", COLOURS["dut"])]
    for key, colour, label in (("bias_c", COLOURS["ok"], "bias"),
                               ("loa_low_c", COLOURS["bad"], "LoA −1.96 SD"),
                               ("loa_high_c", COLOURS["bad"], "LoA +1.96 SD")):
        value = metrics.get(key)
        if value is not None:
            data.append({"type": "scatter", "mode": "lines", "name": f"{label} {value:.3f}",
                         "x": [lo, hi], "y": [value, value],
                         "line": {"color": colour, "dash": "dash"}})
    layout = _layout("mean of the two / 兩者平均 (°C)", "screener − clinical / 篩查 − 臨床 (°C)",
                     xaxis={"range": [lo, hi]})
    figure = {"data": data, "layout": layout}
    return [Chart(f"{prefix}-ba", "chart_bland_altman", figure)]


def _lift_classes(d: pd.DataFrame, r: pd.DataFrame, window_ms: float) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {"match": [], "miss": [], "false": []}
    for event_type in MONITORED_TYPES:
        ref = sorted(int(t) for t in r[TS][r["event_type"] == event_type])
        dut = sorted(int(t) for t in d[TS][d["event_type"] == event_type])
        pairs = greedy_match(ref, dut, window_ms)
        matched_r = {p[0] for p in pairs}
        matched_d = {p[1] for p in pairs}
        out["match"] += [(t, event_type) for t in sorted(matched_r)]
        out["miss"] += [(t, event_type) for t in ref if t not in matched_r]
        out["false"] += [(t, event_type) for t in dut if t not in matched_d]
    return out


def lift_charts(prefix: str, d: pd.DataFrame, r: pd.DataFrame, window: Window,
                match_window_s: float, timezone: str) -> list[Chart]:
    """Event timeline: matched events, misses (controller only) and false alarms."""
    classes = _lift_classes(window.clip(d), window.clip(r), match_window_s * 1000.0)
    styles = {"match": ("matched", COLOURS["ok"], "circle"),
              "miss": ("missed", COLOURS["bad"], "x"),
              "false": ("false alarm", COLOURS["warn"], "triangle-up")}
    data = []
    for key, (label, colour, symbol) in styles.items():
        events = sorted(classes[key])
        ts = np.array([e[0] for e in events], dtype=np.int64)
        data.append(_points(local_times(ts, timezone), [e[1] for e in events], label, colour,
                            symbol))
    layout = _layout("time (site) / 時間（當地）", "",  # the type names label the rows
                     xaxis=time_axis(window, timezone),
                     yaxis={"categoryorder": "array", "categoryarray": list(MONITORED_TYPES),
                            "tickvals": list(MONITORED_TYPES),
                            "ticktext": [" / ".join(row_label("lift", "by_type", t))
                                         for t in MONITORED_TYPES]})
    return [Chart(f"{prefix}-timeline", "chart_lift_timeline", {"data": data, "layout": layout})]


def _mission_doses(
    robot: pd.DataFrame, radiometers: Mapping[str, pd.DataFrame], periods_ms: Mapping[str, int],
    window: Window,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Mission start times and the dose H per (mission, target) as a missions × targets frame."""
    found = missions(window.clip(robot))
    starts = np.array([m.start_ms for m in found], dtype=np.int64)
    table = pd.DataFrame({target: doses(window.clip(frame), found, periods_ms[target])
                          for target, frame in radiometers.items()}, index=range(len(found)))
    return starts, table


def _by_day_minimum(starts: np.ndarray, table: pd.DataFrame, timezone: str) -> pd.DataFrame:
    days = [t[:10] for t in local_times(starts, timezone)]
    lowest = table.groupby(days, sort=True).min()
    lowest.index = [day[5:] for day in lowest.index]  # MM-DD: short labels stay horizontal
    return lowest


def target_line(target_dose: float) -> dict[str, Any]:
    """The target dose as a dashed line across the whole plot width, named in the legend."""
    return {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y",
            "y0": target_dose, "y1": target_dose, "showlegend": True,
            "name": f"target / 目標 {target_dose:g} mJ/cm²",
            "line": {"color": COLOURS["bad"], "dash": "dash", "width": 2}}


def uv_charts(prefix: str, robot: pd.DataFrame, radiometers: Mapping[str, pd.DataFrame],
              periods_ms: Mapping[str, int], window: Window, target_dose: float,
              timezone: str) -> list[Chart]:
    """Dose per target point and mission as bars from zero, with the target dose line.

    With more than MAX_MISSION_BARS missions the bars are the lowest dose per target and day.
    """
    starts, table = _mission_doses(robot, radiometers, periods_ms, window)
    if len(table) > MAX_MISSION_BARS:
        table, title_key = _by_day_minimum(starts, table, timezone), "chart_uv_dose_daily"
        x_title = "day (site time, MM-DD) / 日期（當地時間，月-日）"
        labels = [str(i) for i in table.index]
    else:
        title_key, x_title = "chart_uv_dose", "mission start (site time) / 任務開始（當地時間）"
        labels = [f"#{k + 1} {t[5:16]}" for k, t in enumerate(local_times(starts, timezone))]
    data = [{"type": "bar", "name": str(target), "x": labels,
             "y": [None if np.isnan(v) else round(float(v), 4) for v in table[target]],
             "marker": {"color": _palette(k)}}
            for k, target in enumerate(table.columns)]
    top = float(np.nanmax(table.to_numpy(dtype=np.float64), initial=0.0))
    layout = _layout(x_title, "dose / 劑量 (mJ/cm²)", barmode="group",
                     shapes=[target_line(target_dose)], xaxis={"type": "category"},
                     yaxis={"range": [0.0, max(top, target_dose) * 1.15]})
    return [Chart(f"{prefix}-dose", title_key, {"data": data, "layout": layout})]


def _palette(k: int) -> str:
    colours = ["#1f6feb", "#8250df", "#1a7f37", "#bf8700", "#cf222e", "#0a3069"]
    return colours[k % len(colours)]


def comparison_charts(spec: TrialSpec, frames: Mapping[str, pd.DataFrame], window: Window,
                      comparisons: list[dict[str, Any]]) -> list[list[Chart]]:
    """Charts for every comparison entry of the metrics JSON, in the same order."""
    body = spec.trial
    out: list[list[Chart]] = []
    for k, entry in enumerate(comparisons):
        prefix, family, d = f"c{k}", entry["family"], frames[entry["under_test"]]
        refs = [entry["reference"]] if isinstance(entry["reference"], str) else entry["reference"]
        if family == "rain_gauge":
            charts = rain_charts(prefix, d, frames[refs[0]], window, body.site.timezone)
        elif family == "fever_screener":
            pooled = pd.concat([frames[ref] for ref in refs], ignore_index=True)
            charts = fever_charts(prefix, d, pooled, window, entry["metrics"])
        elif family == "lift":
            charts = lift_charts(prefix, d, frames[refs[0]], window,
                                 body.param("lift_match_window_s"), body.site.timezone)
        else:
            periods = {ref: get_profile(body.device(ref).profile).period_ms or 1000
                       for ref in refs}
            charts = uv_charts(prefix, d, {ref: frames[ref] for ref in refs}, periods, window,
                               body.param("uv_target_dose_mj_cm2"), body.site.timezone)
        out.append(charts)
    return out

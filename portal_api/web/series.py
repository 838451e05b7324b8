"""Chart data for the live dashboard: which traces each comparison shows, read and decimated.

A numeric trace longer than `max_points` is cut into max_points / 2 equal time buckets and
each bucket keeps its minimum and its maximum (in time order), so peaks survive and a month of
one-second readings becomes at most ~2,000 points per series.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from device_profiles import Family, get_profile
from registry.trial_spec import TrialSpec
from telemetry.store import TimeSeriesStore

MAX_POINTS = 2_000
LIVE_MAX_ROWS = 5_000
RANGES_MS: dict[str, int | None] = {"1h": 3_600_000, "24h": 86_400_000, "all": None}
DEFAULT_RANGE = "24h"


@dataclass(frozen=True, slots=True)
class TraceSpec:
    """One line or marker series of a chart: a device's field, drawn in a given way."""

    key: str
    device_id: str
    field: str
    kind: str  # "line" (numeric), "markers" (numeric, sparse) or "events" (labelled marks)
    label: str
    text_field: str | None = None
    y_level: float | str | None = None  # fixed y for "events" (a lane name or a value)
    hidden_values: tuple[str, ...] = ()  # event values not drawn (e.g. lift heartbeats)


@dataclass(frozen=True, slots=True)
class ChartSpec:
    """One chart per comparison: its family, title label key and traces."""

    chart_id: str
    family: str
    title_key: str
    under_test: str
    references: tuple[str, ...]
    traces: tuple[TraceSpec, ...]


def _line(key: str, device_id: str, field: str, role: str) -> TraceSpec:
    return TraceSpec(key, device_id, field, "line", f"{device_id} ({role})")


def _traces(family: Family, dut: str, refs: tuple[str, ...]) -> tuple[TraceSpec, ...]:
    if family is Family.RAIN_GAUGE:
        items = [_line("t0", dut, "rain_mm", "DUT")]
        items += [_line(f"t{i + 1}", ref, "rain_mm", "ref") for i, ref in enumerate(refs)]
        return tuple(items)
    if family is Family.FEVER_SCREENER:
        items = [TraceSpec("t0", dut, "skin_temp_c", "markers", f"{dut} skin (DUT)", "pair_id")]
        items += [
            TraceSpec(f"t{i + 1}", ref, "body_temp_c", "markers", f"{ref} body (ref)", "pair_id")
            for i, ref in enumerate(refs)
        ]
        return tuple(items)
    if family is Family.LIFT:
        quiet = ("heartbeat",)
        items = [TraceSpec("t0", dut, "event_type", "events", f"{dut} (DUT)", "event_type", dut,
                           quiet)]
        items += [
            TraceSpec(f"t{i + 1}", ref, "event_type", "events", f"{ref} (ref)", "event_type", ref,
                      quiet)
            for i, ref in enumerate(refs)
        ]
        return tuple(items)
    items = [_line(f"t{i + 1}", ref, "irradiance_uw_cm2", "ref") for i, ref in enumerate(refs)]
    items.append(TraceSpec("t0", dut, "event", "events", f"{dut} missions (DUT)", "event", 0.0))
    return tuple(items)


TITLE_KEYS = {
    Family.RAIN_GAUGE: "rain_chart",
    Family.FEVER_SCREENER: "fever_chart",
    Family.LIFT: "lift_chart",
    Family.UV_ROBOT: "uv_chart",
}


def chart_specs(spec: TrialSpec) -> list[ChartSpec]:
    """One chart per comparison of the trial, with the traces its family shows."""
    charts: list[ChartSpec] = []
    for index, comparison in enumerate(spec.trial.comparisons):
        dut = spec.trial.device(comparison.under_test)
        family = get_profile(dut.profile).family
        refs = comparison.references
        charts.append(
            ChartSpec(
                chart_id=f"c{index}",
                family=family.value,
                title_key=TITLE_KEYS[family],
                under_test=dut.id,
                references=refs,
                traces=_traces(family, dut.id, refs),
            )
        )
    return charts


def chart_config(charts: list[ChartSpec]) -> list[dict[str, Any]]:
    """The charts as the browser script (dashboard.js) reads them from the page's config."""
    return [
        {
            "chart_id": c.chart_id,
            "family": c.family,
            "title_key": c.title_key,
            "traces": [
                {"key": t.key, "label": t.label, "kind": t.kind, "device_id": t.device_id}
                for t in c.traces
            ],
        }
        for c in charts
    ]


def exclusion_config(spec: TrialSpec) -> list[dict[str, Any]]:
    """The trial's exclusion windows as the browser script shades them on the charts."""
    return [
        {"id": x.id, "start_ms": x.start_ms, "end_ms": x.end_ms, "devices": x.devices,
         "reason": x.reason}
        for x in spec.trial.exclusions
    ]


def range_window(spec: TrialSpec, range_name: str, now_ms: int) -> tuple[int, int]:
    """[start_ms, end_ms) to draw: the last `range_name` of the trial so far (up to now)."""
    body = spec.trial
    end_ms = max(body.start_ms, min(body.end_ms, now_ms)) + 1
    length_ms = RANGES_MS.get(range_name, RANGES_MS[DEFAULT_RANGE])
    start_ms = body.start_ms if length_ms is None else max(body.start_ms, end_ms - length_ms)
    return start_ms, end_ms


def decimate_min_max(
    ts_ms: np.ndarray, values: np.ndarray, max_points: int
) -> tuple[np.ndarray, np.ndarray]:
    """At most `max_points` points: per equal time bucket, its min and max in time order."""
    if len(ts_ms) <= max_points:
        return ts_ms, values
    buckets = max(1, max_points // 2)
    span = int(ts_ms[-1] - ts_ms[0]) + 1
    index = ((ts_ms - ts_ms[0]) * buckets // span).astype(np.int64)
    frame = pd.DataFrame({"b": index, "v": values})
    grouped = frame.groupby("b", sort=True)["v"]
    picks = np.unique(np.concatenate([grouped.idxmin().to_numpy(), grouped.idxmax().to_numpy()]))
    return ts_ms[picks], values[picks]


def _stride(count: int, max_points: int) -> slice:
    return slice(None, None, max(1, math.ceil(count / max_points)))


def _clean(values: list[Any]) -> list[Any]:
    return [None if isinstance(v, float) and not math.isfinite(v) else v for v in values]


def trace_points(frame: pd.DataFrame, trace: TraceSpec, max_points: int | None) -> dict[str, Any]:
    """Plot-ready {x, y, text} of one trace from a frame with ts_ms and the trace's columns."""
    keep = frame[trace.field].notna()
    if trace.hidden_values:
        keep &= ~frame[trace.field].isin(trace.hidden_values)
    frame = frame[keep]
    ts = frame["ts_ms"].to_numpy(dtype=np.int64)
    if trace.kind == "line":
        values = frame[trace.field].to_numpy(dtype=float)
        if max_points is not None:
            ts, values = decimate_min_max(ts, values, max_points)
        return {"x": ts.tolist(), "y": _clean(values.tolist()), "text": None}
    cut = _stride(len(ts), max_points) if max_points is not None else slice(None)
    texts = frame[trace.text_field].astype(str).tolist()[cut] if trace.text_field else None
    if trace.kind == "events":
        level = trace.y_level if trace.y_level is not None else trace.device_id
        ys: list[Any] = [level] * len(ts[cut])
    else:
        ys = _clean(frame[trace.field].to_numpy(dtype=float)[cut].tolist())
    return {"x": ts[cut].tolist(), "y": ys, "text": texts}


def _columns(trace: TraceSpec) -> list[str]:
    return list(dict.fromkeys([trace.field, *([trace.text_field] if trace.text_field else [])]))


def chart_series(
    store: TimeSeriesStore,
    chart: ChartSpec,
    start_ms: int,
    end_ms: int,
    max_points: int = MAX_POINTS,
) -> dict[str, dict[str, Any]]:
    """Every trace of a chart over [start_ms, end_ms), decimated to at most max_points each."""
    out: dict[str, dict[str, Any]] = {}
    for trace in chart.traces:
        frame = store.read(trace.device_id, start_ms, end_ms, _columns(trace))
        out[trace.key] = trace_points(frame, trace, max_points)
    return out


def new_points(
    store: TimeSeriesStore, chart: ChartSpec, after_ms: dict[str, int], end_ms: int
) -> dict[str, dict[str, Any]]:
    """Readings newer than `after_ms[device]` for each trace of a chart (not decimated)."""
    out: dict[str, dict[str, Any]] = {}
    for trace in chart.traces:
        since = after_ms.get(trace.device_id)
        if since is None:
            continue
        chunks = store.iter_read(
            trace.device_id, since + 1, end_ms, _columns(trace), chunk_rows=LIVE_MAX_ROWS
        )
        try:
            frame = next(chunks)
        finally:
            close = getattr(chunks, "close", None)  # a generator: release its cursor now
            if close is not None:
                close()
        points = trace_points(frame, trace, None)
        if points["x"]:
            out[trace.key] = points
    return out

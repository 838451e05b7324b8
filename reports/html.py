"""Render report.html: one self-contained page in English and Traditional Chinese."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import plotly
from markupsafe import Markup, escape

from device_profiles import Role
from registry.trial_spec import TrialSpec
from reports.charts import Chart
from reports.compare import flatten
from reports.i18n import LABELS

TEMPLATES = Path(__file__).with_name("templates")
QUALITY_KEYS = ("expected", "received", "completeness", "gap_count", "longest_gap_s",
                "latency_p50_s", "latency_p95_s", "duplicates", "rejected", "seq_missing")


@dataclass(frozen=True, slots=True)
class ReportContext:
    """What the page shows beyond the metrics themselves."""

    version: int
    issued_ms: int
    package_sha256: str
    software_version: str
    changes: list[dict[str, Any]]
    previous_version: int | None
    version_note: str | None


@cache
def plotly_js() -> str:
    """plotly.min.js from the installed plotly package, to inline (no network needed)."""
    return (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text("utf-8")


def t(key: str, **fmt: Any) -> Markup:
    """Both languages of a label as spans; CSS shows the chosen one."""
    en, zh = LABELS[key]
    return Markup('<span class="l-en" lang="en">{}</span><span class="l-zh" lang="zh-HK">{}</span>'
                  ).format(en.format(**fmt), zh.format(**fmt))


def fmt(value: Any) -> Markup | str:
    """A metric value for a table cell: 4 significant digits, an em dash for null."""
    if value is None:
        return Markup('<span class="null" title="null">—</span>')
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(escape(str(value)))


def local_time(ms: int, timezone: str) -> str:
    """Epoch ms as local time with the zone offset."""
    return datetime.fromtimestamp(ms / 1000, tz=ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %z")


def split_rows(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level metrics as (path, value) rows; nested groups (e.g. by_type) as matrices."""
    rows: list[tuple[str, Any]] = []
    groups: dict[str, dict[str, Any]] = {}
    for path, value in flatten(metrics).items():
        parts = path.split(".")
        if len(parts) != 3:
            rows.append((path, value))
            continue
        group = groups.setdefault(parts[0], {"columns": [], "rows": {}})
        if parts[2] not in group["columns"]:
            group["columns"].append(parts[2])
        group["rows"].setdefault(parts[1], {})[parts[2]] = value
    return {"rows": rows, "groups": groups}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.globals.update(t=t, fmt=fmt, local_time=local_time)
    return env


def _chart_json(charts: list[list[Chart]]) -> Markup:
    items = [{"id": c.chart_id, "figure": c.figure} for group in charts for c in group]
    text = json.dumps(items, separators=(",", ":"), allow_nan=False)
    return Markup(text.replace("</", "<\\/"))


def render_html(spec: TrialSpec, metrics: Mapping[str, Any], charts: list[list[Chart]],
                context: ReportContext) -> str:
    """The whole report page as a string."""
    body = spec.trial
    tz = body.site.timezone
    window = metrics["window"]
    comparisons = [
        {**entry, **split_rows(entry["metrics"]), "charts": charts[k]}
        for k, entry in enumerate(metrics["comparisons"])
    ]
    devices = body.devices
    return _environment().get_template("report.html").render(
        spec=spec,
        metrics=metrics,
        tz=tz,
        start=local_time(body.start_ms, tz),
        end=local_time(body.end_ms, tz),
        window_start=local_time(window["start_ms"], tz),
        window_end=local_time(window["end_ms"], tz),
        under_test=[d for d in devices if d.role is Role.UNDER_TEST],
        references=[d for d in devices if d.role is Role.REFERENCE],
        quality_keys=QUALITY_KEYS,
        comparisons=comparisons,
        ctx=context,
        issued=datetime.fromtimestamp(context.issued_ms / 1000, tz=UTC).strftime(
            "%Y-%m-%d %H:%M UTC"),
        chart_json=_chart_json(charts),
        plotly_js=Markup(plotly_js()),
    )

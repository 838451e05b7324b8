"""Render report.html: one self-contained page in English and Traditional Chinese."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import plotly
from markupsafe import Markup

from device_profiles import Role
from reports.charts import Chart
from reports.i18n import LABELS
from reports.methodology_text import methodology_sections
from reports.metric_labels import (
    MetricInfo,
    actual_text,
    apart_texts,
    format_value,
    threshold_text,
)
from reports.metric_rows import change_info, comparison_view, criterion_info, table_rows
from telemetry.metrics import ComparisonJson, CriterionJson, TrialMetrics
from telemetry.trial_spec import TrialSpec

TEMPLATES = Path(__file__).with_name("templates")
OPERATORS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}


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


def bi(pair: tuple[str, str], css: str = "") -> Markup:
    """A pair (English, 繁體中文) as two language spans; `css` adds a class to both."""
    extra = f" {css}" if css else ""
    return Markup('<span class="l-en{}" lang="en">{}</span>'
                  '<span class="l-zh{}" lang="zh-HK">{}</span>').format(extra, pair[0], extra,
                                                                          pair[1])


def fmt(value: Any, info: MetricInfo | None = None, *, with_unit: bool = True) -> Markup:
    """A metric value for a table cell: rounded as the catalogue says, with its unit."""
    if value is None:
        return Markup('<span class="null" title="null">—</span>')
    text = format_value(value, None if info is None else info.digits)
    return Markup("{}{}").format(text, unit(info) if with_unit else "")


def unit(info: MetricInfo | None, bracket: bool = False) -> Markup:
    """The unit after a value (' s' / ' 秒'); nothing for dimensionless metrics."""
    if info is None or not info.unit[0]:
        return Markup("")
    en, zh = (f"({u})" for u in info.unit) if bracket else info.unit
    if en == zh:
        return Markup('<span class="unit"> {}</span>').format(en)
    return Markup('<span class="unit"> {}</span>').format(bi((en, zh), "u"))


def metric_label(info: MetricInfo | None, key: str) -> Markup:
    """A metric's bilingual label, or its raw key in code when the catalogue lacks it."""
    if info is None:
        return Markup('<code class="raw">{}</code>').format(key)
    return Markup('<span class="bi">{}</span>').format(bi(info.label))


def meaning(info: MetricInfo | None) -> Markup:
    """A metric's one-line meaning in both languages (empty when unknown)."""
    if info is None:
        return Markup("")
    return Markup('<span class="bi meaning">{}</span>').format(bi(info.meaning))


def _apart(value: Any, other: Any, info: MetricInfo | None) -> Markup:
    """`value` rounded, with more decimals when rounding would make it look equal to `other`."""
    if value is None:
        return fmt(None)
    text = actual_text(value, other, None if info is None else info.digits)
    return Markup("{}{}").format(text, unit(info))


def criterion_cells(row: CriterionJson) -> dict[str, Any]:
    """Label, required and actual text of one acceptance-criteria row."""
    info = criterion_info(str(row["metric"]))
    op = OPERATORS.get(str(row["op"]), str(row["op"]))
    required = Markup("{} {}{}").format(op, threshold_text(row["value"]), unit(info))
    return {"label": metric_label(info, str(row["metric"])), "required": required,
            "actual": _apart(row["actual"], row["value"], info)}


def change_cells(row: Mapping[str, Any], comparisons: Sequence[ComparisonJson]) -> dict[str, Any]:
    """Label, old and new text of one change-log row; old and new never round alike."""
    info = change_info(str(row["path"]), comparisons)
    old, new = apart_texts(row["old"], row["new"], None if info is None else info.digits)
    cells = [fmt(None) if v is None else Markup("{}{}").format(text, unit(info))
             for v, text in ((row["old"], old), (row["new"], new))]
    return {"info": info, "old": cells[0], "new": cells[1]}


def local_time(ms: int, timezone: str) -> str:
    """Epoch ms as local time with the zone offset."""
    return datetime.fromtimestamp(ms / 1000, tz=ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %z")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.globals.update(t=t, fmt=fmt, bi=bi, unit=unit, metric_label=metric_label,
                       meaning=meaning, criterion_cells=criterion_cells, change_cells=change_cells,
                       local_time=local_time)
    return env


def _chart_json(charts: list[list[Chart]]) -> Markup:
    items = [{"id": c.chart_id, "figure": c.figure} for group in charts for c in group]
    text = json.dumps(items, separators=(",", ":"), allow_nan=False)
    return Markup(text.replace("</", "<\\/"))


def render_html(spec: TrialSpec, metrics: TrialMetrics, charts: list[list[Chart]],
                context: ReportContext) -> str:
    """The whole report page as a string."""
    body = spec.trial
    tz = body.site.timezone
    window = metrics["window"]
    comparisons = [
        {**entry, **comparison_view(entry["family"], entry["metrics"]), "charts": charts[k]}
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
        quality_rows=table_rows("quality", metrics["quality"]),
        param_rows=table_rows("params", {"value": metrics["params"]}),
        methodology=methodology_sections([str(c["family"]) for c in metrics["comparisons"]]),
        comparisons=comparisons,
        ctx=context,
        issued=datetime.fromtimestamp(context.issued_ms / 1000, tz=UTC).strftime(
            "%Y-%m-%d %H:%M UTC"),
        chart_json=_chart_json(charts),
        plotly_js=Markup(plotly_js()),
    )

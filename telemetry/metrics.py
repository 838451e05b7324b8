"""The metrics JSON's shape (DESIGN.md, METRICS.md): what analytics returns and every consumer
(the API, the dashboard, `innotrial analyze`, the report package) reads.

The per-device `quality` block and each comparison's family `metrics` are family-specific
(METRICS.md lists their keys), so they stay mappings of metric name to value.

Metrics JSON read back is untyped JSON; it becomes a `TrialMetrics` at two edges only, so the
type checker sees every key access after them: `read_metrics` for a file (an issued version's
metrics.json) and the registry's `Publication.metrics` column (a published version's copy).
Both hold what analytics wrote from a `TrialMetrics`, so the shape is trusted, not validated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NotRequired, TypedDict, cast

MetricValues = dict[str, Any]
"""Metric name -> number, null, or a nested group of metrics (e.g. lift's `by_type`)."""


class WindowJson(TypedDict):
    """W = [start_ms, end_ms), epoch ms."""

    start_ms: int
    end_ms: int


class ExclusionJson(TypedDict):
    """An exclusion window that overlaps W."""

    id: str
    start_ms: int
    end_ms: int
    devices: str | list[str]
    reason: str
    approved_by: str


class ComparisonJson(TypedDict):
    """One device under test against its reference(s), with the family's metrics."""

    under_test: str
    reference: str | list[str]
    family: str
    metrics: MetricValues


CriterionJson = TypedDict(
    "CriterionJson",
    {
        "metric": str,
        "op": str,
        "value": float,
        "subject": str | None,
        "actual": float | None,
        "pass": bool | None,
        "reference": NotRequired[str | list[str]],
    },
)
"""One acceptance criterion checked on one subject; `pass` is null when `actual` is."""


class TrialMetrics(TypedDict):
    """The metrics JSON of one trial."""

    trial_id: str
    methodology_version: str
    window: WindowJson
    params: dict[str, float]
    exclusions: list[ExclusionJson]
    quality: dict[str, MetricValues]
    comparisons: list[ComparisonJson]
    criteria: list[CriterionJson]
    verdict: str


def read_metrics(path: Path) -> TrialMetrics:
    """The metrics JSON in the file at `path` (UTF-8), e.g. an issued version's metrics.json;
    taken as `TrialMetrics` unchecked (see the module docstring)."""
    return cast(TrialMetrics, json.loads(path.read_text("utf-8")))

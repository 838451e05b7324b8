"""Acceptance criteria and the verdict (METRICS.md "Acceptance criteria")."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from analytics.model import UnknownMetric

OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
}
PASS, FAIL, INSUFFICIENT = "pass", "fail", "insufficient_data"


def resolve(metrics: Mapping[str, Any], path: str, metric: str) -> float | None:
    """Follow a dotted path (e.g. 'by_type.entrapment.recall') to a number or None.

    A key may itself hold dots (the rain class '0.2-2'): at each level the longest run of
    path parts that names a key is taken.
    """
    node: Any = metrics
    parts = path.split(".")
    while parts:
        if not isinstance(node, Mapping):
            raise UnknownMetric(metric, f"{parts[0]!r} is below a number, not a group of metrics")
        take = next((k for k in range(len(parts), 0, -1) if ".".join(parts[:k]) in node), 0)
        if take == 0:
            raise UnknownMetric(
                metric, f"no metric {parts[0]!r} (known there: {', '.join(sorted(node))})"
            )
        node, parts = node[".".join(parts[:take])], parts[take:]
    if node is None:
        return None
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise UnknownMetric(metric, "names a group of metrics, not a number")
    return float(node)


def check(
    metric: str, op: str, value: float, subject: str | None, actual: float | None
) -> dict[str, Any]:
    """One criterion row; `pass` is None when the actual value is null."""
    passed = None if actual is None else bool(OPS[op](actual, value))
    return {
        "metric": metric,
        "op": op,
        "value": value,
        "subject": subject,
        "actual": actual,
        "pass": passed,
    }


def evaluate(
    criteria: Sequence[tuple[str, str, float]],
    quality: Mapping[str, Mapping[str, Any]],
    under_test: Sequence[str],
    comparisons: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Check every criterion on every device under test (quality.*) or comparison (<family>.*).

    A criterion with nothing to check it against gives one row with a null actual.
    """
    rows: list[dict[str, Any]] = []
    for metric, op, value in criteria:
        scope, _, path = metric.partition(".")
        before = len(rows)
        if scope == "quality":
            for device_id in under_test:
                actual = resolve(quality[device_id], path, metric)
                rows.append(check(metric, op, value, device_id, actual))
        else:
            for comparison in comparisons:
                if comparison["family"] != scope:
                    continue
                actual = resolve(comparison["metrics"], path, metric)
                row = check(metric, op, value, comparison["under_test"], actual)
                row["reference"] = comparison["reference"]
                rows.append(row)
        if len(rows) == before:
            rows.append(check(metric, op, value, None, None))
    return rows


def verdict(rows: Sequence[Mapping[str, Any]]) -> str:
    """fail if any check fails, else insufficient_data if any actual is null, else pass."""
    if any(row["pass"] is False for row in rows):
        return FAIL
    if any(row["actual"] is None for row in rows):
        return INSUFFICIENT
    return PASS

"""Acceptance criteria: every op, dotted paths, null -> insufficient_data, fail beats it."""

from __future__ import annotations

from typing import Any

import pytest

from analytics.criteria import evaluate, resolve, verdict
from analytics.model import UnknownMetric

QUALITY = {"d1": {"completeness": 0.97, "gap_count": 0}, "d2": {"completeness": None}}
COMPARISONS: list[dict[str, Any]] = [
    {
        "under_test": "d1",
        "reference": "r1",
        "family": "lift",
        "metrics": {"recall": 0.9, "by_type": {"entrapment": {"recall": 1.0, "tp": 3}}},
    },
    {
        "under_test": "d2",
        "reference": "r2",
        "family": "rain_gauge",
        "metrics": {"pct_within_tolerance": None},
    },
]


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        (">=", 0.97, True),
        (">=", 0.98, False),
        ("<=", 0.97, True),
        ("<=", 0.96, False),
        (">", 0.96, True),
        (">", 0.97, False),
        ("<", 0.98, True),
        ("<", 0.97, False),
        ("==", 0.97, True),
        ("==", 0.9700001, False),
    ],
)
def test_each_op(op: str, value: float, expected: bool) -> None:
    rows = evaluate([("quality.completeness", op, value)], QUALITY, ["d1"], [])
    assert [row["pass"] for row in rows] == [expected]
    assert rows[0]["actual"] == 0.97 and rows[0]["subject"] == "d1"


def test_dotted_path_reaches_nested_metrics() -> None:
    rows = evaluate([("lift.by_type.entrapment.recall", "==", 1.0)], QUALITY, [], COMPARISONS)
    assert len(rows) == 1
    assert rows[0] == {
        "metric": "lift.by_type.entrapment.recall",
        "op": "==",
        "value": 1.0,
        "subject": "d1",
        "actual": 1.0,
        "pass": True,
        "reference": "r1",
    }
    assert verdict(rows) == "pass"


def test_family_criteria_apply_only_to_that_family() -> None:
    rows = evaluate([("lift.recall", ">=", 0.5)], QUALITY, [], COMPARISONS)
    assert [row["subject"] for row in rows] == ["d1"]


def test_null_actual_gives_insufficient_data() -> None:
    rows = evaluate([("quality.completeness", ">=", 0.5)], QUALITY, ["d1", "d2"], [])
    assert [row["pass"] for row in rows] == [True, None]
    assert verdict(rows) == "insufficient_data"


def test_fail_beats_insufficient_data() -> None:
    rows = evaluate(
        [("rain_gauge.pct_within_tolerance", ">=", 90), ("lift.recall", ">=", 0.95)],
        QUALITY,
        [],
        COMPARISONS,
    )
    assert [row["pass"] for row in rows] == [None, False]
    assert verdict(rows) == "fail"


def test_criterion_without_subject_is_insufficient_data() -> None:
    rows = evaluate([("uv_robot.coverage_pct", ">=", 90)], QUALITY, ["d1"], COMPARISONS)
    assert rows == [
        {
            "metric": "uv_robot.coverage_pct",
            "op": ">=",
            "value": 90,
            "subject": None,
            "actual": None,
            "pass": None,
        }
    ]
    assert verdict(rows) == "insufficient_data"


def test_no_criteria_pass() -> None:
    assert verdict([]) == "pass"


@pytest.mark.parametrize(
    "metric", ["lift.recal", "lift.by_type.entrapment", "lift.recall.low", "lift.by_type.lift.tp"]
)
def test_unknown_metric_paths_raise(metric: str) -> None:
    with pytest.raises(UnknownMetric) as info:
        evaluate([(metric, ">=", 1)], QUALITY, [], COMPARISONS)
    assert info.value.metric == metric


def test_resolve_returns_float_or_none() -> None:
    assert resolve({"a": {"b": 3}}, "a.b", "x.a.b") == 3.0
    assert resolve({"a": None}, "a", "x.a") is None

"""Golden cases: hand-checked inputs and outputs in tests/analytics/golden/<case>/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analytics import compute_trial_metrics
from tests.analytics.golden_cases import assert_matches, case_folders, load_case


@pytest.mark.parametrize("folder", case_folders(), ids=lambda p: p.name)
def test_golden_case(folder: Path) -> None:
    case = load_case(folder)
    metrics = compute_trial_metrics(case.spec, case.frames, case.bookkeeping, case.window)
    assert_matches(metrics, case.expected)


@pytest.mark.parametrize("folder", case_folders(), ids=lambda p: p.name)
def test_golden_output_is_strict_json(folder: Path) -> None:
    case = load_case(folder)
    metrics = compute_trial_metrics(case.spec, case.frames, case.bookkeeping, case.window)
    assert json.loads(json.dumps(metrics, allow_nan=False)) == metrics


def test_every_family_and_quality_has_a_golden_case() -> None:
    names = {p.name for p in case_folders()}
    assert {"quality", "rain_gauge", "fever_screener", "lift", "uv_robot"} <= names
    for folder in case_folders():
        assert (folder / "README.md").exists(), f"{folder.name} has no hand-check README"

"""The metric catalogue covers every metric key, and the report shows labels, not raw keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from analytics.runner import analyze_trial
from reports.html import ReportContext, render_html
from reports.metric_labels import (
    actual_text,
    apart_texts,
    catalogue,
    describe,
    format_value,
    threshold_text,
)
from reports.metric_rows import change_info, comparison_view, table_rows
from telemetry.store.sqlite import SQLiteStore
from telemetry.trial_spec import DEFAULT_PARAMS
from tests.reports.sim_trials import FAMILIES, populate, trial_spec

# METRICS-v2.md, listed by hand from the spec: the keys v2 adds (section by section).
V2_KEYS = {
    "quality": ["excluded_s"],
    "rain_gauge": ["by_intensity.n", "by_intensity.catch_ratio",
                   "by_intensity.median_rel_error_pct", "by_intensity.pct_within_tolerance",
                   "wet_days", "wet_daily_bias_mm", "wet_daily_rmse_mm",
                   "wet_daily_within_tolerance_pct", "hourly_n", "hourly_bias_mm",
                   "hourly_rmse_mm", "hourly_pearson_r", "wet_pearson_r", "clock_lag_min"],
    "fever_screener": ["late_pairs", "n_febrile", "n_afebrile", "ppv", "ppv_ci_low",
                       "ppv_ci_high", "npv", "npv_ci_low", "npv_ci_high", "bias_ci_low_c",
                       "bias_ci_high_c", "loa_low_ci_low_c", "loa_low_ci_high_c",
                       "loa_high_ci_low_c", "loa_high_ci_high_c", "auc"],
    "lift": ["recall_ci_low", "recall_ci_high", "precision_ci_low", "precision_ci_high",
             "by_type.recall_ci_low", "by_type.recall_ci_high", "by_type.precision_ci_low",
             "by_type.precision_ci_high", "availability_monitor", "availability_error",
             "heartbeat_max_gap_s", "heartbeats"],
    "uv_robot": ["self_report_mae_pct", "missions_fully_dosed_pct", "radiometer_completeness",
                 "person_detected", "person_detected_stops", "interlock_pct"],
}
V2_BLOCK_ROWS = {"rain_gauge.by_intensity": ["0.2-2", "2-10", "10-50", "50+"],
                 "lift.by_type": ["fault_door", "fault_levelling", "entrapment",
                                  "out_of_service", "in_service"]}


def catalogue_keys_of(metrics: Mapping[str, Any]) -> set[str]:
    """Every catalogue key a metrics JSON needs: quality.*, params.*, <family>.*, blocks."""
    keys = {f"quality.{k}" for q in metrics["quality"].values() for k in q}
    keys |= {f"params.{k}" for k in metrics["params"]}
    for entry in metrics["comparisons"]:
        for key, value in entry["metrics"].items():
            if isinstance(value, Mapping):
                keys |= {f"{entry['family']}.{key}.{col}" for row in value.values() for col in row}
            else:
                keys.add(f"{entry['family']}.{key}")
    return keys


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The metrics JSON the analytics produce today for a simulated trial of each family."""
    store = SQLiteStore(tmp_path_factory.mktemp("labels") / "readings.db")
    out = {family: analyze_trial(populate(store, family, hours=3), store, {},
                                 now_ms=2**62) for family in FAMILIES}
    store.close()
    return out


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_key_the_analytics_produce_has_an_entry(produced, family: str):
    needed = catalogue_keys_of(produced[family])
    assert any(k.startswith(f"{family}.") for k in needed)
    missing = sorted(needed - set(catalogue().metrics))
    assert not missing, f"add these keys to reports/metric_catalogue.yaml: {missing}"


def test_every_v2_key_of_the_spec_and_every_param_has_an_entry():
    spec_keys = {f"{scope}.{key}" for scope, keys in V2_KEYS.items() for key in keys}
    spec_keys |= {f"params.{name}" for name in DEFAULT_PARAMS}
    assert not sorted(spec_keys - set(catalogue().metrics))
    for block, rows in V2_BLOCK_ROWS.items():
        assert list(catalogue().blocks[block].rows) == rows


def test_the_catalogue_has_no_stale_entries(produced):
    known = set().union(*(catalogue_keys_of(m) for m in produced.values()))
    known |= {f"{scope}.{key}" for scope, keys in V2_KEYS.items() for key in keys}
    assert sorted(set(catalogue().metrics) - known) == []


def test_every_entry_is_bilingual_with_a_unit_and_rounding():
    for key, info in catalogue().metrics.items():
        assert all(info.label) and all(info.meaning), key
        assert any("\u4e00" <= ch <= "\u9fff" for ch in info.meaning[1]), key
        assert 0 <= info.digits <= 4, key
    units = {info.unit for info in catalogue().metrics.values()}
    assert ("s", "秒") in units and ("mJ/cm²", "mJ/cm²") in units and ("%", "%") in units


def test_values_round_for_display_and_keep_their_sign():
    assert format_value(0.123456, 3) == "0.123"
    assert format_value(-0.00004, 4) == "0.0000"
    assert format_value(-1.26, 1) == "-1.3"
    assert format_value(1234567, 0) == "1,234,567"
    assert format_value(21600.0, 0) == "21,600"
    assert format_value(None, 2) == "—"
    assert format_value(0.000123456, None) == "0.0001235"


def test_an_actual_next_to_its_threshold_never_rounds_onto_it():
    assert actual_text(0.9949, 0.995, 3) == "0.9949"
    assert actual_text(0.98, 0.995, 3) == "0.980"
    assert actual_text(12, 10, 0) == "12"
    assert threshold_text(0.995) == "0.995" and threshold_text(50.0) == "50"


def test_old_and_new_values_of_a_change_never_round_alike():
    assert apart_texts(0.91234, 0.91236, 3) == ("0.9123", "0.9124")
    assert apart_texts(1.0, 1.0123, 3) == ("1.000", "1.012")
    assert apart_texts(1400, 1430, 0) == ("1,400", "1,430")
    assert apart_texts(None, 0.5, 3) == ("—", "0.500")


def test_a_criterion_path_into_a_block_names_the_row():
    info = describe("lift.by_type.entrapment.recall")
    assert info is not None and info.label == ("Recall, Entrapment", "檢出率（困人）")
    info = describe("rain_gauge.by_intensity.10-50.catch_ratio")
    assert info is not None and "10–50 mm/h" in info.label[0]
    info = describe("rain_gauge.by_intensity.0.2-2.catch_ratio")  # a row name with a dot
    assert info is not None and info.label[0].startswith("Catch ratio, 0.2")
    assert describe("rain_gauge.no_such_metric") is None
    assert describe("quality.completeness") is not None


def test_rows_keep_unknown_keys_raw_and_skip_missing_ones():
    view = comparison_view("lift", {
        "future_metric": 1.5, "recall": 0.5, "tp": 3,
        "by_type": {"entrapment": {"tp": 1, "new_col": 2}, "strange_type": {"tp": 0}}})
    assert [r.key for r in view["rows"]] == ["tp", "recall", "future_metric"]
    assert view["rows"][2].info is None
    block = view["blocks"][0]
    assert [c.key for c in block.columns] == ["tp", "new_col"]
    assert [r.name for r in block.rows] == ["entrapment", "strange_type"]
    assert block.rows[1].label == ("strange_type", "strange_type")
    quality = table_rows("quality", {"a": {"received": 1, "odd": 2}, "b": {"received": 3}})
    assert [(r.key, r.values) for r in quality] == [("received", [1, 3]), ("odd", [2, None])]


def test_a_block_shows_intervals_under_their_value_not_as_columns():
    view = comparison_view("lift", {"by_type": {"entrapment": {
        "tp": 1, "recall": 0.5, "recall_ci_low": 0.1, "recall_ci_high": 0.9,
        "precision_ci_low": 0.2}}})
    (block,) = view["blocks"]
    assert [(c.key, c.ci) for c in block.columns] == [
        ("tp", False), ("recall", True), ("precision_ci_low", False)]
    assert block.rows[0].values == [1, (0.5, 0.1, 0.9), 0.2]


def test_change_log_paths_find_their_entries():
    comparisons = [{"family": "rain_gauge"}]
    assert change_info("quality.rg-1.received", comparisons).label[0] == "Received readings"
    assert change_info("comparisons.0.metrics.by_intensity.2-10.n", comparisons) is not None
    assert change_info("comparisons.3.metrics.pod", comparisons) is None
    assert change_info("verdict", comparisons) is None


def test_the_page_shows_labels_units_meanings_and_unknown_keys_raw(produced):
    metrics = produced["uv_robot"]
    metrics = {**metrics, "comparisons": [
        {**metrics["comparisons"][0],
         "metrics": {**metrics["comparisons"][0]["metrics"], "brand_new_pct": 12.5}}]}
    del metrics["comparisons"][0]["metrics"]["p10_dose_mj_cm2"]
    changes = [{"path": "comparisons.0.metrics.min_dose_mj_cm2", "old": 9.8761, "new": 9.8764}]
    html = render_html(trial_spec("uv_robot"), metrics, [[]],
                       ReportContext(2, 0, "ab" * 32, "test", changes, 1, None))
    for text in ("Doses on target", "達標劑量比例", "Lowest dose", "最低劑量",
                 "Share of target-point doses at or above the target dose.",
                 "mJ/cm²", "Completeness", "完整度", "秒", "UV target dose",
                 "Standards and sources", "ASTM E3135", "∫ E dt"):
        assert text in html, text
    assert '<code class="raw">brand_new_pct</code>' in html
    assert "9.8761" in html and "9.8764" in html  # a change never looks like no change
    assert "Dose, 10th percentile" not in html
    assert "METRICS.md" not in html
    assert "uv_robot.coverage_pct" in html  # the criterion keeps its raw key under the label


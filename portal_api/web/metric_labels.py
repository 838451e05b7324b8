"""Labels and units of metrics (METRICS.md names) in English and Traditional Chinese.

Used by the public catalogue for the key metrics of a report: the acceptance criteria.
A dotted path `<scope>.<...>.<leaf>` is labelled by its scope (data quality or device family),
its leaf and, for nested groups such as `lift.by_type.entrapment.recall`, the group key.
"""

from __future__ import annotations

from dataclasses import dataclass

# leaf -> (English, Traditional Chinese, unit); unit "" for dimensionless ratios
LEAVES: dict[str, tuple[str, str, str]] = {
    "completeness": ("Completeness", "完整度", "0–1"),
    "received": ("Readings received", "已收讀數", "readings"),
    "expected": ("Readings expected", "應收讀數", "readings"),
    "gap_count": ("Gaps", "中斷次數", "count"),
    "longest_gap_s": ("Longest gap", "最長中斷", "s"),
    "latency_p50_s": ("Latency p50", "延遲中位數", "s"),
    "latency_p95_s": ("Latency p95", "延遲 p95", "s"),
    "duplicates": ("Duplicates dropped", "重複讀數", "count"),
    "rejected": ("Rejected readings", "被拒讀數", "count"),
    "seq_missing": ("Messages missing", "遺失訊息", "count"),
    "pct_within_tolerance": ("Minutes within tolerance", "容差內分鐘", "%"),
    "median_rel_error_pct": ("Median relative error", "相對誤差中位數", "%"),
    "iqr_rel_error_pct": ("Relative error IQR", "相對誤差四分位距", "%"),
    "total_ratio": ("Total rain ratio (device / reference)", "總雨量比（裝置／參考）", ""),
    "pearson_r": ("Correlation (Pearson r)", "相關係數（Pearson r）", ""),
    "daily_bias_mm": ("Daily bias", "每日偏差", "mm"),
    "daily_rmse_mm": ("Daily RMSE", "每日均方根誤差", "mm"),
    "pod": ("Probability of detection", "偵測機率", "0–1"),
    "far": ("False alarm ratio", "誤報比率", "0–1"),
    "n_pairs": ("Paired screenings", "配對篩查數", "count"),
    "bias_c": ("Bias", "偏差", "°C"),
    "sd_c": ("Standard deviation", "標準差", "°C"),
    "mae_c": ("Mean absolute error", "平均絕對誤差", "°C"),
    "rmse_c": ("RMSE", "均方根誤差", "°C"),
    "loa_low_c": ("Lower limit of agreement", "一致性下限", "°C"),
    "loa_high_c": ("Upper limit of agreement", "一致性上限", "°C"),
    "sensitivity": ("Sensitivity", "敏感度", "0–1"),
    "specificity": ("Specificity", "特異度", "0–1"),
    "recall": ("Recall (faults detected)", "召回率（偵測到的故障）", "0–1"),
    "precision": ("Precision", "精確率", "0–1"),
    "f1": ("F1 score", "F1 分數", "0–1"),
    "false_alerts_per_30d": ("False alerts per 30 days", "每 30 日誤報次數", "per 30 d"),
    "detection_delay_p50_s": ("Detection delay p50", "偵測延遲中位數", "s"),
    "detection_delay_p95_s": ("Detection delay p95", "偵測延遲 p95", "s"),
    "availability": ("Availability", "可用率", "0–1"),
    "coverage_pct": ("Target points reaching the dose", "達標劑量覆蓋率", "%"),
    "min_dose_mj_cm2": ("Minimum dose", "最低劑量", "mJ/cm²"),
    "p10_dose_mj_cm2": ("Dose p10", "劑量第 10 百分位", "mJ/cm²"),
    "missions": ("Missions", "任務數", "count"),
    "mean_cycle_time_s": ("Mean cycle time", "平均週期時間", "s"),
    "self_report_error_pct": ("Self-reported dose error", "自報劑量誤差", "%"),
}
SCOPES: dict[str, tuple[str, str]] = {
    "quality": ("Data quality", "數據質素"),
    "rain_gauge": ("Rain gauge", "雨量計"),
    "fever_screener": ("Fever screening", "發燒篩查"),
    "lift": ("Lift monitoring", "升降機監察"),
    "uv_robot": ("UV-C disinfection", "紫外線消毒"),
}
GROUPS = {"by_type"}


@dataclass(frozen=True, slots=True)
class MetricLabel:
    """A metric's scope, name and unit for one language."""

    scope: str
    name: str
    unit: str


def metric_label(path: str, lang: str) -> MetricLabel:
    """The label of a dotted metric path in `lang` ('en' or 'zh-HK'); unknown parts as written."""
    index = 1 if lang == "zh-HK" else 0
    scope, _, rest = path.partition(".")
    parts = rest.split(".") if rest else [scope]
    leaf = parts[-1]
    entry = LEAVES.get(leaf)
    name = entry[index] if entry else leaf.replace("_", " ")
    qualifiers = [p.replace("_", " ") for p in parts[:-1] if p not in GROUPS]
    if qualifiers:
        name = f"{name} ({', '.join(qualifiers)})"
    scope_label = SCOPES.get(scope)
    return MetricLabel(
        scope=scope_label[index] if scope_label else scope,
        name=name,
        unit=entry[2] if entry else "",
    )

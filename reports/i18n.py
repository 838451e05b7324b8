"""Every label of the report in English and Traditional Chinese (Hong Kong), in one table."""

from __future__ import annotations

LANGUAGES = ("en", "zh-HK")

LABELS: dict[str, tuple[str, str]] = {
    "title": ("Verified performance report", "經核實的效能報告"),
    "switch": ("中文", "English"),
    "verdict": ("Verdict", "結論"),
    "verdict_pass": ("PASS", "合格"),
    "verdict_fail": ("FAIL", "不合格"),
    "verdict_insufficient_data": ("INSUFFICIENT DATA", "數據不足"),
    "verdict_note": ("Against the acceptance criteria agreed before the trial.",
                     "根據試驗前議定的驗收準則。"),
    "wish_solution": ("Wish and solution", "需求與方案"),
    "wish": ("Wish", "需求"),
    "department": ("Department", "部門"),
    "solution": ("Solution", "方案"),
    "provider": ("Provider", "方案提供者"),
    "setup": ("Trial set-up", "試驗設置"),
    "trial": ("Trial", "試驗"),
    "site": ("Site", "地點"),
    "period": ("Period", "試驗期"),
    "timezone": ("Time zone", "時區"),
    "window": ("Data window", "數據時段"),
    "devices_under_test": ("Devices under test", "受測裝置"),
    "reference_instruments": ("Reference instruments", "參考儀器"),
    "device": ("Device", "裝置"),
    "profile": ("Profile", "裝置類型"),
    "gateway": ("Gateway", "網關"),
    "comparisons": ("Comparisons", "比對"),
    "methodology": ("Methodology", "方法"),
    "methodology_text": (
        "Metrics follow innotrial verification methodology version {version} (METRICS.md): "
        "devices are compared with reference instruments over the same time window, following "
        "WMO-No. 8 for rain gauges, IEC 80601-2-59 / ISO/TR 13154 for fever screening, "
        "EN 81-28 practice for lift monitoring and ASTM E3135 for UV-C dose.",
        "各項指標依照 innotrial 核實方法第 {version} 版（METRICS.md）計算：受測裝置與參考儀器"
        "在同一時段內比對；雨量計參照 WMO-No. 8，發燒篩查參照 IEC 80601-2-59 / ISO/TR 13154，"
        "升降機監察參照 EN 81-28 實務，紫外線劑量參照 ASTM E3135。"),
    "parameters": ("Parameters", "參數"),
    "exclusions": ("Exclusion windows", "豁免時段"),
    "exclusions_text": (
        "Readings of the named devices inside these approved periods were removed before any "
        "metric was computed; the time does not count against the devices.",
        "在以下經批准的時段內，相關裝置的讀數已於計算任何指標前剔除；這些時間不計入裝置表現。"),
    "no_exclusions": ("No period was excluded.", "沒有豁免任何時段。"),
    "exclusion_id": ("Window", "時段"),
    "devices": ("Devices", "裝置"),
    "all_devices": ("all devices", "所有裝置"),
    "reason": ("Reason", "原因"),
    "approved_by": ("Approved by", "批准人"),
    "quality": ("Data quality", "數據質素"),
    "results": ("Results per comparison", "各項比對結果"),
    "metric": ("Metric", "指標"),
    "value": ("Value", "數值"),
    "acceptance": ("Acceptance criteria", "驗收準則"),
    "criterion": ("Criterion", "準則"),
    "subject": ("Subject", "對象"),
    "required": ("Required", "要求"),
    "actual": ("Actual", "實際"),
    "outcome": ("Outcome", "結果"),
    "pass": ("pass", "合格"),
    "fail": ("fail", "不合格"),
    "no_data": ("no data", "無數據"),
    "changes": ("Changes since the previous version", "與上一版本的差異"),
    "no_changes": ("First issue of this report.", "本報告首次發出。"),
    "version_note": ("Note", "備註"),
    "old": ("Old", "舊值"),
    "new": ("New", "新值"),
    "provenance": ("Provenance", "來源資料"),
    "report_version": ("Report version", "報告版本"),
    "software_version": ("Software version", "軟件版本"),
    "methodology_version": ("Methodology version", "方法版本"),
    "package_sha256": ("Data package SHA-256", "數據包 SHA-256"),
    "issued": ("Issued", "發出時間"),
    "verify_hint": ("Anyone can re-run the verification: innotrial report verify package.zip "
                    "--public-key issuer.pem", "任何人均可重新核實：innotrial report verify "
                    "package.zip --public-key issuer.pem"),
    "chart_rain_scatter": ("Device against reference, 1-minute intensity",
                           "受測裝置與參考儀器的一分鐘雨強"),
    "chart_rain_daily": ("Daily totals", "每日雨量"),
    "chart_bland_altman": ("Bland–Altman plot", "Bland–Altman 一致性圖"),
    "chart_lift_timeline": ("Event timeline: matches, misses and false alarms",
                            "事件時間線：配對、漏報及誤報"),
    "chart_uv_dose": ("Dose per target point and mission against the target dose",
                      "各目標點每次任務的劑量與目標劑量"),
    "family_rain_gauge": ("Rain gauge", "雨量計"),
    "family_fever_screener": ("Fever screener", "發燒篩查儀"),
    "family_lift": ("Lift monitoring", "升降機監察"),
    "family_uv_robot": ("UV-C disinfection robot", "紫外線消毒機械人"),
    "under_test": ("under test", "受測"),
    "reference": ("reference", "參考"),
    "q_expected": ("Expected readings", "應收讀數"),
    "q_received": ("Received readings", "已收讀數"),
    "q_completeness": ("Completeness", "完整度"),
    "q_gap_count": ("Gaps", "中斷次數"),
    "q_longest_gap_s": ("Longest gap (s)", "最長中斷（秒）"),
    "q_latency_p50_s": ("Latency p50 (s)", "延遲中位數（秒）"),
    "q_latency_p95_s": ("Latency p95 (s)", "延遲 p95（秒）"),
    "q_duplicates": ("Duplicates dropped", "重複讀數"),
    "q_rejected": ("Rejected", "被拒讀數"),
    "q_seq_missing": ("Messages missing", "遺失訊息"),
}


def label(key: str, lang: str) -> str:
    """The label `key` in `lang` ('en' or 'zh-HK'); KeyError for an unknown key."""
    en, zh = LABELS[key]
    return zh if lang == "zh-HK" else en

"""English and Traditional Chinese labels for the dashboard: one table, one lookup."""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES: dict[str, str] = {"en": "English", "zh-HK": "繁體中文"}
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "innotrial_lang"

# key -> (English, Traditional Chinese)
_TABLE: dict[str, tuple[str, str]] = {
    "app_title": ("innotrial field trials", "innotrial 實地測試"),
    "trials": ("Trials", "測試項目"),
    "trial": ("Trial", "測試"),
    "no_trials": ("No trials you may see yet.", "暫時沒有可查看的測試。"),
    "wish": ("Wish", "需求"),
    "solution": ("Solution", "方案"),
    "provider": ("Provider", "供應商"),
    "site": ("Site", "地點"),
    "window": ("Window", "測試期"),
    "status": ("Status", "狀態"),
    "verdict": ("Verdict so far", "暫時結論"),
    "verdict_pass": ("pass", "合格"),
    "verdict_fail": ("fail", "不合格"),
    "verdict_insufficient_data": ("insufficient data", "數據不足"),
    "verdict_unknown": ("not computed", "未計算"),
    "login": ("Sign in", "登入"),
    "logout": ("Sign out", "登出"),
    "token": ("Access token", "存取權杖"),
    "token_help": (
        "Paste the token printed by `innotrial users add`.",
        "貼上 `innotrial users add` 所顯示的權杖。",
    ),
    "bad_token": ("That token is not valid.", "權杖無效。"),
    "signed_in_as": ("Signed in as", "登入身分"),
    "comparisons": ("Live comparison", "即時比較"),
    "under_test": ("Device under test", "受測裝置"),
    "reference": ("Reference", "參考儀器"),
    "range": ("Range", "時段"),
    "range_1h": ("1 h", "1 小時"),
    "range_24h": ("24 h", "24 小時"),
    "range_all": ("Whole trial", "整個測試期"),
    "live": ("live", "即時"),
    "disconnected": ("reconnecting…", "重新連線中…"),
    "gateways": ("Gateways and devices", "閘道器與裝置"),
    "gateway": ("Gateway", "閘道器"),
    "device": ("Device", "裝置"),
    "role": ("Role", "角色"),
    "profile": ("Profile", "型號設定"),
    "state": ("State", "狀態"),
    "state_online": ("online", "在線"),
    "state_offline": ("offline", "離線"),
    "state_unknown": ("unknown", "未知"),
    "state_waiting_for_ingest": ("waiting for ingest", "等待接收服務"),
    "since": ("since", "自"),
    "last_reading": ("Last reading", "最後讀數"),
    "buffer_depth": ("Buffer depth", "緩衝數量"),
    "never": ("never", "從未"),
    "quality": ("Data quality so far", "暫時數據質素"),
    "expected": ("Expected", "預期"),
    "received": ("Received", "已收"),
    "completeness": ("Completeness", "完整度"),
    "gaps": ("Gaps", "中斷"),
    "longest_gap": ("Longest gap", "最長中斷"),
    "latency": ("Latency p50 / p95", "延遲 p50 / p95"),
    "duplicates": ("Duplicates", "重複"),
    "rejected": ("Rejected", "已拒收"),
    "rejected_by_reason": ("Rejected readings by reason", "按原因分類的拒收讀數"),
    "reason": ("Reason", "原因"),
    "count": ("Count", "數量"),
    "none_rejected": ("No rejected readings.", "沒有拒收讀數。"),
    "criteria": ("Acceptance criteria", "驗收準則"),
    "metric": ("Metric", "指標"),
    "subject": ("Subject", "對象"),
    "target": ("Target", "目標"),
    "current": ("Current value", "目前數值"),
    "result": ("Result", "結果"),
    "pass": ("pass", "合格"),
    "fail": ("fail", "不合格"),
    "no_value": ("no value yet", "暫無數值"),
    "metrics_unavailable": (
        "Metrics are not available yet (analytics not installed or no data).",
        "暫未能提供指標（未安裝分析模組或未有數據）。",
    ),
    "downloads": ("Downloads", "下載"),
    "readings_csv": ("All readings (CSV)", "全部讀數 (CSV)"),
    "readings_json": ("All readings (JSON)", "全部讀數 (JSON)"),
    "readings_parquet": ("All readings (Parquet)", "全部讀數 (Parquet)"),
    "metrics_json": ("Metrics (JSON)", "指標 (JSON)"),
    "report": ("Verified report", "核實報告"),
    "language": ("Language", "語言"),
    "not_found": ("Not found", "找不到"),
    "not_found_detail": (
        "There is no such page, or you may not see it.",
        "沒有這個頁面，或你沒有權限查看。",
    ),
    "back": ("Back to trials", "返回測試列表"),
    "no_report": (
        "No report has been issued for this trial yet "
        "(innotrial report build TRIAL_ID --out DATA_DIR/reports).",
        "此測試尚未發出報告（innotrial report build TRIAL_ID --out DATA_DIR/reports）。",
    ),
    "rain_chart": ("Rain per minute (mm)", "每分鐘雨量 (毫米)"),
    "fever_chart": ("Skin vs body temperature (°C)", "皮膚與體溫 (°C)"),
    "lift_chart": ("Event timeline", "事件時間線"),
    "uv_chart": ("Irradiance (µW/cm²) and robot missions", "輻照度 (µW/cm²) 及機械人任務"),
    "updated": ("updated", "更新於"),
    "public_wishes": ("Wish board", "需求板"),
    "public_reports": ("Verified reports", "核實報告"),
    "public_intro_wishes": (
        "Government departments' innovation wishes. Universities and start-ups can propose "
        "solutions; trials run for a wish are listed with their verified reports.",
        "政府部門的創新需求。大學及初創企業可提出方案；為需求進行的測試及其核實報告列於下方。",
    ),
    "public_intro_reports": (
        "Published, signed reports of field trials. Anyone can re-check a verdict offline "
        "from the signed data package.",
        "已發布並經簽署的實地測試報告。任何人都可以用已簽署的數據包離線重新核實結論。",
    ),
    "search": ("Search", "搜尋"),
    "category": ("Category", "類別"),
    "department": ("Department", "部門"),
    "any": ("any", "全部"),
    "apply_filter": ("Show", "顯示"),
    "no_wishes": ("No wishes match.", "沒有符合的需求。"),
    "no_reports": ("No reports have been published yet.", "暫時未有已發布的報告。"),
    "wish_status_open": ("open", "開放"),
    "wish_status_matched": ("matched", "已配對"),
    "wish_status_trialling": ("trialling", "測試中"),
    "wish_status_closed": ("closed", "已結束"),
    "trials_published": ("Published trials", "已發布的測試"),
    "trials_under_way": ("Trials under way", "進行中的測試"),
    "no_trials_yet": ("No trial yet.", "尚未有測試。"),
    "verdict_final": ("Verdict", "結論"),
    "key_metrics": ("Key metrics (acceptance criteria)", "主要指標（驗收準則）"),
    "unit": ("Unit", "單位"),
    "actual": ("Actual", "實際數值"),
    "report_html": ("Report", "報告"),
    "report_pdf": ("PDF", "PDF"),
    "signed_package": ("Signed data package", "已簽署數據包"),
    "metrics_file": ("Metrics (JSON)", "指標 (JSON)"),
    "version": ("Version", "版本"),
    "published_on": ("published", "發布於"),
    "superseded_by": ("superseded by", "已被取代："),
    "current_version": ("current", "現行版本"),
    "earlier_versions": ("Earlier versions", "較早版本"),
    "change_log": ("Changes from the previous version", "與上一版本的差異"),
    "no_change_log": ("First published version.", "首個發布版本。"),
    "verify_title": ("Verify a report offline", "離線核實報告"),
    "verify_steps": (
        "Download the signed package and the issuer's public key, check the key's SHA-256 "
        "fingerprint, then run:",
        "下載已簽署的數據包及發出者公開金鑰，核對金鑰的 SHA-256 指紋，然後執行：",
    ),
    "issuer_key": ("Issuer public key (PEM)", "發出者公開金鑰 (PEM)"),
    "fingerprint": ("SHA-256 of the key file", "金鑰檔案的 SHA-256"),
    "package_sha256": ("Package SHA-256", "數據包 SHA-256"),
    "trial_charts": ("The whole trial", "整個測試期"),
    "public_quality": ("Data quality (published)", "數據質素（已發布）"),
    "feeds": ("Atom feeds", "Atom 訂閱"),
    "feed_wishes": ("new wishes", "新需求"),
    "feed_reports": ("new reports", "新報告"),
    "sign_in_staff": ("Sign in (staff and providers)", "登入（職員及供應商）"),
    "read_only": ("Read-only public page.", "唯讀公開頁面。"),
    "exclusions_added": ("added", "新增"),
    "exclusions_removed": ("removed", "移除"),
    "exclusions_changed": ("changed", "更改"),
    "exclusions": ("Exclusion windows", "豁免時段"),
    "exclusions_hint": (
        "Readings inside an active window are not counted against the named devices "
        "(shaded on the charts).",
        "有效時段內的讀數不計入相關裝置的表現（圖表中以陰影標示）。",
    ),
    "no_exclusions": ("No exclusion windows.", "沒有豁免時段。"),
    "exclusion_id": ("Window", "時段"),
    "period": ("Period", "期間"),
    "devices": ("Devices", "裝置"),
    "all_devices": ("all devices", "所有裝置"),
    "approved_by": ("Approved by", "批准人"),
    "exclusion_active": ("active", "生效"),
    "exclusion_revoked": ("revoked", "已撤銷"),
    "revoked_by": ("revoked by", "撤銷人"),
    "reissue_needed": ("Report v{version} needs re-issue", "報告第 {version} 版需要重新發出"),
    "reissue_metrics": ("metrics changed since it was issued", "項指標自發出後有變"),
    "reissue_windows": ("exclusion windows changed", "豁免時段有變"),
    "reissue_hint": (
        "Issue the next version with: innotrial report build {trial_id} --out DATA_DIR/reports",
        "請以此指令發出新版本：innotrial report build {trial_id} --out DATA_DIR/reports",
    ),
    "reissue_ok": ("Report v{version} is up to date.", "報告第 {version} 版為最新。"),
}


def pick_language(query_lang: str | None, cookie_lang: str | None, accept: str | None) -> str:
    """The language to render: ?lang=, then the cookie, then Accept-Language, then English."""
    for candidate in (query_lang, cookie_lang):
        if candidate in LANGUAGES:
            return candidate
    if accept and accept.lower().startswith(("zh-hk", "zh-tw", "zh-hant")):
        return "zh-HK"
    return DEFAULT_LANGUAGE


def translator(lang: str) -> Callable[[str], str]:
    """A function from label key to the label in `lang` (the key itself when unknown)."""
    index = 1 if lang == "zh-HK" else 0

    def translate(key: str) -> str:
        entry = _TABLE.get(key)
        return key if entry is None else entry[index]

    return translate


def labels(lang: str) -> dict[str, str]:
    """Every label in `lang`, for the browser script."""
    index = 1 if lang == "zh-HK" else 0
    return {key: entry[index] for key, entry in _TABLE.items()}

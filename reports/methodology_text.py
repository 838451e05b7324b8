"""The report's own methodology section: the method per family in both languages, with sources.

Readers of a report do not have the project's docs, so the report says how each figure is made
and which standards it follows. docs/methodology.md has the formulas and recipes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Pair = tuple[str, str]  # (English, 繁體中文)

GENERAL: Pair = (
    "Each device under test is compared with reference instruments at the same site over the "
    "same data window. Readings inside approved exclusion windows (maintenance, power cuts, site "
    "closures) are removed before anything is computed, and a device's expected readings count "
    "only its active time. A metric that cannot be computed (no data, a zero denominator) shows "
    "as “—”, and a criterion on it gives “insufficient data”. Days are calendar days in the "
    "site's time zone. Values are rounded for display; metrics.json in the signed data package "
    "keeps full precision, and anyone can recompute every figure from the package with "
    "“innotrial report verify”.",
    "每部受測裝置在同一地點、同一數據時段內與參考儀器比對。已批准豁免時段（維修、停電、場地關閉）"
    "內的讀數在計算前先行移除，應收讀數只計裝置的有效時間。無法計算的指標（沒有數據或分母為零）"
    "顯示為「—」，以其為準則的結果為「數據不足」。日數以試驗地點時區的曆日計算。數值只為顯示而"
    "四捨五入；已簽署數據包內的 metrics.json 保留完整精度，任何人均可用「innotrial report verify」"
    "從數據包重新計算每個數字。",
)

QUALITY: Pair = (
    "Completeness is received ÷ expected readings of a periodic device; a gap is a silence longer "
    "than two reporting periods; latency is the delay from measurement to arrival at the "
    "platform. WMO-No. 8 asks for data availability to be reported alongside measurement "
    "performance.",
    "定時裝置的完整度為已收讀數 ÷ 應收讀數；中斷指長於兩個報告週期的無數據時段；延遲為由量度至"
    "平台收到數據的時間。WMO-No. 8 要求在報告量度表現時一併報告數據可用度。",
)

FAMILIES: dict[str, Pair] = {
    "rain_gauge": (
        "Both gauges' rain is summed per minute; minutes in which both reported are paired, and "
        "those with a reference intensity of at least 0.2 mm/h are valid. The 1-minute intensity "
        "error is judged against the tolerance of the WMO field intercomparison of rainfall "
        "intensity gauges (±0.1 mm/h up to 2 mm/h, ±5 % above; WMO-No. 8, Part I, Chapter 6), "
        "overall and per intensity class, since a tipping bucket's error depends on intensity. "
        "Daily and hourly totals reveal a bias that minute scatter hides; on wet days (reference "
        "total at least the wet-day threshold) the daily amount is checked against the required "
        "uncertainty of WMO-No. 8 Annex 1.A (±0.1 mm up to 5 mm, ±2 % above). Probability of "
        "detection and false alarm ratio say whether the gauge sees rain at all; the clock lag is "
        "the minute shift that best correlates the two gauges.",
        "兩個雨量計的雨量按分鐘加總；兩者均有報告的分鐘為配對分鐘，當中參考雨強不少於 0"
        ".2 毫米/小時者為有效分鐘。一分鐘雨強誤差按世界氣象組織（WMO）雨強計實地比"
        "對的容差判斷（2 毫米/小時或以下 ±0.1 毫米/小時，以上 ±5%；WMO-"
        "No. 8 第 I 部第 6 章），並按雨強級別分別計算，因翻斗式雨量計的誤差隨"
        "雨強而變。每日及每小時雨量可揭示分鐘散點未能顯示的偏差；雨日（參考日雨量達雨日界"
        "線）的日雨量按 WMO-No. 8 附件 1.A 的所需不確定度（5 毫米或以下"
        " ±0.1 毫米，以上 ±2%）檢查。偵測率及誤報比率顯示雨量計能否偵測降雨；時"
        "鐘偏移為令兩者相關性最高的分鐘位移。",
    ),
    "fever_screener": (
        "Each screening is paired with the clinical thermometer reading of the same subject (same "
        "pair id, taken within the largest pair delay); readings of several clinical thermometers "
        "are pooled. Agreement follows Bland & Altman: the bias (mean of screener − clinical) and "
        "the limits of agreement (bias ± 1.96 SD), with 95 % confidence intervals from Student's t "
        "for the bias and the approximate standard error √(3/n)·SD for the limits (Bland & Altman "
        "1999). Screening performance follows ISO 80601-2-59 (IEC 80601-2-59) and ISO/TR 13154: a "
        "subject is febrile when the clinical temperature reaches the fever threshold; "
        "sensitivity, specificity and predictive values carry Wilson score 95 % intervals, and the "
        "ROC area (Mann–Whitney) measures how well skin temperature separates febrile from "
        "afebrile subjects at any threshold.",
        "每次篩查與同一受檢者的臨床體溫計讀數配對（相同配對編號，並在配對最大時差內量度）"
        "；多部臨床體溫計的讀數合併為一組參考。一致性按 Bland & Altman 方"
        "法計算：偏差（篩查溫度減臨床體溫的平均值）及一致性界限（偏差 ± 1.96 標準"
        "差）；偏差的 95% 置信區間以 Student t 分佈計算，界限的則以近似標"
        "準誤 √(3/n)·SD 計算（Bland & Altman 1999）。篩查表"
        "現參照 ISO 80601-2-59（IEC 80601-2-59）及 ISO/"
        "TR 13154：臨床體溫達發燒界線即為發燒；敏感度、特異度及預測值附 Wils"
        "on 評分 95% 區間；ROC 曲線下面積（Mann–Whitney）衡量皮膚"
        "溫度在任何界線下區分發燒與非發燒者的能力。",
    ),
    "lift": (
        "Each event in the lift controller's log (door fault, levelling fault, entrapment, out of "
        "service, back in service) is matched to the earliest unmatched monitor event of the same "
        "type within the matching window. Recall (share of controller events detected) and "
        "precision (share of monitor events that were real) carry Wilson score 95 % intervals, "
        "which matter for rare events such as entrapments. Only unmatched fault alerts count as "
        "false alerts, per 30 days of the monitor's active time. Availability is the share of "
        "time in service from the controller log, compared with the availability the monitor "
        "reports; the longest heartbeat gap shows how long a failed monitor would go unnoticed, "
        "the concern of EN 81-28 (remote alarm on lifts) and EN 81-20.",
        "升降機控制器記錄中的每宗事件（門故障、平層故障、困人、停止服務、恢復服務）與配對"
        "時限內最早一宗未配對、同類型的監察事件配對。檢出率（控制器事件被偵測的比例）及準"
        "確率（監察事件屬實的比例）附 Wilson 評分 95% 區間，對困人等罕見事件"
        "尤其重要。只有未配對的故障警報才計作誤報，並按監察器每 30 日有效時間折算。可"
        "用率為按控制器記錄升降機處於服務狀態的時間比例，並與監察器報告的可用率比較；最長"
        "心跳間隔顯示監察器失效後多久未被察覺，這是 EN 81-28（升降機遠程警報）及"
        " EN 81-20 關注的問題。",
    ),
    "uv_robot": (
        "A radiometer at each target point measures the irradiance E during each mission; the dose "
        "is H = ∫ E dt, summed as Σ E·Δt with each reading counting until the next one (at most "
        "two periods): µW/cm² × s = µJ/cm², divided by 1000 for mJ/cm². A dose is on target when "
        "it reaches the target dose; a mission is fully dosed when every target point is. "
        "Radiometer completeness shows when a low dose comes from missing reference readings "
        "rather than from the robot. The robot's own dose reports are compared with the measured "
        "doses (signed bias and absolute error), and the interlock figure is the share of person "
        "detections followed by a stop within the interlock time. UV-C practice follows "
        "ASTM E3135.",
        "每個目標點的輻射計在任務期間量度輻照度 E；劑量 H = ∫ E dt，以 Σ "
        "E·Δt 計算，每個讀數計至下一個讀數為止（最多兩個週期）：µW/cm² × 秒"
        " = µJ/cm²，除以 1000 即為 mJ/cm²。劑量達目標劑量即為達標；"
        "所有目標點均達標的任務為全面達標。輻射計完整度顯示劑量偏低是否因參考讀數缺失而非"
        "機械人所致。機械人自報劑量與量得劑量比較（帶正負偏差及絕對誤差）；安全聯鎖成功率"
        "為偵測到人後在聯鎖時限內停止的比例。紫外線消毒實務參照 ASTM E3135。",
    ),
}

SOURCES: dict[str, tuple[str, ...]] = {
    "quality": (
        "WMO-No. 8, Guide to Instruments and Methods of Observation (CIMO Guide), 2018 edition.",
    ),
    "rain_gauge": (
        "WMO-No. 8, Volume I, Chapter 6 (precipitation) and Annex 1.A (required measurement "
        "uncertainty).",
        "Vuerich E. et al., WMO Field Intercomparison of Rainfall Intensity Gauges, "
        "Instruments and Observing Methods Report No. 99, WMO/TD-No. 1504, 2009.",
        "EN 17277:2019, Hydrometry — Measurement requirements and classification of rainfall "
        "intensity measuring instruments.",
    ),
    "fever_screener": (
        "ISO 80601-2-59:2017 (IEC 80601-2-59), Particular requirements for the basic safety and "
        "essential performance of screening thermographs for human febrile temperature screening.",
        "ISO/TR 13154:2017, Deployment, implementation and operational guidelines for identifying "
        "febrile humans using a screening thermograph.",
        "Bland J. M., Altman D. G., Statistical methods for assessing agreement between two "
        "methods of clinical measurement, Lancet 1986; 327: 307–310.",
        "Bland J. M., Altman D. G., Measuring agreement in method comparison studies, "
        "Statistical Methods in Medical Research 1999; 8: 135–160.",
        "Wilson E. B., Probable inference, the law of succession, and statistical inference, "
        "Journal of the American Statistical Association 1927; 22: 209–212.",
        "Hanley J. A., McNeil B. J., The meaning and use of the area under a receiver operating "
        "characteristic (ROC) curve, Radiology 1982; 143: 29–36.",
    ),
    "lift": (
        "EN 81-28:2018, Remote alarm on passenger and goods passenger lifts.",
        "EN 81-20:2020, Lifts for the transport of persons and goods — Passenger and goods "
        "passenger lifts.",
        "Wilson E. B., Probable inference, the law of succession, and statistical inference, "
        "Journal of the American Statistical Association 1927; 22: 209–212.",
    ),
    "uv_robot": (
        "ASTM E3135-18, Standard Practice for Determining Antimicrobial Efficacy of Ultraviolet "
        "Germicidal Irradiation Against Microorganisms on Carriers with Simulated Soil.",
        "UV dose (fluence) H = ∫ E dt, the time integral of irradiance (CIE S 017, International "
        "Lighting Vocabulary).",
    ),
}


@dataclass(frozen=True, slots=True)
class MethodSection:
    """One family's paragraph under its heading label key."""

    title_key: str
    text: Pair


def methodology_sections(families: Sequence[str]) -> dict[str, object]:
    """General text, one section per family in the trial (first-seen order), and the sources."""
    present = [f for f in dict.fromkeys(families) if f in FAMILIES]
    sections = [MethodSection("quality", QUALITY)]
    sections += [MethodSection(f"family_{f}", FAMILIES[f]) for f in present]
    sources = list(dict.fromkeys(s for key in ("quality", *present) for s in SOURCES[key]))
    return {"general": GENERAL, "sections": sections, "sources": sources}

"""The recipes of docs/methodology.md, written plainly in pandas, agree with analytics to 1e-9."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analytics import DeviceBookkeeping, Window
from analytics.fever_screener import fever_metrics
from analytics.rain_gauge import rain_metrics
from analytics.uv_robot import doses, missions

START_MS = 1_793_462_400_000
END_MS = START_MS + 3 * 86_400_000
TZ = "Asia/Hong_Kong"


def _rain(rng: np.random.Generator, n: int) -> pd.DataFrame:
    minutes = np.sort(rng.choice(np.arange(-30, 3 * 1440 + 30), size=n, replace=False))
    rain = np.where(rng.random(n) < 0.3, np.round(rng.gamma(0.7, 0.1, n), 3), 0.0)
    return pd.DataFrame(
        {
            "ts_ms": START_MS + minutes * 60_000 + rng.integers(0, 59_000, n),
            "received_ms": 0,
            "rain_mm": rain,
        }
    )


def _inw(f: pd.DataFrame) -> pd.DataFrame:
    return f[(f.ts_ms >= START_MS) & (f.ts_ms < END_MS)].sort_values("ts_ms")


def test_rain_recipe_agrees() -> None:
    rng = np.random.default_rng(7)
    d_all, r_all = _rain(rng, 3000), _rain(rng, 3000)
    got = rain_metrics(d_all, r_all, Window(START_MS, END_MS), TZ, wet_day_mm=1.0)
    d, r = _inw(d_all), _inw(r_all)
    sd = d.groupby(d.ts_ms // 60000).rain_mm.sum()
    sr = r.groupby(r.ts_ms // 60000).rain_mm.sum()
    m = pd.concat({"d": sd, "r": sr}, axis=1, join="inner")
    i_d, i_r = 60 * m.d, 60 * m.r
    v = i_r >= 0.2
    e = 100 * (i_d[v] - i_r[v]) / i_r[v]
    tol = np.where(
        i_r[v] <= 2, (i_d[v] - i_r[v]).abs() <= 0.1, (i_d[v] - i_r[v]).abs() <= 0.05 * i_r[v]
    )
    day = pd.to_datetime(m.index * 60000, unit="ms", utc=True).tz_convert(TZ).date
    big_d = (m.d - m.r).groupby(day).sum()
    assert got["paired_minutes"] == len(m) and got["valid_minutes"] == int(v.sum())
    assert got["median_rel_error_pct"] == pytest.approx(np.percentile(e, 50), abs=1e-9)
    assert got["iqr_rel_error_pct"] == pytest.approx(
        np.percentile(e, 75) - np.percentile(e, 25), abs=1e-9
    )
    assert got["pct_within_tolerance"] == pytest.approx(100 * tol.mean(), abs=1e-9)
    assert got["pearson_r"] == pytest.approx(np.corrcoef(i_d, i_r)[0, 1], abs=1e-9)
    assert got["daily_bias_mm"] == pytest.approx(big_d.mean(), abs=1e-9)
    assert got["daily_rmse_mm"] == pytest.approx(np.sqrt((big_d**2).mean()), abs=1e-9)
    assert got["total_ratio"] == pytest.approx(m.d.sum() / m.r.sum(), abs=1e-9)
    assert len(big_d) == 3  # the window is three whole Hong Kong days (four UTC dates)
    hits = ((m.d > 0) & (m.r > 0)).sum()
    assert got["pod"] == pytest.approx(hits / (hits + ((m.r > 0) & (m.d == 0)).sum()))


def test_fever_recipe_agrees() -> None:
    rng = np.random.default_rng(11)
    n = 400
    ids = np.array([f"p{k}" for k in rng.integers(0, 300, n)])
    body = np.round(rng.normal(37.2, 0.6, n), 1)
    d_all = pd.DataFrame(
        {
            "ts_ms": START_MS + np.sort(rng.choice(10**8, n, replace=False)),
            "skin_temp_c": np.round(body + rng.normal(0, 0.3, n), 1),
            "alarm": rng.random(n) < 0.4,
            "pair_id": ids,
        }
    )
    r_all = pd.DataFrame(
        {
            "ts_ms": START_MS + np.sort(rng.choice(10**8, n, replace=False)),
            "body_temp_c": body,
            "pair_id": rng.permutation(ids),
        }
    )
    got = fever_metrics(d_all, r_all, Window(START_MS, END_MS), 37.5, max_pair_delay_s=1e9)
    d, r = _inw(d_all), _inw(r_all)
    first = lambda f: f.sort_values("ts_ms").drop_duplicates("pair_id")  # noqa: E731
    dup = set(d.pair_id[d.pair_id.duplicated()]) | set(r.pair_id[r.pair_id.duplicated()])
    p = first(d).merge(first(r), on="pair_id")
    diff = p.skin_temp_c - p.body_temp_c
    fever, alarm = p.body_temp_c >= 37.5, p.alarm
    tp, fn = int((fever & alarm).sum()), int((fever & ~alarm).sum())
    assert got["duplicate_pair_ids"] == len(dup) and got["n_pairs"] == len(p)
    assert got["bias_c"] == pytest.approx(diff.mean(), abs=1e-9)
    assert got["sd_c"] == pytest.approx(diff.std(ddof=1), abs=1e-9)
    assert got["loa_high_c"] == pytest.approx(diff.mean() + 1.96 * diff.std(ddof=1), abs=1e-9)
    assert got["sensitivity"] == pytest.approx(tp / (tp + fn), abs=1e-12)


def test_uv_dose_recipe_agrees() -> None:
    rng = np.random.default_rng(3)
    ts = START_MS + np.sort(rng.choice(20_000, 5_000, replace=False)) * 1000
    rad = pd.DataFrame({"ts_ms": ts, "irradiance_uw_cm2": rng.uniform(0, 3000, len(ts))})
    bounds = np.sort(rng.choice(20_000, 40, replace=False)) * 1000 + START_MS
    robot = pd.DataFrame({"ts_ms": bounds, "event": ["mission_start", "mission_end"] * 20})
    found = missions(robot)
    got = doses(rad, found, 1000)
    t, e = rad.ts_ms.to_numpy(), rad.irradiance_uw_cm2.to_numpy()
    nxt = np.r_[t[1:], np.iinfo(np.int64).max]
    for h, m in zip(got, found, strict=True):
        k = (t >= m.start_ms) & (t < m.end_ms)
        dt = np.minimum(np.minimum(nxt[k], m.end_ms) - t[k], 2000)
        assert h == pytest.approx((e[k] * dt).sum() / 1e6, rel=1e-12, abs=1e-9)


# --- methodology v2 (METRICS-v2.md): the recipes of docs/methodology.md ----------------------


def _wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    ph, c = k / n, 1 + z * z / n
    mid = (ph + z * z / (2 * n)) / c
    half = z * np.sqrt(ph * (1 - ph) / n + z * z / (4 * n * n)) / c
    return mid - half, mid + half


def test_rain_v2_recipe_agrees() -> None:
    rng = np.random.default_rng(17)
    d_all, r_all = _rain(rng, 3500), _rain(rng, 3500)
    d_all["rain_mm"] *= 8  # heavier rain: every intensity class and some wet days
    r_all["rain_mm"] *= 8
    got = rain_metrics(d_all, r_all, Window(START_MS, END_MS), TZ, wet_day_mm=1.0)
    d, r = _inw(d_all), _inw(r_all)
    sd = d.groupby(d.ts_ms // 60000).rain_mm.sum()
    sr = r.groupby(r.ts_ms // 60000).rain_mm.sum()
    m = pd.concat({"d": sd, "r": sr}, axis=1, join="inner")
    i_d, i_r = 60 * m.d, 60 * m.r
    classes = pd.cut(
        i_r, [0.2, 2, 10, 50, np.inf], right=False, labels=["0.2-2", "2-10", "10-50", "50+"]
    )
    for name, grp in pd.DataFrame({"d": i_d, "r": i_r}).groupby(classes, observed=False):
        block = got["by_intensity"][name]
        assert block["n"] == len(grp)
        if len(grp):
            assert block["catch_ratio"] == pytest.approx(grp.d.sum() / grp.r.sum(), abs=1e-9)
            e = 100 * (grp.d - grp.r) / grp.r
            assert block["median_rel_error_pct"] == pytest.approx(e.median(), abs=1e-9)
            err = (grp.d - grp.r).abs()
            ok = np.where(grp.r <= 2, err <= 0.1, err <= 0.05 * grp.r)
            assert block["pct_within_tolerance"] == pytest.approx(100 * ok.mean(), abs=1e-9)
    day = pd.to_datetime(m.index * 60000, unit="ms", utc=True).tz_convert(TZ).date
    days = m.groupby(day).sum()
    wet = days[days.r >= 1.0]
    diff = wet.d - wet.r
    ok = np.where(wet.r <= 5, diff.abs() <= 0.1, diff.abs() <= 0.02 * wet.r)
    assert got["wet_days"] == len(wet) > 0
    assert got["wet_daily_bias_mm"] == pytest.approx(diff.mean(), abs=1e-9)
    assert got["wet_daily_rmse_mm"] == pytest.approx(np.sqrt((diff**2).mean()), abs=1e-9)
    assert got["wet_daily_within_tolerance_pct"] == pytest.approx(100 * ok.mean(), abs=1e-9)
    hours = m.groupby(m.index * 60000 // 3_600_000).sum()
    hours = hours[(hours.d > 0) | (hours.r > 0)]
    assert got["hourly_n"] == len(hours)
    assert got["hourly_bias_mm"] == pytest.approx((hours.d - hours.r).mean(), abs=1e-9)
    assert got["hourly_rmse_mm"] == pytest.approx(
        np.sqrt(((hours.d - hours.r) ** 2).mean()), abs=1e-9
    )
    assert got["hourly_pearson_r"] == pytest.approx(hours.d.corr(hours.r), abs=1e-9)
    w = (i_d > 0) | (i_r > 0)
    assert got["wet_pearson_r"] == pytest.approx(i_d[w].corr(i_r[w]), abs=1e-9)
    corr = {}
    for lag in range(-10, 11):
        both = pd.concat(
            {"r": 60 * sr, "d": pd.Series((60 * sd).to_numpy(), index=sd.index - lag)},
            axis=1,
            join="inner",
        )
        if len(both) >= 10 and both.r.nunique() > 1 and both.d.nunique() > 1:
            corr[lag] = both.r.corr(both.d)
    best = max(corr.values())
    expected_lag = min((k for k, v in corr.items() if v >= best - 1e-9), key=lambda k: (abs(k), k))
    assert got["clock_lag_min"] == expected_lag


def test_fever_v2_pooled_recipe_agrees() -> None:
    rng = np.random.default_rng(23)
    n = 300
    ids = np.array([f"p{k}" for k in rng.integers(0, 250, n)])
    ts_d = START_MS + np.sort(rng.choice(10**8, n, replace=False))
    body = np.round(rng.normal(37.3, 0.6, n), 1)
    d_all = pd.DataFrame(
        {
            "ts_ms": ts_d,
            "skin_temp_c": np.round(body + rng.normal(0, 0.3, n), 1),
            "alarm": rng.random(n) < 0.4,
            "pair_id": ids,
        }
    )
    # Two thermometers share the pairs; each reading 0–20 min after its screening.
    which = rng.random(n) < 0.5
    ref = pd.DataFrame(
        {"ts_ms": ts_d + rng.integers(0, 1_200_000, n), "body_temp_c": body, "pair_id": ids}
    )
    ct1, ct2 = ref[which], ref[~which]
    got = fever_metrics(d_all, pd.concat([ct1, ct2]), Window(START_MS, END_MS), 37.5, 900.0)
    d = _inw(d_all)
    pooled = pd.concat([_inw(ct1), _inw(ct2)]).sort_values("ts_ms", kind="stable")
    first = lambda f: f.drop_duplicates("pair_id")  # noqa: E731  (already in ts order)
    p = first(d.sort_values("ts_ms")).merge(first(pooled), on="pair_id", suffixes=("_d", "_r"))
    late = (p.ts_ms_r - p.ts_ms_d).abs() > 900_000
    p = p[~late]
    diff = p.skin_temp_c - p.body_temp_c
    k = len(p)
    fever, alarm = p.body_temp_c >= 37.5, p.alarm
    tp, fp = int((fever & alarm).sum()), int((~fever & alarm).sum())
    tn, fn = int((~fever & ~alarm).sum()), int((fever & ~alarm).sum())
    t = stats.t.ppf(0.975, k - 1)
    bias, s = diff.mean(), diff.std(ddof=1)
    assert got["late_pairs"] == int(late.sum()) > 0 and got["n_pairs"] == k
    assert got["n_febrile"] == tp + fn and got["n_afebrile"] == tn + fp
    assert got["ppv"] == pytest.approx(tp / (tp + fp), abs=1e-12)
    assert (got["npv_ci_low"], got["npv_ci_high"]) == pytest.approx(_wilson(tn, tn + fn), abs=1e-12)
    assert got["bias_ci_low_c"] == pytest.approx(bias - t * s / np.sqrt(k), abs=1e-9)
    loa_high = bias + 1.96 * s
    assert got["loa_high_ci_high_c"] == pytest.approx(loa_high + t * s * np.sqrt(3 / k), abs=1e-9)
    pos, neg = p.skin_temp_c[fever].to_numpy(), p.skin_temp_c[~fever].to_numpy()
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert got["auc"] == pytest.approx(wins / (len(pos) * len(neg)), abs=1e-12)


def _segments(start: int, end: int, cuts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """W minus the cuts, by walking a sorted list of boundaries (plain Python)."""
    out, at = [], start
    for lo, hi in sorted(cuts):
        lo, hi = max(lo, start), min(hi, end)
        if lo > at:
            out.append((at, lo))
        at = max(at, hi)
    return out + ([(at, end)] if end > at else [])


def _inside(ts: pd.Series, segs: list[tuple[int, int]]) -> pd.Series:
    return ts.apply(lambda t: any(lo <= t < hi for lo, hi in segs))


def test_quality_with_exclusions_recipe_agrees() -> None:
    from analytics.exclusions import ActiveTime
    from analytics.quality import device_quality

    rng = np.random.default_rng(29)
    p = 60_000
    ts = START_MS + np.sort(rng.choice(3 * 1440, 3000, replace=False)) * p + 500
    d = pd.DataFrame({"ts_ms": ts, "received_ms": ts + 900})
    cuts = [(START_MS + 100 * p, START_MS + 400 * p + 7), (START_MS + 350 * p, START_MS + 500 * p)]
    cuts.append((START_MS + 2000 * p + 30_000, START_MS + 2100 * p))
    window = Window(START_MS, END_MS)
    got = device_quality(d, window, p, DeviceBookkeeping(), ActiveTime.of(window, cuts))
    segs = _segments(START_MS, END_MS, cuts)
    kept = d[_inside(d.ts_ms, segs)]
    expected = sum((hi - lo) // p for lo, hi in segs)
    gaps = []
    for lo, hi in segs:
        t = kept.ts_ms[(kept.ts_ms >= lo) & (kept.ts_ms < hi)].to_numpy()
        deltas = np.r_[t[0] + p - lo, np.diff(t), hi - t[-1]] if len(t) else np.array([hi - lo + p])
        gaps += list(deltas[deltas > 2 * p] - p)
    assert got["expected"] == expected and got["received"] == len(kept)
    assert got["completeness"] == pytest.approx(min(1, len(kept) / expected), abs=1e-12)
    assert got["gap_count"] == len(gaps) and got["longest_gap_s"] == max(gaps) / 1000
    assert got["excluded_s"] == (END_MS - START_MS - sum(hi - lo for lo, hi in segs)) / 1000


def test_lift_v2_recipe_agrees() -> None:
    from analytics.exclusions import ActiveTime
    from analytics.lift import lift_metrics

    rng = np.random.default_rng(31)
    kinds = [
        "fault_door",
        "fault_levelling",
        "entrapment",
        "out_of_service",
        "in_service",
        "heartbeat",
    ]
    span_s = 3 * 86_400
    r_all = pd.DataFrame(
        {
            "ts_ms": START_MS + np.sort(rng.choice(span_s, 400, replace=False)) * 1000,
            "event_type": rng.choice(kinds, 400),
        }
    )
    keep = rng.random(400) < 0.85
    d_all = pd.DataFrame(
        {
            "ts_ms": r_all.ts_ms[keep] + rng.integers(-30_000, 90_000, keep.sum()),
            "event_type": r_all.event_type[keep],
        }
    ).sort_values("ts_ms")
    cut_d = [(START_MS + 3_600_000, START_MS + 30_000_000)]
    cut_r = [(START_MS + 100_000_000, START_MS + 130_000_000)]
    window = Window(START_MS, END_MS)
    a_d, a_r = ActiveTime.of(window, cut_d), ActiveTime.of(window, cut_r)
    got = lift_metrics(d_all, r_all, window, 60.0, (a_d, a_r))
    seg_d, seg_r = _segments(START_MS, END_MS, cut_d), _segments(START_MS, END_MS, cut_r)
    d = _inw(d_all)[_inside(_inw(d_all).ts_ms, seg_d)]
    r = _inw(r_all)[_inside(_inw(r_all).ts_ms, seg_r)]
    fp_alerts = 0
    tp_all = fn_all = fp_all = 0
    for k in kinds[:5]:
        rt, dt = sorted(r.ts_ms[r.event_type == k]), sorted(d.ts_ms[d.event_type == k])
        used, tp = set(), 0
        for t in rt:
            cands = [x for x in dt if abs(x - t) <= 60_000 and x not in used]
            if cands:
                used.add(min(cands))
                tp += 1
        fn, fp = len(rt) - tp, len(dt) - tp
        tp_all, fn_all, fp_all = tp_all + tp, fn_all + fn, fp_all + fp
        if k in ("fault_door", "fault_levelling", "entrapment"):
            fp_alerts += fp
        if tp + fn:
            assert (got["by_type"][k]["recall_ci_low"], got["by_type"][k]["recall_ci_high"]) == (
                pytest.approx(_wilson(tp, tp + fn), abs=1e-12)
            )
    assert (got["tp"], got["fn"], got["fp"]) == (tp_all, fn_all, fp_all)
    active_d_days = sum(hi - lo for lo, hi in seg_d) / 86_400_000
    assert got["false_alerts_per_30d"] == pytest.approx(fp_alerts / (active_d_days / 30), abs=1e-9)

    def avail(ev: pd.DataFrame, segs: list[tuple[int, int]]) -> float:
        back = np.sort(ev.ts_ms[ev.event_type == "in_service"].to_numpy())
        down = []
        for s in np.sort(ev.ts_ms[ev.event_type == "out_of_service"].to_numpy()):
            j = np.searchsorted(back, s, side="right")
            down.append((int(s), int(back[j]) if j < len(back) else END_MS))
        merged = _segments(START_MS, END_MS, down)  # W minus the downtime
        # availability = |A minus D| / |A|
        up = sum(max(0, min(h1, h2) - max(l1, l2)) for l1, h1 in merged for l2, h2 in segs)
        return up / sum(hi - lo for lo, hi in segs)

    assert got["availability"] == pytest.approx(avail(r, seg_r), abs=1e-12)
    assert got["availability_monitor"] == pytest.approx(avail(d, seg_d), abs=1e-12)
    hb = sorted(d.ts_ms[d.event_type == "heartbeat"])
    longest = max(max(np.diff([lo, *[t for t in hb if lo <= t < hi], hi])) for lo, hi in seg_d)
    assert got["heartbeat_max_gap_s"] == longest / 1000 and got["heartbeats"] == len(hb)


def test_uv_v2_recipe_agrees() -> None:
    from analytics.uv_robot import uv_metrics

    rng = np.random.default_rng(37)
    starts = START_MS + np.arange(20) * 600_000
    ends = starts + 300_000
    rows = [(s, "mission_start", None, None) for s in starts] + [
        (e, "mission_end", None, None) for e in ends
    ]
    for s, e in zip(starts, ends, strict=True):
        for target in ("ra", "rb"):
            rows.append(
                (int(e - rng.integers(1, 60_000)), "dose_report", target, float(rng.uniform(5, 40)))
            )
        for t in rng.integers(s, e, 2):
            rows.append((int(t), "person_detected", None, None))
    robot = pd.DataFrame(rows, columns=["ts_ms", "event", "target_id", "dose_mj_cm2"]).sort_values(
        "ts_ms"
    )
    rad = {}
    for target in ("ra", "rb"):
        sec = np.concatenate([np.arange(s, e, 1000) for s, e in zip(starts, ends, strict=True)])
        sec = sec[rng.random(sec.size) < 0.9]
        rad[target] = pd.DataFrame(
            {"ts_ms": sec, "irradiance_uw_cm2": rng.uniform(20, 60, sec.size)}
        )
    params = {"uv_target_dose_mj_cm2": 10.0, "uv_interlock_s": 150.0}
    got = uv_metrics(robot, rad, {"ra": 1000, "rb": 1000}, Window(START_MS, END_MS), params)
    h, err, n_read, slots = {}, [], 0, 0
    for target, f in rad.items():
        t, e = f.ts_ms.to_numpy(), f.irradiance_uw_cm2.to_numpy()
        nxt = np.r_[t[1:], np.iinfo(np.int64).max]
        for m, (s, en) in enumerate(zip(starts, ends, strict=True)):
            k = (t >= s) & (t < en)
            h[target, m] = (e[k] * np.minimum(np.minimum(nxt[k], en) - t[k], 2000)).sum() / 1e6
            n_read, slots = n_read + int(k.sum()), slots + (en - s) // 1000
            rep = robot[(robot.event == "dose_report") & (robot.target_id == target)]
            rep = rep[(rep.ts_ms >= s) & (rep.ts_ms <= en)]
            if len(rep) and h[target, m] > 0:
                err.append(100 * (rep.dose_mj_cm2.iloc[-1] - h[target, m]) / h[target, m])
    fully = sum(all(h[t, m] >= 10.0 for t in rad) for m in range(20))
    pd_ts = robot.ts_ms[robot.event == "person_detected"]
    stop_ts = robot.ts_ms[robot.event.isin(["mission_end", "mission_start"])].to_numpy()
    inside = [t for t in pd_ts if any(s <= t < e for s, e in zip(starts, ends, strict=True))]
    stops = sum(any(t <= x <= t + 150_000 for x in stop_ts) for t in inside)
    assert got["self_report_mae_pct"] == pytest.approx(np.mean(np.abs(err)), abs=1e-9)
    assert got["missions_fully_dosed_pct"] == pytest.approx(100 * fully / 20, abs=1e-12)
    assert got["radiometer_completeness"] == pytest.approx(n_read / slots, abs=1e-12)
    assert got["person_detected"] == len(inside) and got["person_detected_stops"] == stops
    assert 0 < stops < len(inside)

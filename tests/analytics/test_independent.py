"""The recipes of docs/methodology.md, written plainly in pandas, agree with analytics to 1e-9."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import Window
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

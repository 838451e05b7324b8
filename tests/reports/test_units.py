"""Pure parts of reports/: comparison, CSV round trip, deterministic zip, signing, charts."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from device_profiles import get_profile
from reports import compare, package, signing
from reports.charts import MAX_POINTS, decimate
from reports.errors import RecomputeError, UnusablePackage
from reports.frames import normalise, read_csv_frame, to_csv_bytes, to_parquet_bytes
from reports.metric_rows import comparison_view


def test_flatten_uses_dotted_paths_and_list_indices():
    flat = compare.flatten({"quality": {"d1": {"received": 3}},
                            "comparisons": [{"metrics": {"by_type": {"x": {"tp": 1}}}}]})
    assert flat == {"quality.d1.received": 3, "comparisons.0.metrics.by_type.x.tp": 1}


def test_compare_tolerates_1e_minus_6_but_not_more():
    rows = {r.path: r.match for r in compare.compare(
        {"a": 1.0, "b": 1.0, "c": None, "d": "pass", "e": 1},
        {"a": 1.0 + 5e-7, "b": 1.0 + 5e-6, "c": 0.0, "d": "fail"})}
    assert rows == {"a": True, "b": False, "c": False, "d": False, "e": False}


def test_changes_lists_only_moved_paths_old_and_new():
    moved = compare.changes({"q": {"received": 10, "lat": 1.0}, "verdict": "fail"},
                            {"q": {"received": 12, "lat": 1.0}, "verdict": "pass"})
    assert moved == [{"path": "q.received", "old": 10, "new": 12},
                     {"path": "verdict", "old": "fail", "new": "pass"}]


def _screener_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "ts_ms": [3, 1, 2],
        "received_ms": [13, 11, 12],
        "skin_temp_c": [36.6, 0.1 + 0.2, 38],          # an int sneaks in from SQLite
        "alarm": [0, 1, None],
        "pair_id": ["0007", None, "NA"],
    })


def test_csv_round_trip_reproduces_the_normalised_frame_exactly():
    profile = get_profile("fever_screener")
    frame = normalise(_screener_frame(), "fs-1", profile)
    assert frame["ts_ms"].tolist() == [1, 2, 3]
    data = to_csv_bytes(frame)
    assert data.decode().splitlines()[0] == (
        "ts_ms,device_id," + ",".join(profile.field_names) + ",received_ms")
    assert "true" in data.decode() and "0007" in data.decode()
    back = read_csv_frame("data/fs-1.csv", data, profile)
    assert back.equals(frame)
    assert back["skin_temp_c"].tolist()[0] == 0.1 + 0.2
    parquet = normalise(pd.read_parquet(io.BytesIO(to_parquet_bytes(frame))), "fs-1", profile)
    assert parquet.equals(frame)


def test_a_mangled_csv_is_a_recompute_error_naming_the_member():
    profile = get_profile("rain_gauge")
    with pytest.raises(RecomputeError, match=r"data/rg\.csv"):
        read_csv_frame("data/rg.csv", b"ts_ms,device_id,rain_mm\n1,rg,abc\n", profile)


def test_zip_is_deterministic_and_sorted():
    members = {"b.txt": b"two", "a/x.csv": b"one"}
    first, second = package.zip_bytes(members), package.zip_bytes(dict(reversed(members.items())))
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert archive.namelist() == ["a/x.csv", "b.txt"]
        assert {i.date_time for i in archive.infolist()} == {package.FIXED_ZIP_TIME}


def test_key_is_created_once_with_0600_and_signs(tmp_path: Path):
    pem = signing.public_key_pem(tmp_path)
    path = signing.issuer_key_path(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert signing.public_key_pem(tmp_path) == pem
    (tmp_path / "issuer.pem").write_bytes(pem)
    key = signing.load_public_key(tmp_path / "issuer.pem")
    signature = signing.sign(tmp_path, b"manifest")
    assert signing.signature_valid(key, b"manifest", signature)
    assert not signing.signature_valid(key, b"manifest!", signature)
    other = tmp_path / "other"
    assert not signing.signature_valid(
        signing.load_private_key(other).public_key(), b"manifest", signature)


def test_read_package_rejects_a_non_zip(tmp_path: Path):
    bad = tmp_path / "package.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(UnusablePackage, match="not a readable zip"):
        package.read_package(bad)


def test_decimate_bounds_points_and_keeps_ends():
    picked = decimate(1_000_000)
    assert len(picked) <= MAX_POINTS
    assert picked[0] == 0 and picked[-1] == 999_999
    assert np.array_equal(decimate(5), np.arange(5))


def test_comparison_view_makes_a_matrix_of_nested_groups():
    out = comparison_view("lift", {"tp": 3, "by_type": {"door": {"tp": 1, "fn": 0},
                                                        "lev": {"tp": 2}}})
    assert [(r.key, r.values) for r in out["rows"]] == [("tp", [3])]
    (block,) = out["blocks"]
    assert [c.key for c in block.columns] == ["tp", "fn"]
    assert [(r.name, r.values) for r in block.rows] == [("door", [1, 0]), ("lev", [2, None])]


def test_csv_writers_agree_and_quote_when_needed():
    profile = get_profile("fever_screener")
    frame = normalise(_screener_frame(), "fs-1", profile)
    from reports.frames import _pandas_csv

    assert read_csv_frame("a.csv", _pandas_csv(frame), profile).equals(
        read_csv_frame("b.csv", to_csv_bytes(frame), profile))
    tricky = frame.assign(pair_id=['a,"b"', None, "c\nd"])
    data = to_csv_bytes(tricky)
    assert read_csv_frame("c.csv", data, profile).equals(tricky)


def test_missing_chromium_is_a_clear_problem_not_a_crash(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch):
    from reports import build, pdf

    monkeypatch.setattr(pdf, "chromium_path", lambda: None)
    (tmp_path / "report.html").write_text("<p>hi</p>")
    problem = build._pdf_into(tmp_path)
    assert problem is not None and "Chromium is not installed" in problem
    assert "report.html was built" in problem
    assert not (tmp_path / "report.pdf").exists()

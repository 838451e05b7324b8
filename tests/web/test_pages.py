"""Helpers of the pages: language choice, labels, safe redirects, session cookies, formatting."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet

from portal_api.web.access import open_session, seal_session
from portal_api.web.context import load_session_key
from portal_api.web.i18n import _TABLE, labels, pick_language, translator
from portal_api.web.pages import format_ms, format_number, safe_next


def test_language_from_query_cookie_or_header() -> None:
    assert pick_language("zh-HK", "en", None) == "zh-HK"
    assert pick_language(None, "zh-HK", "en-GB") == "zh-HK"
    assert pick_language("fr", None, "zh-HK,zh;q=0.9") == "zh-HK"
    assert pick_language(None, None, None) == "en"


def test_every_label_has_both_languages() -> None:
    assert all(en.strip() and zh.strip() for en, zh in _TABLE.values())
    assert translator("zh-HK")("trials") == "測試項目"
    assert translator("en")("no_such_key") == "no_such_key"
    assert labels("en")["live"] == "live"


def test_only_local_paths_are_followed_after_sign_in() -> None:
    assert safe_next("/trials/t-1") == "/trials/t-1"
    for bad in ("https://evil.example/", "//evil.example/", "/\\evil", "", None):
        assert safe_next(bad) == "/"


def test_session_cookie_round_trip_and_tamper(tmp_path: Path) -> None:
    key = load_session_key(tmp_path)
    assert load_session_key(tmp_path) == key
    assert (tmp_path / "web-session.key").stat().st_mode & 0o077 == 0
    fernet = Fernet(key)
    cookie = seal_session(fernet, "secret-token")
    assert "secret-token" not in cookie
    assert open_session(fernet, cookie) == "secret-token"
    assert open_session(fernet, cookie[:-2] + "AA") is None
    assert open_session(Fernet(Fernet.generate_key()), cookie) is None
    assert open_session(fernet, None) is None


def test_formatting() -> None:
    assert format_ms(0, "Asia/Hong_Kong") == "1970-01-01 08:00:00"
    assert format_ms(None) == ""
    assert format_number(None) == "—"
    assert format_number(0.99769) == "0.998"
    assert format_number(12) == "12"
    assert format_number(90.0) == "90"
    assert format_number(85.905) == "85.905"


def test_latest_issued_report_is_the_highest_complete_version(tmp_path: Path) -> None:
    from portal_api.web.downloads import latest_report

    assert latest_report(tmp_path, "t-1") is None
    for version, complete in (("v1", True), ("v2", True), ("v10", True), ("v11", False)):
        folder = tmp_path / "t-1" / version
        folder.mkdir(parents=True)
        if complete:
            (folder / "report.html").write_text(version)
    (tmp_path / "t-1" / "notes").mkdir()
    found = latest_report(tmp_path, "t-1")
    assert found is not None and found.read_text() == "v10"

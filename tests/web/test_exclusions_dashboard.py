"""Exclusion windows and the re-issue flag on the dashboard, in real headless Chromium."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from innotrial.settings import ApiSettings, Settings
from portal_api.app import create_app
from portal_api.web.sample import sample_readings, seed_registry, write_readings
from registry.exclusions import create_exclusion, revoke_exclusion
from registry.queries import get_trial_spec, rejected_counts
from registry.trial_spec import ExclusionSpec
from reports.build import build_report
from telemetry.wire import Reading, ReceivedReading
from tests.portal_api.conftest import serve

TRIAL = "t-rain-gauge-01"
HOUR_MS = 3_600_000


@dataclass
class Dashboard:
    base_url: str
    tokens: dict[str, str]
    window_start_ms: int
    window_end_ms: int


def _window(now_ms: int, exclusion_id: str, hours_ago: tuple[int, int]) -> ExclusionSpec:
    from datetime import UTC, datetime

    start, end = (datetime.fromtimestamp((now_ms - h * HOUR_MS) / 1000, UTC) for h in hours_ago)
    return ExclusionSpec(id=exclusion_id, start=start, end=end, devices=["rg-dut-01"],
                         reason=f"{exclusion_id}: gauge cleaned", approved_by="assessor")


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """Sample trials with one active and one revoked window, v1 issued, then a late reading."""
    data_dir = tmp_path_factory.mktemp("exclusions-web")
    now_ms = int(time.time() * 1000) // 60_000 * 60_000
    settings = Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'registry.db'}",
                        store_url=f"sqlite:///{data_dir / 'readings.db'}",
                        api=ApiSettings(notify_interval_s=0, metrics_check_interval_s=0))
    app = create_app(settings)
    registry, store = app.state.registry, app.state.store
    tokens = seed_registry(registry, now_ms)
    write_readings(store, sample_readings(now_ms, hours=3))
    active = _window(now_ms, "x-cleaning", (2, 1))
    with registry.session() as session:
        spec = get_trial_spec(session, TRIAL)
        create_exclusion(session, spec, active, "assessor")
        create_exclusion(session, spec, _window(now_ms, "x-wrong", (3, 2)), "assessor")
        revoke_exclusion(session, TRIAL, "x-wrong", "assessor", "entered by mistake")
    with registry.session() as session:
        spec = get_trial_spec(session, TRIAL)
        rejected = rejected_counts(session, [d.id for d in spec.trial.devices])
    build_report(spec, store, rejected, data_dir / "reports", data_dir, now_ms, with_pdf=False)
    late = Reading("rg-dut-01", now_ms - HOUR_MS // 2 + 30_000, {"rain_mm": 0.4})
    store.write([ReceivedReading(late, now_ms + 5_000)])
    with serve(app) as base_url:
        yield Dashboard(base_url, tokens, active.start_ms, active.end_ms)


@pytest.fixture
def page(browser: Any, dashboard: Dashboard) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{dashboard.base_url}/login")
    page.fill("#token", dashboard.tokens["acme-sensing"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{dashboard.base_url}/")
    page.goto(f"{dashboard.base_url}/trials/{TRIAL}")
    page.wait_for_function("window.innotrialDashboard && window.innotrialDashboard.loaded === true")
    yield page
    assert errors == []
    context.close()


def test_windows_are_shaded_on_the_chart_and_listed_with_status(page: Any,
                                                                dashboard: Dashboard) -> None:
    shapes = page.evaluate("document.querySelector('.chart').layout.shapes")
    assert [s["name"] for s in shapes] == ["x-cleaning"]  # the revoked window is not drawn
    to_site_time = "ms => new Date(ms + 8 * 3600e3).toISOString().slice(0, 19).replace('T', ' ')"
    assert shapes[0]["x0"] == page.evaluate(f"({to_site_time})({dashboard.window_start_ms})")
    assert shapes[0]["x1"] == page.evaluate(f"({to_site_time})({dashboard.window_end_ms})")
    rows = page.locator("#exclusions tbody tr")
    assert rows.count() == 2
    cleaning = page.locator("tr[data-exclusion='x-cleaning']").inner_text()
    wrong = page.locator("tr[data-exclusion='x-wrong']").inner_text()
    assert "gauge cleaned" in cleaning and "assessor" in cleaning and "active" in cleaning
    assert "rg-dut-01" in cleaning
    assert "revoked" in wrong and "entered by mistake" in wrong


def test_a_late_reading_flags_the_issued_report_for_re_issue(page: Any) -> None:
    flag = page.locator("#reissue")
    assert flag.get_attribute("data-needs-reissue") == "true"
    assert "Report v1 needs re-issue" in flag.inner_text()
    changes = page.locator("#reissue-changes").inner_text()
    assert "quality.rg-dut-01.received" in changes


def test_in_chinese_and_without_windows(browser: Any, dashboard: Dashboard, page: Any) -> None:
    page.goto(f"{dashboard.base_url}/trials/{TRIAL}?lang=zh-HK")
    page.wait_for_function("window.innotrialDashboard && window.innotrialDashboard.loaded === true")
    assert "豁免時段" in page.locator("#exclusions-card").inner_text()
    assert "已撤銷" in page.locator("tr[data-exclusion='x-wrong']").inner_text()
    assert page.locator("#reissue").get_attribute("data-needs-reissue") == "true"
    other = browser.new_context()
    other_page = other.new_page()
    other_page.goto(f"{dashboard.base_url}/login")
    other_page.fill("#token", dashboard.tokens["assessor"])
    other_page.click("button[type=submit]")
    other_page.wait_for_url(f"{dashboard.base_url}/")
    other_page.goto(f"{dashboard.base_url}/trials/t-fever-screener-01?lang=en")
    other_page.wait_for_function(
        "window.innotrialDashboard && window.innotrialDashboard.loaded === true")
    assert other_page.evaluate("document.querySelector('.chart').layout.shapes") == []
    assert "No exclusion windows." in other_page.locator("#exclusions-card").inner_text()
    assert other_page.locator("#reissue").count() == 0  # nothing issued for this trial
    other.close()

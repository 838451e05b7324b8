"""The public pages in real headless Chromium, as an anonymous visitor, against `innotrial api`.

The site: the four sample trials; the rain-gauge report issued (with PDF) and published by the
assessor through the API; the lift report issued but not published.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from portal_api.web.sample import sample_readings, seed_registry, write_readings
from portal_api.web.sample_reports import issue_report
from registry.db import open_registry
from telemetry.store import open_store
from tests.services import env_without_proxies, free_port, wait_for_port
from tests.web.conftest import BIN, _process

PUBLISHED = "t-rain-gauge-01"
ISSUED_ONLY = "t-lift-01"
PHONE = {"width": 390, "height": 844}


@dataclass
class PublicSite:
    """A running portal with one published and one issued-only report."""

    base_url: str
    data_dir: Path
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def public_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PublicSite]:
    root = tmp_path_factory.mktemp("public")
    data_dir = root / "data"
    now_ms = int(time.time() * 1000)
    registry = open_registry(f"sqlite:///{data_dir / 'registry.db'}")
    tokens = seed_registry(registry, now_ms)
    with open_store(f"sqlite:///{data_dir / 'readings.db'}") as store:
        write_readings(store, sample_readings(now_ms, hours=6))
        issue_report(registry, store, data_dir, PUBLISHED, with_pdf=True)
        issue_report(registry, store, data_dir, ISSUED_ONLY, with_pdf=False)
    registry.close()
    env = {
        **env_without_proxies(),
        "INNOTRIAL_DATA_DIR": str(data_dir),
        "INNOTRIAL_LOG_LEVEL": "WARNING",
    }
    port = free_port()
    command = [str(BIN / "innotrial"), "api", "--host", "127.0.0.1", "--port", str(port)]
    with _process(command, env, root / "api.log") as api:
        wait_for_port(port, proc=api)
        base_url = f"http://127.0.0.1:{port}"
        published = httpx.post(
            f"{base_url}/api/v1/trials/{PUBLISHED}/reports/1/publish",
            headers={"Authorization": f"Bearer {tokens['assessor']}"},
            trust_env=False,
            timeout=60,
        )
        assert published.status_code == 200, published.text
        yield PublicSite(base_url, data_dir, tokens)


@pytest.fixture
def visitor(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    """A fresh anonymous browser page (no cookies) collecting console errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page, errors
    finally:
        context.close()


def test_home_shows_public_pages_and_the_wish_board_filters(
    visitor: tuple[Any, list[str]], public_site: PublicSite
) -> None:
    page, errors = visitor
    page.goto(f"{public_site.base_url}/")
    assert page.url == f"{public_site.base_url}/public/reports"
    page.click("text=Wish board")
    page.wait_for_url("**/public/wishes")
    assert page.locator("article.wish").count() == 4
    published = page.locator(f'[data-wish="w-rain-gauge"] a[href="/public/trials/{PUBLISHED}"]')
    assert published.count() == 1
    assert page.locator('[data-wish="w-lift"] [data-under-way="1"]').count() == 1
    assert ISSUED_ONLY not in page.content()
    page.select_option("#category", "health")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**category=health**")
    titles = page.locator("article.wish h3").all_inner_texts()
    assert len(titles) == 2 and all("open" in t for t in titles)
    page.fill("#q", "entrances")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**q=entrances**")
    assert page.locator("article.wish").count() == 1
    assert errors == []


def test_published_report_page_and_its_charts(
    visitor: tuple[Any, list[str]], public_site: PublicSite
) -> None:
    page, errors = visitor
    page.goto(f"{public_site.base_url}/public/reports")
    card = page.locator(f'article.report[data-trial="{PUBLISHED}"]')
    assert card.count() == 1
    assert page.locator("article.report").count() == 1
    assert "Drainage Services Department" in card.inner_text()
    metric = card.locator('tr[data-metric="rain_gauge.pct_within_tolerance"]')
    assert "Minutes within WMO tolerance" in metric.inner_text() and "%" in metric.inner_text()
    for kind in ("report", "pdf", "package", "metrics"):
        assert card.locator(f'[data-file="{kind}"]').count() == 1, kind
    card.locator("h2 a").click()
    page.wait_for_url(f"**/public/trials/{PUBLISHED}")
    page.wait_for_function("window.innotrialDashboard && window.innotrialDashboard.loaded")
    points = page.evaluate(
        "document.querySelector('.chart').data.reduce((n, t) => n + t.x.length, 0)"
    )
    assert points > 100
    assert page.locator("#quality tbody tr").count() == 2
    html = page.content()
    for private in ("gw-roof-01", "timestamp_in_future", *public_site.tokens.values()):
        assert private not in html, private
    report = page.request.get(f"{public_site.base_url}/public/trials/{PUBLISHED}/v1/report.pdf")
    assert report.status == 200 and report.body().startswith(b"%PDF")
    assert errors == []


def test_package_downloaded_in_the_browser_verifies_with_the_published_key(
    visitor: tuple[Any, list[str]], public_site: PublicSite, tmp_path: Path
) -> None:
    page, _ = visitor
    page.goto(f"{public_site.base_url}/public/reports")
    with page.expect_download() as package_download:
        page.click(f'article.report[data-trial="{PUBLISHED}"] [data-file="package"]')
    with page.expect_download() as key_download:
        page.click("#issuer-key")
    package, key = tmp_path / "package.zip", tmp_path / "issuer.pem"
    package_download.value.save_as(package)
    key_download.value.save_as(key)
    fingerprint = page.locator("#key-fingerprint").inner_text()
    assert hashlib.sha256(key.read_bytes()).hexdigest() == fingerprint
    env = {**env_without_proxies(), "INNOTRIAL_DATA_DIR": str(tmp_path / "elsewhere")}
    verify = subprocess.run(
        [str(BIN / "innotrial"), "report", "verify", str(package), "--public-key", str(key)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.strip().endswith("VERIFIED")


def test_traditional_chinese_and_a_390_px_phone(browser: Any, public_site: PublicSite) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    try:
        page = context.new_page()
        for path in ("/public/reports?lang=zh-HK", "/public/wishes", f"/public/trials/{PUBLISHED}"):
            page.goto(f"{public_site.base_url}{path}")
            if "/trials/" in path:
                page.wait_for_function("window.innotrialDashboard.loaded")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (path, width)
        assert page.locator("html").get_attribute("lang") == "zh-HK"  # remembered
        assert "離線核實報告" in page.content()
        page.goto(f"{public_site.base_url}/public/wishes")
        assert page.locator("h1").inner_text() == "需求板"
    finally:
        context.close()


def test_unpublished_trial_and_its_files_are_404_everywhere(public_site: PublicSite) -> None:
    issued = public_site.data_dir / "reports" / ISSUED_ONLY / "v1" / "package.zip"
    assert issued.is_file()  # issued, but not published
    urls = [
        f"/public/trials/{ISSUED_ONLY}",
        f"/public/trials/{ISSUED_ONLY}/series",
        *[
            f"/public/trials/{ISSUED_ONLY}/v1/{name}"
            for name in ("report.html", "package.zip", "metrics.json", "changes.json")
        ],
        f"/api/v1/trials/{ISSUED_ONLY}",
        f"/api/v1/trials/{ISSUED_ONLY}/publications",
        f"/api/v1/trials/{ISSUED_ONLY}/metrics",
        "/public/trials/no-such-trial",
    ]
    with httpx.Client(base_url=public_site.base_url, trust_env=False, timeout=60) as anonymous:
        for url in urls:
            assert anonymous.get(url).status_code == 404, url
        dashboard = anonymous.get(f"/trials/{ISSUED_ONLY}/report")
        assert dashboard.status_code == 303 and dashboard.headers["location"].startswith("/login")
        for url in ("/public/reports", "/public/wishes", "/public/feeds/reports.atom"):
            assert f"/public/trials/{ISSUED_ONLY}" not in anonymous.get(url).text, url

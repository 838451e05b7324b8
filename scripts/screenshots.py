"""Regenerate docs/screenshots/*.png: every dashboard page and the public pages.

Seeds a throw-away data dir with the four sample trials (72 h of readings, the UV radiometers
at one reading per second), issues the rain-gauge and lift reports and publishes them, starts
`innotrial api` on a free loopback port and photographs the pages in Debian's headless
Chromium. Run as `scripts/screenshots [OUT_DIR]`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from portal_api.web.sample import (
    HOUR_MS,
    sample_readings,
    sample_trials,
    seed_registry,
    write_readings,
)
from portal_api.web.sample_reports import issue_report, publish
from registry.db import open_registry
from registry.models import Gateway
from telemetry.store import open_store

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LAPTOP: ViewportSize = {"width": 1366, "height": 900}
TABLET: ViewportSize = {"width": 820, "height": 1180}
PHONE: ViewportSize = {"width": 390, "height": 844}
PUBLISHED = ("t-rain-gauge-01", "t-lift-01")
LATE_DEVICE, LATE_MS = "rg-dut-01", 12 * HOUR_MS


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(data_dir: Path, now_ms: int) -> dict[str, str]:
    """The sample site, with one gateway offline and holding a buffer, to show both states."""
    registry = open_registry(f"sqlite:///{data_dir / 'registry.db'}")
    tokens = seed_registry(registry, now_ms)
    with registry.session() as session:
        gateway = session.get(Gateway, "gw-lift-01")
        assert gateway is not None
        gateway.state, gateway.state_changed_ms = "offline", now_ms - HOUR_MS // 4
        gateway.last_status = {"state": "offline", "buffer_messages": 128, "ts_ms": now_ms}
    readings = sample_readings(now_ms, hours=72)
    is_late = [r.device_id == LATE_DEVICE and r.ts_ms >= now_ms - LATE_MS for r in readings]
    late = [r for r, held in zip(readings, is_late, strict=True) if held]
    with open_store(f"sqlite:///{data_dir / 'readings.db'}") as store:
        write_readings(store, [r for r, held in zip(readings, is_late, strict=True) if not held])
        for trial_id in PUBLISHED:
            issue_report(registry, store, data_dir, trial_id, with_pdf=False)
            publish(registry, data_dir, trial_id)
        # a roof gateway delivers its buffer late: v2 of the rain-gauge report supersedes v1
        write_readings(store, late)
        note = "Readings buffered on site during a network outage arrived after v1."
        issue_report(registry, store, data_dir, PUBLISHED[0], with_pdf=False, version_note=note)
        publish(registry, data_dir, PUBLISHED[0])
    registry.close()
    return tokens


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    """Block until the server listens."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"innotrial api exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("innotrial api did not start")


def shoot(page: Page, url: str, path: Path, dashboard: bool) -> None:
    """Open a page, let charts draw, save a full-page PNG."""
    page.goto(url)
    if dashboard:
        page.wait_for_function("window.innotrialDashboard && window.innotrialDashboard.loaded")
        if "/public/" not in url:  # public pages are read-only: no live stream
            page.wait_for_selector("#live-dot.on")
    page.wait_for_timeout(700)
    page.screenshot(path=str(path), full_page=True)
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def photograph(browser: Browser, base: str, token: str, out: Path) -> None:
    """Every page: login, trial list (en, zh-HK), each trial (laptop) and one on a tablet."""
    context = browser.new_context(viewport=LAPTOP, device_scale_factor=1)
    page = context.new_page()
    shoot(page, f"{base}/login?lang=en", out / "login.png", dashboard=False)
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    shoot(page, f"{base}/?lang=en", out / "trials.png", dashboard=False)
    for trial in sample_trials(0):
        name = f"trial-{trial.family.replace('_', '-')}.png"
        shoot(page, f"{base}/trials/{trial.trial_id}", out / name, dashboard=True)
    zh_url = f"{base}/trials/t-rain-gauge-01?lang=zh-HK"
    shoot(page, zh_url, out / "trial-rain-gauge-zh-hk.png", dashboard=True)
    page.goto(f"{base}/?lang=en")
    context.close()
    bearer = {"Authorization": f"Bearer {token}"}
    tablet = browser.new_context(viewport=TABLET, extra_http_headers=bearer)
    uv_url = f"{base}/trials/t-uv-robot-01"
    shoot(tablet.new_page(), uv_url, out / "trial-uv-robot-tablet.png", dashboard=True)
    tablet.close()


def photograph_public(browser: Browser, base: str, out: Path) -> None:
    """The public pages as an anonymous visitor: laptop, zh-HK, and a 390 px phone."""
    laptop = browser.new_context(viewport=LAPTOP, device_scale_factor=1)
    page = laptop.new_page()
    shoot(page, f"{base}/public/wishes?lang=en", out / "public-wishes.png", dashboard=False)
    shoot(page, f"{base}/public/reports", out / "public-reports.png", dashboard=False)
    trial_url = f"{base}/public/trials/t-rain-gauge-01"
    shoot(page, trial_url, out / "public-trial-rain-gauge.png", dashboard=True)
    shoot(page, f"{base}/public/reports?lang=zh-HK", out / "public-reports-zh-hk.png",
          dashboard=False)
    laptop.close()
    phone = browser.new_context(viewport=PHONE, is_mobile=True, device_scale_factor=1)
    page = phone.new_page()
    shoot(page, f"{base}/public/reports?lang=en", out / "public-reports-phone.png",
          dashboard=False)
    shoot(page, f"{base}/public/trials/t-lift-01", out / "public-trial-lift-phone.png",
          dashboard=True)
    phone.close()


def main() -> None:
    """Seed, serve, photograph, stop."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="innotrial-shots-") as tmp:
        data_dir = Path(tmp)
        tokens = seed(data_dir, int(time.time() * 1000))
        port = free_port()
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(INNOTRIAL_DATA_DIR=str(data_dir), INNOTRIAL_LOG_LEVEL="WARNING")
        api = subprocess.Popen([str(Path(sys.executable).parent / "innotrial"), "api",
                                "--host", "127.0.0.1", "--port", str(port)], env=env)
        try:
            wait_for_port(port, api)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                     args=CHROMIUM_ARGS)
                try:
                    photograph(browser, f"http://127.0.0.1:{port}", tokens["assessor"], out)
                    photograph_public(browser, f"http://127.0.0.1:{port}", out)
                finally:
                    browser.close()
        finally:
            api.send_signal(signal.SIGTERM)
            try:
                api.wait(timeout=15)
            except subprocess.TimeoutExpired:
                api.kill()
                api.wait()


if __name__ == "__main__":
    main()

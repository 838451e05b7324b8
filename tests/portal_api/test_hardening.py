"""API inputs, visibility and the smaller hardening items of issue 16."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

from portal_api.app import create_app
from portal_api.broker import INGEST_USER, BrokerConfigError, write_broker_config
from portal_api.downloads import SERIALISERS, SPREADSHEET_SERIALISERS, plan_export
from portal_api.web.access import SESSION_COOKIE
from portal_api.web.live import TrialFeed, parse_after
from portal_api.web.pages import script_json
from portal_api.web.series import chart_specs
from registry.db import open_registry
from registry.models import Gateway
from registry.queries import get_trial_spec
from telemetry.settings import ApiSettings, Settings
from telemetry.store.sqlite import SQLiteStore
from telemetry.wire import Reading, ReceivedReading
from tests.portal_api.conftest import HOUR_MS, T0_MS, Portal, seed, serve

TRIAL_END_MS = T0_MS + 30 * 24 * HOUR_MS  # trial_definition: 30 days


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'registry.db'}"


BAD_NUMBERS = [
    "--5",
    "²",
    "+5",
    "1e3",
    " 5",
    "5 ",
    "٣",
    "9223372036854775808",
    "-9223372036854775809",
    "99999999999999999999999",
]


def test_junk_and_out_of_range_numbers_are_422_not_500(portal: Portal) -> None:
    acme = portal.auth("acme")
    for bad in BAD_NUMBERS:
        for name in ("start", "end"):
            response = portal.client.get(
                "/api/v1/trials/t-a/readings", params={name: bad}, headers=acme
            )
            assert response.status_code == 422, (name, bad, response.text)
            assert response.json()["detail"].startswith(f"{name}: expected epoch ms")
    for bad in ("--5", "²", "1e3", "5.5", "٣", "9223372036854775808", "-1", "x"):
        for path in ("/api/v1/trials", "/api/v1/dead-letters", "/api/v1/subscriptions"):
            for name in ("limit", "offset"):
                response = portal.client.get(path, params={name: bad}, headers=acme)
                assert response.status_code == 422, (path, name, bad)
    for good in ("-5", "9223372036854775807", "2025-11-25T00:00:00Z"):
        response = portal.client.get(
            "/api/v1/trials/t-a/readings", params={"start": good}, headers=acme
        )
        assert response.status_code == 200, (good, response.text)
    assert parse_after("a-dut:--5,a-ref:²,b:+3,c:12,d:99999999999999999999") == {"c": 12}


def test_readings_stay_inside_the_trial_window(portal: Portal) -> None:
    """Readings of the same id before and after the window (an earlier or later trial's)."""
    portal.write("a-dut", [(T0_MS - HOUR_MS, 9.0), (T0_MS, 0.2), (TRIAL_END_MS, 7.0)])
    params = {"device_id": "a-dut", "start": "0", "end": str(2**62), "format": "json"}
    rows = portal.client.get(
        "/api/v1/trials/t-a/readings", params=params, headers=portal.auth("acme")
    ).json()
    assert [(r["ts_ms"], r["rain_mm"]) for r in rows] == [(T0_MS, 0.2)]
    with portal.registry.session() as session:
        spec = get_trial_spec(session, "t-a")
    ctx = SimpleNamespace(store=portal.store)
    feed = TrialFeed(cast(Any, ctx), spec, chart_specs(spec), parse_after("a-dut:0"))
    points = feed.points()
    assert points is not None
    xs = [x for chart in points["charts"].values() for trace in chart.values() for x in trace["x"]]
    assert xs == [T0_MS]  # from `after=a-dut:0`, but nothing before the window nor after it


def test_anonymous_callers_see_solutions_of_published_trials_only(portal: Portal) -> None:
    def ids(headers: dict[str, str] | None = None) -> list[str]:
        page = portal.client.get("/api/v1/solutions", headers=headers or {}).json()
        return [s["id"] for s in page["items"]]

    assert ids() == []
    assert portal.client.get("/api/v1/solutions/s-b").status_code == 404
    portal.client.patch(
        "/api/v1/trials/t-b", headers=portal.auth("admin"), json={"status": "published"}
    )
    assert ids() == ["s-b"]
    assert portal.client.get("/api/v1/solutions/s-b").status_code == 200
    assert ids(portal.auth("acme")) == ["s-a", "s-b"]  # own, and the published one
    assert ids(portal.auth("viewer")) == ["s-a", "s-b"]


def test_spreadsheet_csv_escapes_formulas_and_the_api_csv_stays_exact(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "readings.db")
    values = {"skin_temp_c": -1.5, "alarm": False, "pair_id": '=HYPERLINK("http://x","y")'}
    store.write(
        [
            ReceivedReading(Reading("fs-1", T0_MS, values), T0_MS + 1),
            ReceivedReading(
                Reading("fs-1", T0_MS + 1, {**values, "pair_id": "@SUM(1)"}), T0_MS + 2
            ),
        ]
    )
    export = plan_export([("fs-1", "fever_screener")], 0, 2**62)
    exact = b"".join(SERIALISERS["csv"](store, export)).decode()
    safe = b"".join(SPREADSHEET_SERIALISERS["csv"](store, export)).decode()
    store.close()
    assert '"=HYPERLINK(""http://x"",""y"")"' in exact and ",@SUM(1)" in exact
    assert '"\'=HYPERLINK(""http://x"",""y"")"' in safe and ",'@SUM(1)" in safe
    assert ",-1.5," in safe  # numbers are never touched
    assert safe.splitlines()[0] == exact.splitlines()[0]


def test_config_json_cannot_end_the_script_element() -> None:
    text = script_json({"label": "</script><script>alert(1)</script><!--", "n": 1})
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\\u003c/script\\u003e" in text and "\\u003c!--" in text


def test_a_gateway_named_like_the_ingest_user_gets_no_credentials(tmp_path: Path) -> None:
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    with registry.session() as session:
        session.add(Gateway(id=INGEST_USER, name="evil"))
    with registry.session() as session, pytest.raises(BrokerConfigError, match="ingest user"):
        write_broker_config(session, tmp_path / "broker")
    registry.close()
    assert not (tmp_path / "broker" / "credentials.yaml").exists()


def _signed_in(portal: Portal) -> httpx.Client:
    client = httpx.Client(base_url=str(portal.client.base_url), trust_env=False, timeout=30)
    response = client.post(
        "/login", data={"token": portal.tokens["acme"], "next": "/"}, follow_redirects=False
    )
    assert response.status_code == 303
    return client


def test_logout_ends_the_session_on_the_server(portal: Portal) -> None:
    client = _signed_in(portal)
    cookie = client.cookies[SESSION_COOKIE]
    page = "/trials/t-a"  # a signed-in page
    assert client.get(page).status_code == 200
    copied = httpx.Client(
        base_url=str(portal.client.base_url),
        trust_env=False,
        timeout=30,
        cookies={SESSION_COOKIE: cookie},
    )
    assert copied.get(page, follow_redirects=False).status_code == 200
    client.post("/logout", follow_redirects=False)
    after = copied.get(page, follow_redirects=False)
    assert after.status_code in (302, 303, 307) and "/login" in after.headers["location"]
    client.close()
    copied.close()


def test_session_cookie_secure_flag_follows_the_settings(tmp_path: Path) -> None:
    assert not ApiSettings().session_cookie_secure
    assert ApiSettings(public_url="https://portal.example.org").session_cookie_secure
    assert ApiSettings(cookie_secure=True).session_cookie_secure
    assert not ApiSettings(public_url="https://x.org", cookie_secure=False).session_cookie_secure
    settings = Settings(data_dir=tmp_path, api=ApiSettings(cookie_secure=True))
    assert settings.api.session_cookie_secure


def test_the_cookie_is_secure_behind_a_tls_proxy(tmp_path: Path) -> None:
    """The app sees http (TLS ends at a proxy); the public URL is https: the cookie is Secure."""
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'reg.db'}",
        store_url=f"sqlite:///{tmp_path / 'readings.db'}",
        api=ApiSettings(
            notify_interval_s=0, metrics_check_interval_s=0, public_url="https://portal.example.org"
        ),
    )
    app = create_app(settings)
    tokens = seed(app.state.registry)
    with serve(app) as base_url, httpx.Client(base_url=base_url, trust_env=False) as client:
        response = client.post(
            "/login", data={"token": tokens["acme"], "next": "/"}, follow_redirects=False
        )
    assert response.status_code == 303
    header = response.headers["set-cookie"]
    assert re.search(r";\s*secure", header, re.IGNORECASE), header
    assert "httponly" in header.lower()

"""Publishing report versions: roles, frozen public files, superseded versions, 404 for the
unpublished, cached public pages, Atom feeds and the webhook on publication."""

from __future__ import annotations

import hashlib
import json
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from innotrial.cli import cli
from portal_api.notify import SIGNATURE_HEADER, RetryPolicy, deliver_due, verify_signature
from portal_api.web.sample_reports import issue_report
from registry.models import DeadLetter
from tests.portal_api.conftest import HOUR_MS, T0_MS, Portal
from tests.portal_api.test_notifications import Receiver, receiver, subscribe  # noqa: F401

ATOM = "{http://www.w3.org/2005/Atom}"
PUBLISH_A1 = "/api/v1/trials/t-a/reports/1/publish"


def _rain(portal: Portal, prefix: str, hours: int, scale: float = 1.0) -> None:
    minutes = range(0, hours * 60)
    portal.write(f"{prefix}-ref", [(T0_MS + m * 60_000, 0.1 * (m % 5)) for m in minutes])
    portal.write(f"{prefix}-dut", [(T0_MS + m * 60_000, 0.1 * (m % 5) * scale) for m in minutes])


def _issue(portal: Portal, trial_id: str) -> int:
    return issue_report(
        portal.registry, portal.store, portal.settings.data_dir, trial_id, with_pdf=False
    )


@pytest.fixture
def issued(portal: Portal) -> Portal:
    """t-a (acme) and t-b (beta) each with an issued, unpublished report v1."""
    _rain(portal, "a", 2)
    _rain(portal, "b", 2)
    assert _issue(portal, "t-a") == 1
    assert _issue(portal, "t-b") == 1
    return portal


def _public_urls(trial_id: str, version: int) -> list[str]:
    base = f"/public/trials/{trial_id}"
    return [
        base,
        f"{base}/series",
        *[f"{base}/v{version}/{name}" for name in ("report.html", "package.zip", "metrics.json")],
    ]


@pytest.mark.parametrize("user", ["viewer", "engineer", "acme"])
def test_publishing_is_refused_for_other_roles(issued: Portal, user: str) -> None:
    response = issued.client.post(PUBLISH_A1, headers=issued.auth(user))
    assert response.status_code == 403, response.text
    assert "may not publish reports" in response.json()["detail"]
    assert issued.client.post(PUBLISH_A1).status_code == 401
    assert issued.client.get("/public/trials/t-a").status_code == 404


def test_assessor_publishes_and_files_are_frozen(issued: Portal) -> None:
    client = issued.client
    for url in _public_urls("t-a", 1):
        assert client.get(url).status_code == 404, url
    assert client.get("/api/v1/trials/t-a/publications").status_code == 404
    response = client.post(PUBLISH_A1, headers=issued.auth("assessor"))
    assert response.status_code == 200, response.text
    assert response.json()["already_published"] is False
    for url in _public_urls("t-a", 1):
        assert client.get(url).status_code == 200, url
    package = client.get("/public/trials/t-a/v1/package.zip")
    issued_zip = issued.settings.data_dir / "reports" / "t-a" / "v1" / "package.zip"
    assert package.content == issued_zip.read_bytes()
    listed = client.get("/api/v1/trials/t-a/publications").json()
    assert listed[0]["package_sha256"] == hashlib.sha256(package.content).hexdigest()
    frozen = issued.settings.data_dir / "public" / "t-a" / "v1" / "package.zip"
    assert not frozen.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert client.get("/api/v1/trials/t-a").json()["status"] == "published"
    again = client.post(PUBLISH_A1, headers=issued.auth("admin"))
    assert again.status_code == 200 and again.json()["already_published"] is True
    # the other trial stays invisible everywhere, though its report was issued
    for url in _public_urls("t-b", 1):
        assert client.get(url).status_code == 404, url
    assert "/public/trials/t-b" not in client.get("/public/reports").text
    assert "/public/trials/t-b" not in client.get("/public/wishes").text
    assert "report:t-b" not in client.get("/public/feeds/reports.atom").text


def test_later_version_supersedes_and_earlier_stays_listed(issued: Portal) -> None:
    client, headers = issued.client, issued.auth("assessor")
    assert client.post(PUBLISH_A1, headers=headers).status_code == 200
    v1_package = client.get("/public/trials/t-a/v1/package.zip").content
    _rain(issued, "a", 3, scale=1.5)  # more, different data: a re-issue is v2
    assert _issue(issued, "t-a") == 2
    assert client.get("/public/trials/t-a/v2/package.zip").status_code == 404  # issued only
    assert client.get("/public/trials/t-a/v1/package.zip").content == v1_package
    published = client.post("/api/v1/trials/t-a/reports/2/publish", headers=headers).json()
    assert published["supersedes"] == 1
    listed = client.get("/api/v1/trials/t-a/publications").json()
    assert [(p["version"], p["superseded_by"]) for p in listed] == [(2, None), (1, 2)]
    assert listed[0]["changes"], "v2 carries the change log against v1"
    page = client.get("/public/trials/t-a").text
    assert "superseded by v2" in page and 'id="v1"' in page
    assert client.get("/public/trials/t-a/v1/package.zip").content == v1_package
    missing = client.post("/api/v1/trials/t-a/reports/7/publish", headers=headers)
    assert missing.status_code == 404


def test_public_pages_are_cached_with_etag_and_change_on_publication(issued: Portal) -> None:
    client = issued.client
    first = client.get("/public/reports")
    etag = first.headers["etag"]
    assert "public" in first.headers["cache-control"]
    assert client.get("/public/reports", headers={"If-None-Match": etag}).status_code == 304
    assert client.post(PUBLISH_A1, headers=issued.auth("assessor")).status_code == 200
    after = client.get("/public/reports")
    assert after.headers["etag"] != etag and "t-a" in after.text
    immutable = client.get("/public/trials/t-a/v1/metrics.json")
    assert "immutable" in immutable.headers["cache-control"]


def test_nothing_private_on_public_pages(issued: Portal) -> None:
    with issued.registry.session() as session:
        session.add(
            DeadLetter(
                received_ms=T0_MS,
                reason="out_of_range",
                detail="secret-detail",
                gateway_id="gw-a",
                device_id="a-dut",
                ts_ms=T0_MS,
            )
        )
    assert issued.client.post(PUBLISH_A1, headers=issued.auth("assessor")).status_code == 200
    pages = [
        "/public/wishes",
        "/public/reports",
        "/public/trials/t-a",
        "/public/trials/t-a/series",
        "/public/feeds/wishes.atom",
        "/public/feeds/reports.atom",
    ]
    for url in pages:
        text = issued.client.get(url).text
        assert "t-a" in text or url.endswith("wishes.atom") or url.endswith("series")
        for secret in ("gw-a", "gw-b", "secret-detail", *issued.tokens.values()):
            assert secret not in text, (url, secret)


def test_atom_feeds_parse_and_list_new_entries(issued: Portal) -> None:
    client = issued.client
    assert client.post(PUBLISH_A1, headers=issued.auth("assessor")).status_code == 200
    created = client.post(
        "/api/v1/wishes",
        headers=issued.auth("admin"),
        json={"id": "w-new", "title": "Smart bins", "department": "FEHD", "category": "waste"},
    )
    assert created.status_code == 201, created.text
    wishes = client.get("/public/feeds/wishes.atom")
    assert wishes.headers["content-type"].startswith("application/atom+xml")
    ids = [e.findtext(f"{ATOM}id") for e in ET.fromstring(wishes.content).iter(f"{ATOM}entry")]
    assert ids[0] == "urn:innotrial:wish:w-new" and "urn:innotrial:wish:w-a" in ids
    reports = ET.fromstring(client.get("/public/feeds/reports.atom").content)
    entries = list(reports.iter(f"{ATOM}entry"))
    assert [e.findtext(f"{ATOM}id") for e in entries] == ["urn:innotrial:report:t-a:v1"]
    link = entries[0].find(f"{ATOM}link")
    assert link is not None and link.get("href", "").endswith("/public/trials/t-a")
    assert reports.findtext(f"{ATOM}updated") == entries[0].findtext(f"{ATOM}updated")


def test_subscriber_gets_a_signed_webhook_when_a_matching_report_is_published(
    issued: Portal,
    receiver: Receiver,  # noqa: F811
) -> None:
    subscription = subscribe(issued, receiver, keywords=["rain gauge"])
    published = issued.client.post(PUBLISH_A1, headers=issued.auth("assessor")).json()
    assert published["notified"] == 1
    with issued.registry.session() as session, httpx.Client(trust_env=False) as client:
        policy = RetryPolicy(max_attempts=3, base_s=1, max_s=10)
        assert deliver_due(session, client, policy, T0_MS + 1000 * HOUR_MS * 24 * 365) == 1
    ((headers, body),) = receiver.received
    assert verify_signature(str(subscription["secret"]), body, headers[SIGNATURE_HEADER.lower()])
    payload = json.loads(body)
    assert headers["x-innotrial-event"] == "wish.report_published"
    assert payload["event"] == "report_published" and payload["wish"]["id"] == "w-a"
    assert payload["report"]["trial_id"] == "t-a" and payload["report"]["version"] == 1
    assert payload["report"]["package"] == "/public/trials/t-a/v1/package.zip"


def test_cli_publishes_the_newest_issued_version(
    issued: Portal, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("INNOTRIAL_DATA_DIR", str(issued.settings.data_dir))
    monkeypatch.setenv("INNOTRIAL_DATABASE_URL", issued.settings.effective_database_url)
    runner = CliRunner()
    missing = runner.invoke(cli, ["report", "publish", "t-b", "--version", "4"])
    assert missing.exit_code == 2 and "no issued report v4 (issued: v1)" in missing.output
    unknown = runner.invoke(cli, ["report", "publish", "t-zz"])
    assert unknown.exit_code == 2 and "unknown trial 't-zz'" in unknown.output
    done = runner.invoke(cli, ["report", "publish", "t-b", "--by", "ada"])
    assert done.exit_code == 0, done.output
    assert "t-b: published v1" in done.output
    listed = issued.client.get("/api/v1/trials/t-b/publications").json()
    assert [p["version"] for p in listed] == [1]

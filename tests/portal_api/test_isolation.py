"""Provider isolation: acme can neither list, read, download nor infer beta's trials."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from registry.models import DeadLetter
from tests.portal_api.conftest import T0_MS, Portal

HIDDEN_PATHS = [
    "/api/v1/trials/{trial}",
    "/api/v1/trials/{trial}/readings",
    "/api/v1/trials/{trial}/readings?format=parquet&device_id=b-dut",
    "/api/v1/trials/{trial}/metrics",
]


@contextmanager
def captured_sql(portal: Portal) -> Iterator[list[str]]:
    """The SQL statements the registry runs inside the block (parameters left out)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(portal.registry.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(portal.registry.engine, "before_cursor_execute", record)


def test_list_shows_only_own_trials(portal: Portal) -> None:
    page = portal.client.get("/api/v1/trials", headers=portal.auth("acme")).json()
    assert [t["id"] for t in page["items"]] == ["t-a"] and page["total"] == 1
    other = portal.client.get("/api/v1/trials", params={"solution_id": "s-b"},
                              headers=portal.auth("acme")).json()
    assert other == {"items": [], "total": 0, "limit": 100, "offset": 0}


def test_other_providers_trial_answers_like_a_missing_one(portal: Portal) -> None:
    acme = portal.auth("acme")
    for path in HIDDEN_PATHS:
        own = portal.client.get(path.format(trial="t-a").replace("b-dut", "a-dut"), headers=acme)
        assert own.status_code == 200, path
        with captured_sql(portal) as hidden_sql:
            hidden = portal.client.get(path.format(trial="t-b"), headers=acme)
        with captured_sql(portal) as missing_sql:
            missing = portal.client.get(path.format(trial="t-zz"), headers=acme)
        assert hidden.status_code == missing.status_code == 404, path
        assert hidden.content == missing.content == b'{"detail":"trial not found"}'
        assert dict(hidden.headers) | {"date": ""} == dict(missing.headers) | {"date": ""}
        # same statements in the same order: existence cannot be told by what the server does
        assert hidden_sql == missing_sql, path


def test_other_providers_solution_devices_gateways_are_invisible(portal: Portal) -> None:
    acme = portal.auth("acme")
    for path in ("/api/v1/solutions/s-b", "/api/v1/devices/b-dut", "/api/v1/gateways/gw-b",
                 "/api/v1/sites/site-b"):
        response = portal.client.get(path, headers=acme)
        assert response.status_code == 404, path
    for path, key in (("/api/v1/devices", "id"), ("/api/v1/gateways", "id"),
                      ("/api/v1/solutions", "id"), ("/api/v1/comparisons", "under_test")):
        items = portal.client.get(path, headers=acme).json()["items"]
        assert items and all(not str(item[key]).startswith(("b-", "gw-b", "s-b")) for item in items)
    assert portal.client.get("/api/v1/gateways/gw-a", headers=acme).status_code == 200


def test_dead_letters_of_other_providers_are_filtered(portal: Portal) -> None:
    with portal.registry.session() as session:
        for gateway, device in (("gw-a", "a-dut"), ("gw-b", "b-dut"), ("gw-b", "stray"),
                                ("gw-a", None), ("gw-a", "a-removed")):
            session.add(DeadLetter(received_ms=T0_MS, reason="out_of_range", detail="x",
                                   gateway_id=gateway, device_id=device, payload_excerpt=""))
    mine = portal.client.get("/api/v1/dead-letters", headers=portal.auth("acme")).json()
    # only devices currently in acme's trials: not the gateway's device-less ones, nor those of
    # a device no longer in any trial (another provider may share the gateway)
    assert sorted((d["gateway_id"], d["device_id"] or "") for d in mine["items"]) == [
        ("gw-a", "a-dut")]
    filtered = portal.client.get("/api/v1/dead-letters", params={"gateway_id": "gw-b"},
                                 headers=portal.auth("acme")).json()
    assert filtered["total"] == 0
    everything = portal.client.get("/api/v1/dead-letters", headers=portal.auth("engineer")).json()
    assert everything["total"] == 5


def test_published_trials_are_public(portal: Portal) -> None:
    assert portal.client.get("/api/v1/trials/t-b").status_code == 404
    portal.client.patch("/api/v1/trials/t-b", headers=portal.auth("admin"), json={"status": "published"})
    assert portal.client.get("/api/v1/trials/t-b").json()["status"] == "published"
    assert portal.client.get("/api/v1/trials/t-b", headers=portal.auth("acme")).status_code == 200
    # public report, not operations: the gateway and dead letters stay the owner's
    assert portal.client.get("/api/v1/gateways/gw-b", headers=portal.auth("acme")).status_code == 404


def test_provider_cannot_change_another_providers_trial(portal: Portal) -> None:
    response = portal.client.patch("/api/v1/trials/t-b", headers=portal.auth("acme"),
                                   json={"status": "published"})
    assert response.status_code == 404

"""Exclusion windows through the API (roles, audit trail) and the re-issue flag, on both registries."""

from __future__ import annotations

from typing import Any

import pytest

from registry.queries import get_trial_spec, rejected_counts
from reports.build import build_report
from tests.portal_api.conftest import T0_MS, Portal

MINUTE_MS = 60_000
WINDOW = {"id": "x-power", "start": "2025-11-24T16:02:00Z", "end": "2025-11-24T16:05:00Z",
          "devices": ["a-dut"], "reason": "site power cut"}


def post_window(portal: Portal, user: str, body: dict[str, Any], trial: str = "t-a") -> Any:
    return portal.client.post(f"/api/v1/trials/{trial}/exclusions", json=body,
                              headers=portal.auth(user))


def trial_updated_ms(portal: Portal) -> int:
    response = portal.client.get("/api/v1/trials/t-a", headers=portal.auth("admin"))
    return int(response.json()["updated_ms"])


def test_assessor_creates_and_admin_revokes_everything_audited(portal: Portal) -> None:
    before = trial_updated_ms(portal)
    created = post_window(portal, "assessor", WINDOW)
    after_create = trial_updated_ms(portal)
    assert after_create > before  # the metrics cache's fingerprint moves
    assert created.status_code == 201, created.text
    assert created.json() | {"created_ms": 0} == {
        "id": "x-power", "trial_id": "t-a", "start_ms": T0_MS + 2 * MINUTE_MS,
        "end_ms": T0_MS + 5 * MINUTE_MS, "devices": ["a-dut"], "reason": "site power cut",
        "approved_by": "assessor", "source": "api", "status": "active", "created_ms": 0,
        "revoked_ms": None, "revoked_by": None, "revoke_reason": None}
    revoked = portal.client.post("/api/v1/trials/t-a/exclusions/x-power/revoke",
                                 json={"reason": "power was back at 16:03"},
                                 headers=portal.auth("admin"))
    assert revoked.status_code == 200, revoked.text
    assert (revoked.json()["status"], revoked.json()["revoked_by"]) == ("revoked", "admin")
    assert trial_updated_ms(portal) > after_create
    listed = portal.client.get("/api/v1/trials/t-a/exclusions", headers=portal.auth("acme"))
    assert [(w["id"], w["status"]) for w in listed.json()] == [("x-power", "revoked")]
    audit = portal.client.get("/api/v1/trials/t-a/exclusions/audit", headers=portal.auth("acme"))
    rows = audit.json()
    assert [(r["exclusion_id"], r["action"], r["actor"]) for r in rows] == [
        ("x-power", "created", "assessor"), ("x-power", "revoked", "admin")]
    assert rows[0]["detail"]["reason"] == "site power cut"
    assert rows[1]["detail"] == {"reason": "power was back at 16:03"}
    assert rows[0]["at_ms"] <= rows[1]["at_ms"]
    again = portal.client.post("/api/v1/trials/t-a/exclusions/x-power/revoke",
                               json={"reason": "twice"}, headers=portal.auth("admin"))
    assert again.status_code == 409
    reused = post_window(portal, "assessor", WINDOW)
    assert reused.status_code == 409
    assert "never reused" in reused.json()["detail"]


def test_providers_and_viewers_may_read_but_not_change(portal: Portal) -> None:
    assert post_window(portal, "assessor", WINDOW).status_code == 201
    for user in ("acme", "viewer", "engineer"):
        response = post_window(portal, user, {**WINDOW, "id": f"x-{user}"})
        assert response.status_code == 403, user
        revoke = portal.client.post("/api/v1/trials/t-a/exclusions/x-power/revoke",
                                    json={"reason": "no"}, headers=portal.auth(user))
        assert revoke.status_code == 403, user
    # another provider's trial answers like a missing one
    assert post_window(portal, "acme", WINDOW, trial="t-b").status_code == 404
    assert portal.client.get("/api/v1/trials/t-b/exclusions",
                             headers=portal.auth("acme")).status_code == 404
    assert portal.client.get("/api/v1/trials/t-a/exclusions/audit").status_code == 401
    assert portal.client.get("/api/v1/trials/t-a/exclusions").status_code == 404  # unpublished
    assert post_window(portal, "admin", {**WINDOW, "id": "x-admin"}).status_code == 201
    spec_windows = portal.client.get("/api/v1/trials/t-a/exclusions", headers=portal.auth("acme"))
    assert [w["status"] for w in spec_windows.json()] == ["active", "active"]


@pytest.mark.parametrize(("change", "status", "words"), [
    ({"approved_by": "someone-else"}, 422, "approved_by"),
    ({"devices": ["z-unknown"]}, 422, "not in the trial"),
    ({"end": "2025-11-24T16:01:00Z"}, 422, "'end' must be after 'start'"),
    ({"reason": ""}, 422, "reason"),
    ({"start": "2025-11-24T16:02:00"}, 422, "start"),
])
def test_bad_windows_are_refused_with_the_key(portal: Portal, change: dict[str, Any],
                                              status: int, words: str) -> None:
    response = post_window(portal, "assessor", {**WINDOW, **change})
    assert response.status_code == status, response.text
    assert words in response.text


def test_api_windows_reach_the_trial_spec_and_a_generated_id(portal: Portal) -> None:
    body = {key: value for key, value in WINDOW.items() if key != "id"} | {"devices": "all"}
    created = post_window(portal, "assessor", body)
    assert created.status_code == 201
    with portal.registry.session() as session:
        windows = get_trial_spec(session, "t-a").trial.exclusions
    assert [(x.id, x.devices, x.approved_by) for x in windows] == [
        (created.json()["id"], "all", "assessor")]
    assert created.json()["id"].startswith("x-")


def issue(portal: Portal) -> int:
    with portal.registry.session() as session:
        spec = get_trial_spec(session, "t-a")
        rejected = rejected_counts(session, [d.id for d in spec.trial.devices])
    result = build_report(spec, portal.store, rejected, portal.settings.data_dir / "reports",
                          portal.settings.data_dir, with_pdf=False)
    return result.version


def report_status(portal: Portal) -> dict[str, Any]:
    response = portal.client.get("/api/v1/trials/t-a/report-status", headers=portal.auth("acme"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_late_reading_and_window_changes_flag_a_reissue(portal: Portal) -> None:
    assert report_status(portal)["issued_version"] is None
    rows = [(T0_MS + i * MINUTE_MS, 0.2) for i in range(10)]
    portal.write("a-dut", rows)
    portal.write("a-ref", rows)
    assert issue(portal) == 1
    status = report_status(portal)
    assert (status["issued_version"], status["needs_reissue"]) == (1, False)
    assert status["metric_changes"] == []

    portal.write("a-dut", [(T0_MS + 30 * MINUTE_MS, 0.4)])  # late: inside v1's window
    status = report_status(portal)
    assert status["needs_reissue"] is True
    changed = {c["path"]: (c["old"], c["new"]) for c in status["metric_changes"]}
    assert changed["quality.a-dut.received"] == (10, 11)

    assert post_window(portal, "assessor", WINDOW).status_code == 201
    status = report_status(portal)
    assert status["exclusion_changes"] == {"added": ["x-power"], "removed": [], "changed": []}

    assert issue(portal) == 2
    status = report_status(portal)
    assert (status["issued_version"], status["needs_reissue"]) == (2, False)
    assert status["exclusion_changes"] == {"added": [], "removed": [], "changed": []}
    portal.client.post("/api/v1/trials/t-a/exclusions/x-power/revoke", json={"reason": "wrong"},
                       headers=portal.auth("assessor"))
    assert report_status(portal)["exclusion_changes"]["removed"] == ["x-power"]


def test_report_status_is_recomputed_only_when_its_inputs_change(portal: Portal) -> None:
    from portal_api.metrics_cache import MetricsCache
    from portal_api.report_status import report_status as status_of
    from registry.models import Trial

    rows = [(T0_MS + i * MINUTE_MS, 0.2) for i in range(5)]
    portal.write("a-dut", rows)
    portal.write("a-ref", rows)
    issue(portal)
    cache = MetricsCache(ttl_s=60, check_interval_s=0)

    def ask() -> dict[str, Any]:
        with portal.registry.session() as session:
            trial = session.get(Trial, "t-a")
            assert trial is not None
            return status_of(session, portal.store, trial, portal.settings.data_dir, cache)

    assert ask()["needs_reissue"] is False
    assert ask()["needs_reissue"] is False
    assert cache.computations == 1
    portal.write("a-ref", [(T0_MS + 7 * MINUTE_MS, 0.2)])
    assert ask()["needs_reissue"] is True
    assert cache.computations == 2

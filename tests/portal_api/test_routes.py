"""Route tests on SQLite and PostgreSQL: happy paths, missing/wrong tokens, validation errors."""

from __future__ import annotations

import yaml

from registry.models import Gateway
from tests.portal_api.conftest import Portal, trial_definition


def test_health_answers_without_token(portal: Portal) -> None:
    response = portal.client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_missing_token_is_401_with_json_message(portal: Portal) -> None:
    response = portal.client.get("/api/v1/gateways")
    assert response.status_code == 401
    assert response.json() == {"detail": "missing or invalid bearer token"}
    assert response.headers["www-authenticate"] == "Bearer"


def test_wrong_token_is_401_even_on_public_routes(portal: Portal) -> None:
    bad = {"Authorization": "Bearer not-a-real-token"}
    assert portal.client.get("/api/v1/wishes", headers=bad).status_code == 401
    assert portal.client.get("/api/v1/users/me", headers=bad).status_code == 401


def test_me_names_the_token_owner(portal: Portal) -> None:
    response = portal.client.get("/api/v1/users/me", headers=portal.auth("acme"))
    assert response.json() == {"name": "acme", "role": "provider", "provider_id": "acme"}


def test_validation_error_is_422_with_clear_message(portal: Portal) -> None:
    response = portal.client.post("/api/v1/wishes", headers=portal.auth("admin"),
                                  json={"id": "Not Valid!", "title": "x", "department": "d"})
    assert response.status_code == 422
    assert "body.id" in response.json()["detail"]
    response = portal.client.get("/api/v1/wishes", params={"limit": 0})
    assert response.status_code == 422
    assert "query.limit" in response.json()["detail"]


def test_wish_create_update_and_list_paginates(portal: Portal) -> None:
    admin = portal.auth("admin")
    body = {"id": "w-new", "title": "Smart lift", "department": "EMSD", "category": "lift"}
    assert portal.client.post("/api/v1/wishes", headers=admin, json=body).status_code == 201
    assert portal.client.post("/api/v1/wishes", headers=admin, json=body).status_code == 409
    patched = portal.client.patch("/api/v1/wishes/w-new", headers=admin, json={"status": "matched"})
    assert patched.json()["status"] == "matched"
    page = portal.client.get("/api/v1/wishes", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 3 and page["limit"] == 2 and page["offset"] == 1
    assert [w["id"] for w in page["items"]] == ["w-b", "w-new"]
    assert portal.client.get("/api/v1/wishes", params={"category": "lift"}).json()["total"] == 1


def test_provider_may_not_create_wishes(portal: Portal) -> None:
    response = portal.client.post("/api/v1/wishes", headers=portal.auth("acme"),
                                  json={"id": "w-x", "title": "t", "department": "d"})
    assert response.status_code == 403
    assert response.json() == {"detail": "role 'provider' may not create wishes"}


def test_apply_trial_yaml_is_idempotent(portal: Portal) -> None:
    text = yaml.safe_dump(trial_definition("t-c", "acme", gateway="gw-c", prefix="c"))
    headers = {**portal.auth("assessor"), "Content-Type": "application/yaml"}
    first = portal.client.post("/api/v1/trials", headers=headers, content=text)
    assert first.status_code == 200
    assert first.json()["changed"] is True
    assert "created trial t-c" in first.json()["changes"]
    second = portal.client.post("/api/v1/trials", headers=headers, content=text)
    assert second.json() == {"trial_id": "t-c", "changed": False, "changes": []}
    assert portal.client.get("/api/v1/trials/t-c", headers=portal.auth("acme")).status_code == 200


def test_apply_trial_json_reports_changes(portal: Portal) -> None:
    definition = trial_definition("t-a", "acme", gateway="gw-a", prefix="a")
    definition["trial"]["site"]["name"] = "Renamed roof"
    response = portal.client.post("/api/v1/trials", headers=portal.auth("admin"), json=definition)
    assert response.json()["changes"] == ["updated site site-a (name)", "updated trial t-a (spec)"]


def test_apply_rejects_bad_definitions(portal: Portal) -> None:
    headers = {**portal.auth("admin"), "Content-Type": "application/yaml"}
    bad_yaml = portal.client.post("/api/v1/trials", headers=headers, content=b"wish: [unclosed")
    assert bad_yaml.status_code == 422
    assert bad_yaml.json()["detail"].startswith("body is not valid YAML")
    definition = trial_definition("t-d", "acme", gateway="gw-d", prefix="d")
    definition["trial"]["devices"][0]["profile"] = "no_such_profile"
    bad = portal.client.post("/api/v1/trials", headers=portal.auth("admin"), json=definition)
    assert bad.status_code == 422
    assert "trial.devices.0.profile" in bad.json()["detail"]


def test_apply_needs_a_writer_role(portal: Portal) -> None:
    definition = trial_definition("t-e", "acme", gateway="gw-e", prefix="e")
    assert portal.client.post("/api/v1/trials", json=definition).status_code == 401
    response = portal.client.post("/api/v1/trials", headers=portal.auth("acme"), json=definition)
    assert response.status_code == 403


def test_trial_status_moves_and_is_validated(portal: Portal) -> None:
    admin = portal.auth("admin")
    response = portal.client.patch("/api/v1/trials/t-a", headers=admin, json={"status": "running"})
    assert response.json()["status"] == "running"
    assert portal.client.patch("/api/v1/trials/t-a", headers=admin,
                               json={"status": "done"}).status_code == 422
    assert portal.client.patch("/api/v1/trials/t-a", headers=portal.auth("viewer"),
                               json={"status": "verified"}).status_code == 403


def test_trial_lists_and_filters(portal: Portal) -> None:
    page = portal.client.get("/api/v1/trials", headers=portal.auth("viewer")).json()
    assert [t["id"] for t in page["items"]] == ["t-a", "t-b"]
    assert page["items"][0]["acceptance"][0]["metric"] == "quality.completeness"
    page = portal.client.get("/api/v1/trials", params={"solution_id": "s-b"},
                             headers=portal.auth("viewer")).json()
    assert page["total"] == 1


def test_gateway_status_reflects_registry_state(portal: Portal) -> None:
    with portal.registry.session() as session:
        gateway = session.get(Gateway, "gw-a")
        assert gateway is not None
        gateway.state, gateway.state_changed_ms = "online", 1_764_000_000_123
        gateway.last_status = {"state": "online", "buffer_depth": 3}
    response = portal.client.get("/api/v1/gateways/gw-a", headers=portal.auth("engineer")).json()
    assert response["online"] is True and response["state_changed_ms"] == 1_764_000_000_123
    assert response["last_status"] == {"state": "online", "buffer_depth": 3}
    offline = portal.client.get("/api/v1/gateways", params={"state": "unknown"},
                                headers=portal.auth("engineer")).json()
    assert [g["id"] for g in offline["items"]] == ["gw-b"]


def test_devices_sites_comparisons_and_solutions(portal: Portal) -> None:
    viewer = portal.auth("viewer")
    devices = portal.client.get("/api/v1/devices", params={"trial_id": "t-a"}, headers=viewer).json()
    assert [(d["id"], d["role"], d["gateway_id"]) for d in devices["items"]] == [
        ("a-dut", "under_test", "gw-a"), ("a-ref", "reference", "gw-a")]
    site = portal.client.get("/api/v1/sites/site-a", headers=viewer).json()
    assert site["timezone"] == "Asia/Hong_Kong"
    comparisons = portal.client.get("/api/v1/comparisons", params={"trial_id": "t-b"},
                                    headers=viewer).json()
    assert comparisons["items"][0]["references"] == ["b-ref"]
    solution = portal.client.get("/api/v1/solutions/s-a", headers=viewer).json()
    assert solution["wish_ids"] == ["w-a"] and solution["provider_id"] == "acme"


def test_provider_creates_only_own_solutions(portal: Portal) -> None:
    acme = portal.auth("acme")
    body = {"id": "s-new", "title": "New", "provider_id": "beta", "wish_ids": ["w-a"]}
    assert portal.client.post("/api/v1/solutions", headers=acme, json=body).status_code == 403
    body["provider_id"] = "acme"
    created = portal.client.post("/api/v1/solutions", headers=acme, json=body)
    assert created.status_code == 201 and created.json()["wish_ids"] == ["w-a"]
    body = {"id": "s-other", "title": "x", "provider_id": "acme", "wish_ids": ["w-nope"]}
    response = portal.client.post("/api/v1/solutions", headers=acme, json=body)
    assert response.status_code == 422 and "w-nope" in response.json()["detail"]


def test_openapi_docs_are_served(portal: Portal) -> None:
    assert portal.client.get("/docs").status_code == 200
    schema = portal.client.get("/openapi.json").json()
    assert "/api/v1/trials/{trial_id}/readings" in schema["paths"]


def test_issuer_key_is_public_and_verifies_report_signatures(portal: Portal) -> None:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from reports.signing import load_private_key

    response = portal.client.get("/api/v1/issuer-key")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-pem-file"
    served = load_pem_public_key(response.content)
    private = load_private_key(portal.settings.data_dir)
    signature = private.sign(b"manifest")
    served.verify(signature, b"manifest")  # raises InvalidSignature on a wrong key

"""Exclusion windows in the registry (SQLite and PostgreSQL): YAML sync, revocation, audit."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from innotrial.cli import cli
from registry.apply import apply_trial
from registry.db import Registry, open_registry
from registry.exclusions import (
    SOURCE_API,
    audit_trail,
    create_exclusion,
    revoke_exclusion,
    trial_exclusions,
)
from registry.queries import get_trial_spec
from registry.trial_spec import ExclusionSpec, TrialSpecError, parse_trial_spec
from tests.portal_api.conftest import trial_definition

POWER_CUT = {
    "id": "x-power",
    "start": "2025-11-26T02:00:00+08:00",
    "end": "2025-11-26T09:30:00+08:00",
    "devices": ["a-dut"],
    "reason": "site power cut (CLP incident 4471)",
    "approved_by": "assessor-wong",
}
TYPHOON = {
    "id": "x-typhoon-8",
    "start": "2025-12-01T00:00:00+08:00",
    "end": "2025-12-02T00:00:00+08:00",
    "devices": "all",
    "reason": "typhoon signal 8: site closed",
    "approved_by": "assessor-wong",
}


def definition(*windows: dict[str, Any]) -> dict[str, Any]:
    data = trial_definition("t-a", "acme", gateway="gw-a", prefix="a")
    data["trial"]["exclusions"] = [copy.deepcopy(w) for w in windows]
    return data


@pytest.fixture
def registry(database_url: str) -> Iterator[Registry]:
    registry = open_registry(database_url)
    yield registry
    registry.close()


def apply(registry: Registry, data: dict[str, Any], actor: str = "tester") -> list[str]:
    with registry.session() as session:
        return apply_trial(session, parse_trial_spec(data), actor)


def test_yaml_windows_are_stored_once_and_come_back_in_the_spec(registry: Registry) -> None:
    first = apply(registry, definition(POWER_CUT, TYPHOON))
    second = apply(registry, definition(POWER_CUT, TYPHOON))
    with registry.session() as session:
        spec = get_trial_spec(session, "t-a")
        audit = [(a.exclusion_id, a.action, a.actor) for a in audit_trail(session, "t-a")]
    assert {"created exclusion x-power", "created exclusion x-typhoon-8"} <= set(first)
    assert second == []
    assert spec == parse_trial_spec(definition(POWER_CUT, TYPHOON))
    assert [x.id for x in spec.trial.exclusions] == ["x-power", "x-typhoon-8"]
    assert spec.trial.exclusions[0].approved_by == "assessor-wong"
    assert audit == [("x-power", "created", "tester"), ("x-typhoon-8", "created", "tester")]


def test_yaml_update_is_audited_and_omission_revokes_only_yaml_windows(
    registry: Registry,
) -> None:
    apply(registry, definition(POWER_CUT))
    with registry.session() as session:
        spec = get_trial_spec(session, "t-a")
        create_exclusion(
            session,
            spec,
            ExclusionSpec.model_validate({**TYPHOON, "id": "x-api", "approved_by": "assessor"}),
            "assessor",
            SOURCE_API,
        )
    longer = {**POWER_CUT, "end": "2025-11-26T10:30:00+08:00"}
    assert apply(registry, definition(longer)) == ["updated exclusion x-power"]
    assert apply(registry, definition()) == [
        "revoked exclusion x-power (removed from the trial YAML)"
    ]
    assert apply(registry, definition()) == []
    with registry.session() as session:
        rows = {r.exclusion_id: r for r in trial_exclusions(session, "t-a")}
        active = [x.id for x in get_trial_spec(session, "t-a").trial.exclusions]
        audit = [(a.exclusion_id, a.action, a.detail) for a in audit_trail(session, "t-a")]
    assert active == ["x-api"]  # the API window survives a YAML that omits it
    assert rows["x-power"].revoked_by == "tester"
    assert rows["x-power"].revoke_reason == "removed from the trial YAML"
    assert [(x, action) for x, action, _ in audit] == [
        ("x-power", "created"),
        ("x-api", "created"),
        ("x-power", "updated"),
        ("x-power", "revoked"),
    ]
    update = audit[2][2]
    assert update["before"]["end_ms"] == 1_764_120_600_000
    assert update["after"]["end_ms"] == 1_764_124_200_000


def test_a_revoked_window_is_never_revived_by_the_yaml(registry: Registry) -> None:
    apply(registry, definition(POWER_CUT))
    with registry.session() as session:
        revoke_exclusion(session, "t-a", "x-power", "admin", "power was on after all")
    assert apply(registry, definition(POWER_CUT)) == []
    with registry.session() as session:
        assert get_trial_spec(session, "t-a").trial.exclusions == []
    changed = {**POWER_CUT, "reason": "another reason"}
    with pytest.raises(
        TrialSpecError, match=r"x-power.* is revoked; give the YAML window a new id"
    ):
        apply(registry, definition(changed))


def test_removing_a_device_an_api_window_names_is_refused(registry: Registry) -> None:
    apply(registry, definition())
    with registry.session() as session:
        spec = get_trial_spec(session, "t-a")
        create_exclusion(
            session,
            spec,
            ExclusionSpec.model_validate({**POWER_CUT, "devices": ["a-ref"]}),
            "assessor",
        )
    data = definition()
    data["trial"]["devices"] = data["trial"]["devices"][:1]
    data["trial"]["comparisons"] = []
    with pytest.raises(TrialSpecError) as excinfo:
        apply(registry, data)
    assert excinfo.value.key == "trial.exclusions"
    assert excinfo.value.problem == (
        "active exclusion 'x-power' names devices this definition removes: ['a-ref']; "
        "revoke it first")


def test_cli_apply_records_the_cli_user_and_is_idempotent(
    database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    path = tmp_path / "trial.yaml"
    path.write_text(yaml.safe_dump(definition(POWER_CUT)))
    monkeypatch.setenv("INNOTRIAL_DATABASE_URL", database_url)
    monkeypatch.setenv("USER", "wong")
    monkeypatch.setenv("LOGNAME", "wong")
    runner = CliRunner()
    first = runner.invoke(cli, ["trial", "apply", str(path)])
    second = runner.invoke(cli, ["trial", "apply", str(path)])
    assert first.exit_code == 0, first.output
    assert "created exclusion x-power" in first.output
    assert second.output.strip().endswith("trial t-a: unchanged")
    registry = open_registry(database_url)
    with registry.session() as session:
        assert [a.actor for a in audit_trail(session, "t-a")] == ["trial apply (cli: wong)"]
    registry.close()

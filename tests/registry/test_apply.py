"""Trial definitions applied to the registry: idempotent, reporting what changed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from innotrial.cli import cli
from registry.apply import apply_trial
from registry.db import open_registry
from registry.queries import device_directory, get_trial_spec
from telemetry.trial_spec import TrialSpecError, load_trial_file, parse_trial_spec

EXAMPLE = Path(__file__).parents[2] / "examples" / "trial-rain.yaml"


def _example() -> dict:
    return yaml.safe_load(EXAMPLE.read_text())


def test_apply_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    registry = open_registry(f"sqlite:///{tmp_path}/r.db")
    spec = load_trial_file(EXAMPLE)
    with registry.session() as session:
        first = apply_trial(session, spec)
    with registry.session() as session:
        second = apply_trial(session, spec)
        directory = device_directory(session)
        stored = get_trial_spec(session, "t-rain-01")
    assert "created trial t-rain-01" in first
    assert second == []
    assert stored == spec
    assert directory.gateways == {"gw-hq-01"}
    assert directory.devices["rg-dut-01"].gateway_id == "gw-hq-01"
    assert directory.devices["rg-dut-01"].profile == "rain_gauge"


def test_update_reports_changed_fields_and_removes_devices(tmp_path: Path) -> None:
    registry = open_registry(f"sqlite:///{tmp_path}/r.db")
    data = _example()
    with registry.session() as session:
        apply_trial(session, parse_trial_spec(data))
    data["wish"]["title"] = "Rain data, faster"
    new_ref = {"id": "rg-ref-02", "profile": "rain_gauge", "gateway": "gw-hq-01", "role": "reference"}
    data["trial"]["devices"] = [data["trial"]["devices"][0], new_ref]
    data["trial"]["comparisons"] = [{"under_test": "rg-dut-01", "reference": "rg-ref-02"}]
    with registry.session() as session:
        changes = apply_trial(session, parse_trial_spec(data))
        devices = set(device_directory(session).devices)
    assert "updated wish w-dsd-017 (title)" in changes
    assert "removed device rg-ref-01" in changes
    assert "created device rg-ref-02" in changes
    assert devices == {"rg-dut-01", "rg-ref-02"}


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda d: d["trial"]["devices"][0].update(profile="nope"), "trial.devices.0.profile"),
        (lambda d: d["trial"].update(extra_key=1), "trial.extra_key"),
        (lambda d: d["trial"]["site"].update(timezone="Mars/Base"), "trial.site.timezone"),
        (lambda d: d["trial"].update(end="2026-10-01T00:00:00+08:00"), "trial"),
        (lambda d: d["trial"]["acceptance"][0].update(op="=>"), "trial.acceptance.0.op"),
        (lambda d: d["wish"].pop("title"), "wish.title"),
        (lambda d: d["trial"]["comparisons"][0].update(reference="rg-dut-01"), "trial"),
    ],
)
def test_bad_trial_definitions_name_the_key(mutate, key: str) -> None:
    data = _example()
    mutate(data)
    with pytest.raises(TrialSpecError) as info:
        parse_trial_spec(data, "t.yaml")
    assert info.value.key == key


def test_cli_apply_is_idempotent_and_bad_files_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"INNOTRIAL_DATA_DIR": str(tmp_path)}
    first = runner.invoke(cli, ["trial", "apply", str(EXAMPLE)], env=env)
    second = runner.invoke(cli, ["trial", "apply", str(EXAMPLE)], env=env)
    assert first.exit_code == 0, first.output
    assert "9 change(s)" in first.output
    assert second.exit_code == 0
    assert "unchanged" in second.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("wish: {id: W}\n")
    result = runner.invoke(cli, ["trial", "apply", str(bad)], env=env)
    assert result.exit_code == 2
    assert "bad.yaml: wish.id: String should match pattern" in result.output


def test_a_device_of_another_trial_is_refused_not_moved(tmp_path: Path) -> None:
    registry = open_registry(f"sqlite:///{tmp_path}/r.db")
    with registry.session() as session:
        apply_trial(session, load_trial_file(EXAMPLE))
    data = _example()
    data["trial"]["id"] = "t-rain-02"
    with pytest.raises(TrialSpecError) as info, registry.session() as session:
        apply_trial(session, parse_trial_spec(data))
    assert info.value.key == "trial.devices.0.id"
    assert "already belongs to trial 't-rain-01'" in info.value.problem
    with registry.session() as session:
        assert device_directory(session).devices["rg-dut-01"].trial_id == "t-rain-01"

"""Shipped device profiles and the `innotrial profiles` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from device_profiles import (
    FieldType,
    ProfileError,
    UnknownProfile,
    builtin_profiles,
    get_profile,
    load_profile_file,
)
from device_profiles.cli import profiles
from innotrial.cli import main

INNOTRIAL = str(Path(sys.executable).with_name("innotrial"))
SHIPPED = {
    "rain_gauge": ("rain_gauge", 60.0),
    "uv_radiometer": ("uv_robot", 1.0),
    "fever_screener": ("fever_screener", None),
    "clinical_thermometer": ("fever_screener", None),
    "lift_monitor": ("lift", None),
    "lift_controller_log": ("lift", None),
    "uv_robot": ("uv_robot", None),
}


def test_all_seven_profiles_load_with_their_family_and_period() -> None:
    loaded = builtin_profiles()
    assert set(loaded) == set(SHIPPED)
    for name, (family, period_s) in SHIPPED.items():
        assert (loaded[name].family.value, loaded[name].period_s) == (family, period_s)


def test_metrics_md_fields_exist_with_their_types() -> None:
    assert get_profile("rain_gauge").fields["rain_mm"].type is FieldType.FLOAT
    assert get_profile("fever_screener").fields["alarm"].type is FieldType.BOOL
    assert get_profile("lift_monitor").fields["event_type"].values == get_profile("lift_controller_log").fields["event_type"].values
    assert get_profile("uv_robot").fields["dose_mj_cm2"].optional
    assert get_profile("uv_radiometer").period_ms == 1000


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(UnknownProfile) as caught:
        get_profile("toaster")
    assert "rain_gauge" in str(caught.value)


GOOD = {"name": "probe", "family": "lift", "roles": ["under_test"], "kind": "event",
        "fields": {"state": {"type": "enum", "values": ["a", "b"]}}}
BROKEN = {
    "unknown_family": ({**GOOD, "family": "toaster"}, "family"),
    "period_on_event": ({**GOOD, "period_s": 5}, "period_s"),
    "min_above_max": ({**GOOD, "fields": {"temp_c": {"type": "float", "min": 10, "max": 5}}}, "fields.temp_c"),
    "enum_without_values": ({**GOOD, "fields": {"state": {"type": "enum"}}}, "fields.state"),
    "reserved_field": ({**GOOD, "fields": {"seq": {"type": "int"}}}, "seq"),
    "typo_key": ({**GOOD, "perod_s": 5}, "perod_s"),
    "key_not_a_field": ({**GOOD, "key": ["status"]}, "'status'"),
    "key_on_periodic": ({**GOOD, "kind": "periodic", "period_s": 5, "key": ["state"]}, "key"),
    "float_key": ({**GOOD, "fields": {"t": {"type": "float"}}, "key": ["t"]}, "'t'"),
}


@pytest.fixture
def broken_files(tmp_path: Path) -> dict[str, Path]:
    files = {}
    for name, (data, _) in BROKEN.items():
        files[name] = tmp_path / f"{name}.yaml"
        files[name].write_text(yaml.safe_dump(data))
    files["bad_yaml"] = tmp_path / "bad_yaml.yaml"
    files["bad_yaml"].write_text("name: probe\nroles: [under_test\nkind: event\n")
    return files


def run_main(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run the real console entry point in-process: (exit status, stderr)."""
    monkeypatch.setattr(sys, "argv", ["innotrial", *args])
    with pytest.raises(SystemExit) as caught:
        main()
    return int(caught.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize("case", [*BROKEN, "bad_yaml"])
def test_validate_exits_2_naming_file_and_key(
    case: str, broken_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = broken_files[case]
    status, stderr = run_main(["profiles", "validate", str(path)], monkeypatch, capsys)
    assert status == 2, stderr
    key = BROKEN[case][1] if case in BROKEN else "line 3"
    assert stderr.startswith(f"error: {path}: ")
    assert key in stderr and len(stderr.splitlines()) == 1


def test_validate_stops_at_the_first_broken_file(
    broken_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = Path(__file__).parents[2] / "device_profiles" / "profiles" / "uv_robot.yaml"
    args = ["profiles", "validate", str(shipped), str(broken_files["typo_key"]), str(broken_files["bad_yaml"])]
    status, stderr = run_main(args, monkeypatch, capsys)
    assert status == 2 and "typo_key.yaml" in stderr and "bad_yaml" not in stderr


def test_loader_error_carries_path_and_key(broken_files: dict[str, Path]) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile_file(broken_files["min_above_max"])
    assert caught.value.key == "fields.temp_c" and "greater" in caught.value.problem


def test_validate_accepts_good_files(tmp_path: Path) -> None:
    good = tmp_path / "probe.yaml"
    good.write_text(yaml.safe_dump(GOOD))
    shipped = Path(__file__).parents[2] / "device_profiles" / "profiles" / "rain_gauge.yaml"
    result = CliRunner().invoke(profiles, ["validate", str(good), str(shipped)])
    assert result.exit_code == 0, result.output
    assert "probe.yaml: ok (probe, 1 fields)" in result.output
    assert "rain_gauge.yaml: ok (rain_gauge, 3 fields)" in result.output


def test_list_and_show() -> None:
    listed = CliRunner().invoke(profiles, ["list"])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split() == ["PROFILE", "FAMILY", "ROLES", "KIND"]
    assert {line.split()[0] for line in lines[1:]} == set(SHIPPED)
    assert any(line.split()[:2] == ["rain_gauge", "rain_gauge"] and "periodic 60 s" in line for line in lines)
    shown = CliRunner().invoke(profiles, ["show", "fever_screener"])
    assert shown.exit_code == 0
    data = yaml.safe_load(shown.output)
    assert data["name"] == "fever_screener" and data["fields"]["alarm"]["type"] == "bool"
    assert data["kind"] == "event"


def test_shown_yaml_is_a_valid_profile(tmp_path: Path) -> None:
    shown = CliRunner().invoke(profiles, ["show", "uv_robot"])
    copy = tmp_path / "uv_robot.yaml"
    copy.write_text(shown.output, encoding="utf-8")
    assert load_profile_file(copy) == get_profile("uv_robot")


def test_installed_command_exits_2_on_unknown_profile() -> None:
    done = subprocess.run([INNOTRIAL, "profiles", "show", "toaster"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "toaster" in done.stderr and "rain_gauge" in done.stderr


def test_a_field_name_has_one_storage_type_across_the_shipped_profiles() -> None:
    """Devices of all profiles share InfluxDB's `readings` measurement, where a field has one
    type (docs/stores.md): a name used as float in one profile and int in another would be
    refused for one of them. bool, enum and string values are stored as they come."""
    stored_as = {FieldType.FLOAT: "float", FieldType.INT: "int", FieldType.BOOL: "bool",
                 FieldType.ENUM: "string", FieldType.STRING: "string"}
    kinds: dict[str, set[str]] = {}
    for profile in builtin_profiles().values():
        for name, spec in profile.fields.items():
            kinds.setdefault(name, set()).add(stored_as[spec.type])
    assert {name: found for name, found in kinds.items() if len(found) > 1} == {}


def test_event_profiles_declare_the_fields_that_tell_simultaneous_events_apart() -> None:
    keys = {name: profile.key for name, profile in builtin_profiles().items()}
    assert keys == {"lift_monitor": ("event_type",), "lift_controller_log": ("event_type",),
                    "uv_robot": ("event", "target_id"), "fever_screener": ("pair_id",),
                    "clinical_thermometer": ("pair_id",), "rain_gauge": (), "uv_radiometer": ()}


def test_validate_lists_every_problem_of_a_broken_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "two_faults.yaml"
    path.write_text(yaml.safe_dump({**GOOD, "family": "toaster", "perod_s": 5}))
    status, stderr = run_main(["profiles", "validate", str(path)], monkeypatch, capsys)
    assert status == 2
    assert stderr.startswith(f"error: {path}: 2 problems:")
    assert "\n  family: " in stderr and "\n  perod_s: " in stderr

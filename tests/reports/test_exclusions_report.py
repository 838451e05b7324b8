"""Exclusion windows in the report (listed with reason and approver), the package and verify."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import yaml

from registry.trial_spec import TrialSpec, parse_trial_spec
from reports import build_report, verify_package
from reports.signing import load_private_key
from telemetry.store.sqlite import SQLiteStore
from tests.reports.sim_trials import populate

WINDOW = {"id": "x-maintenance", "start": "2026-11-02T01:00:00+08:00",
          "end": "2026-11-02T02:30:00+08:00", "devices": ["uv-dut-01", "uvr-a"],
          "reason": "lamp replacement by the contractor", "approved_by": "assessor-wong"}


def with_windows(spec: TrialSpec, *windows: dict[str, object]) -> TrialSpec:
    data = spec.model_dump(mode="json")
    data["trial"]["exclusions"] = list(windows)
    return parse_trial_spec(data)


def test_windows_are_listed_packaged_verified_and_logged(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "readings.db")
    plain = populate(store, "uv_robot")
    data_dir, out_dir = tmp_path / "data", tmp_path / "out"
    first = build_report(plain, store, {}, out_dir, data_dir, with_pdf=False)
    assert 'id="exclusions"' not in first.paths["report.html"].read_text("utf-8")

    spec = with_windows(plain, WINDOW)
    second = build_report(spec, store, {}, out_dir, data_dir, with_pdf=False,
                          version_note="maintenance window approved")
    assert (first.version, second.version) == (1, 2)
    html = second.paths["report.html"].read_text("utf-8")
    table = html[html.index('id="exclusions"'):]
    table = table[:table.index("</table>")]
    for text in ("x-maintenance", "2026-11-02 01:00 +0800", "2026-11-02 02:30 +0800",
                 "uv-dut-01", "uvr-a", "lamp replacement by the contractor", "assessor-wong"):
        assert text in table, text
    assert "豁免時段" in html and "批准人" in html

    with zipfile.ZipFile(second.paths["package.zip"]) as archive:
        packaged = yaml.safe_load(archive.read("trial.yaml"))
    assert parse_trial_spec(packaged).trial.exclusions == spec.trial.exclusions
    assert packaged["trial"]["exclusions"][0]["approved_by"] == "assessor-wong"
    change_log = json.loads(second.paths["changes.json"].read_text("utf-8"))
    assert change_log["exclusions"] == {"added": ["x-maintenance"], "removed": [],
                                        "changed": []}

    key = load_private_key(data_dir).public_key()
    assert verify_package(second.paths["package.zip"], key, "issuer").ok
    tampered = tmp_path / "tampered.zip"
    shorter = yaml.safe_dump({**packaged, "trial": {
        **packaged["trial"],
        "exclusions": [{**packaged["trial"]["exclusions"][0], "end": "2026-11-02T01:30:00+08:00"}],
    }}, sort_keys=False, allow_unicode=True).encode("utf-8")
    with zipfile.ZipFile(second.paths["package.zip"]) as source, \
            zipfile.ZipFile(tampered, "w") as target:
        for name in source.namelist():
            target.writestr(name, shorter if name == "trial.yaml" else source.read(name))
    result = verify_package(tampered, key, "issuer")
    assert not result.ok
    assert [path for path, _ in result.file_problems] == ["trial.yaml"]
    store.close()


def test_exclusion_changes_name_added_removed_and_changed_windows() -> None:
    from registry.trial_spec import ExclusionSpec
    from reports.reissue import exclusion_changes

    def window(exclusion_id: str, reason: str = "r") -> ExclusionSpec:
        return ExclusionSpec.model_validate({**WINDOW, "id": exclusion_id, "reason": reason})

    issued = {x.id: x for x in (window("x-a"), window("x-b"), window("x-c"))}
    utc_copy = ExclusionSpec.model_validate(
        {**WINDOW, "id": "x-a", "reason": "r", "start": "2026-11-01T17:00:00+00:00",
         "end": "2026-11-01T18:30:00+00:00"})
    changes = exclusion_changes(issued, [utc_copy, window("x-b", "other"), window("x-d")])
    assert changes.as_json() == {"added": ["x-d"], "removed": ["x-c"], "changed": ["x-b"]}
    assert bool(changes) and not exclusion_changes(issued, list(issued.values()))

"""Simultaneous events reach the signed data package and `report verify` (issue 15): a lift
controller log with two events in one second, and a UV robot's dose reports of every target
at mission end."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

from reports import build_report, verify_package
from reports.signing import load_private_key
from telemetry.store.sqlite import SQLiteStore
from telemetry.wire import Reading
from tests.reports.sim_trials import HOUR_MS, START_MS, trial_spec, write_readings


def test_the_package_and_verify_carry_every_event_at_one_timestamp(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "data" / "readings.db")
    at = START_MS + HOUR_MS
    controller = [Reading("lc-ref-01", at, {"event_type": "fault_door"}),
                  Reading("lc-ref-01", at, {"event_type": "out_of_service"}),
                  Reading("lc-ref-01", at + 60_000, {"event_type": "in_service"})]
    monitor = [Reading("lm-dut-01", at + 2_000, {"event_type": "fault_door"}),
               Reading("lm-dut-01", at + 60_500, {"event_type": "in_service"})]
    write_readings(store, controller)
    write_readings(store, monitor)
    result = build_report(trial_spec("lift"), store, {}, tmp_path / "out", tmp_path / "data",
                          with_pdf=False)
    package = result.paths["package.zip"]
    with zipfile.ZipFile(package) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("data/lc-ref-01.csv").decode())))
        metrics = json.loads(archive.read("metrics.json"))
    assert [(int(row["ts_ms"]), row["event_type"]) for row in rows] == [
        (at, "fault_door"), (at, "out_of_service"), (at + 60_000, "in_service")]
    lift = json.dumps(metrics)
    assert '"recall": 0.6666666666666666' in lift  # 2 of 3 controller events detected
    verified = verify_package(package, load_private_key(tmp_path / "data").public_key(), "issuer")
    assert verified.ok and not verified.mismatches
    store.close()

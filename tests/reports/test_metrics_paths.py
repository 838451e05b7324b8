"""One metrics path: the API, `innotrial analyze` and the report package give identical metrics.

One simulated trial of each family, in one registry and SQLite store; the three paths share
analytics.frames.load_trial_frames, so their metrics JSON must be equal key for key.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from innotrial.cli import cli
from portal_api.app import create_app
from portal_api.auth import create_user
from registry.apply import apply_trial
from telemetry.settings import ApiSettings, Settings
from telemetry.store.sqlite import SQLiteStore
from tests.portal_api.conftest import serve
from tests.reports.sim_trials import FAMILIES, populate, trial_id

HOURS = 3  # simulated hours of readings per trial: enough for every metric, quick to build


@dataclass
class Paths:
    data_dir: Path
    client: httpx.Client
    token: str


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Paths]:
    data_dir = tmp_path_factory.mktemp("metrics-paths")
    with SQLiteStore(data_dir / "readings.db") as store:
        specs = [populate(store, family, hours=HOURS) for family in FAMILIES]
    settings = Settings(data_dir=data_dir, api=ApiSettings(notify_interval_s=0,
                                                           metrics_check_interval_s=0))
    app = create_app(settings)
    with app.state.registry.session() as session:
        for spec in specs:
            apply_trial(session, spec)
        token = create_user(session, "assessor", "assessor")[1]
    with serve(app) as base_url, httpx.Client(base_url=base_url, trust_env=False,
                                              timeout=60) as client:
        yield Paths(data_dir, client, token)


def _cli(paths: Paths, *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env={"INNOTRIAL_DATA_DIR": str(paths.data_dir)},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _packaged_metrics(paths: Paths, trial: str) -> Any:
    out_dir = paths.data_dir / "issued"
    _cli(paths, "report", "build", trial, "--out", str(out_dir), "--no-pdf")
    with zipfile.ZipFile(out_dir / trial / "v1" / "package.zip") as package:
        return json.loads(package.read("metrics.json"))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_api_analyze_and_report_package_give_identical_metrics(paths: Paths, family: str) -> None:
    trial = trial_id(family)
    response = paths.client.get(f"/api/v1/trials/{trial}/metrics",
                                headers={"Authorization": f"Bearer {paths.token}"})
    assert response.status_code == 200, response.text
    from_api = response.json()
    from_analyze = json.loads(_cli(paths, "analyze", trial))
    from_report = _packaged_metrics(paths, trial)
    assert from_api["comparisons"], "a trial of each family has comparison metrics"
    assert from_api == from_analyze == from_report

"""Run the whole system on one machine: broker, ingest, API + dashboard, simulated gateways,
then metrics, verdicts and reports."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from innotrial.demo.broker import DemoBroker, free_port, start_demo_broker
from innotrial.demo.scenario import (
    TRIALS,
    gateway_config,
    pick_start_ms,
    trial_definition,
)
from telemetry.metrics import CriterionJson, read_metrics
from telemetry.settings import Settings

log = logging.getLogger(__name__)
Echo = Callable[[str], None]


@dataclass
class DemoOptions:
    """What the user asked the demo to do."""

    minutes: int = 30
    speed: float = 60.0
    exit_after_reports: bool = False
    broker_url: str | None = None
    broker_engine: str = "amqtt"
    port: int | None = None
    with_pdf: bool = True
    restart_broker_at_min: float | None = None
    """Restart the demo's own broker, losing its state, at this simulated minute."""


@dataclass
class TrialOutcome:
    """One trial's verdict and where its report went."""

    trial_id: str
    verdict: str
    expected: str
    why: str
    failed_criteria: list[str]
    report_dir: Path


@dataclass
class DemoResult:
    """Everything the demo produced."""

    outcomes: list[TrialOutcome] = field(default_factory=list)
    dashboard_url: str = ""
    admin_token: str = ""
    seconds: float = 0.0


@dataclass
class _Running:
    """Services the demo started, stopped in reverse order."""

    stoppers: list[tuple[str, Callable[[], None]]] = field(default_factory=list)

    def add(self, name: str, stop: Callable[[], None]) -> None:
        self.stoppers.append((name, stop))

    def stop_all(self, echo: Echo) -> None:
        for name, stop in reversed(self.stoppers):
            try:
                stop()
            except Exception:  # supervisor: one failing stop must not block the others
                log.exception("stopping %s failed", name)
            else:
                echo(f"  stopped {name}")
        self.stoppers.clear()


def _apply_trials(settings: Settings, start_ms: int, end_ms: int) -> list[Any]:
    from registry.apply import apply_trial
    from registry.db import registry_session
    from telemetry.trial_spec import parse_trial_spec

    specs = [parse_trial_spec(trial_definition(t, start_ms, end_ms), t.trial_id) for t in TRIALS]
    with registry_session(settings.effective_database_url) as session:
        for spec in specs:
            apply_trial(session, spec)
    return specs


def _admin_token(settings: Settings) -> str:
    """A fresh token for the demo's admin user (created on the first run)."""
    from portal_api.auth import create_user, issue_token, user_by_name
    from registry.db import registry_session

    with registry_session(settings.effective_database_url) as session:
        user = user_by_name(session, "demo-admin")
        if user is None:
            return create_user(session, "demo-admin", "admin")[1]
        return issue_token(session, user)


def _start_ingest(settings: Settings, broker: str, mqtt_version: int, running: _Running) -> Any:
    from ingest.config import IngestConfig
    from ingest.worker import IngestWorker

    config = IngestConfig.from_settings(
        settings, broker_url=broker, client_id="innotrial-demo-ingest", mqtt_version=mqtt_version
    )
    worker = IngestWorker(config)
    worker.start()
    running.add("ingest", worker.stop)
    return worker


def _start_api(settings: Settings, port: int, running: _Running) -> str:
    import uvicorn

    from portal_api.app import create_app

    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=3
        )
    )
    thread = threading.Thread(target=server.run, name="demo-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    running.add("portal API", stop)
    return f"http://127.0.0.1:{port}"


def _start_gateways(
    options: DemoOptions, broker: str, data_dir: Path, start_ms: int, running: _Running
) -> list[threading.Thread]:
    from gateway.config import parse_config
    from gateway.runner import run_gateway

    stop_event = threading.Event()
    threads = []
    buffer_dir = data_dir / "demo-gateways"
    buffer_dir.mkdir(parents=True, exist_ok=True)
    for trial in TRIALS:
        config = parse_config(
            gateway_config(trial, broker, buffer_dir, start_ms, options.speed), trial.gateway_id
        )
        thread = threading.Thread(
            target=run_gateway, args=(config, stop_event), name=trial.gateway_id, daemon=True
        )
        thread.start()
        threads.append(thread)

    def stop() -> None:
        stop_event.set()
        for thread in threads:
            thread.join(timeout=15)

    running.add("simulated gateways", stop)
    return threads


def _expected_counts(start_ms: int, end_ms: int) -> dict[str, int]:
    """Readings each device will have produced by the end of the window."""
    from gateway.drivers.simulator.driver import simulate

    counts: dict[str, int] = {}
    for trial in TRIALS:
        config = gateway_config(trial, "mqtt://127.0.0.1:1", Path("."), start_ms, 1.0)
        for device in config["devices"]:
            readings = simulate(
                device["profile"], device["settings"], start_ms, end_ms, device["id"]
            )
            counts[device["id"]] = len(readings)
    return counts


def _wait_for_data(
    settings: Settings,
    expected: dict[str, int],
    start_ms: int,
    end_ms: int,
    options: DemoOptions,
    echo: Echo,
    broker: DemoBroker | None = None,
) -> None:
    """Show progress until every device's readings of the window are stored (restarting the
    broker on the way when asked)."""
    from telemetry.store import open_store

    store = open_store(settings.effective_store_url)
    total = sum(expected.values())
    real_s = (end_ms - start_ms) / 1000 / options.speed
    deadline = time.monotonic() + real_s * 2 + 60
    began = time.monotonic()
    interactive = sys.stdout.isatty()
    try:
        while True:
            stored = sum(min(n, store.count(d, start_ms, end_ms)) for d, n in expected.items())
            elapsed = time.monotonic() - began
            sim_min = min(options.minutes, elapsed * options.speed / 60)
            restart_at = options.restart_broker_at_min
            if broker is not None and restart_at is not None and sim_min >= restart_at:
                echo(f"  restarting the broker at simulated minute {sim_min:.1f} (state lost)\n")
                broker.restart()
                broker = None
            bar = "#" * int(30 * stored / max(total, 1))
            line = (
                f"  simulated {sim_min:5.1f}/{options.minutes} min  "
                f"stored {stored:>7}/{total} readings [{bar:<30}]"
            )
            done = stored >= total or time.monotonic() > deadline
            if interactive:
                echo("\r" + line + ("\n" if done else ""))
            elif done or int(elapsed) % 10 == 0:
                echo(line + "\n")
            if done:
                break
            time.sleep(1.0)
        if stored < total:
            echo(f"  warning: {total - stored} readings did not arrive in time\n")
    finally:
        store.close()


def _analyze_and_report(
    settings: Settings, specs: list[Any], options: DemoOptions
) -> list[TrialOutcome]:
    """Build and publish each trial's report; its metrics.json carries the verdict printed."""
    from registry.db import registry_session
    from registry.queries import rejected_counts
    from reports.build import build_report
    from reports.publish import publish_version
    from reports.versions import reports_root
    from telemetry.store import open_store

    store = open_store(settings.effective_store_url)
    out_dir = reports_root(settings.data_dir)
    outcomes = []
    try:
        for spec, trial in zip(specs, TRIALS, strict=True):
            with registry_session(settings.effective_database_url) as session:
                rejected = rejected_counts(session, [d.id for d in spec.trial.devices])
            result = build_report(
                spec,
                store,
                rejected,
                out_dir,
                settings.data_dir,
                now_ms=spec.trial.end_ms,
                with_pdf=options.with_pdf,
            )
            with registry_session(settings.effective_database_url) as session:
                publish_version(session, settings.data_dir, spec.trial.id, result.version, "demo")
            metrics = read_metrics(result.paths["metrics.json"])
            outcomes.append(
                TrialOutcome(
                    spec.trial.id,
                    str(metrics["verdict"]),
                    trial.expected_verdict,
                    trial.why,
                    _unmet(metrics["criteria"]),
                    result.paths["dir"],
                )
            )
    finally:
        store.close()
    return outcomes


def _fmt(value: object) -> str:
    return "null" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def _stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _unmet(criteria: list[CriterionJson]) -> list[str]:
    """One line per criterion that did not pass."""
    return [
        f"{c['metric']} [{c['subject']}] = {_fmt(c['actual'])} (needs {c['op']} {c['value']:g})"
        for c in criteria
        if c["pass"] is not True
    ]


def run_demo(settings: Settings, options: DemoOptions, echo: Echo | None = None) -> DemoResult:
    """Run the demo; returns when the reports are built (and, unless --exit, on Ctrl-C)."""
    say: Echo = echo or _stdout
    began = time.monotonic()
    result = DemoResult()
    running = _Running()
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    now_ms = int(time.time() * 1000)
    start_ms = pick_start_ms(now_ms, options.minutes, options.speed)
    end_ms = start_ms + options.minutes * 60_000
    try:
        broker: DemoBroker | None = None
        if options.broker_url:
            broker_url, mqtt_version = options.broker_url, 5
            say(f"broker      {broker_url} (given)\n")
        else:
            broker = start_demo_broker(options.broker_engine)
            running.add(f"broker ({broker.engine})", broker.stop)
            broker_url = broker.url
            mqtt_version = 4 if "amqtt" in broker.engine else 5
            say(f"broker      {broker_url}  {broker.engine}\n")
        specs = _apply_trials(settings, start_ms, end_ms)
        say(f"registry    {settings.effective_database_url}  ({len(specs)} trials applied)\n")
        _start_ingest(settings, broker_url, mqtt_version, running)
        say(f"ingest      -> {settings.effective_store_url}\n")
        result.admin_token = _admin_token(settings)
        result.dashboard_url = _start_api(settings, options.port or free_port(), running)
        say(f"dashboard   {result.dashboard_url}/  (token {result.admin_token})\n")
        _start_gateways(options, broker_url, data_dir, start_ms, running)
        say(f"gateways    {len(TRIALS)} simulated, {options.minutes} min at {options.speed:g}x\n")
        expected = _expected_counts(start_ms, end_ms)
        _wait_for_data(settings, expected, start_ms, end_ms, options, say, broker)
        say("analysing and building reports ...\n")
        result.outcomes = _analyze_and_report(settings, specs, options)
        _print_outcomes(result.outcomes, say)
        result.seconds = time.monotonic() - began
        say(f"demo ready in {result.seconds:.1f} s\n")
        if not options.exit_after_reports:
            say(f"\nserving the dashboard at {result.dashboard_url}/ — Ctrl-C to stop\n")
            say(f"published reports, no sign-in: {result.dashboard_url}/public/reports\n")
            _serve_forever()
    except KeyboardInterrupt:
        say("\ninterrupted\n")
    finally:
        say("shutting down\n")
        running.stop_all(lambda text: say(text + "\n"))
    return result


def _serve_forever() -> None:
    while True:
        time.sleep(3600)


def _print_outcomes(outcomes: list[TrialOutcome], say: Echo) -> None:
    say("\n")
    for outcome in outcomes:
        say(f"{outcome.trial_id:<14} verdict {outcome.verdict.upper():<18} {outcome.why}\n")
        for line in outcome.failed_criteria:
            say(f"{'':<14}   not met: {line}\n")
        say(f"{'':<14}   report: {outcome.report_dir}/report.html\n")
    say("\n")

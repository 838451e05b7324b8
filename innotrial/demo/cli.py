"""`innotrial demo`: the whole system on one machine."""

from __future__ import annotations

import click

from innotrial.demo.run import DemoOptions, run_demo
from telemetry.broker_url import BadBrokerUrl, parse_broker_url
from telemetry.cli_context import settings_from_context
from telemetry.errors import UserError


@click.command()
@click.option(
    "--minutes",
    type=click.IntRange(5, 7 * 24 * 60),
    default=30,
    show_default=True,
    help="Simulated minutes of trial data.",
)
@click.option(
    "--speed",
    type=click.FloatRange(1, 100_000),
    default=60.0,
    show_default=True,
    help="Simulated seconds per real second.",
)
@click.option(
    "--exit",
    "exit_after_reports",
    is_flag=True,
    help="Stop after building the reports instead of serving the dashboard.",
)
@click.option(
    "--broker",
    "broker_url",
    default=None,
    help="Use this broker (mqtt://HOST:PORT) instead of starting one.",
)
@click.option(
    "--broker-engine",
    type=click.Choice(["amqtt", "mosquitto", "auto"]),
    default="amqtt",
    show_default=True,
    help="Broker to start when --broker is not given.",
)
@click.option(
    "--store", "store_url", default=None, help="Store URL (default: SQLite in the data dir)."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port of the portal API and dashboard (default: a free port).",
)
@click.option("--no-pdf", is_flag=True, help="Skip printing the reports to PDF.")
@click.option(
    "--restart-broker-at",
    "restart_broker_at_min",
    type=click.FloatRange(0),
    default=None,
    help="Restart the demo's broker, losing all its state, at this simulated minute "
    "(shows that no reading is lost).",
)
@click.pass_context
def demo(
    ctx: click.Context,
    minutes: int,
    speed: float,
    exit_after_reports: bool,
    broker_url: str | None,
    broker_engine: str,
    store_url: str | None,
    port: int | None,
    no_pdf: bool,
    restart_broker_at_min: float | None,
) -> None:
    """Run broker, ingest, API + live dashboard and a simulated site; then metrics and reports."""
    settings = settings_from_context(ctx, store_url=store_url)
    if broker_url is not None:
        try:
            parse_broker_url(broker_url)
        except BadBrokerUrl as exc:
            raise UserError(f"--broker: {broker_url!r} {exc.problem}") from exc
    options = DemoOptions(
        minutes=minutes,
        speed=speed,
        exit_after_reports=exit_after_reports,
        broker_url=broker_url,
        broker_engine=broker_engine,
        port=port,
        with_pdf=not no_pdf,
        restart_broker_at_min=restart_broker_at_min,
    )
    result = run_demo(settings, options)
    if len(result.outcomes) != 4:
        raise click.exceptions.Exit(1)

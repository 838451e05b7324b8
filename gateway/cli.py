"""`innotrial gateway run | check | status`."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import click

from gateway.config import load_config
from gateway.errors import GatewayBufferError
from telemetry.errors import EXIT_FAILURE, UserError

CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Gateway YAML file.",
)


@click.group()
def gateway() -> None:
    """Edge gateway: drivers -> durable buffer -> MQTT."""


@gateway.command()
@CONFIG_OPTION
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
def run(config_path: Path, log_level: str) -> None:
    """Run the gateway until SIGTERM or Ctrl-C, then stop cleanly."""
    from gateway.runner import run_gateway

    config = load_config(config_path)
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("gateway").info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        run_gateway(config, stop)
    except GatewayBufferError as exc:
        raise UserError(str(exc), exit_code=EXIT_FAILURE) from exc


@gateway.command()
@CONFIG_OPTION
def check(config_path: Path) -> None:
    """Validate the config, then test the clock, broker, buffer and every device."""
    from gateway.check import format_table, run_checks

    config = load_config(config_path)
    results = run_checks(config, str(config_path))
    click.echo(format_table(results))
    if not all(result.ok for result in results):
        sys.exit(1)


@gateway.command()
@CONFIG_OPTION
def status(config_path: Path) -> None:
    """Buffer depth, oldest unsent age, per-device last seq and dropped counts."""
    from gateway.buffer import Buffer
    from gateway.status import format_status

    config = load_config(config_path)
    if not config.buffer_path.exists():
        click.echo(f"no buffer at {config.buffer_path} yet (the gateway has not run)")
        return
    buffer = Buffer(config.buffer_path, config.buffer_max_bytes)
    try:
        click.echo(format_status(buffer.stats(), time.time_ns() // 1_000_000))
    finally:
        buffer.close()

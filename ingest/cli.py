"""`innotrial ingest`, `innotrial readings import|export` and `innotrial dead-letters`."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO

import click
import orjson

from device_profiles import get_profile
from ingest.config import IngestConfig
from ingest.errors import BrokerRefused, BrokerUnavailable, WriterFailed
from ingest.export import (
    EXPORT_FORMATS,
    export_chunks,
    export_columns,
    iter_export_frames,
)
from ingest.importer import ImportFileError, import_csv
from ingest.logfmt import configure_logging
from ingest.worker import IngestWorker, tune_gc_for_throughput
from innotrial.context import settings_from_context
from innotrial.errors import EXIT_CONFIG, EXIT_FAILURE, UserError
from registry.db import Registry, open_registry
from registry.dead_letters import dead_letter_dict, list_dead_letters
from registry.queries import UnknownTrial, get_trial_spec
from telemetry.broker_url import BadBrokerUrl
from telemetry.store import BadStoreUrl, open_store

MAX_MS = 2**62


@click.command()
@click.option("--broker", "broker_url", default=None, help="mqtt://HOST:PORT (default: setting).")
@click.option("--store", "store_url", default=None, help="sqlite:///PATH or influxdb://HOST:PORT/DB.")
@click.option("--metrics-port", type=int, default=None, help="Serve Prometheus /metrics here.")
@click.option("--client-id", default=None, help="MQTT client id of the persistent session.")
@click.option("--shared-group", default=None, help="Share the readings subscription in this group.")
@click.pass_context
def ingest(ctx: click.Context, broker_url: str | None, store_url: str | None,
           metrics_port: int | None, client_id: str | None, shared_group: str | None) -> None:
    """Consume readings from MQTT, validate them and store them exactly once."""
    ingest_overrides = {k: v for k, v in {"client_id": client_id, "shared_group": shared_group,
                                          "metrics_port": metrics_port}.items() if v is not None}
    settings = settings_from_context(ctx, broker_url=broker_url, store_url=store_url)
    if ingest_overrides:
        merged = settings.ingest.model_dump() | ingest_overrides
        settings = settings_from_context(ctx, broker_url=broker_url, store_url=store_url,
                                         ingest=merged)
    configure_logging(settings.log_level)
    tune_gc_for_throughput()
    worker = IngestWorker(IngestConfig.from_settings(settings))
    try:
        worker.start()
    except BadStoreUrl as exc:
        raise UserError(f"settings: store_url: {exc.problem} (got {exc.url!r})") from exc
    except BadBrokerUrl as exc:
        raise UserError(f"settings: broker_url: {exc.problem} (got {exc.url!r})") from exc
    except BrokerRefused as exc:
        raise UserError(str(exc), EXIT_CONFIG) from exc
    except BrokerUnavailable as exc:
        raise UserError(f"{exc} (is the broker running?)", EXIT_FAILURE) from exc
    _run_until_signalled(worker)


def _run_until_signalled(worker: IngestWorker) -> None:
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    failed: WriterFailed | None = None
    while not stop.is_set():
        try:
            if worker.wait(0.5):
                break
        except WriterFailed as exc:
            failed = exc
            break
    worker.stop()
    if failed is not None:
        raise UserError(str(failed), EXIT_FAILURE)


@click.group()
def readings() -> None:
    """Import readings from CSV files and export a trial's readings."""


def _trial_devices(ctx: click.Context,
                   trial_id: str) -> tuple[Registry, dict[str, tuple[str, str]]]:
    """The registry (open) and the trial's devices: id -> (profile, gateway)."""
    settings = settings_from_context(ctx)
    registry = open_registry(settings.effective_database_url)
    try:
        with registry.session() as session:
            spec = get_trial_spec(session, trial_id)
    except UnknownTrial as exc:
        registry.close()
        raise UserError(str(exc)) from exc
    devices = {d.id: (d.profile, d.gateway) for d in spec.trial.devices}
    return registry, devices


@readings.command("import")
@click.argument("trial_id")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--device-id", required=True, help="Device the file's readings belong to.")
@click.pass_context
def import_command(ctx: click.Context, trial_id: str, file: Path, device_id: str) -> None:
    """Import a CSV file (ts_ms plus profile fields) through the same validation as MQTT."""
    settings = settings_from_context(ctx)
    registry, devices = _trial_devices(ctx, trial_id)
    if device_id not in devices:
        raise UserError(f"device {device_id!r} is not in trial {trial_id!r} "
                        f"(devices: {', '.join(sorted(devices))})")
    profile_name, gateway_id = devices[device_id]
    store = open_store(settings.effective_store_url)
    try:
        counts = import_csv(file, device_id, gateway_id, get_profile(profile_name), store,
                            registry, time.time_ns() // 1_000_000)
    except ImportFileError as exc:
        raise UserError(str(exc)) from exc
    finally:
        store.close()
        registry.close()
    click.echo(f"rows={counts.rows} stored={counts.stored} duplicates={counts.duplicates} "
               f"rejected={counts.rejected}")


@readings.command("export")
@click.argument("trial_id")
@click.option("--device-id", default=None, help="Only this device (default: every device).")
@click.option("--start-ms", type=int, default=None, help="From this ts_ms (default: no limit).")
@click.option("--end-ms", type=int, default=None, help="Before this ts_ms (default: no limit).")
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="csv")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Output file (default: standard output).")
@click.pass_context
def export_command(ctx: click.Context, trial_id: str, device_id: str | None, start_ms: int | None,
                   end_ms: int | None, fmt: str, out: Path | None) -> None:
    """Stream a trial's readings as CSV, JSON lines or Parquet."""
    settings = settings_from_context(ctx)
    registry, devices = _trial_devices(ctx, trial_id)
    registry.close()
    if device_id is not None and device_id not in devices:
        raise UserError(f"device {device_id!r} is not in trial {trial_id!r}")
    chosen = [device_id] if device_id is not None else list(devices)
    columns = export_columns(get_profile(devices[d][0]) for d in chosen)
    store = open_store(settings.effective_store_url)
    frames = iter_export_frames(store, chosen, columns, start_ms or 0, end_ms or MAX_MS)
    try:
        if out is None:
            _write_all(sys.stdout.buffer, export_chunks(fmt, frames, columns))
        else:
            with out.open("wb") as handle:
                _write_all(handle, export_chunks(fmt, frames, columns))
    finally:
        store.close()


def _write_all(handle: IO[bytes], chunks: Iterable[bytes]) -> None:
    for chunk in chunks:
        handle.write(chunk)
    handle.flush()


@click.command("dead-letters")
@click.option("--gateway-id", default=None, help="Only this gateway.")
@click.option("--device-id", default=None, help="Only this device.")
@click.option("--reason", default=None, help="Only this reason code.")
@click.option("--limit", type=int, default=1000, show_default=True, help="Newest N dead letters.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def dead_letters(ctx: click.Context, gateway_id: str | None, device_id: str | None,
                 reason: str | None, limit: int, fmt: str) -> None:
    """List dead letters (rejected readings and messages), newest first."""
    settings = settings_from_context(ctx)
    registry = open_registry(settings.effective_database_url)
    try:
        with registry.session() as session:
            rows = [dead_letter_dict(row) for row in list_dead_letters(
                session, gateway_id=gateway_id, device_id=device_id, reason=reason, limit=limit)]
    finally:
        registry.close()
    if fmt == "json":
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    click.echo(f"{'received (UTC)':<24} {'reason':<22} {'gateway':<16} {'device':<16} "
               f"{'seq':>8} {'ts_ms':>14}  detail")
    for row in rows:
        click.echo(_table_row(row))
    click.echo(f"{len(rows)} dead letter(s)")


def _table_row(row: dict[str, object]) -> str:
    when = datetime.fromtimestamp(int(str(row["received_ms"])) / 1000, UTC)
    seq = "-" if row["seq"] is None else str(row["seq"])
    ts_ms = "-" if row["ts_ms"] is None else str(row["ts_ms"])
    return (f"{when:%Y-%m-%d %H:%M:%S}.{when.microsecond // 1000:03d}  "
            f"{row['reason']!s:<22} {row['gateway_id'] or '-'!s:<16} "
            f"{row['device_id'] or '-'!s:<16} {seq:>8} {ts_ms:>14}  {str(row['detail'])[:100]}")

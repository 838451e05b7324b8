"""`innotrial analyze TRIAL_ID`: print a trial's metrics JSON."""

from __future__ import annotations

import json

import click

from analytics.model import UnknownMetric
from analytics.runner import analyze_trial
from registry.db import open_registry
from registry.errors import RegistryUnavailable
from registry.queries import UnknownTrial, get_trial_spec, rejected_counts
from telemetry.cli_context import settings_from_context
from telemetry.errors import EXIT_FAILURE, UserError
from telemetry.store import open_store
from telemetry.trial_spec import TrialSpecError


@click.command("analyze")
@click.argument("trial_id")
@click.option(
    "--now-ms", type=int, default=None, help="Treat this epoch ms as now (default: clock)."
)
@click.pass_context
def analyze(ctx: click.Context, trial_id: str, now_ms: int | None) -> None:
    """Print the metrics JSON of TRIAL_ID (METRICS.md) computed from the store."""
    settings = settings_from_context(ctx)
    try:
        registry = open_registry(settings.effective_database_url)
    except RegistryUnavailable as exc:
        raise UserError(str(exc), exit_code=EXIT_FAILURE) from exc
    try:
        with registry.session() as session:
            spec = get_trial_spec(session, trial_id)
            rejected = rejected_counts(session, [d.id for d in spec.trial.devices])
    except (UnknownTrial, TrialSpecError) as exc:
        raise UserError(str(exc)) from exc
    finally:
        registry.close()
    with open_store(settings.effective_store_url) as store:
        try:
            metrics = analyze_trial(spec, store, rejected, now_ms=now_ms)
        except UnknownMetric as exc:
            raise UserError(f"trial {trial_id}: {exc}") from exc
    click.echo(json.dumps(metrics, indent=2, allow_nan=False))

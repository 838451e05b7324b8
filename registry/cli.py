"""`innotrial trial apply FILE` and friends."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from innotrial.context import settings_from_context
from innotrial.errors import UserError
from registry.apply import apply_trial
from registry.db import registry_session
from registry.queries import get_trial_spec, trial_ids
from registry.trial_spec import TrialSpecError, load_trial_file, trial_to_yaml


@click.group()
def trial() -> None:
    """Trials: apply a trial definition, list and show trials."""


def _cli_actor() -> str:
    """Who applies a file from the command line (the exclusion audit trail's `actor`)."""
    try:
        return f"trial apply (cli: {getpass.getuser()})"
    except (OSError, KeyError):
        return "trial apply (cli)"


@trial.command("apply")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_context
def apply_command(ctx: click.Context, file: Path) -> None:
    """Create or update the registry from a trial YAML file (idempotent)."""
    settings = settings_from_context(ctx)
    try:
        spec = load_trial_file(file)
    except TrialSpecError as exc:
        raise UserError(str(exc)) from exc
    try:
        with registry_session(settings.effective_database_url) as session:
            changes = apply_trial(session, spec, _cli_actor())
    except TrialSpecError as exc:
        raise UserError(str(exc)) from exc
    for change in changes:
        click.echo(change)
    click.echo(
        f"trial {spec.trial.id}: {len(changes)} change(s)"
        if changes
        else f"trial {spec.trial.id}: unchanged"
    )


@trial.command("list")
@click.pass_context
def list_command(ctx: click.Context) -> None:
    """List trial ids."""
    settings = settings_from_context(ctx)
    with registry_session(settings.effective_database_url) as session:
        for trial_id in trial_ids(session):
            click.echo(trial_id)


@trial.command("show")
@click.argument("trial_id")
@click.pass_context
def show_command(ctx: click.Context, trial_id: str) -> None:
    """Print a trial's definition as YAML."""
    settings = settings_from_context(ctx)
    try:
        with registry_session(settings.effective_database_url) as session:
            spec = get_trial_spec(session, trial_id)
    except KeyError as exc:
        raise UserError(str(exc)) from exc
    click.echo(trial_to_yaml(spec), nl=False)

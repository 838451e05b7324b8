"""`innotrial report build TRIAL_ID --out DIR`, `report verify PACKAGE`, `report publish TRIAL`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from innotrial.context import settings_from_context
from innotrial.errors import EXIT_FAILURE, UserError
from registry.db import open_registry
from registry.queries import UnknownTrial, get_trial_spec, rejected_counts
from reports.compare import show
from reports.errors import KeyProblem, UnusablePackage
from reports.signing import public_key_pem
from reports.verify import VerifyResult, choose_key, verify_package
from telemetry.store import open_store


@click.group()
def report() -> None:
    """Verified reports: build a report and signed data package, verify a package."""


@report.command("build")
@click.argument("trial_id")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Output folder; the issue goes to OUT/<trial_id>/v<n>/.")
@click.option("--version-note", default=None, help="Why this version was issued (shown in it).")
@click.option("--no-pdf", is_flag=True, help="Skip printing report.pdf with Chromium.")
@click.pass_context
def build_command(ctx: click.Context, trial_id: str, out_dir: Path, version_note: str | None,
                  no_pdf: bool) -> None:
    """Build report.html, report.pdf and the signed package.zip of a trial."""
    from reports.build import build_report

    settings = settings_from_context(ctx)
    registry = open_registry(settings.effective_database_url)
    try:
        with registry.session() as session:
            spec = get_trial_spec(session, trial_id)
            devices = [device.id for device in spec.trial.devices]
            rejected = rejected_counts(session, devices)
    except UnknownTrial as exc:
        raise UserError(str(exc)) from exc
    finally:
        registry.close()
    with open_store(settings.effective_store_url) as store:
        result = build_report(spec, store, rejected, out_dir, settings.data_dir,
                              version_note=version_note, with_pdf=not no_pdf)
    if result.unchanged:
        click.echo(f"{trial_id}: data unchanged since v{result.version}; nothing re-issued")
    for name, path in sorted(result.paths.items()):
        click.echo(f"{name}: {path}")
    click.echo(f"version: v{result.version}")
    click.echo(f"verdict: {result.verdict}")
    click.echo(f"package sha256: {result.package_sha256}")
    if result.timings_s:
        click.echo("timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in result.timings_s.items()))
    if result.pdf_problem:
        click.echo(f"warning: no PDF: {result.pdf_problem}", err=True)


def _print_result(result: VerifyResult, verbose: bool) -> None:
    click.echo(f"key: {result.key_label}")
    click.echo("signature: " + ("ok" if result.signature_ok else
                                "INVALID (manifest.json was not signed by this key)"))
    for path, problem in result.file_problems:
        click.echo(f"file mismatch: {path}: {problem}")
    click.echo(f"files: {result.files_checked - len(result.file_problems)} of "
               f"{result.files_checked} match the manifest")
    if result.recompute_problem:
        click.echo(f"metrics: cannot recompute: {result.recompute_problem}")
        return
    for row in result.metric_rows:
        if not row.match:
            click.echo(f"metric mismatch: {row.path}: package {show(row.right)}, "
                       f"recomputed {show(row.left)}")
        elif verbose:
            click.echo(f"metric match: {row.path} = {show(row.right)}")
    matched = len(result.metric_rows) - len(result.mismatches)
    click.echo(f"metrics: {matched} match, {len(result.mismatches)} mismatch")


@report.command("verify")
@click.argument("package", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--public-key", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Issuer's public key (PEM). Default: the issuer key in the local data dir.")
@click.option("--quiet", is_flag=True, help="Only print mismatches and the summary.")
@click.pass_context
def verify_command(ctx: click.Context, package: Path, public_key: Path | None,
                   quiet: bool) -> None:
    """Check signature, file hashes and recomputed metrics; exit 0 only if all match."""
    settings = settings_from_context(ctx)
    try:
        key, label = choose_key(public_key, settings.data_dir)
        result = verify_package(package, key, label)
    except (KeyProblem, UnusablePackage) as exc:
        raise UserError(str(exc)) from exc
    _print_result(result, verbose=not quiet)
    click.echo("VERIFIED" if result.ok else "NOT VERIFIED")
    if not result.ok:
        sys.exit(EXIT_FAILURE)


@report.command("publish")
@click.argument("trial_id")
@click.option("--version", "version", type=click.IntRange(min=1), default=None,
              help="Issued version to publish (default: the newest issued).")
@click.option("--reports", "reports_dir", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="Where versions were issued (default: DATA_DIR/reports).")
@click.option("--by", "published_by", default=None,
              help="Who publishes, as recorded (default: $USER, or 'cli').")
@click.pass_context
def publish_command(ctx: click.Context, trial_id: str, version: int | None,
                    reports_dir: Path | None, published_by: str | None) -> None:
    """Make an issued report version public and immutable (the trial becomes published)."""
    import getpass

    from reports.publish import NotIssued, publish_version

    settings = settings_from_context(ctx)
    who = published_by or f"cli:{getpass.getuser() or 'unknown'}"
    registry = open_registry(settings.effective_database_url)
    try:
        with registry.session() as session:
            result = publish_version(session, settings.data_dir, trial_id, version, who,
                                     reports_dir=reports_dir)
    except (UnknownTrial, NotIssued) as exc:
        raise UserError(str(exc)) from exc
    finally:
        registry.close()
    if result.already_published:
        click.echo(f"{trial_id}: v{result.version} was already published; nothing changed")
        return
    click.echo(f"{trial_id}: published v{result.version}")
    if result.supersedes is not None:
        click.echo(f"supersedes: v{result.supersedes}")
    click.echo(f"notifications queued: {result.notified}")
    click.echo(f"public page: /public/trials/{trial_id}")


@report.command("public-key")
@click.pass_context
def public_key_command(ctx: click.Context) -> None:
    """Print the issuer's public key (PEM), creating the key pair on first use."""
    settings = settings_from_context(ctx)
    click.echo(public_key_pem(settings.data_dir).decode("ascii"), nl=False)

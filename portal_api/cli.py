"""`innotrial api`, `innotrial users ...` and `innotrial broker config`."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from registry.db import registry_session
from registry.errors import RegistryConflict
from telemetry.cli_context import settings_from_context
from telemetry.errors import UserError


@click.command()
@click.option("--host", default=None, help="Interface to listen on (default: api.host).")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="TCP port.")
@click.option("--migrate", is_flag=True,
              help="Upgrade the registry schema (alembic upgrade head) and exit.")
@click.pass_context
def api(ctx: click.Context, host: str | None, port: int | None, migrate: bool) -> None:
    """Serve the portal API (and the live dashboard) with uvicorn."""
    settings = settings_from_context(ctx)
    if migrate:
        from registry.migrate import upgrade_registry

        revision = upgrade_registry(settings.effective_database_url)
        click.echo(f"registry schema at revision {revision}")
        return
    import uvicorn

    from portal_api.app import create_app

    api_settings = settings.api.model_copy(
        update={k: v for k, v in {"host": host, "port": port}.items() if v is not None})
    settings = settings.model_copy(update={"api": api_settings})
    app = create_app(settings)
    # Live dashboard streams are open responses: bound how long shutdown waits for them.
    uvicorn.run(app, host=api_settings.host, port=api_settings.port,
                log_level=settings.log_level.lower(), timeout_graceful_shutdown=3)


@click.group()
def users() -> None:
    """Portal users and their API tokens."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, help="admin, assessor, field_engineer, provider or viewer.")
@click.option("--provider", "provider_id", default=None, help="Provider id (role provider).")
@click.pass_context
def add_user(ctx: click.Context, name: str, role: str, provider_id: str | None) -> None:
    """Create a user; prints the new API token alone on the last line (shown only once)."""
    from portal_api.auth import PROVIDER, UnknownRole, create_user

    if role == PROVIDER and not provider_id:
        raise UserError("--provider PROVIDER_ID is required for role provider")
    if role != PROVIDER and provider_id:
        raise UserError("--provider is only for role provider")
    settings = settings_from_context(ctx)
    try:
        with registry_session(settings.effective_database_url) as session:
            user, token = create_user(session, name, role, provider_id)
            user_id = user.id
    except UnknownRole as exc:
        raise UserError(str(exc)) from exc
    except RegistryConflict as exc:
        raise UserError(f"user {name!r} already exists") from exc
    click.echo(f"created user {name} (id {user_id}, role {role}"
               f"{', provider ' + provider_id if provider_id else ''}); API token:")
    click.echo(token)


@users.command("token")
@click.argument("name")
@click.pass_context
def new_token(ctx: click.Context, name: str) -> None:
    """Issue another API token for a user; prints it alone on the last line."""
    from portal_api.auth import issue_token, user_by_name

    settings = settings_from_context(ctx)
    with registry_session(settings.effective_database_url) as session:
        user = user_by_name(session, name)
        if user is None:
            raise UserError(f"no user {name!r}")
        token = issue_token(session, user)
    click.echo(f"new API token for {name}:")
    click.echo(token)


@users.command("revoke")
@click.argument("name")
@click.pass_context
def revoke(ctx: click.Context, name: str) -> None:
    """Revoke every API token of a user."""
    from portal_api.auth import user_by_name
    from registry.users import ApiToken

    settings = settings_from_context(ctx)
    with registry_session(settings.effective_database_url) as session:
        user = user_by_name(session, name)
        if user is None:
            raise UserError(f"no user {name!r}")
        tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all()
        for token in tokens:
            token.revoked = True
    click.echo(f"revoked {len(tokens)} token(s) of {name}")


@users.command("list")
@click.pass_context
def list_users(ctx: click.Context) -> None:
    """List users: name, role, provider."""
    from registry.users import User

    settings = settings_from_context(ctx)
    with registry_session(settings.effective_database_url) as session:
        for user in session.scalars(select(User).order_by(User.name)):
            click.echo(f"{user.name}\t{user.role}\t{user.provider_id or '-'}")


@click.group()
def broker() -> None:
    """MQTT broker configuration generated from the registry."""


@broker.command("config")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Directory for passwords, acl, mosquitto.conf and credentials.yaml.")
@click.option("--ingest-user", default="innotrial-ingest", show_default=True)
@click.pass_context
def broker_config(ctx: click.Context, out_dir: Path, ingest_user: str) -> None:
    """Write Mosquitto password and ACL files: each gateway publishes only under its own prefix."""
    from portal_api.broker import BrokerConfigError, write_broker_config

    settings = settings_from_context(ctx)
    try:
        with registry_session(settings.effective_database_url) as session:
            files = write_broker_config(session, out_dir.resolve(), ingest_user)
    except BrokerConfigError as exc:
        raise UserError(str(exc)) from exc
    click.echo(f"{len(files.gateway_ids)} gateway(s) + ingest user {ingest_user!r}")
    click.echo(f"password file: {files.password_file}")
    click.echo(f"ACL file:      {files.acl_file}")
    click.echo(f"conf snippet:  {files.conf_file} (include it in mosquitto.conf)")
    click.echo(f"passwords (mode 0600, keep secret): {files.credentials_file}")

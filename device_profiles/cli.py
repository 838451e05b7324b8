"""`innotrial profiles list | show NAME | validate FILE...`."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from device_profiles.loader import builtin_profiles, get_profile, load_profile_file


@click.group()
def profiles() -> None:
    """Device profiles: the fields each device family sends."""


@profiles.command("list")
def list_profiles() -> None:
    """List the shipped profiles."""
    rows = [
        (
            p.name,
            p.family.value,
            "/".join(r.value for r in p.roles),
            f"periodic {p.period_s:g} s" if p.period_s else "event",
        )
        for p in builtin_profiles().values()
    ]
    widths = [
        max(len(str(row[i])) for row in [("PROFILE", "FAMILY", "ROLES", "KIND"), *rows])
        for i in range(4)
    ]
    for row in [("PROFILE", "FAMILY", "ROLES", "KIND"), *rows]:
        click.echo(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )


@profiles.command("show")
@click.argument("name")
def show_profile(name: str) -> None:
    """Print a profile as YAML."""
    profile = get_profile(name)
    click.echo(
        yaml.safe_dump(
            profile.model_dump(mode="json", exclude_none=True), sort_keys=False, allow_unicode=True
        )
    )


@profiles.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate_profiles(files: tuple[Path, ...]) -> None:
    """Validate profile YAML files; exit 2 at the first broken file, naming every key at fault."""
    for path in files:
        profile = load_profile_file(path)
        click.echo(f"{path}: ok ({profile.name}, {len(profile.fields)} fields)")

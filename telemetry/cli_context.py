"""Helpers shared by subcommands: settings from the click context."""

from __future__ import annotations

from typing import Any

import click

from telemetry.settings import Settings, load_settings


def settings_from_context(
    ctx: click.Context, *, cwd_file: bool = True, **overrides: Any
) -> Settings:
    """Load Settings honouring the global --settings option and command-line overrides."""
    root = ctx.find_root()
    settings_file = (root.obj or {}).get("settings_file")
    return load_settings(settings_file, cwd_file=cwd_file, **overrides)

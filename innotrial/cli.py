"""The `innotrial` command line.

Each subcommand lives next to the code it drives and is imported only when used, so that
`innotrial gateway run` on a small edge box never imports pandas or FastAPI.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import click

from telemetry.errors import report_user_errors
from telemetry.version import __version__

# name -> "module:attribute" of a click command or group
COMMANDS: dict[str, str] = {
    "demo": "innotrial.demo.cli:demo",
    "profiles": "device_profiles.cli:profiles",
    "gateway": "gateway.cli:gateway",
    "ingest": "ingest.cli:ingest",
    "readings": "ingest.cli:readings",
    "dead-letters": "ingest.cli:dead_letters",
    "trial": "registry.cli:trial",
    "users": "portal_api.cli:users",
    "analyze": "innotrial.analyze:analyze",
    "report": "reports.cli:report",
    "api": "portal_api.cli:api",
    "broker": "portal_api.cli:broker",
}


def _module_exists(target: str) -> bool:
    module_name = target.partition(":")[0]
    try:
        return importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:
        return False


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def invoke(self, ctx: click.Context) -> object:
        with report_user_errors():
            return super().invoke(ctx)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, target in COMMANDS.items() if _module_exists(target))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or not _module_exists(target):
            return None
        module_name, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="innotrial")
@click.option(
    "--settings",
    "settings_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="YAML settings file (default: $INNOTRIAL_SETTINGS_FILE or ./innotrial.yaml).",
)
@click.pass_context
def cli(ctx: click.Context, settings_file: Path | None) -> None:
    """innotrial: field-trial telemetry from edge gateway to verified performance report."""
    ctx.ensure_object(dict)
    ctx.obj["settings_file"] = settings_file


def main() -> None:
    """Console entry point."""
    cli(standalone_mode=True)

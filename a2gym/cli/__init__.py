"""The ``a2gym`` console script (click). Each command group lives in its own module."""

from __future__ import annotations

import sys

import click

from a2gym import __version__
from a2gym.errors import A2GymError


class _Group(click.Group):
    """Turns a2gym's own errors into one clear line on stderr and exit code 2 (no traceback)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except A2GymError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="a2gym")
def main() -> None:
    """a2gym: geo-distributed DNN inference serving (joint model and data adaptation) as a benchmark."""


def _register() -> None:
    """Add every command group; a command module that fails to import fails the CLI (never skipped)."""
    from a2gym.cli import leaderboard_cmd, scenario_cmd, solve_cmd

    for mod in (scenario_cmd, solve_cmd, leaderboard_cmd):
        mod.register(main)


_register()

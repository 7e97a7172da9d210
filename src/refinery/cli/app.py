"""The Typer application and the options every command shares."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import RefineryError


class _Group(TyperGroup):
    """Turns a RefineryError from any command into ``error: <line>`` and its exit code.

    Doing it here, not only in ``main``, makes the console script and ``CliRunner`` behave alike.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except RefineryError as exc:
            if state.verbose:
                traceback.print_exc()
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from exc


app = typer.Typer(
    name="refinery",
    cls=_Group,
    help=(
        "Refinery turns one failing AI-agent trace and one line of expected behaviour into a "
        "diagnosis, ranked fixes to your prompt, eval and config files, and a safely applied "
        "change you can undo.\n\n"
        "Start with:  refinery analyze TRACE --project NAME --expected 'what should have happened'"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@dataclass
class CliState:
    """Global flags, set by the callback before any command runs."""

    verbose: bool = False


state = CliState()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"refinery {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Show tracebacks and log raw LLM prompts and responses."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    state.verbose = verbose

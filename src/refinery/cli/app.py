"""The Typer application and the options every command shares."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Any

import typer
import typer.exceptions
from typer.core import TyperGroup

from .. import __version__
from ..errors import EXIT_UNEXPECTED, RefineryError


class _Group(TyperGroup):
    """Turns any error from a command into one line on stderr and its exit code.

    A RefineryError becomes ``error: <line>`` and its own code (an outcome with code 0, such as a
    fix already applied, is a plain note); anything else is a bug: one line, the ``--verbose``
    hint and exit code 3. Doing it here, not only in ``main``, makes the console script and
    ``CliRunner`` behave alike.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.exceptions.TyperException):
            raise
        except RefineryError as exc:
            if state.verbose:
                traceback.print_exc()
            typer.echo(f"error: {exc}" if exc.exit_code else str(exc), err=True)
            raise typer.Exit(exc.exit_code) from exc
        except Exception as exc:
            if state.verbose:
                traceback.print_exc()
            typer.echo(unexpected(exc), err=True)
            raise typer.Exit(EXIT_UNEXPECTED) from exc


def unexpected(exc: BaseException) -> str:
    """The one line an unexpected error (a bug in Refinery) is reported with."""
    first = str(exc).strip().splitlines()
    detail = f": {first[0]}" if first else ""
    return (
        f"error: unexpected {type(exc).__name__}{detail} (an internal error: "
        "run with --verbose for the traceback and report it)"
    )


app = typer.Typer(
    name="refinery",
    cls=_Group,
    help=(
        "Refinery turns one failing AI-agent trace and one line of expected behaviour into a "
        "diagnosis, ranked fixes to your prompt, eval and config files, and a safely applied "
        "change you can undo.\n\n"
        "Start with:  refinery analyze TRACE --project NAME --expected 'what should have happened'"
        "\n\nExit codes: 0 success, 1 nothing actionable or apply refused, 2 usage or input "
        "error, 3 unexpected internal error (rerun with --verbose and report it)."
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
    _finish_interrupted()


def _finish_interrupted() -> None:
    """Settle an apply or undo that a crash interrupted, before any command runs; say how."""
    from ..config import load_settings
    from ..fixes.transaction import recover_pending

    note = recover_pending(load_settings())
    if note:
        typer.echo(f"note: {note}", err=True)

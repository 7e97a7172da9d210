"""The ``refinery`` command: parse flags, call one library function, render, exit.

Each command lives in its own module and registers itself on ``app``; heavy imports happen inside
the command body so that ``refinery --help`` starts fast. Only this package catches errors: a
RefineryError becomes ``error: <one line>`` on stderr with its exit code; anything else becomes one
line and a hint to rerun with ``--verbose`` for the traceback.
"""

from __future__ import annotations

import sys

from . import (  # noqa: F401  (each module registers its commands)
    analyze,
    apply_cmd,
    config_check,
    context_cmd,
    history_cmd,
    show_cmd,
    token_analysis,
    ui_cmd,
    undo_cmd,
    verify_cmd,
)
from .app import app, state, unexpected

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point: Typer handles usage errors (exit 2), we handle the rest."""
    from ..errors import EXIT_UNEXPECTED, RefineryError

    try:
        app(args=_apply_default(sys.argv[1:]))
    except RefineryError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:  # the last line of defence: one line, never a traceback by default
        if state.verbose:
            raise
        sys.stderr.write(unexpected(exc) + "\n")
        sys.exit(EXIT_UNEXPECTED)


def _apply_default(args: list[str]) -> list[str]:
    """``--apply`` without a number means the best valid fix (``best``; rank 0 internally)."""
    fixed: list[str] = []
    for index, arg in enumerate(args):
        fixed.append(arg)
        following = args[index + 1] if index + 1 < len(args) else ""
        if arg == "--apply" and not following.isdigit():
            fixed.append("best")
    return fixed


def _fail(message: str, code: int) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.exit(code)

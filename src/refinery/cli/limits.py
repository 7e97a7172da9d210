"""Limits on what loading a trace may cost, shared by every command that loads one.

``--max-trace-bytes``, ``--max-runs`` and ``--timeout`` are declared once so that their help and
defaults cannot drift apart between commands.

Each defaults to None on the command line, so that REFINERY_MAX_TRACE_BYTES, REFINERY_MAX_RUNS
and REFINERY_TIMEOUT apply when the flag is absent; the built-in defaults live in ``config``.
"""

from __future__ import annotations

import typer

from ..config import DEFAULT_MAX_RUNS, DEFAULT_MAX_TRACE_BYTES, DEFAULT_TIMEOUT_SECONDS

_LIMITS = "Limits on the trace"

MAX_TRACE_BYTES = typer.Option(
    None,
    "--max-trace-bytes",
    min=1,
    metavar="BYTES",
    help=f"Refuse trace files bigger than this, before reading them (default "
    f"{DEFAULT_MAX_TRACE_BYTES:,}; reading peaks at about 4x the file).",
    rich_help_panel=_LIMITS,
)
MAX_RUNS = typer.Option(
    None,
    "--max-runs",
    min=1,
    metavar="N",
    help=f"Stop fetching from LangSmith/Langfuse past this many runs, or about 2 pages per "
    f"100 runs (default {DEFAULT_MAX_RUNS:,}).",
    rich_help_panel=_LIMITS,
)
TIMEOUT = typer.Option(
    None,
    "--timeout",
    min=0.001,
    metavar="SECONDS",
    help=f"Give up on LangSmith/Langfuse when one request gets no answer for this long "
    f"(default {DEFAULT_TIMEOUT_SECONDS:g}).",
    rich_help_panel=_LIMITS,
)

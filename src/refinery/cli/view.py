"""The consoles every command prints through.

Results go to stdout, progress and errors to stderr (see ``progress_view``), so ``--json`` output
stays one clean object.
"""

from __future__ import annotations

from rich.console import Console


def stdout_console() -> Console:
    """The console for results."""
    return Console(highlight=False, soft_wrap=False)


def stderr_console() -> Console:
    """The console for progress and notes."""
    return Console(stderr=True, highlight=False)

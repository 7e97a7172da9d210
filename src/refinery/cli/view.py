"""Consoles and the stderr progress display shared by every command.

Results go to stdout, progress and errors to stderr, so ``--json`` output stays one clean object.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from ..progress import OnProgress, ProgressEvent


def stdout_console() -> Console:
    """The console for results."""
    return Console(highlight=False, soft_wrap=False)


def stderr_console() -> Console:
    """The console for progress and notes."""
    return Console(stderr=True, highlight=False)


@contextmanager
def console_progress() -> Iterator[OnProgress]:
    """A progress callback that shows the current step on stderr while the block runs."""
    console = stderr_console()
    if not console.is_terminal:
        yield _quiet
        return
    with console.status("starting…") as status:

        def show(event: ProgressEvent) -> None:
            counts = f" ({event.done:,}/{event.total:,})" if event.done and event.total else ""
            status.update(f"{event.message}{counts}")

        yield show


def _quiet(event: ProgressEvent) -> None:
    """Progress is not shown when stderr is not a terminal (scripts, CI)."""

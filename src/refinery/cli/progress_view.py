"""Progress on stderr: renders the library's ``ProgressEvent`` callbacks for a person.

On a terminal a Rich status spinner shows the latest event (with a percentage when the event says
how far along it is) and disappears when the work ends. Elsewhere (CI logs, pipes) only measured
work (events that carry a total: big files, paginated fetches) is written, each new message once,
as a plain ``stage: message`` line, so small runs stay quiet. Stdout stays clean for ``--json``.

Use it as a context manager around the library call::

    with progress_to(err_console) as on_progress:
        trace = load_trace(ref, settings, on_progress=on_progress)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.status import Status

from ..progress import OnProgress, ProgressEvent


def describe(event: ProgressEvent) -> str:
    """One line for an event: its message, with ``done/total`` as a percentage when known."""
    if event.total and event.done is not None:
        return f"{event.message} ({min(event.done / event.total, 1.0):.0%})"
    if event.done is not None:
        return f"{event.message} ({event.done:,})"
    return event.message


def progress_callback(console: Console, status: Status | None = None) -> OnProgress:
    """A callback updating ``status`` on a terminal, else writing each measured message once."""
    last: list[str] = []

    def on_progress(event: ProgressEvent) -> None:
        line = describe(event)
        if status is not None:
            status.update(line)
        elif event.total and (not last or last[-1] != event.message):
            console.print(f"{event.stage}: {line}", highlight=False, markup=False)
        last[:] = [event.message]

    return on_progress


@contextmanager
def progress_to(console: Console | None = None) -> Iterator[OnProgress]:
    """Render progress on ``console`` (stderr by default) while the block runs."""
    console = console or Console(stderr=True)
    if not console.is_terminal:
        yield progress_callback(console)
        return
    with console.status("working…", spinner="dots") as status:
        yield progress_callback(console, status)

"""``refinery history``: saved analyses and applied changes, newest first.

Each analysis line says which changes it led to; each change line says whether it was undone (and
by which commit) or how to undo it. ``--since`` takes a date (``2026-11-01``), a time
(``2026-11-01T14:00``) or an age (``30m``, ``12h``, ``7d``, ``2w``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import typer

from .app import app

if TYPE_CHECKING:
    from ..store.history import AnalysisEntry, ChangeEntry

_AGE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@app.command("history")
def history_command(
    project: str | None = typer.Option(None, "--project", "-p", help="Only this project."),
    trace: str | None = typer.Option(None, "--trace", help="Only this trace (id or prefix)."),
    since: str | None = typer.Option(
        None, "--since", metavar="WHEN", help="Only since a date, a time or an age (7d, 12h)."
    ),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many entries to list."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """List saved analyses and applied changes, newest first.

    Shows which analyses led to a change and which changes were undone. See one analysis
    again with `refinery show ID`; apply one of its fixes with `refinery apply ID N`.
    """
    from ..config import load_settings
    from ..pipeline import history
    from ..store.history import AnalysisEntry, HistoryQuery

    query = HistoryQuery(project=project, trace=trace, since=_since(since), limit=limit)
    page = history(load_settings(), query)
    if json_output:
        typer.echo(page.model_dump_json())
        return
    if not page.entries:
        typer.echo(_nothing(project, trace, since))
        return
    for entry in page.entries:
        typer.echo(_analysis(entry) if isinstance(entry, AnalysisEntry) else _change(entry))
    if page.more:
        typer.echo(f"(older entries not shown: --limit {limit * 2})")


def _nothing(project: str | None, trace: str | None, since: str | None) -> str:
    named = [f"{flag} {value}" for flag, value in (
        ("--project", project), ("--trace", trace), ("--since", since)) if value]  # fmt: skip
    if not named:
        return "Nothing yet: run refinery analyze first."
    return f"Nothing matches {' '.join(named)}: refinery history alone lists everything."


def _analysis(entry: AnalysisEntry) -> str:
    who = entry.analyser if entry.model is None else f"{entry.analyser} {entry.model}"
    cost = f"  ${entry.cost_usd:.4f}" if entry.cost_usd else ""
    led = f"  → applied as {', '.join(entry.changes)}" if entry.changes else ""
    return (
        f"{entry.created_at:%Y-%m-%d %H:%M}  analysis {entry.id}  {entry.project}  "
        f"trace {entry.trace_id[:12]}  {entry.failure_type}  {who}{cost}  "
        f"{entry.valid_hypotheses}/{entry.hypotheses} fixes apply{led}\n"
        f"    {_clip(entry.summary)}"
    )


def _change(entry: ChangeEntry) -> str:
    state = f"undone by {entry.undone_by[:12]}" if entry.undone_by else f"refinery undo {entry.id}"
    return (
        f"{entry.created_at:%Y-%m-%d %H:%M}  change {entry.id}  fix {entry.hypothesis_rank} of "
        f"{entry.analysis_id}: {entry.title}  [{', '.join(entry.files)}]  "
        f"commit {entry.commit[:12]}  ({state})"
    )


def _since(value: str | None) -> datetime | None:
    from ..errors import InputError

    if value is None:
        return None
    age = _AGE.match(value.strip())
    if age:
        return datetime.now(UTC) - timedelta(**{_UNITS[age[2]]: int(age[1])})
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InputError(
            f"--since {value}: not a date, time or age", "use 2026-11-01, 2026-11-01T14:00 or 7d"
        ) from exc
    return when if when.tzinfo else when.astimezone(UTC)


def _clip(text: str, limit: int = 110) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"

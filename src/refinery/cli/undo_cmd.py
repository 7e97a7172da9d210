"""``refinery undo`` and ``refinery history``: take back an applied change, list what was applied.

Undo reverts with a new commit and refuses (exit 1, every failed precondition on one line) when the
change is not Refinery's, was already undone, was pushed, or its files changed since.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from .app import app

if TYPE_CHECKING:
    from ..models.change import Change


@app.command("undo")
def undo_command(
    change_id: str | None = typer.Argument(
        None, metavar="[CHANGE_ID]", help="The change (or its commit) to undo; default: the last."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the undone change as JSON."),
) -> None:
    """Revert Refinery's last applied change (or the named one) with a new git commit.

    Refuses when the commit is not Refinery's, was already undone, has been pushed, or when
    its files changed since. See the changes with `refinery history`.
    """
    from ..config import load_settings
    from ..fixes.apply import undo

    change = undo(change_id, load_settings())
    if json_output:
        typer.echo(json.dumps(change.model_dump(mode="json")))
        return
    files = ", ".join(file.path for file in change.files)
    typer.echo(f"Undid change {change.id} ({change.hypothesis_title}).")
    typer.echo(f"Restored: {files}")
    typer.echo(f"Revert commit: {change.undone_by}")


@app.command("history")
def history_command(
    json_output: bool = typer.Option(False, "--json", help="Print the changes as JSON."),
) -> None:
    """List the changes Refinery applied in this repository, newest first."""
    from ..config import load_settings
    from ..store.changes import list_changes

    changes = list(reversed(list_changes(load_settings().state_dir)))
    if json_output:
        typer.echo(json.dumps({"changes": [c.model_dump(mode="json") for c in changes]}))
        return
    if not changes:
        typer.echo("No changes applied yet.")
        return
    for change in changes:
        typer.echo(_line(change))


def _line(change: Change) -> str:
    state = f"undone by {change.undone_by[:12]}" if change.undone_by else change.undo_command
    files = ", ".join(file.path for file in change.files)
    when = f"{change.created_at:%Y-%m-%d %H:%M}"
    return (
        f"{change.id}  {when}  commit {change.commit[:12]}  #{change.hypothesis_rank} "
        f"{change.hypothesis_title}  [{files}]  ({state})"
    )

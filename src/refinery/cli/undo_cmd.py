"""``refinery undo``: take back an applied change.

Undo reverts with a new commit and refuses (exit 1, every failed precondition on one line) when the
change is not Refinery's, was already undone, was pushed, or its files changed since.
"""

from __future__ import annotations

import json

import typer

from .app import app


@app.command("undo")
def undo_command(
    change_id: str | None = typer.Argument(
        None, metavar="CHANGE_ID", help="The change (or its commit) to undo; default: the last."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the undone change as JSON."),
) -> None:
    """Revert Refinery's last applied change (or the named one) with a new git commit.

    Refuses when the commit is not Refinery's, was already undone, has been pushed, or when
    its files changed since. See the changes with `refinery history`.
    """
    from ..config import load_settings
    from ..pipeline import undo_change

    change = undo_change(load_settings(), change_id)
    if json_output:
        typer.echo(json.dumps(change.model_dump(mode="json")))
        return
    files = ", ".join(file.path for file in change.files)
    typer.echo(f"Undid change {change.id} ({change.hypothesis_title}).")
    typer.echo(f"Restored: {files}")
    typer.echo(f"Revert commit: {change.undone_by}")

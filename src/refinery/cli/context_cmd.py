"""``refinery context``: see, inspect and forget the files each project's analyses use.

Exactly one of ``--list``, ``--project NAME`` and ``--clear NAME``; ``--json`` prints the library's
models as one JSON object instead of tables. Clearing asks first unless ``--yes``; the question goes
to stderr so that ``--json`` output stays clean.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

import typer

from .app import app

if TYPE_CHECKING:
    from rich.console import Console

    from ..config import Settings
    from ..store.context import ProjectDescription, ProjectSummary


@app.command("context")
def context(
    ctx: typer.Context,
    list_all: bool = typer.Option(False, "--list", help="List saved projects."),
    project: str | None = typer.Option(
        None, "--project", metavar="NAME", help="Show a project's files; missing ones are marked."
    ),
    clear: str | None = typer.Option(
        None, "--clear", metavar="NAME", help="Forget a project's saved files (asks first)."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Clear without asking."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Show or clear the prompt, eval and config files saved for each project.

    A project's files are saved by its first `refinery analyze` with --prompt-files,
    --eval-files, --config-files or --extract-from-trace, and reused by later runs.
    """
    from ..config import load_settings
    from ..errors import InputError

    flags = (("--list", list_all), ("--project", project), ("--clear", clear))
    if sum(bool(value) for _, value in flags) != 1:
        raise InputError(
            "give exactly one of --list, --project NAME or --clear NAME",
            "e.g. refinery context --list",
        )
    settings = load_settings()
    if list_all:
        _list(settings, json_output)
    elif project:
        _describe(settings, project, json_output)
    elif clear:
        _clear(settings, clear, yes=yes, json_output=json_output)


def _list(settings: Settings, json_output: bool) -> None:
    from ..store.context import list_projects

    projects = list_projects(settings)
    if json_output:
        _echo_json({"projects": [p.model_dump(mode="json") for p in projects]})
        return
    _render_list(projects, _console())


def _describe(settings: Settings, name: str, json_output: bool) -> None:
    from ..store.context import describe_project

    description = describe_project(settings, name)
    if json_output:
        _echo_json(description.model_dump(mode="json"))
        return
    _render_description(description, _console())


def _clear(settings: Settings, name: str, *, yes: bool, json_output: bool) -> None:
    from ..store.context import clear_project, describe_project

    described = describe_project(settings, name)
    if not yes:
        question = f"Forget the {len(described.files)} saved files of project {name}?"
        if not typer.confirm(question, default=False, err=True):
            typer.echo("Nothing cleared.", err=True)
            raise typer.Exit(1)
    removed = clear_project(settings, name)
    if json_output:
        _echo_json({"cleared": removed.model_dump(mode="json")})
        return
    _console().print(
        f"Cleared project {name}: {len(removed.all_files)} files forgotten. The files themselves "
        "(including any extracted under .refinery/projects/) were not deleted.",
        markup=False,
    )


def _render_list(projects: tuple[ProjectSummary, ...], console: Console) -> None:
    from rich.table import Table

    if not projects:
        console.print(
            "No saved projects yet. The first `refinery analyze TRACE --project NAME "
            "--prompt-files ...` saves one.",
            markup=False,
        )
        return
    table = Table("project", "prompts", "evals", "configs", "missing", "last used")
    for p in projects:
        missing = f"[red]{p.missing_files}[/]" if p.missing_files else "0"
        table.add_row(
            _plain(p.name),
            str(p.prompt_files),
            str(p.eval_files),
            str(p.config_files),
            missing,
            _when(p.last_used),
        )
    console.print(table)


def _render_description(description: ProjectDescription, console: Console) -> None:
    from rich.table import Table

    console.print(
        f"Project {description.name}: {len(description.files)} "
        f"file{'' if len(description.files) == 1 else 's'}, "
        f"last used {_when(description.last_used)}",
        markup=False,
    )
    table = Table("kind", "status")
    table.add_column("file", overflow="fold")  # a path must be shown whole, never cut with "…"
    for file in description.files:
        status = "[green]ok[/]" if file.exists else "[bold red]missing[/]"
        kind = f"{file.kind.value} (extracted)" if file.extracted else file.kind.value
        table.add_row(kind, status, _plain(file.path))
    console.print(table)
    missing = sum(not f.exists for f in description.files)
    if missing:
        console.print(
            f"{missing} missing file(s) will be dropped from the context at the next analysis.",
            markup=False,
        )


def _plain(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def _echo_json(value: object) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False))

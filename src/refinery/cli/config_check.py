"""``refinery config-check``: which trace sources and LLM providers are configured and answering.

Keys are shown only as present or absent. Exit 0 when every configured endpoint answered, 1 when
one did not (nothing configured is fine: the offline analyser needs no key).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from .app import app

if TYPE_CHECKING:
    from rich.console import Console

    from ..llm.check import ConfigReport, KeyState


@app.command("config-check")
def config_check(
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Show which trace sources and LLM providers are configured, and whether each one answers.

    Each configured endpoint gets one cheap authenticated request (a short timeout, no retries).
    API keys are never printed: only whether each is set.
    """
    from ..config import load_settings
    from ..llm.check import check_config
    from .view import stdout_console

    report = check_config(load_settings())
    if json_output:
        typer.echo(report.model_dump_json(indent=2))
    else:
        render_config_report(report, stdout_console())
    raise typer.Exit(0 if report.ok else 1)


def render_config_report(report: ConfigReport, console: Console) -> None:
    """A table of sources and providers, then which analyser ``analyze`` would use."""
    from rich.markup import escape
    from rich.table import Table

    table = Table("name", "keys", "status", title="Sources and providers", title_justify="left")
    for endpoint in report.endpoints:
        keys = "\n".join(_key_line(k) for k in endpoint.keys)
        status = (
            "[dim]not configured[/]"
            if not endpoint.configured
            else "[green]reachable[/]"
            if endpoint.reachable
            else "[bold red]unreachable[/]"
        )
        name = f"{endpoint.name}\n[dim]{endpoint.kind}[/]"
        call = (
            f"\n[dim]{escape(endpoint.model)}: {escape(endpoint.call)}[/]" if endpoint.model else ""
        )
        table.add_row(name, keys, f"{status}\n{escape(endpoint.detail)}{call}")
    console.print(table)
    key = f", key {report.analyser_key}" if report.analyser_key else ""
    console.print(f"refinery analyze would use: [bold]{escape(report.analyser)}[/]{escape(key)}")
    if report.analyser_warning:
        console.print(f"[yellow]warning:[/] {escape(report.analyser_warning)}")


def _key_line(key: KeyState) -> str:
    """``NAME set (from where)`` or ``NAME -``; never the value."""
    from rich.markup import escape

    if not key.present:
        return f"{key.name} -"
    return f"{key.name} set [dim]({escape(key.origin or 'environment')})[/]"

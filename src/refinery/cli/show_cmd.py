"""``refinery show``: a saved analysis, printed exactly as ``analyze`` printed it; no call made."""

from __future__ import annotations

import typer

from .app import app


@app.command("show")
def show_command(
    analysis_id: str | None = typer.Argument(
        None,
        metavar="[ANALYSIS_ID]",
        help="The analysis id or any unique prefix of it; default: the latest.",
    ),
    project: str | None = typer.Option(
        None, "--project", "-p", help="With no id: the latest analysis of this project."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Show a saved analysis (the latest by default) as `refinery analyze` printed it.

    Nothing is called and nothing is analysed again. The ids are listed by `refinery history`.
    """
    from ..config import load_settings
    from ..pipeline import load_analysis
    from .render_analysis import render_analysis
    from .view import stdout_console

    result = load_analysis(load_settings(), analysis_id, project=project)
    render_analysis(result, stdout_console(), as_json=json_output)

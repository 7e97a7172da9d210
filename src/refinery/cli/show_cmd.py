"""``refinery show``: a saved analysis, printed exactly as ``analyze`` printed it; no call made."""

from __future__ import annotations

import json

import typer

from .app import app


@app.command("show")
def show_command(
    analysis_id: str | None = typer.Argument(
        None,
        metavar="ANALYSIS_ID",
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
    from ..verify.saved import load_verification
    from .render_analysis import render_analysis
    from .render_verification import render_verification
    from .view import stdout_console

    settings = load_settings()
    result = load_analysis(settings, analysis_id, project=project)
    verification = load_verification(settings, result.analysis_id)
    if verification is not None and json_output:
        typer.echo(
            json.dumps(
                {
                    **result.model_dump(mode="json"),
                    "verification": verification.model_dump(mode="json"),
                },
                indent=2,
            )
        )
        return  # fmt: skip
    render_analysis(result, stdout_console(), as_json=json_output)
    if verification is not None:
        render_verification(result, verification, stdout_console())

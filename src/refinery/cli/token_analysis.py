"""``refinery token-analysis``: where a trace's tokens went and whether its calls fit their windows.

The command loads the trace, calls ``analyse_tokens`` and renders the ``TokenReport``: a summary
line, tokens per kind, the top contributors, the largest call against its context window and the
health label with its meaning; or, with ``--json``, ``report.model_dump(mode="json")``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from ..gcpause import paused_gc
from .app import app
from .limits import MAX_RUNS, MAX_TRACE_BYTES, TIMEOUT

if TYPE_CHECKING:
    from rich.console import Console

    from ..analysis.tokens import TokenReport

_HEALTH_STYLES = {
    "HARD_TRUNCATION": "bold red",
    "SOFT_TRUNCATION": "bold yellow",
    "CONTEXT_STARVATION": "bold yellow",
    "ATTENTION_DILUTION": "yellow",
    "OK": "bold green",
}


@app.command("token-analysis", no_args_is_help=True)
@paused_gc()  # one pause for load, analysis and output: no collector pass over the whole trace
def token_analysis(
    trace: str = typer.Argument(
        ...,
        metavar="TRACE",
        help="A trace file (any supported format) or a LangSmith/Langfuse trace or run id; "
        "FILE#N picks one trace of a file that holds several.",
    ),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Count and check every call as this model (e.g. gpt-4o)."
    ),
    top: int = typer.Option(10, "--top", min=1, help="How many top contributors to list."),
    source: str | None = typer.Option(
        None, "--source", help="Where TRACE comes from: file, langsmith or langfuse (guessed)."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Fetch the trace even if cached."),
    max_trace_bytes: int | None = MAX_TRACE_BYTES,
    max_runs: int | None = MAX_RUNS,
    timeout: float | None = TIMEOUT,
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Tokens per run and kind, the biggest contributors and context-window health.

    Counts are exact for OpenAI models (offline tokenizer), labelled estimates otherwise.
    Reported usage is used when the trace has it.

    Health labels, most severe first (the window is the model's context window):
    HARD_TRUNCATION: a prompt ≥ 100% of the window, a length stop using ≥ 95% of it,
    or a provider error about context length.
    SOFT_TRUNCATION: a prompt ≥ 90% of the window.
    CONTEXT_STARVATION: a prompt < 500 tokens after tool/retriever runs returned
    ≥ 2,000 tokens (and ≥ 20× the prompt).
    ATTENTION_DILUTION: a prompt ≥ 50% of the window, or ≥ 8,000 tokens
    with a system prompt < 2% of it.
    OK: none of these.
    """
    from ..analysis.tokens import analyse_tokens
    from ..config import load_settings
    from ..traces.sources import load_trace
    from .progress_view import progress_to

    settings = load_settings().with_overrides(
        use_cache=False if no_cache else None,
        max_trace_bytes=max_trace_bytes,
        max_runs=max_runs,
        timeout_seconds=timeout,
    )
    with progress_to() as on_progress:
        loaded = load_trace(trace, settings, source=source, on_progress=on_progress)
    for warning in loaded.metadata.get("warnings", ()):
        typer.echo(f"warning: {warning}", err=True)
    report = analyse_tokens(loaded, model, top=top)
    if json_output:
        typer.echo(report.model_dump_json())
        return
    from rich.console import Console

    render_token_report(report, Console(highlight=False, soft_wrap=True))


def render_token_report(report: TokenReport, console: Console) -> None:
    """The report for a person: summary, kinds, top contributors, largest call, health."""
    from rich.table import Table

    exactness = "exact" if report.exact else "estimated"
    console.print(
        f"[bold]Trace {report.trace.id}[/] ({report.trace.format}, {report.trace.runs:,} runs): "
        f"{report.total_tokens:,} tokens in LLM calls "
        f"({report.prompt_tokens:,} prompt, {report.completion_tokens:,} completion), {exactness}"
    )
    console.print(report.trace.counts.line(), style="dim", markup=False)
    kinds = Table("kind", "tokens", title="Tokens by kind", title_justify="left")
    for kind, tokens in report.by_kind.items():
        kinds.add_row(kind, f"{tokens:,}")
    console.print(kinds)
    contributors = Table(
        "run", "name", "kind", "tokens", "share", title="Top contributors", title_justify="left"
    )
    for item in report.top:
        contributors.add_row(
            item.run_id, item.name, item.kind, f"{item.tokens:,}", f"{item.share:.1%}"
        )
    console.print(contributors)
    _render_largest_call(report, console)
    _render_health(report, console)


def _render_largest_call(report: TokenReport, console: Console) -> None:
    call = report.largest_llm_call
    if call is None:
        console.print("Largest LLM call: none (the trace has no LLM calls)")
        return
    window = (
        f"{call.utilisation:.1%} of a {call.context_window:,}-token window"
        if call.context_window and call.utilisation is not None
        else "context window unknown"
    )
    console.print(
        f"Largest LLM call: {call.run_id} ({call.model or 'model unknown'}): "
        f"{call.prompt_tokens:,} prompt tokens, {window}",
        markup=False,
    )


def _render_health(report: TokenReport, console: Console) -> None:
    health = report.health
    style = _HEALTH_STYLES.get(health.label.value, "bold")
    console.print(f"Health: [{style}]{health.label.value}[/] — ", end="")
    console.print(health.reason, markup=False)
    console.print(health.meaning, style="dim", markup=False)
    for note in report.notes:
        console.print(f"note: {note}", style="dim", markup=False)

"""``refinery analyze``: diagnose one failing trace and propose (or apply) ranked fixes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .app import app, state

if TYPE_CHECKING:
    from ..config import Settings
    from ..pipeline import AnalysisResult, AnalyzeOptions
    from ..progress import OnProgress

_CONTEXT = "Project files"
_ANALYSER = "Analyser"
_APPLY = "Applying a fix"


def _split(values: list[str] | None) -> tuple[str, ...]:
    """Comma-separated lists, possibly repeated, as one tuple of non-empty paths."""
    return tuple(p.strip() for value in values or () for p in value.split(",") if p.strip())


@app.command(no_args_is_help=True)
def analyze(
    trace: str | None = typer.Argument(
        None, help="A trace file (any supported format) or a LangSmith/Langfuse trace or run id."
    ),
    project: str | None = typer.Option(
        None, "--project", "-p", help="The agent's name; its files are remembered under it."
    ),
    expected: str | None = typer.Option(
        None, "--expected", "-e", help="One line: what the agent should have done."
    ),
    prompt_files: list[str] = typer.Option(
        None, "--prompt-files", help="Prompt files, comma-separated.", rich_help_panel=_CONTEXT
    ),
    eval_files: list[str] = typer.Option(
        None, "--eval-files", help="Eval files, comma-separated.", rich_help_panel=_CONTEXT
    ),
    config_files: list[str] = typer.Option(
        None, "--config-files", help="Config files, comma-separated.", rich_help_panel=_CONTEXT
    ),
    add_prompt: list[str] = typer.Option(
        None, "--add-prompt", help="Add a prompt file (repeatable).", rich_help_panel=_CONTEXT
    ),
    add_eval: list[str] = typer.Option(
        None, "--add-eval", help="Add an eval file (repeatable).", rich_help_panel=_CONTEXT
    ),
    remove_prompt: list[str] = typer.Option(
        None, "--remove-prompt", help="Forget a prompt file (repeatable).", rich_help_panel=_CONTEXT
    ),
    remove_eval: list[str] = typer.Option(
        None, "--remove-eval", help="Forget an eval file (repeatable).", rich_help_panel=_CONTEXT
    ),
    update: bool = typer.Option(
        False,
        "--update",
        help="Replace the saved file lists instead of adding to them.",
        rich_help_panel=_CONTEXT,
    ),
    extract_from_trace: bool = typer.Option(
        False,
        "--extract-from-trace",
        help="Save the prompts, configs and eval examples found in the trace as project files.",
        rich_help_panel=_CONTEXT,
    ),
    apply: str | None = typer.Option(
        None,
        "--apply",
        metavar="[N]",
        help=(
            "Apply the best fix, or fix N, exactly as shown. If your own uncommitted changes "
            "block the best fix, nothing is written. Without it nothing is written (dry run)."
        ),
        rich_help_panel=_APPLY,
    ),
    allow_dirty: bool = typer.Option(
        False,
        "--allow-dirty",
        help="Apply even if a target file has uncommitted changes (they are not committed).",
        rich_help_panel=_APPLY,
    ),
    provider: str | None = typer.Option(
        None,
        "--provider",
        help="offline, openai, anthropic, gemini, azure or openai-compatible.",
        rich_help_panel=_ANALYSER,
    ),
    model: str | None = typer.Option(None, "--model", help="LLM model.", rich_help_panel=_ANALYSER),
    base_url: str | None = typer.Option(
        None,
        "--base-url",
        help="Base URL of an OpenAI-compatible server.",
        rich_help_panel=_ANALYSER,
    ),
    reasoning: str | None = typer.Option(
        None,
        "--reasoning",
        metavar="low|medium|high",
        help="How hard a reasoning model thinks (OpenAI effort, Claude and Gemini thinking).",
        rich_help_panel=_ANALYSER,
    ),
    batch: bool = typer.Option(
        False,
        "--batch",
        help="Use the provider's batch API (OpenAI, Anthropic): cheaper, slower; resumable.",
        rich_help_panel=_ANALYSER,
    ),
    resume: str | None = typer.Option(
        None,
        "--resume",
        metavar="BATCH_ID",
        help="Pick up a --batch analysis that was interrupted.",
        rich_help_panel=_ANALYSER,
    ),
    no_redact: bool = typer.Option(
        False,
        "--no-redact",
        help="Send keys, emails and phone numbers to the LLM unredacted (not recommended).",
        rich_help_panel=_ANALYSER,
    ),
    budget: int = typer.Option(
        30_000, "--budget", min=1000, help="Token budget for the condensed trace."
    ),
    source: str | None = typer.Option(
        None, "--source", help="Where TRACE comes from: file, langsmith or langfuse (guessed)."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Fetch the trace even if cached."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Diagnose a failing trace against the expected behaviour and propose ranked fixes.

    Example:  refinery analyze trace.json --project support-bot
    --expected "should say it cannot remember past chats" --prompt-files prompts/system.txt

    The first run with files saves them for the project; later runs reuse them. With no API key the
    built-in offline analyser runs (rule-based). Nothing is written unless you pass --apply.
    """
    from ..config import load_settings
    from ..pipeline import AnalyzeOptions, ContextRequest
    from .progress_view import progress_to
    from .render_analysis import render_analysis
    from .view import stdout_console

    settings = load_settings(
        provider=provider,
        model=model,
        base_url=base_url,
        verbose=state.verbose or None,
        reasoning=_reasoning(reasoning),
    ).with_overrides(use_cache=False if no_cache else None, redact=False if no_redact else None)
    context = ContextRequest(
        prompt_files=_split(prompt_files),
        eval_files=_split(eval_files),
        config_files=_split(config_files),
        add_prompts=_split(add_prompt),
        add_evals=_split(add_eval),
        remove_prompts=_split(remove_prompt),
        remove_evals=_split(remove_eval),
        update=update,
        extract_from_trace=extract_from_trace,
        cwd=Path.cwd(),
    )
    options = AnalyzeOptions(
        budget=budget,
        source=source,
        apply=_apply_rank(apply),
        allow_dirty=allow_dirty,
        context=context,
    )
    with progress_to() as on_progress:
        result = _run(trace, project, expected, resume, batch, settings, options, on_progress)
    render_analysis(result, stdout_console(), as_json=json_output)
    done = result.applied is not None or result.already_applied is not None
    actionable = [h for h in result.hypotheses if h.valid and h.rank not in result.already_present]
    if not done and not actionable:
        raise typer.Exit(1)


def _run(
    trace: str | None,
    project: str | None,
    expected: str | None,
    resume: str | None,
    batch: bool,
    settings: Settings,
    options: AnalyzeOptions,
    on_progress: OnProgress,
) -> AnalysisResult:
    """Resume a batch, submit one, or analyse now."""
    from ..errors import InputError
    from ..pipeline import analyze as run_analysis
    from ..pipeline import analyze_batch, resume_batch

    if resume:
        return resume_batch(resume, settings, on_progress=on_progress)
    if not trace or not project or expected is None:
        missing = [
            n
            for n, v in (("TRACE", trace), ("--project", project), ("--expected", expected))
            if not v
        ]
        raise InputError(f"missing {', '.join(missing)}", "see refinery analyze --help")
    run = analyze_batch if batch else run_analysis
    return run(
        trace, project=project, expected=expected, settings=settings, options=options,
        on_progress=on_progress,
    )  # fmt: skip


def _reasoning(value: str | None) -> str | None:
    if value is None:
        return None
    from ..llm.catalog import REASONING_LEVELS

    level = value.strip().lower()
    if level not in REASONING_LEVELS:
        from ..errors import InputError

        raise InputError(f"--reasoning {value}: not a reasoning level", "use low, medium or high")
    return level


def _apply_rank(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        from ..errors import InputError

        raise InputError(f"--apply {value}: not a hypothesis number", "use --apply or --apply N")
    return int(value)

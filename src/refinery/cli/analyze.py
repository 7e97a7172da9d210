"""``refinery analyze``: diagnose one failing trace and propose (or apply) ranked fixes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .app import app, state
from .limits import MAX_RUNS, MAX_TRACE_BYTES, TIMEOUT

if TYPE_CHECKING:
    from ..config import Settings
    from ..models.verification import VerificationReport
    from ..pipeline import AnalysisResult, AnalyzeOptions
    from ..progress import OnProgress
    from ..verify import VerifyOptions

_CONTEXT = "Project files"
_ANALYSER = "Analyser"
_APPLY = "Applying a fix"
_VERIFY = "Verifying fixes (replay the failing call)"


def _split(values: list[str] | None) -> tuple[str, ...]:
    """Comma-separated lists, possibly repeated, as one tuple of non-empty paths."""
    return tuple(p.strip() for value in values or () for p in value.split(",") if p.strip())


@app.command(no_args_is_help=True)
def analyze(
    trace: str | None = typer.Argument(
        None,
        metavar="TRACE",
        help="A trace file (any supported format) or a LangSmith/Langfuse trace or run id; "
        "FILE#N picks one trace of a file that holds several.",
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
        help="Replace the saved list of each kind of file given (the others are kept) instead "
        "of adding to it.",
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
    max_trace_bytes: int | None = MAX_TRACE_BYTES,
    max_runs: int | None = MAX_RUNS,
    timeout: float | None = TIMEOUT,
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    verify: bool = typer.Option(
        False,
        "--verify",
        help="Replay the failing call with each fix; --apply takes the best verified one.",
        rich_help_panel=_VERIFY,
    ),  # fmt: skip
    runs: int = typer.Option(
        5,
        "--runs",
        min=1,
        max=100,
        help="Replays per fix and for the original.",
        rich_help_panel=_VERIFY,
    ),  # fmt: skip
    agent_provider: str | None = typer.Option(
        None,
        "--agent-provider",
        help="openai, anthropic, gemini, azure or openai-compatible.",
        rich_help_panel=_VERIFY,
    ),  # fmt: skip
    agent_model: str | None = typer.Option(
        None,
        "--agent-model",
        help="The agent's model (default: as recorded).",
        rich_help_panel=_VERIFY,
    ),  # fmt: skip
    agent_base_url: str | None = typer.Option(
        None,
        "--agent-base-url",
        help="The agent's server (OpenAI-compatible or a proxy).",
        rich_help_panel=_VERIFY,
    ),  # fmt: skip
    eval_command: str | None = typer.Option(
        None,
        "--eval-command",
        help="Your eval command, run in a temporary git worktree.",
        rich_help_panel=_VERIFY,
    ),  # fmt: skip
    max_cost: float | None = typer.Option(
        None,
        "--max-cost",
        metavar="USD",
        help="Hard cap on what verification spends.",
        rich_help_panel=_VERIFY,
    ),  # fmt: skip
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Do not ask about the cost.", rich_help_panel=_VERIFY
    ),
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
    ).with_overrides(
        use_cache=False if no_cache else None,
        redact=False if no_redact else None,
        max_trace_bytes=max_trace_bytes,
        max_runs=max_runs,
        timeout_seconds=timeout,
    )
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
    if verify:
        from ..errors import InputError
        from .verify_cmd import verify_options

        if batch or resume:
            raise InputError("--verify needs an immediate analysis", "drop --batch and --resume")
        checked = verify_options(
            fix="all", runs=runs, eval_command=eval_command, max_cost=max_cost,
            agent=(agent_provider, agent_model, agent_base_url),
        )  # fmt: skip
        _analyze_and_verify(trace, project, expected, settings, options, checked, yes, json_output)
        return
    with progress_to() as on_progress:
        result = _run(trace, project, expected, resume, batch, settings, options, on_progress)
    _remember(settings, result, trace)
    render_analysis(result, stdout_console(), as_json=json_output)
    done = result.applied is not None or result.already_applied is not None
    actionable = [h for h in result.hypotheses if h.valid and h.rank not in result.already_present]
    if not done and not actionable:
        raise typer.Exit(1)


def _remember(settings: Settings, result: AnalysisResult, trace: str | None) -> None:
    """Where the trace file is, so that ``refinery verify`` finds it again by itself."""
    if trace and result.trace.source == "file":
        from ..verify.saved import remember_trace_file

        remember_trace_file(settings, result.analysis_id, trace)


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


def _analyze_and_verify(
    trace: str | None,
    project: str | None,
    expected: str | None,
    settings: Settings,
    options: AnalyzeOptions,
    checked: VerifyOptions,
    yes: bool,
    json_output: bool,
) -> None:
    """Analyse (dry run), verify every fix, then apply the best verified fix if asked."""
    from dataclasses import replace

    from ..errors import ApplyRefused, InputError
    from ..pipeline import analyze as run_analysis
    from ..pipeline import apply_analysis
    from ..traces.sources import load_trace
    from .progress_view import progress_to
    from .verify_cmd import verify_analysis

    if not trace or not project or expected is None:
        raise InputError(
            "--verify needs TRACE, --project and --expected", "see refinery analyze --help"
        )
    with progress_to() as on_progress:
        loaded = load_trace(trace, settings, source=options.source, on_progress=on_progress)
        result = run_analysis(
            loaded, project=project, expected=expected, settings=settings,
            options=replace(options, apply=None), on_progress=on_progress,
        )  # fmt: skip
    _remember(settings, result, trace)
    report = verify_analysis(result, loaded, settings, checked, yes=yes, confirm_above=None)
    rank = options.apply or report.best()
    if options.apply is not None and rank is None:
        raise ApplyRefused(
            "no fix was shown to improve the replayed call, so none was applied",
            "apply one anyway with --apply N",
        )
    if options.apply is not None and rank is not None:
        with progress_to() as on_progress:
            result = apply_analysis(
                result, rank, settings, allow_dirty=options.allow_dirty, on_progress=on_progress
            )
    _show_verified(result, report, json_output)


def _show_verified(result: AnalysisResult, report: VerificationReport, json_output: bool) -> None:
    from .render_analysis import render_analysis
    from .render_verification import render_verification
    from .view import stdout_console

    if json_output:
        document = {
            **result.model_dump(mode="json"),
            "verification": report.model_dump(mode="json"),
        }
        print(json.dumps(document, indent=2))
        return
    console = stdout_console()
    render_analysis(result, console, as_json=False)
    render_verification(result, report, console)


def _apply_rank(value: str | None) -> int | None:
    """``best`` (a bare ``--apply``, see ``main``) is rank 0: the best valid fix."""
    if value is None:
        return None
    if value == "best":
        return 0
    if not value.isdigit() or int(value) == 0:
        from ..errors import InputError

        raise InputError(
            f"--apply {value}: not a fix number (fixes are numbered from 1)",
            "use --apply alone for the best fix, or --apply N",
        )
    return int(value)

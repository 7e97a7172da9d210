"""``refinery verify``: replay the failing call with each fix; pass rates beside the baseline.

The estimated number of calls and their cost are shown before any call; above a threshold
(``--confirm-above``, ``REFINERY_VERIFY_CONFIRM_USD``, default $1) Refinery asks, or proceeds with
``--yes``; ``--max-cost`` is a hard cap. ``analyze --verify`` runs the same steps on the fresh
analysis (``verify_analysis``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from .app import app, state

if TYPE_CHECKING:
    from ..config import Settings
    from ..models.verification import VerificationReport
    from ..pipeline import AnalysisResult
    from ..traces.model import Trace
    from ..verify import VerifyOptions, VerifyPlan

DEFAULT_CONFIRM_USD = 1.0
_AGENT = "The agent's model"
_COST = "Cost"


@app.command("verify")
def verify_command(
    analysis_id: str | None = typer.Argument(
        None, metavar="ANALYSIS_ID", help="A saved analysis (id or prefix); default: the latest."
    ),
    fix: str = typer.Option("all", "--fix", metavar="N|all", help="Verify fix N, or all fixes."),
    runs: int = typer.Option(5, "--runs", min=1, max=100, help="Replays per fix and baseline (K)."),
    trace: str | None = typer.Option(
        None, "--trace", help="The analysed trace file, if it moved since the analysis."
    ),
    eval_command: str | None = typer.Option(
        None, "--eval-command", help="Your eval command, run in a temporary git worktree."
    ),
    eval_timeout: float = typer.Option(600.0, "--eval-timeout", help="Seconds per eval run."),
    max_cases: int = typer.Option(20, "--max-cases", min=0, help="Existing eval cases replayed."),
    agent_provider: str | None = typer.Option(
        None,
        "--agent-provider",
        help="openai, anthropic, gemini, azure or openai-compatible.",
        rich_help_panel=_AGENT,
    ),  # fmt: skip
    agent_model: str | None = typer.Option(
        None,
        "--agent-model",
        help="The agent's model (default: as recorded).",
        rich_help_panel=_AGENT,
    ),  # fmt: skip
    agent_base_url: str | None = typer.Option(
        None,
        "--agent-base-url",
        help="The agent's server (OpenAI-compatible or a proxy).",
        rich_help_panel=_AGENT,
    ),  # fmt: skip
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Do not ask about the cost.", rich_help_panel=_COST
    ),
    max_cost: float | None = typer.Option(
        None,
        "--max-cost",
        metavar="USD",
        help="Hard cap on what verification spends.",
        rich_help_panel=_COST,
    ),  # fmt: skip
    confirm_above: float | None = typer.Option(
        None,
        "--confirm-above",
        metavar="USD",
        help="Ask above this estimate (default $1).",
        rich_help_panel=_COST,
    ),  # fmt: skip
    concurrency: int = typer.Option(20, "--concurrency", min=1, max=64, help="Calls at once."),
    json_output: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
) -> None:
    """Replay the failing LLM call with each fix and judge the answers against the expectation.

    Example:  refinery verify --runs 5 --eval-command "pytest evals/"
    """
    from ..config import load_settings
    from ..pipeline import load_analysis
    from ..verify.saved import load_saved_trace
    from .progress_view import progress_to

    settings = load_settings(verbose=state.verbose or None)
    result = load_analysis(settings, analysis_id)
    with progress_to() as on_progress:
        loaded = load_saved_trace(settings, result, trace, on_progress)
    options = verify_options(
        fix=fix, runs=runs, eval_command=eval_command, eval_timeout=eval_timeout,
        max_cases=max_cases, max_cost=max_cost, concurrency=concurrency,
        agent=(agent_provider, agent_model, agent_base_url),
    )  # fmt: skip
    report = verify_analysis(
        result, loaded, settings, options, yes=yes, confirm_above=confirm_above
    )
    show_report(result, report, as_json=json_output)


def verify_options(
    *,
    fix: str,
    runs: int,
    eval_command: str | None,
    agent: tuple[str | None, str | None, str | None],
    eval_timeout: float = 600.0,
    max_cases: int = 20,
    max_cost: float | None = None,
    concurrency: int = 20,
) -> VerifyOptions:
    """The library's options from the flags."""
    from ..errors import InputError
    from ..verify import AgentFlags, VerifyOptions
    from ..verify.agent import PROVIDERS

    if fix != "all" and not fix.isdigit():
        raise InputError(f"--fix {fix}: not a fix number", "use --fix N or --fix all")
    provider, model, base_url = agent
    if provider is not None and provider not in PROVIDERS:
        raise InputError(
            f"unknown agent provider {provider!r}", f"use one of: {', '.join(PROVIDERS)}"
        )
    return VerifyOptions(
        fixes=() if fix == "all" else (int(fix),), runs=runs, max_cases=max_cases,
        eval_command=eval_command, eval_timeout=eval_timeout, max_cost=max_cost,
        concurrency=concurrency,
        agent=AgentFlags(provider=provider, model=model, base_url=base_url),
    )  # fmt: skip


def verify_analysis(
    result: AnalysisResult,
    trace: Trace,
    settings: Settings,
    options: VerifyOptions,
    *,
    yes: bool,
    confirm_above: float | None,
) -> VerificationReport:
    """Plan, show the estimate, ask when it is above the threshold, run, and keep the report."""
    from ..verify import plan_verification, run_verification
    from ..verify.saved import save_verification
    from .progress_view import progress_to

    if options.fixes and not any(h.rank in options.fixes for h in result.hypotheses):
        from ..errors import InputError

        raise InputError(
            f"there is no fix {options.fixes[0]}", f"choose 1-{len(result.hypotheses)} or all"
        )
    plan = plan_verification(result, trace, settings, options)
    _check(plan, settings, result.analysis_id, yes=yes, confirm_above=confirm_above)
    with progress_to() as on_progress:
        report = run_verification(plan, repo_root=settings.repo_root, on_progress=on_progress)
    save_verification(settings, result, report)
    return report


def _check(
    plan: VerifyPlan,
    settings: Settings,
    analysis_id: str,
    *,
    yes: bool,
    confirm_above: float | None,
) -> None:
    """Refuse (one line) when nothing can be checked; show the estimate; ask above the threshold."""
    from ..errors import ConfigError, InputError

    checkable = plan.call is not None and any(
        v.eval_only and (plan.judge is not None or any(c.checks for c in v.cases))
        for v in plan.variants
    )
    runnable = plan.baseline is not None or plan.options.eval_command or checkable
    if not runnable:
        problem = plan.problems[0] if plan.problems else "there is nothing to verify"
        raise ConfigError(f"cannot verify {analysis_id}: {problem}")
    for problem in plan.problems:
        typer.echo(f"warning: {problem}", err=True)
    estimate = plan.estimate
    cost = f"${estimate.cost_usd:.4f}" if estimate.cost_usd is not None else (
        f"cost unknown (no price for {', '.join(estimate.unpriced)})"
    )  # fmt: skip
    typer.echo(
        f"verify: {estimate.replays} replays and {estimate.judge_calls} judge calls, estimated "
        f"{cost}", err=True,
    )  # fmt: skip
    cap = plan.options.max_cost
    if cap is not None and estimate.cost_usd is not None and estimate.cost_usd > cap:
        raise InputError(
            f"the estimated cost ${estimate.cost_usd:.4f} is above --max-cost ${cap:.4f}",
            "lower --runs or --max-cases, choose one --fix, or raise --max-cost",
        )
    threshold = confirm_above if confirm_above is not None else _threshold(settings)
    if yes or estimate.cost_usd is None or estimate.cost_usd <= threshold:
        return
    if not sys.stdin.isatty():
        raise InputError(
            f"the estimated cost ${estimate.cost_usd:.4f} is above ${threshold:.2f}",
            "pass --yes to proceed, or --max-cost to cap it",
        )
    if not typer.confirm(f"Spend about ${estimate.cost_usd:.4f} on verification?"):
        raise typer.Exit(1)


def _threshold(settings: Settings) -> float:
    value = settings.key("REFINERY_VERIFY_CONFIRM_USD")
    try:
        return float(value) if value else DEFAULT_CONFIRM_USD
    except ValueError:
        return DEFAULT_CONFIRM_USD


def show_report(result: AnalysisResult, report: VerificationReport, *, as_json: bool) -> None:
    """Print the report (JSON or tables) and exit 1 when no fix was shown to work."""
    from .render_verification import render_verification
    from .view import stdout_console

    if as_json:
        print(report.model_dump_json(indent=2))
    else:
        render_verification(result, report, stdout_console())
    if report.best() is None:
        raise typer.Exit(1)

"""How a verification looks: the baseline, one row per fix in verified order, plain verdicts."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..models.verification import EvalCommandRun, FixVerification, PassRate, VerificationReport
from ..pipeline import AnalysisResult


def render_verification(
    result: AnalysisResult, report: VerificationReport, console: Console
) -> None:
    """Print the verification for a person."""
    console.print(_header(report))
    if report.baseline is not None:
        console.print(f"[bold]Baseline[/] (the call as recorded): {_rate(report.baseline)}")
    if report.eval_command is not None:
        console.print(
            f"[bold]Your eval command[/] on the current commit: {_command(report.eval_command)}"
        )
    console.print(_table(report))
    by_rank = {f.rank: f for f in report.fixes}
    for rank in report.ranking:
        _detail(console, by_rank[rank])
    for note in report.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    console.print(_footer(result, report))


def _header(report: VerificationReport) -> str:
    call = report.call
    where = (
        f"run {escape(call.run_id)} ({escape(call.name)}), {escape(call.why)}"
        if call
        else "no call"
    )
    return (
        f"[bold]Verification[/] · replayed {where}"
        f" · agent {escape(report.agent or 'not reachable')}"
        f" · judge {escape(report.judge or 'none')} · {report.runs} runs each"
    )


def _rate(rate: PassRate) -> str:
    if not rate.runs:
        return "no verdict"
    return f"{rate.passed} of {rate.runs} pass (95% interval {rate.low:.0%}–{rate.high:.0%})"


def _table(report: VerificationReport) -> Table:
    table = Table(title="Fixes, best verified first", title_justify="left")
    for column in (
        "#",
        "fix",
        "how",
        "passes",
        "vs baseline",
        "regressions",
        "eval cmd",
        "cost",
        "time",
    ):
        table.add_column(column)
    by_rank = {f.rank: f for f in report.fixes}
    for rank in report.ranking:
        fix = by_rank[rank]
        table.add_row(
            str(fix.rank),
            escape(fix.title),
            fix.status.value.replace("_", " "),
            _rate(fix.pass_rate) if fix.pass_rate else "-",
            f"{fix.effect:+.0%}" if fix.effect is not None else "-",
            str(len(fix.regressions)) if fix.status.value == "replayed" else "-",
            _command(fix.eval_command) if fix.eval_command else "-",
            f"${fix.cost_usd:.4f}" if fix.cost_usd is not None else "-",
            f"{fix.seconds:.1f}s",
        )
    return table


def _detail(console: Console, fix: FixVerification) -> None:
    console.print(f"[bold]Fix {fix.rank}[/] {escape(fix.title)}: {escape(fix.verdict)}")
    for line in (*fix.mapping, *fix.case_checks):
        console.print(f"  [dim]·[/] {escape(line)}")
    for case in fix.regressions:
        console.print(
            f"  [red]regression:[/] {escape(case.case)!r} passed before and fails with the fix "
            f"(expected: {escape(case.expected)})"
        )
    failing = [j for j in (fix.pass_rate.judgements if fix.pass_rate else ()) if j.passed is False]
    if failing:
        console.print(
            f"  [dim]a failing replay:[/] {escape(failing[0].answer)} — {escape(failing[0].reason)}"
        )


def _command(run: EvalCommandRun) -> str:
    if run.error:
        return run.error
    counts = f", {run.passed} passed, {run.failed} failed" if run.passed is not None else ""
    return f"exit {run.exit_code}{counts}"


def _footer(result: AnalysisResult, report: VerificationReport) -> str:
    best = report.best()
    if best is None:
        return "[yellow]No fix was shown to improve the replayed call.[/]"
    return (
        f"Best verified fix: [bold]{best}[/]. Apply it with [bold]refinery apply "
        f"{result.analysis_id}[/] (without N it takes the best verified fix)."
    )

"""How an analysis looks: Rich panels and tables for people, one JSON object for scripts."""

from __future__ import annotations

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table

from ..pipeline import AnalysisResult

_SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}
_RISK_STYLE = {"high": "bold red", "medium": "yellow", "low": "green"}


def render_analysis(result: AnalysisResult, console: Console, *, as_json: bool) -> None:
    """Print the result: JSON for scripts, panels and tables for people."""
    if as_json:
        print(result.model_dump_json(indent=2))
        return
    console.print(_header(result))
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    console.print(_diagnosis_panel(result))
    if result.findings:
        console.print(_findings_table(result))
    console.print(_hypotheses_table(result))
    for hypothesis in result.hypotheses:
        console.print(_hypothesis_detail(result, hypothesis.rank))
    console.print(_footer(result))


def _header(result: AnalysisResult) -> str:
    analyser = result.analyser
    who = (
        "offline analyser (rule-based, no API key)"
        if analyser.provider == "offline"
        else f"{analyser.provider} {analyser.model or ''} (prompts {analyser.prompt_version})"
    )
    if analyser.key_source:
        who += f", key {analyser.key_source}"
    trace = result.trace
    return (
        f"[bold]Refinery[/] · trace [cyan]{escape(trace.id)}[/] ({trace.format}, {trace.runs} runs)"
        f" · project [cyan]{escape(result.project)}[/] · {escape(who)}"
        f"\n[dim]{escape(trace.counts.line())}[/]"
    )


def _diagnosis_panel(result: AnalysisResult) -> Panel:
    d = result.diagnosis
    rows = [
        f"[bold]{escape(d.executive_summary)}[/]",
        "",
        f"[bold]Failure type[/]  {d.failure_type.value}    "
        f"[bold]Confidence[/]  {d.confidence.value} — {escape(d.confidence_reason)}",
        f"[bold]What happened[/]  {escape(d.trace_summary)}",
        *_went_wrong(result),
        f"[bold]Expected vs actual[/]  {escape(d.gap)}",
        f"[bold]Root cause[/]  {escape(d.root_cause)}",
        f"[bold]Where to fix[/]  {escape(d.affected_component)}",
    ]
    for item in d.evidence:
        mark = "✓" if item.verified else "? unverified"
        rows.append(
            f"[dim]evidence[/] run {escape(item.run_id)} {mark}: “{escape(_clip(item.quote))}”"
        )
    return Panel("\n".join(rows), title="Diagnosis", title_align="left", border_style="blue")


def _went_wrong(result: AnalysisResult) -> list[str]:
    step = result.diagnosis.divergence
    if step is None:
        return []
    # Counted from 1, as "What happened" counts; ``position`` (JSON) stays the 0-based index.
    where = f"step {step.position + 1} of {result.trace.runs} in execution order"
    return [
        f"[bold]Went wrong at[/]  {escape(step.name)} (run {escape(step.run_id)}, {where}): "
        f"{escape(_clip(step.reason, 240))}"
    ]


def _findings_table(result: AnalysisResult) -> Table:
    table = Table(title="What the detectors found", title_justify="left", expand=False)
    for column in ("severity", "finding", "run", "detail"):
        table.add_column(column)
    for finding in result.findings:
        style = _SEVERITY_STYLE.get(finding.severity.value, "")
        table.add_row(
            f"[{style}]{finding.severity.value}[/]",
            finding.kind,
            escape(finding.run_id),
            escape(_clip(finding.message, 120)),
        )
    return table


def _hypotheses_table(result: AnalysisResult) -> Table:
    table = Table(title="Proposed fixes (best first)", title_justify="left")
    for column in ("#", "fix", "strategy", "risk", "applies cleanly"):
        table.add_column(column)
    for h in result.hypotheses:
        table.add_row(
            str(h.rank),
            escape(h.title),
            h.strategy,
            f"[{_RISK_STYLE.get(h.risk.value, '')}]{h.risk.value}[/]",
            _applies(result, h.rank, valid=h.valid),
        )
    return table


def _applies(result: AnalysisResult, rank: int, *, valid: bool) -> str:
    if rank in result.already_present:
        return "[green]already applied[/]"
    return "[green]yes[/]" if valid else "[red]no[/]"


def _hypothesis_detail(result: AnalysisResult, rank: int) -> Panel:
    h = next(h for h in result.hypotheses if h.rank == rank)
    parts: list[str | Syntax] = [
        f"[bold]Why[/]  {escape(h.rationale)}",
        f"[bold]Expected effect[/]  {escape(h.expected_effect)}",
        f"[bold]Risk[/]  {h.risk.value}: {escape('; '.join(h.risk_reasons) or 'n/a')}",
    ]
    parts.extend(f"[red]problem:[/] {escape(p)}" for p in h.problems)
    if rank in result.already_present:
        parts.append("[green]Already applied:[/] its text is already in its files.")
    diff = result.diffs.get(rank, "")
    if diff:
        parts.append(Syntax(diff, "diff", theme="ansi_dark", word_wrap=True))
    return Panel(Group(*parts), title=f"Fix {rank}: {escape(h.title)}", title_align="left")


def _footer(result: AnalysisResult) -> str:
    skipped = "".join(
        f"Skipped fix {s.rank} ({escape(s.title)}): {escape('; '.join(s.reasons))}\n"
        for s in result.skipped
    )
    if result.already_applied is not None:
        return skipped + (
            f"[green]Fix {result.already_applied} is already applied[/]: its text is already in "
            "its files. Nothing was written."
        )
    if result.applied:
        applied = result.applied
        return skipped + (
            f"[green]Applied fix {applied.hypothesis}[/] in commit {applied.commit[:10]} "
            f"({', '.join(applied.files)}). Undo with: [bold]refinery undo {applied.change_id}[/]"
        )
    valid = [h.rank for h in result.hypotheses if h.valid and h.rank not in result.already_present]
    if not valid and result.already_present:
        ranks = [str(rank) for rank in result.already_present]
        present = f"Fixes {', '.join(ranks)} are" if len(ranks) > 1 else f"Fix {ranks[0]} is"
        return (
            f"Nothing was written (dry run). Saved as analysis {result.analysis_id}.\n"
            f"[green]{present} already in your files[/]; no other fix applies cleanly."
        )
    if not valid:
        return "[yellow]No fix applies cleanly to the project's files; nothing was written.[/]"
    return (
        f"Nothing was written (dry run). Saved as analysis {result.analysis_id}.\n"
        f"To apply fix {valid[0]}: [bold]refinery apply {result.analysis_id} {valid[0]}[/]"
    )


def _clip(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"

"""Planning a verification: what will be sent, to whom, and what it should cost, before any call.

The plan picks the recorded call, works out the agent's model and the judge, maps every fix onto
the call, reads the existing eval cases for the regression guard and estimates calls and cost.
Problems that stop part of the work (no key, no LLM call in the trace) are kept as one-line
reasons: what can still run (eval-only checks, ``--eval-command``) still runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import Settings
from ..errors import RefineryError
from ..models.diagnosis import Hypothesis
from ..pipeline import AnalysisResult
from ..traces.model import Trace
from .agent import AgentFlags, AgentTarget, agent_target
from .call import RecordedCall, recorded_call
from .cases import EvalCase, read_cases
from .cost import Estimate, estimate
from .evalcmd import DEFAULT_TIMEOUT_SECONDS
from .judge import Judge, make_judge
from .mapping import ProjectFiles, Variant, config_defaults, variant
from .replay import Replayer, make_replayer

DEFAULT_RUNS = 5
DEFAULT_MAX_CASES = 20
DEFAULT_CONCURRENCY = 20


@dataclass(frozen=True, kw_only=True)
class VerifyOptions:
    """How to verify."""

    fixes: tuple[int, ...] = ()
    """Fix ranks to verify; empty means all."""
    runs: int = DEFAULT_RUNS
    """Replays per variant (K)."""
    max_cases: int = DEFAULT_MAX_CASES
    """Existing eval cases replayed for the regression guard."""
    eval_command: str | None = None
    """The user's own eval command, run before and after each fix."""
    eval_timeout: float = DEFAULT_TIMEOUT_SECONDS
    max_cost: float | None = None
    """Hard cap in USD."""
    concurrency: int = DEFAULT_CONCURRENCY
    """Calls in flight at once."""
    agent: AgentFlags = field(default_factory=AgentFlags)


@dataclass(frozen=True, kw_only=True)
class VerifyPlan:
    """Everything decided before the first call."""

    expected: str
    options: VerifyOptions
    hypotheses: tuple[Hypothesis, ...]
    call: RecordedCall | None
    baseline: RecordedCall | None
    """The recorded call as it will be sent (model and unrecorded settings filled in)."""
    target: AgentTarget | None
    replayer: Replayer | None
    """The agent's SDK client, made once here so that runs only send."""
    judge: Judge | None
    variants: tuple[Variant, ...]
    cases: tuple[EvalCase, ...]
    estimate: Estimate
    problems: tuple[str, ...] = ()
    """Why some of the work cannot run (one line each)."""
    notes: tuple[str, ...] = ()


def plan_verification(
    result: AnalysisResult, trace: Trace, settings: Settings, options: VerifyOptions
) -> VerifyPlan:
    """Decide what verification will send, to whom, at what estimated cost."""
    files = _project_files(result, settings)
    hypotheses = tuple(h for h in result.hypotheses if not options.fixes or h.rank in options.fixes)
    problems: list[str] = []
    notes: list[str] = []
    call = _call(trace, result, problems)
    target = _target(settings, options, call, files, problems)
    baseline = _baseline(call, target, files, notes)
    judge = _judge(settings, target, problems)
    variants = tuple(variant(h, baseline, files) for h in hypotheses) if baseline else ()
    cases = tuple(_regression_cases(files, options.max_cases, baseline))
    if call is not None and not call.tools_recorded:
        notes.append(
            "the trace recorded only the names of the tools offered, not their parameters: the "
            "replay offers them by name with open parameters"
        )
    sent = baseline if target else None
    return VerifyPlan(
        expected=result.expected, options=options, hypotheses=hypotheses, call=call,
        baseline=sent, target=target, judge=judge,
        replayer=make_replayer(target) if target else None, variants=variants,
        cases=cases, estimate=_estimate(sent, variants, cases, judge, options),
        problems=tuple(problems), notes=tuple(notes),
    )  # fmt: skip


def _project_files(result: AnalysisResult, settings: Settings) -> ProjectFiles:
    def read(paths: tuple[str, ...]) -> dict[str, str]:
        found: dict[str, str] = {}
        for path in paths:
            try:
                found[path] = (settings.repo_root / path).read_text("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
        return found

    context = result.context
    return ProjectFiles(
        prompts=read(context.prompt_files),
        evals=read(context.eval_files),
        configs=read(context.config_files),
    )


def _call(trace: Trace, result: AnalysisResult, problems: list[str]) -> RecordedCall | None:
    try:
        return recorded_call(trace, result.diagnosis.divergence)
    except RefineryError as exc:
        problems.append(str(exc))
        return None


def _target(
    settings: Settings,
    options: VerifyOptions,
    call: RecordedCall | None,
    files: ProjectFiles,
    problems: list[str],
) -> AgentTarget | None:
    if call is None:
        return None
    defaults = config_defaults(files)
    try:
        return agent_target(
            settings, options.agent, recorded_model=call.model, recorded_provider=call.provider,
            config_model=defaults.get("model"),
        )  # fmt: skip
    except RefineryError as exc:
        problems.append(str(exc))
        return None


def _baseline(
    call: RecordedCall | None, target: AgentTarget | None, files: ProjectFiles, notes: list[str]
) -> RecordedCall | None:
    if call is None:
        return None
    filled: dict[str, object] = {"model": target.model if target else call.model}
    for name, value in config_defaults(files).items():
        if name != "model" and getattr(call, name) is None:
            filled[name] = value
            notes.append(
                f"the trace did not record {name}: the replay uses {value} from the config"
            )
    return call.with_changes(**filled)


def _judge(settings: Settings, target: AgentTarget | None, problems: list[str]) -> Judge | None:
    try:
        made = make_judge(settings, target)
    except RefineryError as exc:
        problems.append(f"no judge: {exc}")
        return None
    if isinstance(made, str):
        problems.append(made)
        return None
    return made


def _regression_cases(
    files: ProjectFiles, limit: int, baseline: RecordedCall | None
) -> list[EvalCase]:
    if baseline is None:
        return []
    cases = [case for path, text in files.evals.items() for case in read_cases(path, text)]
    own_system = [c for c in cases if not any(m.role == "system" for m in c.messages)]
    return own_system[:limit]


def _estimate(
    baseline: RecordedCall | None,
    variants: tuple[Variant, ...],
    cases: tuple[EvalCase, ...],
    judge: Judge | None,
    options: VerifyOptions,
) -> Estimate:
    calls: list[RecordedCall] = []
    if baseline is not None:
        replayed = [baseline, *(v.call for v in variants if v.call is not None)]
        calls = [c for c in replayed for _ in range(options.runs)]
        calls += [case_call(c, case) for c in replayed for case in cases]
    judged = len(calls) + sum(len(v.cases) for v in variants if v.eval_only)
    agent_model = baseline.model if baseline and baseline.model else "unknown"
    return estimate(
        calls, agent_model, judge.provider.model if judge else None, judged if judge else 0
    )


def case_call(call: RecordedCall, case: EvalCase) -> RecordedCall:
    """An existing eval case sent with ``call``'s system prompt, tools and settings."""
    system = tuple(m for m in call.messages if m.role in ("system", "developer"))
    return call.with_changes(messages=(*system, *case.messages), answer="")
